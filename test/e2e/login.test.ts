import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { launchChromium } from '../helpers/browser.js';

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;

beforeAll(async () => {
  // The default roles with a second factor: the first administrator enrols one at the first sign-in.
  archive = await startTestArchive({
    settings: { 'security.authentication': true, 'security.mfaRoles': ['administrator', 'informaticist'] },
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
});

describe('the sign-in page in Chromium', () => {
  it('signs in with the one-time password, makes it be changed and a second factor enrolled, signs out and in with a code, under a strict CSP', async () => {
    const once = (await archive.app.auth.bootstrap())!;
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const res = await page.goto(`${base}/login`);
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
    const studies = () =>
      page.evaluate(
        async () =>
          (await fetch('/dicom-web/studies', { headers: { Accept: 'application/dicom+json' } })).status,
      );
    expect(await studies()).toBe(401);

    await page.fill('#login input[name=login]', 'admin');
    await page.fill('#login input[name=password]', 'not-the-password-at-all');
    await page.click('#login button');
    await expect.poll(() => page.textContent('#message')).toBe('the login or the password is wrong');

    await page.fill('#login input[name=password]', once);
    await page.click('#login button');
    await page.waitForSelector('#change:not([hidden])');
    // Nothing but the password change until it is changed.
    expect(await studies()).toBe(403);
    await page.fill('#change input[name=new]', 'baseball123456789');
    await page.click('#change button');
    await expect.poll(() => page.textContent('#message')).toMatch(/common passwords/);
    await page.fill('#change input[name=new]', 'a lantern by the harbour wall');
    await page.click('#change button');
    // An administrator enrols a second factor next: the QR code and the key, then a first code.
    await page.waitForSelector('#enrol:not([hidden])');
    expect(await studies()).toBe(403);
    expect(await page.evaluate("document.getElementById('qr').naturalWidth")).toBeGreaterThan(0);
    const key = (await page.textContent('#secret'))!;
    const totp = new TOTP({ secret: Secret.fromBase32(key), digits: 6, period: 30, algorithm: 'SHA1' });
    await page.fill('#enrol input[name=code]', '000000');
    await page.click('#enrol button');
    await expect.poll(() => page.textContent('#message')).toMatch(/code is wrong/);
    await page.fill('#enrol input[name=code]', totp.generate());
    await page.click('#enrol button');
    await page.waitForSelector('#recovery:not([hidden])');
    expect(await page.locator('#codes li').count()).toBe(10);
    await page.click('#recovery-done');
    // Signed in: the web app, which says who is signed in.
    await page.waitForURL(`${base}/`);
    await expect.poll(() => page.textContent('[data-testid=who]')).toBe('Administrator');
    expect(await page.textContent('.roles')).toBe('(administrator)');
    // The session cookie is out of the page's reach; the page's requests carry it.
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(await studies()).toBe(200);

    await page.click('[data-testid=sign-out]');
    await page.waitForURL(`${base}/login`);
    await page.waitForSelector('#login:not([hidden])');
    expect(await studies()).toBe(401);
    // The app's pages now lead to the sign-in page again.
    await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/login?next=%2F`);
    // A reload after sign-out shows the sign-in form again.
    await page.reload();
    await page.waitForSelector('#login:not([hidden])');
    // Signing in again asks for the code.
    await page.fill('#login input[name=login]', 'admin');
    await page.fill('#login input[name=password]', 'a lantern by the harbour wall');
    await page.click('#login button');
    await page.waitForSelector('#code-field:not([hidden])');
    await page.fill('#login input[name=code]', totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.click('#login button');
    await page.waitForURL(`${base}/`);
    expect(await studies()).toBe(200);
    expect(violations).toEqual([]);
    await page.close();
  });
});
