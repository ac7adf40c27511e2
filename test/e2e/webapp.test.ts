import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { contrast, launchChromium } from '../helpers/browser.js';
import { synthInstance } from '../helpers/synth.js';
import { ctPhantom, type Phantom } from '../helpers/phantom.js';

/** Screenshots of the study list and the viewer, kept as the test's artifacts. */
const ARTIFACTS = join(process.cwd(), '.cache', 'artifacts');
const PASSWORD = 'a lantern by the harbour wall';

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;
let phantom: Phantom;
let prior: Phantom;
const work = mkdtempSync(join(tmpdir(), 'lantern-webapp-'));

/** Stores files with DCMTK's storescu, as a modality would. */
async function storescu(files: Buffer[], name: string): Promise<void> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const paths = files.map((f, i) => {
    const p = join(dir, `${i}.dcm`);
    writeFileSync(p, f);
    return p;
  });
  const r = await runDcmtk('storescu', [
    '-aet',
    'CT1',
    '-aec',
    'LANTERN',
    '127.0.0.1',
    String(archive.port),
    ...paths,
  ]);
  expect(r.code, r.out).toBe(0);
}

async function signIn(page: Page, login: string, password: string): Promise<void> {
  await page.fill('#login input[name=login]', login);
  await page.fill('#login input[name=password]', password);
  await page.click('#login button');
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  archive = await startTestArchive({
    settings: { 'security.authentication': true, 'security.sessionIdleMinutes': 30 },
  });
  await archive.app.aes.add({ mode: 'device', aeTitle: 'CT1', host: '', port: 0, permissions: ['store'] });
  await archive.app.auth.createAccount({ login: 'reader', roles: ['radiologist'] }, PASSWORD);
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  const current = ctPhantom({ patientName: 'Müller^Jürgen', patientId: 'PH-ÄÖ-1', slices: 12 });
  phantom = current.phantom;
  await storescu(current.files, 'current');
  const older = ctPhantom({
    patientName: 'Müller^Jürgen',
    patientId: phantom.patientId,
    slices: 12,
    studyDate: '20250101',
    studyDescription: 'CT PHANTOM PRIOR',
    accession: 'ACCPRIOR',
  });
  prior = older.phantom;
  await storescu(older.files, 'prior');
  // One more object for the prior under the same Patient ID with another name: held back in quarantine.
  await storescu(
    [
      synthInstance({ studyUid: prior.studyUid, patientId: phantom.patientId, patientName: 'Other^Name' })
        .bytes,
    ],
    'conflict',
  );
  browser = await launchChromium({ webgl: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the web app in Chromium', () => {
  it('signs in from /, finds a non-ASCII name, opens the study, scrolls, windows and measures in mm', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    // Policy violations with what caused them (the console says only that one happened).
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP ' + e.violatedDirective + ' ' + e.sourceFile + ':' + e.lineNumber))",
    );

    // Without a session, / is the sign-in page; signing in leads into the app.
    const res = await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/login?next=%2F`);
    expect(res!.status()).toBe(200);
    await signIn(page, 'reader', PASSWORD);
    await page.waitForURL(`${base}/`);
    await expect.poll(() => page.textContent('[data-testid=who]')).toBe('reader');
    // The sign-in page asked who was signed in (401) before: from here on nothing may fail.
    problems.length = 0;

    // The study list: a name with umlauts, typed without them and lower case, fuzzy.
    await page.fill('input[name=patientName]', 'muller');
    await page.check('text=Sounds like');
    await page.click('button[type=submit]');
    const rows = page.locator('table.studies[aria-label=Studies] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    expect(await rows.first().textContent()).toContain('Müller, Jürgen');
    // Each row's state: the prior has an object in quarantine; nothing failed in either transfer.
    const state = (uid: string) => page.locator(`tr[data-study="${uid}"] td.state`).textContent();
    await expect.poll(() => state(prior.studyUid)).toContain('1 quarantined');
    expect(await state(phantom.studyUid)).toMatch(/^(Receiving|Received)$/);
    await page.screenshot({ path: join(ARTIFACTS, 'study-list.png') });

    // Open the current study.
    await page.locator(`tr[data-study="${phantom.studyUid}"] a`).click();
    await page.waitForURL(`${base}/viewer/${phantom.studyUid}`);
    await expect.poll(() => contrast(page, '.viewport canvas'), { timeout: 60_000 }).toBeGreaterThan(10);
    await expect.poll(() => page.textContent('[data-testid=image-index]')).toBe(`Im 1/${phantom.slices}`);
    await expect.poll(() => page.textContent('[data-testid=window]')).toBe('W 400 L 40');
    expect(await page.textContent('[data-testid=marker-right]')).toBe('L');
    expect(await page.textContent('[data-testid=marker-top]')).toBe('A');

    // Opening the study read its metadata, thumbnail and frames: one Instances Accessed event for it.
    const opened = async () =>
      (await archive.app.audit.list({ eventId: '110103', studyUid: phantom.studyUid }, 100, 0)).filter((r) =>
        r.event.participants.some((p) => p.userId.startsWith('reader@')),
      );
    await expect.poll(async () => (await opened()).length).toBe(1);

    // Scroll with the wheel and the keys.
    const vp = page.locator('.viewport-element').first();
    await vp.hover();
    await page.mouse.wheel(0, 120);
    await expect.poll(() => page.textContent('[data-testid=image-index]')).toBe(`Im 2/${phantom.slices}`);
    await vp.focus();
    await page.keyboard.press('End');
    await expect
      .poll(() => page.textContent('[data-testid=image-index]'))
      .toBe(`Im ${phantom.slices}/${phantom.slices}`);

    // Window: the lung preset, then a drag.
    await page.selectOption('[data-testid=preset]', 'Lung');
    await expect.poll(() => page.textContent('[data-testid=window]')).toBe('W 1500 L -600');
    const box = (await vp.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 30, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => page.textContent('[data-testid=window]')).not.toBe('W 1500 L -600');

    // Measure the markers' distance: the image fits the viewport, centred.
    await page.click('button[data-tool=length]');
    const scale = Math.min(box.width, box.height) / phantom.size;
    const at = (col: number, row: number) => ({
      x: box.x + box.width / 2 + (col + 0.5 - phantom.size / 2) * scale,
      y: box.y + box.height / 2 + (row + 0.5 - phantom.size / 2) * scale,
    });
    const row = Math.round((phantom.size - 1) / 2);
    const a = at(phantom.markers[0], row);
    const b = at(phantom.markers[1], row);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 10 });
    await page.mouse.up();
    const m = page.locator('[data-testid=measurement][data-tool=Length]');
    await expect.poll(() => m.count()).toBe(1);
    const mm = Number(await m.getAttribute('data-amount'));
    expect(Math.abs(mm - phantom.markerDistanceMm)).toBeLessThan(0.5);
    expect(await m.textContent()).toMatch(/ mm/);
    // The label on the image says what the list says (our calibration, not the tool's own figure).
    const listed = /(\d+(?:\.\d+)?) mm/.exec((await m.textContent())!)![0];
    await expect
      .poll(async () => (await page.locator('.viewport svg text').allTextContents()).join(' | '))
      .toContain(listed);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer.png') });

    // Saved in the archive as a TID 1500 report, which DCMTK reads.
    await page.click('[data-testid=save-measurements]');
    await expect
      .poll(() => page.textContent('[data-testid=report-status]'), { timeout: 30_000 })
      .toMatch(/^Saved to the archive \(report ([0-9.]+)\)$/);
    const reportUid = /\(report ([0-9.]+)\)/.exec(
      (await page.textContent('[data-testid=report-status]'))!,
    )![1];
    const stored = (await archive.app.index.findInstance(reportUid))!;
    expect(stored.studyUid).toBe(phantom.studyUid);
    // Enhanced SR, as Cornerstone's adapters and OHIF write TID 1500 (planar coordinates, no 3D).
    expect(stored.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.88.22');
    const dump = await runDcmtk('dsrdump', [join(archive.dir, 'storage', stored.blobKey)]);
    expect(dump.code, dump.out).toBe(0);
    expect(dump.out).toMatch(/Imaging Measurement Report/);
    expect(dump.out).toMatch(/Length/);
    expect(dump.out).toMatch(
      new RegExp(`NUM:\\(,,"Length"\\)="${mm.toFixed(1).replace('.', '\\.')}\\d*" \\(mm,UCUM`),
    );
    expect(dump.out).toMatch(/"Person Observer Name"\)="reader"/);

    // The image shown (the last) flagged as a key image: a Key Object Selection document, which DCMTK reads.
    await page.click('[data-testid=key-toggle]');
    await expect.poll(() => page.locator('[data-testid=key-image]').count()).toBe(1);
    await page.click('[data-testid=key-save]');
    await expect
      .poll(() => page.textContent('[data-testid=key-status]'), { timeout: 30_000 })
      .toMatch(/^Key images saved \(document [0-9.]+\)$/);
    const kosUid = /\(document ([0-9.]+)\)/.exec((await page.textContent('[data-testid=key-status]'))!)![1];
    const kos = (await archive.app.index.findInstance(kosUid))!;
    expect(kos.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.88.59');
    const kosDump = await runDcmtk('dsrdump', ['+Pc', '+Pu', join(archive.dir, 'storage', kos.blobKey)]);
    expect(kosDump.code, kosDump.out).toBe(0);
    expect(kosDump.out).toMatch(/Key Object Selection Document/);
    expect(kosDump.out).toMatch(/CONTAINER:\(113000,DCM,"Of Interest"\)/);
    expect(kosDump.out.match(/contains IMAGE:/g)).toHaveLength(1);
    const lastSlice = (await archive.app.index.instancesByUid({ series: phantom.seriesUid })).at(-1)!;
    expect(kosDump.out).toContain(lastSlice.sopInstanceUid);

    // Reopened (a new page, nothing kept in the browser): the measurement is there again.
    const again = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await again.context().addCookies(await page.context().cookies());
    await again.goto(`${base}/viewer/${phantom.studyUid}`);
    const reopened = again.locator('[data-testid=measurement][data-tool=Length]');
    await expect.poll(() => reopened.count(), { timeout: 60_000 }).toBe(1);
    expect(Math.abs(Number(await reopened.getAttribute('data-amount')) - mm)).toBeLessThan(0.01);
    // And the key image: not the first image, the last.
    expect(await again.locator('[data-testid=key-image]').count()).toBe(0);
    await again.locator('.viewport-element').first().focus();
    await again.keyboard.press('End');
    await expect.poll(() => again.locator('[data-testid=key-image]').count(), { timeout: 30_000 }).toBe(1);
    await again.screenshot({ path: join(ARTIFACTS, 'viewer-reopened.png') });
    await again.close();

    // The prior beside it, scrolling with it (by position in the patient).
    await page.selectOption('[data-testid=prior]', prior.studyUid);
    await expect.poll(() => page.locator('.viewport').count()).toBe(2);
    await expect
      .poll(() => contrast(page, '.viewport[data-viewport="1"] canvas'), { timeout: 60_000 })
      .toBeGreaterThan(10);
    expect(await page.locator('.viewport[data-viewport="1"] .overlay .tr').textContent()).toContain('PRIOR');
    // Linked where they stand: unlink, bring the current study to its first slice, link again.
    await page.uncheck('text=Sync scrolling');
    await vp.focus();
    await page.keyboard.press('Home');
    await expect
      .poll(() => page.locator('[data-testid=image-index]').first().textContent())
      .toBe(`Im 1/${phantom.slices}`);
    await page.check('text=Sync scrolling');
    await vp.hover();
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, 120);
    await expect
      .poll(() => page.locator('[data-testid=image-index]').first().textContent())
      .toBe(`Im 5/${phantom.slices}`);
    await expect
      .poll(() => page.locator('.viewport[data-viewport="1"] [data-testid=image-index]').textContent())
      .toBe(`Im 5/${prior.slices}`);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-prior.png') });
    // Every frame of both stacks has been read by now, and still one event per study.
    expect(await opened()).toHaveLength(1);

    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
