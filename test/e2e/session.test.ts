import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { launchChromium } from '../helpers/browser.js';
import { testClock } from '../helpers/clock.js';
import { synthInstance } from '../helpers/synth.js';

// The session in the web app: the idle timeout as the page enforces it (the page's clock moved by
// Playwright) and as the server does (the archive's clock moved by hand, from the real time), each back to
// the sign-in page and then to the study that was open; signing out ends the session on the server.

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;
let studyUid: string;
const clock = testClock();
const PASSWORD = 'a lantern by the harbour wall';
const IDLE_MINUTES = 15;

beforeAll(async () => {
  archive = await startTestArchive({
    clock,
    settings: { 'security.authentication': true, 'security.sessionIdleMinutes': IDLE_MINUTES },
  });
  await archive.app.auth.createAccount({ login: 'reader', roles: ['radiologist'] }, PASSWORD);
  const inst = synthInstance({ patientId: 'SESSION-1', patientName: 'Session^Sam', rows: 64, columns: 64 });
  studyUid = inst.studyUid;
  expect((await archive.app.ingest.ingest({ chunks: [inst.bytes] })).status).toBe('stored');
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  browser = await launchChromium({ webgl: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
});

const viewerUrl = () => `${base}/viewer/${studyUid}`;
const signInUrl = () => `${base}/login?next=${encodeURIComponent(`/viewer/${studyUid}`)}`;

async function signIn(page: Page): Promise<void> {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#login input[name=login]', 'reader');
  await page.fill('#login input[name=password]', PASSWORD);
  await page.click('#login button');
}

async function sessions(): Promise<number> {
  const account = await archive.app.auth.account('reader');
  return (await archive.app.auth.sessionsOf(account.id)).length;
}

/**
 * The page has gone to the sign-in page by itself: its URL, polled (a navigation replaced by another to the
 * same page fails a wait for the first with net::ERR_ABORTED).
 */
async function atSignIn(page: Page): Promise<void> {
  await expect.poll(() => page.url(), { timeout: 15_000 }).toBe(signInUrl());
}

/** The study is open again: its banner names the patient. */
async function studyOpen(page: Page): Promise<void> {
  await page.waitForURL(viewerUrl());
  await expect.poll(() => page.textContent('[data-testid=who]')).toBe('reader');
  await expect
    .poll(() => page.locator('.viewport .overlay').first().textContent(), { timeout: 30_000 })
    .toContain('Session');
}

describe('the session in Chromium', () => {
  it('ends when idle (by the page and by the server), comes back to the same study, and ends at sign-out', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.clock.install();

    // A link to a study without a session: sign in, then the study.
    await page.goto(viewerUrl());
    expect(page.url()).toBe(signInUrl());
    await signIn(page);
    await studyOpen(page);
    expect(await sessions()).toBe(1);
    await expect.poll(() => page.textContent('[data-testid=idle-left]')).toMatch(/^1[45]:\d\d$/);

    // Idle on the page: it signs out by itself and goes to the sign-in page, to come back here.
    await page.clock.fastForward(`${IDLE_MINUTES}:05`);
    await atSignIn(page);
    await expect.poll(() => sessions()).toBe(0);
    await signIn(page);
    await studyOpen(page);
    expect(await sessions()).toBe(1);

    // Idle as the server reckons it (the page's own clock not moved): the session has ended there, and
    // the study's page leads to the sign-in page, to the same study after.
    clock.advance(IDLE_MINUTES + 1);
    // (A request the page makes meanwhile, refused, may start the same navigation first.)
    await page.goto(viewerUrl()).catch(() => undefined);
    await atSignIn(page);
    await signIn(page);
    await studyOpen(page);

    // Signing out ends the session on the server: its cookie is refused afterwards.
    const cookies = await page.context().cookies();
    await page.click('[data-testid=sign-out]');
    await page.waitForURL(`${base}/login`);
    await expect.poll(() => sessions()).toBe(0);
    const session = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const res = await fetch(`${base}/dicom-web/studies`, {
      headers: { Cookie: session, Accept: 'application/dicom+json' },
    });
    expect(res.status).toBe(401);
    await page.close();
  }, 180_000);
});
