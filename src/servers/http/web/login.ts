import type { FastifyInstance } from 'fastify';

/**
 * The strict policy of Lantern's pages: own scripts and styles only, no inline code, no framing; images from
 * here or data: URIs (the QR code of a second-factor enrolment).
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lantern: sign in</title>
<link rel="stylesheet" href="/assets/login.css">
<script src="/assets/login.js" defer></script>
</head>
<body>
<main>
<h1>Lantern</h1>
<form id="login">
  <label>Login <input name="login" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <label id="code-field" hidden>Code from your authenticator app (or a recovery code)
    <input name="code" autocomplete="one-time-code" inputmode="numeric"></label>
  <button type="submit">Sign in</button>
</form>
<form id="enrol-start" hidden>
  <p>Your role signs in with a second factor. Confirm your password to set up an authenticator app.</p>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Set up</button>
</form>
<form id="enrol" hidden>
  <p>Scan this code with an authenticator app (or enter the key by hand), then enter the code it shows.</p>
  <img id="qr" alt="QR code of the authenticator key" width="200" height="200">
  <p>Key: <code id="secret"></code></p>
  <label>Code <input name="code" autocomplete="one-time-code" inputmode="numeric" required></label>
  <button type="submit">Confirm</button>
</form>
<section id="recovery" hidden>
  <p>Recovery codes: each signs you in once if the phone is lost. Keep them somewhere safe; they are not shown again.</p>
  <ul id="codes"></ul>
  <button id="recovery-done" type="button">I have kept them</button>
</section>
<form id="change" hidden>
  <p>Choose your own password (at least 12 characters; a passphrase is best).</p>
  <label>New password <input name="new" type="password" autocomplete="new-password" required minlength="12"></label>
  <button type="submit">Change password</button>
</form>
<section id="signed-in" hidden>
  <p>Signed in as <strong id="who"></strong> (<span id="roles"></span>).</p>
  <button id="logout" type="button">Sign out</button>
</section>
<p id="message" role="alert"></p>
</main>
</body>
</html>
`;

const CSS = `body{font-family:system-ui,sans-serif;background:#0b1320;color:#e8eef7;margin:0}
main{max-width:22rem;margin:4rem auto;padding:1rem}label{display:block;margin:.6rem 0}
input{display:block;width:100%;padding:.4rem;margin-top:.2rem}button{margin-top:.8rem;padding:.4rem 1rem}
#message{color:#ffb4a8;min-height:1.2em}#qr{background:#fff;display:block;margin:.6rem 0}
#codes{font-family:monospace}`;

/** The page's script: JSON to the account API, the CSRF token kept in memory, text only (never HTML). */
const JS = `'use strict';
let csrf = '';
let current = '';
const $ = (id) => document.getElementById(id);
// Where to go once signed in: the page that sent the browser here (a path on this origin only), else the app.
function next() {
  const n = new URLSearchParams(location.search).get('next') || '/';
  const u = new URL(n, location.origin);
  if (u.origin !== location.origin || u.pathname.startsWith('/login')) return '/';
  return u.pathname + u.search + u.hash;
}
const say = (text) => { $('message').textContent = text; };
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: Object.assign({ Accept: 'application/json' }, body ? { 'Content-Type': 'application/json' } : {}, csrf ? { 'X-CSRF-Token': csrf } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw Object.assign(new Error(json.message || res.statusText), { code: json.code });
  return json;
}
const VIEWS = ['login', 'change', 'enrol-start', 'enrol', 'recovery', 'signed-in'];
function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
}
async function enrol(password) {
  const e = await api('POST', '/api/auth/mfa', { password });
  $('qr').src = e.qr;
  $('secret').textContent = e.secret;
  show('enrol');
}
async function signedIn() {
  const me = await api('GET', '/api/auth/me');
  csrf = me.csrfToken || csrf;
  $('who').textContent = me.login;
  $('roles').textContent = (me.roles || []).join(', ');
  if (me.mustChangePassword) return show('change');
  if (me.mfa && me.mfa.required && !me.mfa.enabled) {
    if (current) return enrol(current);
    return show('enrol-start');
  }
  if (me.via === 'session') {
    location.replace(next());
    return;
  }
  show('signed-in');
}
document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    current = String(f.get('password'));
    try {
      const code = String(f.get('code') || '');
      const r = await api('POST', '/api/auth/login', Object.assign({ login: String(f.get('login')), password: current }, code ? { code } : {}));
      csrf = r.csrfToken;
      say('');
      await signedIn();
    } catch (err) {
      if (err.code === 'LNT_MFA_REQUIRED' || err.code === 'LNT_MFA_FAILED') {
        $('code-field').hidden = false;
        e.target.elements.code.value = '';
        e.target.elements.code.focus();
      }
      say(err.message);
    }
  });
  $('enrol-start').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      current = String(new FormData(e.target).get('password'));
      say('');
      await enrol(current);
    } catch (err) { say(err.message); }
  });
  $('enrol').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api('POST', '/api/auth/mfa/confirm', { code: String(new FormData(e.target).get('code')) });
      current = '';
      const list = $('codes');
      list.textContent = '';
      for (const c of r.recoveryCodes) {
        const li = document.createElement('li');
        li.textContent = c;
        list.appendChild(li);
      }
      say('');
      show('recovery');
    } catch (err) { say(err.message); }
  });
  $('recovery-done').addEventListener('click', () => { signedIn().catch((err) => say(err.message)); });
  $('change').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const changed = String(f.get('new'));
      await api('POST', '/api/auth/password', { current, new: changed });
      current = changed;
      say('');
      await signedIn();
    } catch (err) { say(err.message); }
  });
  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/api/auth/logout'); } catch (err) { say(err.message); }
    csrf = '';
    show('login');
  });
  signedIn().catch(() => show('login'));
});
`;

/** The sign-in page (the web app's first page): public, with a strict Content-Security-Policy. */
export async function loginPage(server: FastifyInstance): Promise<void> {
  const page = (type: string, body: string) => ({ type, body });
  const assets: Record<string, { type: string; body: string }> = {
    '/login': page('text/html; charset=utf-8', PAGE),
    '/assets/login.js': page('text/javascript; charset=utf-8', JS),
    '/assets/login.css': page('text/css; charset=utf-8', CSS),
  };
  for (const [path, a] of Object.entries(assets)) {
    server.get(path, { config: { access: 'public' } }, async (_req, reply) =>
      reply
        .type(a.type)
        .header('Content-Security-Policy', PAGE_CSP)
        .header('Cache-Control', 'no-store')
        .send(a.body),
    );
  }
}
