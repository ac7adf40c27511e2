import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { freePort, startDcmtkServer } from '../helpers/dcmtk.js';
import { launchChromium } from '../helpers/browser.js';
import { synthInstance } from '../helpers/synth.js';

const ARTIFACTS = join(process.cwd(), '.cache', 'artifacts');
const ADMIN_PASSWORD = 'the harbour lights at dusk';
const READER_PASSWORD = 'a lantern by the harbour wall';

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;
let storescp: ChildProcess;
let scpPort: number;
const work = mkdtempSync(join(tmpdir(), 'lantern-admin-'));

async function signIn(page: Page, login: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('#login input[name=login]', login);
  await page.fill('#login input[name=password]', password);
  await page.click('#login button');
  await page.waitForURL(`${base}/`);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  archive = await startTestArchive({ settings: { 'security.authentication': true } });
  await archive.app.auth.createAccount(
    { login: 'boss', displayName: 'Ada Boss', roles: ['administrator'] },
    ADMIN_PASSWORD,
  );
  await archive.app.auth.createAccount({ login: 'reader', roles: ['radiologist'] }, READER_PASSWORD);
  for (let i = 0; i < 3; i++)
    await archive.app.ingest.ingest({ chunks: [synthInstance({ patientId: `ADM${i}` }).bytes] });
  // One object the archive disagrees with: the same SOP Instance UID with other bytes.
  const a = synthInstance({ patientId: 'QQ1' });
  await archive.app.ingest.ingest({ chunks: [a.bytes] });
  const b = synthInstance({
    patientId: 'QQ1',
    sopUid: a.sopUid,
    studyUid: a.studyUid,
    seriesUid: a.seriesUid,
    rows: 8,
  });
  expect((await archive.app.ingest.ingest({ chunks: [b.bytes] })).status).toBe('quarantined');
  scpPort = await freePort();
  mkdirSync(join(work, 'rx'));
  storescp = await startDcmtkServer(
    'storescp',
    ['-aet', 'ECHOSCP', '-od', join(work, 'rx'), String(scpPort)],
    scpPort,
  );
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
  storescp?.kill();
  rmSync(work, { recursive: true, force: true });
});

describe('administration in Chromium', () => {
  it('manages users, ends a session, tests DICOM peers, shows storage and quarantine, browses the audit trail', async () => {
    // The reader is signed in elsewhere.
    const readerPage = await browser.newPage();
    await signIn(readerPage, 'reader', READER_PASSWORD);
    const readerCan = () => readerPage.evaluate(async () => (await fetch('/api/auth/me')).status);
    expect(await readerCan()).toBe(200);
    // A radiologist sees no administration.
    expect(await readerPage.locator('nav[aria-label=Main] >> text=Administration').count()).toBe(0);

    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    await signIn(page, 'boss', ADMIN_PASSWORD);
    await page.click('nav[aria-label=Main] >> text=Administration');
    await page.waitForURL(`${base}/admin`);

    // Users: add one (its one-time password shown once), see the reader's session and end it.
    await page.fill('form.inline input >> nth=0', 'new-radiographer');
    await page.click('text=Add user');
    await expect.poll(() => page.textContent('[data-testid=users-message]')).toMatch(/One-time password/);
    expect((await archive.app.auth.account('new-radiographer')).mustChange).toBe(true);
    await page.click('tr[data-user=reader] >> text=Sessions and tokens');
    const session = page.locator('tr[data-session]');
    await expect.poll(() => session.count()).toBe(1);
    await session.locator('text=End session').click();
    await expect.poll(() => session.count()).toBe(0);
    expect(await readerCan()).toBe(401);
    // A service account: no password; the administrator makes its token here, and it works.
    await page.fill('form.inline input >> nth=0', 'report-bot');
    await page.selectOption('form.inline select >> nth=1', 'service');
    await page.click('text=Add user');
    await expect
      .poll(() => page.textContent('[data-testid=users-message]'))
      .toMatch(/service account report-bot/);
    await page.click('tr[data-user=report-bot] >> text=Sessions and tokens');
    await page.fill('.detail input[type=password]', ADMIN_PASSWORD);
    await page.click('text=Make a token');
    const made = page.locator('[data-testid=token-made] code');
    await expect.poll(() => made.count()).toBe(1);
    const botToken = (await made.textContent())!;
    expect(botToken).toMatch(/^lnt_/);
    const botRead = await fetch(`${base}/dicom-web/studies`, {
      headers: { Authorization: `Bearer ${botToken}` },
    });
    expect(botRead.status).toBe(200);
    await page.screenshot({ path: join(ARTIFACTS, 'admin-users.png') });

    // DICOM peers: a real one (DCMTK's storescp) answers C-ECHO; one that is not there fails, saying so.
    await page.click('.tabs >> text=DICOM peers');
    const addPeer = async (aet: string, port: number) => {
      const f = page.locator('form.inline');
      await f.locator('input >> nth=0').fill(aet);
      await f.locator('input >> nth=1').fill('127.0.0.1');
      await f.locator('input >> nth=2').fill(String(port));
      await f.locator('input >> nth=3').fill('store,destination');
      await page.click('text=Add peer');
      await expect.poll(() => page.locator(`tr[data-ae=${aet}]`).count()).toBe(1);
    };
    await addPeer('ECHOSCP', scpPort);
    await addPeer('NOWHERE', await freePort());
    await page.click('tr[data-ae=ECHOSCP] >> text=C-ECHO');
    await expect
      .poll(() => page.textContent('tr[data-ae=ECHOSCP] [data-testid=echo-result]'), { timeout: 20_000 })
      .toMatch(/^C-ECHO ok in \d+ ms$/);
    await page.click('tr[data-ae=NOWHERE] >> text=C-ECHO');
    await expect
      .poll(() => page.textContent('tr[data-ae=NOWHERE] [data-testid=echo-result]'), { timeout: 20_000 })
      .toMatch(/^failed: /);
    expect((await archive.app.aes.find('ECHOSCP'))?.permissions).toEqual(['store', 'destination']);

    // Storage and index, and the quarantine.
    await page.click('.tabs >> text=Storage and index');
    await expect
      .poll(() => page.textContent('[data-testid=status-counts]'))
      .toMatch(/^4 patients, 4 studies, 4 series, 4 instances/);
    await page.click('.tabs >> text=Quarantine');
    await expect.poll(() => page.locator('tr[data-quarantine]').count()).toBe(1);
    expect(await page.textContent('tr[data-quarantine]')).toContain('QQ1');

    // Integrity: a stored file changed behind the archive's back, found by a check of its study.
    const damaged = (await archive.app.index.listInstances(0, 1))[0];
    const file = join(archive.dir, 'storage', damaged.blobKey);
    const original = readFileSync(file);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 1] ^= 0xff;
    writeFileSync(file, flipped);
    await page.click('.tabs >> text=Integrity');
    await expect
      .poll(() => page.textContent('section[aria-labelledby=integrity-title]'))
      .toMatch(/No damaged object/);
    await page.fill('input[name=study]', damaged.studyUid);
    await page.click('text=Check now');
    await expect
      .poll(() => page.textContent('[data-testid=verify-result]'))
      .toBe('1 objects checked: 1 damaged');
    await expect.poll(() => page.locator(`tr[data-damaged="${damaged.sopInstanceUid}"]`).count()).toBe(1);
    expect(await page.textContent(`tr[data-damaged="${damaged.sopInstanceUid}"]`)).toContain('bytes differ');
    writeFileSync(file, original);

    // The audit trail: the session ended and the peers registered are in it.
    await page.click('.tabs >> text=Audit trail');
    await expect.poll(() => page.locator('[data-testid=audit-row]').count()).toBeGreaterThan(3);
    const trail = (await page.locator('table[aria-label="Audit records"]').textContent()) ?? '';
    expect(trail).toMatch(/boss@/);
    await page.fill('input[placeholder="login@site or AE"]', 'nobody@nowhere');
    await page.click('text=Filter');
    await expect.poll(() => page.locator('[data-testid=audit-row]').count()).toBe(0);
    await page.click('text=failed-logins');
    await expect.poll(() => page.locator('table[aria-label="Report failed-logins"]').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'admin-audit.png') });

    expect(problems).toEqual([]);
    await page.close();
    await readerPage.close();
  }, 120_000);
});
