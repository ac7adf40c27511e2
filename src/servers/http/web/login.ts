import type { FastifyInstance } from 'fastify';

/** The strict policy of Lantern's pages: own scripts and styles only, no inline code, no framing. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
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
  <button type="submit">Sign in</button>
</form>
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
#message{color:#ffb4a8;min-height:1.2em}`;

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
  if (!res.ok) throw new Error(json.message || res.statusText);
  return json;
}
function show(view) {
  $('login').hidden = view !== 'login';
  $('change').hidden = view !== 'change';
  $('signed-in').hidden = view !== 'signed-in';
}
async function signedIn() {
  const me = await api('GET', '/api/auth/me');
  csrf = me.csrfToken || csrf;
  $('who').textContent = me.login;
  $('roles').textContent = (me.roles || []).join(', ');
  if (!me.mustChangePassword && me.via === 'session') {
    location.replace(next());
    return;
  }
  show(me.mustChangePassword ? 'change' : 'signed-in');
}
document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    current = String(f.get('password'));
    try {
      const r = await api('POST', '/api/auth/login', { login: String(f.get('login')), password: current });
      csrf = r.csrfToken;
      say('');
      await signedIn();
    } catch (err) { say(err.message); }
  });
  $('change').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      await api('POST', '/api/auth/password', { current, new: String(f.get('new')) });
      current = '';
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
