import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { canvasContrast, launchChromium } from '../helpers/browser.js';
import { ohifViewerDir } from '../helpers/ohif.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'application/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

let archive: TestArchive;
let http: FastifyInstance;
let viewer: Server;
let browser: Browser;
let lantern: string;
let origin: string;
const studyUid = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';
const work = mkdtempSync(join(tmpdir(), 'lantern-ohif-'));

/** OHIF's static app, with an app-config.js whose one data source is this Lantern (as a site would set it). */
function serveViewer(dir: string): Server {
  return createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path === '/app-config.js') {
      res.writeHead(200, { 'Content-Type': 'application/javascript' });
      res.end(`window.config = {
  routerBasename: '/', extensions: [], modes: [], showStudyList: true, maxNumberOfWebWorkers: 2,
  showCPUFallbackMessage: false, investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'lantern',
  dataSources: [{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb', sourceName: 'lantern',
    configuration: {
      friendlyName: 'Lantern', name: 'lantern',
      wadoUriRoot: '${lantern}/wado', qidoRoot: '${lantern}/dicom-web', wadoRoot: '${lantern}/dicom-web',
      qidoSupportsIncludeField: true, imageRendering: 'wadors', thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true, supportsFuzzyMatching: true, supportsWildcard: true, staticWado: false,
      singlepart: 'bulkdata,video', bulkDataURI: { enabled: true }, omitQuotationForMultipartRequest: true,
    },
  }],
};`);
      return;
    }
    let file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory())
      file = join(dir, 'index.html');
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
}

beforeAll(async () => {
  const dir = ohifViewerDir();
  viewer = serveViewer(dir);
  await new Promise<void>((r) => viewer.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(viewer.address() as { port: number }).port}`;
  archive = await startTestArchive({ settings: { 'http.corsOrigins': origin } });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  lantern = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  // A CT series of two images: the original (uncompressed) and a JPEG-LS copy under its own UID.
  const ct = join(pydicomDataDir(), 'test_files', 'CT_small.dcm');
  const jls = join(work, 'ct-jls.dcm');
  expect((await runDcmtk('dcmcjpls', [ct, jls])).code).toBe(0);
  expect((await runDcmtk('dcmodify', ['-nb', '-gin', '-m', '(0020,0013)=2', jls])).code).toBe(0);
  for (const f of [ct, jls]) {
    const copy = join(work, 'in.dcm');
    copyFileSync(f, copy);
    expect((await archive.app.ingest.ingest({ chunks: [readFileSync(copy)], source: 'TEST' })).status).toBe(
      'stored',
    );
  }
  browser = await launchChromium({ webgl: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await archive?.close();
  viewer?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('OHIF Viewer v3 with Lantern as its DICOMweb data source', () => {
  it('lists the study, loads its metadata and frames (uncompressed and JPEG-LS), and shows the image', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const answers: { status: number; url: string; accept: string }[] = [];
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(lantern)) {
        answers.push({
          status: r.status(),
          url: r.url().slice(lantern.length),
          accept: r.request().headers().accept ?? '',
        });
      }
    });
    page.on('requestfailed', (r) => {
      if (r.url().startsWith(lantern)) failed.push(`${r.url()}: ${r.failure()?.errorText}`);
    });

    // The study list.
    await page.goto(`${origin}/`);
    await expect
      .poll(() => page.getByText(/CompressedSamples/).count(), { timeout: 60_000 })
      .toBeGreaterThan(0);

    // The viewer: series metadata, then frames, and a rendered image in the viewport.
    await page.goto(`${origin}/viewer?StudyInstanceUIDs=${studyUid}`);
    const canvas = page.locator('canvas.cornerstone-canvas').first();
    await expect
      .poll(() => canvasContrast(page, 'canvas.cornerstone-canvas'), { timeout: 90_000, interval: 1000 })
      .toBeGreaterThan(20);
    // Scroll to the second image (the JPEG-LS one) and let it load.
    await canvas.hover();
    await page.mouse.wheel(0, 200);
    await expect
      .poll(() => answers.filter((a) => /\/frames\/1$/.test(a.url)).length, { timeout: 60_000 })
      .toBe(2);

    expect(failed).toEqual([]);
    expect(answers.filter((a) => a.status >= 400)).toEqual([]);
    const kinds = new Set(
      answers.map((a) =>
        /\/metadata$/.test(a.url)
          ? 'metadata'
          : /\/frames\//.test(a.url)
            ? 'frames'
            : /\/series\?/.test(a.url)
              ? 'series'
              : /\/studies\?/.test(a.url)
                ? 'studies'
                : a.url,
      ),
    );
    expect([...kinds].sort()).toEqual(['frames', 'metadata', 'series', 'studies']);
    for (const a of answers.filter((x) => /\/frames\//.test(x.url))) {
      expect(a.accept).toContain('transfer-syntax=*');
    }
    await page.close();
  }, 240_000);
});
