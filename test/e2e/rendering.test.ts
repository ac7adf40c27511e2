import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { contrast, launchChromium } from '../helpers/browser.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { runDcmtk } from '../helpers/dcmtk.js';

// What the viewer draws (Cornerstone3D, software WebGL) against what DCMTK's dcmj2pnm renders from the
// same file at the same window: signed pixels with rescale, MONOCHROME1, RGB, YBR_FULL_422 (JPEG, as
// modalities send it), and the frames of a multi-frame image. (YBR_FULL_422 in a native transfer syntax
// is not among them: Cornerstone's image loader 5.14 takes its size for 4:2:0's and draws nothing;
// docs/conformance.md says so. The server's own rendering of it matches dcmj2pnm:
// test/interop/dicomweb-pixels.test.ts.) Both are brought to 32x32 in the page and compared by correlation (the
// viewer interpolates and scales; a wrong inversion, colour model or frame correlates poorly or negatively).

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-render-'));
const ARTIFACTS = join(process.cwd(), '.cache', 'artifacts');
const PASSWORD = 'a lantern by the harbour wall';
const samples = () => join(pydicomDataDir(), 'test_files');

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  archive = await startTestArchive({ settings: { 'security.authentication': true } });
  await archive.app.auth.createAccount({ login: 'reader', roles: ['radiologist'] }, PASSWORD);
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  browser = await launchChromium({ webgl: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A copy of a sample as a study of its own (new study, series and instance UIDs). */
async function asOwnStudy(name: string, edit: string[] = []): Promise<string> {
  const file = join(work, `${name}-${Math.random().toString(36).slice(2)}.dcm`);
  copyFileSync(join(samples(), name), file);
  const r = await runDcmtk('dcmodify', ['-nb', '-gst', '-gse', '-gin', ...edit, file]);
  expect(r.code, r.out).toBe(0);
  return file;
}

async function store(file: string): Promise<string> {
  const out = await archive.app.ingest.ingest({ chunks: [readFileSync(file)] });
  expect(out.status).toBe('stored');
  return out.studyUid;
}

/** Pearson correlation of two equally long sample arrays. */
function correlation(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/**
 * The viewport's image (the area of the canvas it fills, fitted and centred) and the reference PNG, each
 * drawn at 32x32: RGB samples of both.
 */
const IN_PAGE_SAMPLES = `async ({ url, cols, rows }) => {
  const c = document.querySelector('.viewport canvas');
  const s = Math.min(c.width / cols, c.height / rows);
  const [w, h] = [cols * s, rows * s];
  const g = document.createElement('canvas');
  g.width = 32;
  g.height = 32;
  const x = g.getContext('2d', { willReadFrequently: true });
  const rgb = (d) => [...d].filter((_, i) => i % 4 !== 3);
  x.drawImage(c, (c.width - w) / 2, (c.height - h) / 2, w, h, 0, 0, 32, 32);
  const shown = rgb(x.getImageData(0, 0, 32, 32).data);
  const img = new Image();
  img.src = url;
  await img.decode();
  x.clearRect(0, 0, 32, 32);
  x.drawImage(img, 0, 0, 32, 32);
  return { shown, reference: rgb(x.getImageData(0, 0, 32, 32).data) };
}`;

async function samplesOf(page: Page, png: Buffer, cols: number, rows: number) {
  // Run in the page (the DOM's types are not this program's: the function is sent as text).
  const args = { url: `data:image/png;base64,${png.toString('base64')}`, cols, rows };
  return (await page.evaluate(`(${IN_PAGE_SAMPLES})(${JSON.stringify(args)})`)) as {
    shown: number[];
    reference: number[];
  };
}

/** dcmj2pnm's PNG of one frame of `file`, at the window the viewer shows (for grayscale). */
async function reference(file: string, frame: number, window?: { width: number; center: number }) {
  const out = join(work, `ref-${Math.random().toString(36).slice(2)}.png`);
  const args = ['+on', '+F', String(frame)];
  if (window) args.push('+Ww', String(window.center), String(window.width));
  const r = await runDcmtk('dcmj2pnm', [...args, file, out]);
  expect(r.code, r.out).toBe(0);
  return readFileSync(out);
}

describe('the viewer renders as DCMTK does', () => {
  it('signed CT with rescale, MONOCHROME1, RGB, YBR_FULL_422 JPEG and each frame of a multi-frame image', async () => {
    const cases = [
      {
        name: 'CT signed, rescale',
        file: await asOwnStudy('CT_small.dcm'),
        size: 128,
        frames: 1,
        grey: true,
      },
      { name: 'MR', file: await asOwnStudy('MR_small.dcm'), size: 64, frames: 1, grey: true },
      {
        name: 'MONOCHROME1',
        file: await asOwnStudy('MR_small.dcm', ['-m', '(0028,0004)=MONOCHROME1']),
        size: 64,
        frames: 1,
        grey: true,
      },
      { name: 'RGB', file: await asOwnStudy('SC_rgb_rle.dcm'), size: 100, frames: 1, grey: false },
      {
        name: 'YBR_FULL_422 JPEG',
        file: await asOwnStudy('SC_rgb_dcmtk_+eb+cy+s2.dcm'),
        size: 100,
        frames: 1,
        grey: false,
      },
      {
        name: 'multi-frame RGB',
        file: await asOwnStudy('SC_rgb_rle_2frame.dcm'),
        size: 100,
        frames: 2,
        grey: false,
      },
    ];
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text().slice(0, 300));
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(`${base}/login`);
    await page.fill('#login input[name=login]', 'reader');
    await page.fill('#login input[name=password]', PASSWORD);
    await page.click('#login button');
    await page.waitForURL(`${base}/`);
    problems.length = 0; // the sign-in page's question who is signed in (401) before
    const results: string[] = [];
    for (const c of cases) {
      const study = await store(c.file);
      await page.goto(`${base}/viewer/${study}`);
      await expect.poll(() => contrast(page, '.viewport canvas'), { timeout: 60_000 }).toBeGreaterThan(10);
      await expect.poll(() => page.textContent('[data-testid=image-index]')).toBe(`Im 1/${c.frames}`);
      for (let frame = 1; frame <= c.frames; frame++) {
        if (frame > 1) {
          await page.locator('.viewport-element').first().focus();
          await page.keyboard.press('ArrowDown');
          await expect
            .poll(() => page.textContent('[data-testid=image-index]'))
            .toBe(`Im ${frame}/${c.frames}`);
          await page.waitForTimeout(300); // the frame drawn
        }
        let window: { width: number; center: number } | undefined;
        if (c.grey) {
          const m = /^W (-?[\d.]+) L (-?[\d.]+)$/.exec((await page.textContent('[data-testid=window]'))!);
          expect(m, c.name).not.toBeNull();
          window = { width: Number(m![1]), center: Number(m![2]) };
        }
        await page.screenshot({
          path: join(ARTIFACTS, `render-${c.name.replace(/\W+/g, '-')}-${frame}.png`),
        });
        const s = await samplesOf(page, await reference(c.file, frame, window), c.size, c.size);
        const r = correlation(s.shown, s.reference);
        const range = (v: number[]) => `${Math.min(...v)}-${Math.max(...v)}`;
        results.push(
          `${c.name} frame ${frame}: r=${r.toFixed(3)} (${range(s.shown)} / ${range(s.reference)})`,
        );
        expect(r, `${c.name}, frame ${frame}: ${results.join('; ')} ${problems.join(' | ')}`).toBeGreaterThan(
          0.9,
        );
      }
    }
    // The two frames differ, and each matched its own reference: frame 1 against frame 2's must not.
    const two = cases.at(-1)!;
    const [f1, f2] = [await reference(two.file, 1), await reference(two.file, 2)];
    expect(f1.equals(f2)).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  }, 240_000);
});
