import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { launchChromium } from '../helpers/browser.js';

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;

beforeAll(async () => {
  archive = await startTestArchive({ settings: { 'security.authentication': true } });
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
  it('signs in with the one-time password, makes it be changed, and signs out, under a strict CSP', async () => {
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
    expect(violations).toEqual([]);
    await page.close();
  });
});
