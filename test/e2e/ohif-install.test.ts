import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewerDir } from '../../src/adapters/viewer-install/ohif.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { canvasContrast, launchChromium } from '../helpers/browser.js';
import { ohifTarball } from '../helpers/ohif.js';

const bin = resolve(import.meta.dirname, '../../bin/lantern.js');
const PASSWORD = 'a lantern by the harbour wall';
const studyUid = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-ohif-install-'));

function lantern(args: string[]): Promise<{ code: number; out: string }> {
  return promisify(execFile)('node', [bin, ...args], { env: { ...process.env, ...archive.env } }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

beforeAll(async () => {
  archive = await startTestArchive({ settings: { 'security.authentication': true } });
  await archive.app.auth.createAccount({ login: 'reader', roles: ['radiologist'] }, PASSWORD);
  const ct = readFileSync(join(pydicomDataDir(), 'test_files', 'CT_small.dcm'));
  expect((await archive.app.ingest.ingest({ chunks: [ct], source: 'TEST' })).status).toBe('stored');
  browser = await launchChromium({ webgl: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('lantern viewer install ohif', () => {
  it('refuses a tarball that is not the pinned release, and installs the pinned one from a file', async () => {
    const fake = join(work, 'ohif-app-3.13.2.tgz');
    writeFileSync(fake, 'not the viewer');
    const bad = await lantern(['viewer', 'install', 'ohif', '--from', fake, '--data', archive.dir]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/is not @ohif\/app 3\.13\.2 as published/);
    const good = await lantern(['viewer', 'install', 'ohif', '--from', ohifTarball(), '--data', archive.dir]);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/OHIF Viewer 3\.13\.2 installed/);
    const dir = viewerDir(archive.dir, 'ohif');
    expect(readFileSync(join(dir, 'app-config.js'), 'utf8')).toContain("routerBasename: '/ohif'");
  }, 120_000);

  it('serves OHIF at /ohif/ with the same session, reading this archive, offered in the study list', async () => {
    // As `lantern serve` would start after the install: the app finds the viewer in its data folder.
    http = await buildHttpServer({ ...archive.app, viewers: { ohif: viewerDir(archive.dir, 'ohif') } });
    await http.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text()) && /script-src/.test(m.text())) violations.push(m.text());
    });
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${base}/dicom-web`) && r.status() >= 400)
        failed.push(`${r.status()} ${r.url()}`);
    });

    // Not signed in: OHIF's page is the sign-in page first, and comes back after.
    await page.goto(`${base}/ohif/`);
    expect(page.url()).toBe(`${base}/login?next=%2Fohif%2F`);
    await page.fill('#login input[name=login]', 'reader');
    await page.fill('#login input[name=password]', PASSWORD);
    await page.click('#login button');
    await page.waitForURL(`${base}/ohif/`);
    await expect
      .poll(() => page.getByText(/CompressedSamples/).count(), { timeout: 60_000 })
      .toBeGreaterThan(0);

    // Lantern's study list offers it; it opens the study and draws the image.
    await page.goto(`${base}/`);
    const link = page.locator(`tr[data-study="${studyUid}"] [data-testid=open-ohif]`);
    await expect.poll(() => link.count(), { timeout: 20_000 }).toBe(1);
    await link.click();
    await page.waitForURL(`${base}/ohif/viewer?StudyInstanceUIDs=${studyUid}`);
    await expect
      .poll(() => canvasContrast(page, 'canvas.cornerstone-canvas'), { timeout: 90_000, interval: 1000 })
      .toBeGreaterThan(10);
    expect(failed).toEqual([]);
    expect(violations).toEqual([]);
    // Signed out, OHIF's reads stop: its DICOMweb requests carried the session.
    expect(await page.evaluate(async () => (await fetch('/dicom-web/studies')).status)).toBe(200);
    await page.evaluate(async () => {
      const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken: string };
      await fetch('/api/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': me.csrfToken } });
    });
    expect(await page.evaluate(async () => (await fetch('/dicom-web/studies')).status)).toBe(401);
    await page.close();
  }, 240_000);
});
