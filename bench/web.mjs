/* global document */
// The web app in Debian's Chromium against a local Lantern (WebGL in software, as on this machine):
// - opening a 500-image CT study (512x512, 16-bit): time to the first image drawn and to the whole stack
//   fetched; reference in the same run: the same 500 frames fetched by the page itself (6 at a time, as a
//   browser does per origin), without decoding or drawing. Targets: first image < 1 s, whole stack < 10 s.
// - the study list on 100,000 studies: time from Search to the first page shown (default order, newest
//   first; and sorted by patient name); reference in the same run: the same QIDO-RS request fetched by the
//   page. Target: first page < 300 ms.
// Medians of BENCH_ROUNDS (default 3); BENCH_WEB=viewer or list runs one. Reported, never asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { loadConfig } from '../dist/config.js';
import { createApp } from '../dist/main.js';
import { buildHttpServer } from '../dist/servers/http/server.js';
import { populate } from './cfind.mjs';
import { ctFile } from './corpus.mjs';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 500);
const STUDIES = Number(process.env.BENCH_STUDIES ?? 100000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PASSWORD = 'quiet-harbour-lighthouse-2026';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (x) => `${Math.round(x)} ms`;

async function archive(dir, fill) {
  const app = await createApp(
    loadConfig({ env: {}, flags: { dataDir: dir, 'http.port': 0, 'audit.accessWindowSeconds': 300 } }),
    pino({ level: 'silent' }),
  );
  await fill(app);
  await app.auth.createAccount({ login: 'bench-reader', roles: ['radiologist'] }, PASSWORD);
  const http = await buildHttpServer(app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  return { app, http, base: `http://127.0.0.1:${http.server.address().port}` };
}

async function signedIn(browser, base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#login input[name=login]', 'bench-reader');
  await page.fill('#login input[name=password]', PASSWORD);
  await page.click('#login button');
  await page.waitForURL(`${base}/`);
  return { context, page };
}

/** Whether the first viewport's canvas shows an image (not a blank). */
const drawn = () => {
  const c = document.querySelector('.viewport canvas');
  if (!c || !c.width) return false;
  const g = document.createElement('canvas');
  g.width = 64;
  g.height = 64;
  const x = g.getContext('2d');
  x.drawImage(c, 0, 0, 64, 64);
  const d = x.getImageData(0, 0, 64, 64).data;
  let min = 255;
  let max = 0;
  for (let i = 0; i < d.length; i += 4) {
    min = Math.min(min, d[i]);
    max = Math.max(max, d[i]);
  }
  return max - min > 16;
};

async function viewer(browser) {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-web-'));
  try {
    const { app, http, base } = await archive(dir, async (app) => {
      for (let i = 0; i < IMAGES; i++) {
        const r = await app.ingest.ingest({ chunks: [ctFile(i, { study: 0 })] });
        if (r.status !== 'stored') throw new Error(`image ${i}: ${r.status}`);
      }
    });
    let studyUid;
    for await (const s of app.query.query({
      level: 'STUDY',
      keys: [{ tag: 0x0020000d, vr: 'UI', value: '' }],
    }))
      studyUid = s['0020000D'].Value[0];
    const first = [];
    const whole = [];
    const shell = [];
    const meta = [];
    const firstMeta = [];
    const frame1 = [];
    const reference = [];
    for (let r = 0; r < ROUNDS; r++) {
      // A new browser context each round: nothing cached from the round before.
      const { context, page } = await signedIn(browser, base);
      let frames = 0;
      let lastFrame = 0;
      const at = {};
      const trace = [];
      page.on('request', (req) => {
        if (process.env.BENCH_TRACE && trace.length < 40)
          trace.push(`${Date.now()} > ${req.url().slice(-90)}`);
      });
      page.on('console', (m) => {
        if (process.env.BENCH_TRACE && trace.length < 40)
          trace.push(`${Date.now()} console ${m.text().slice(0, 200)}`);
      });
      page.on('response', (res) => {
        const u = res.url();
        if (process.env.BENCH_TRACE && trace.length < 40) trace.push(`${Date.now()} < ${u.slice(-90)}`);
        if (/\/frames\/1$/.test(u)) {
          frames++;
          lastFrame = Date.now();
          at.frame ??= Date.now();
        } else if (/\/series\/[0-9.]+\/metadata$/.test(u)) at.meta ??= Date.now();
        else if (/\/instances\/[0-9.]+\/metadata$/.test(u)) at.first ??= Date.now();
        else if (/\/app\/assets\/index-.*\.js$/.test(u)) at.shell ??= Date.now();
      });
      const t0 = Date.now();
      await page.goto(`${base}/viewer/${studyUid}`);
      await page.waitForFunction(drawn, undefined, { polling: 10, timeout: 60_000 });
      first.push(Date.now() - t0);
      if (process.env.BENCH_TRACE && r === 0) {
        const t = t0;
        console.log(trace.map((l) => l.replace(/^\d+/, (n) => String(Number(n) - t).padStart(6))).join('\n'));
      }
      shell.push(at.shell - t0);
      frame1.push(at.frame - t0);
      const until = Date.now() + 120_000;
      while (frames < IMAGES && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      whole.push(lastFrame - t0);
      meta.push(at.meta - t0);
      firstMeta.push(at.first - t0);
      // The reference: the same frames, fetched by the page, 6 at a time, not decoded.
      const urls = await page.evaluate(async (uid) => {
        const m = await (
          await fetch(`/dicom-web/studies/${uid}/metadata`, { headers: { Accept: 'application/dicom+json' } })
        ).json();
        return m.map(
          (ds) =>
            `/dicom-web/studies/${uid}/series/${ds['0020000E'].Value[0]}/instances/${ds['00080018'].Value[0]}/frames/1`,
        );
      }, studyUid);
      const ref = await page.evaluate(async (list) => {
        const t = performance.now();
        let next = 0;
        const worker = async () => {
          while (next < list.length) {
            const u = list[next++];
            const res = await fetch(u, {
              headers: { Accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
            });
            await res.arrayBuffer();
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));
        return performance.now() - t;
      }, urls);
      reference.push(ref);
      await context.close();
    }
    console.log(
      `open a ${IMAGES}-image CT (512x512): first image ${ms(median(first))} (target < 1 s; app script in at ${ms(median(shell))}, its instance metadata at ${ms(median(firstMeta))}, first frame at ${ms(median(frame1))}; the series metadata at ${ms(median(meta))}), whole stack ${ms(median(whole))} (target < 10 s); ` +
        `the page fetching the same frames itself: ${ms(median(reference))} (whole stack / reference ${(median(whole) / median(reference)).toFixed(2)}x)`,
    );
    await http.close();
    await app.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function studyList(browser) {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-list-'));
  try {
    const { app, http, base } = await archive(dir, (app) =>
      populate(app.index, STUDIES, { patients: STUDIES * 0.4 }),
    );
    const { context, page } = await signedIn(browser, base);
    const results = {};
    for (const [label, sortBy] of [
      ['newest first', undefined],
      ['by patient name', 'Patient name'],
    ]) {
      const ui = [];
      const ref = [];
      for (let r = 0; r < ROUNDS + 1; r++) {
        await page.goto(`${base}/`);
        await page.waitForSelector('table.studies tbody tr');
        if (sortBy) {
          await page.click(`th button:has-text("${sortBy}")`);
          await page.waitForSelector('th[aria-sort=ascending]');
        }
        const loaded = Number(await page.getAttribute('.results', 'data-loaded'));
        const t0 = await page.evaluate(() => performance.now());
        await page.click('button[type=submit]');
        // The list has shown the new page (it counts the pages it has shown).
        await page.waitForFunction(
          (n) => Number(document.querySelector('.results')?.getAttribute('data-loaded')) > n,
          loaded,
          { polling: 'raf' },
        );
        const t1 = await page.evaluate(() => performance.now());
        const q = await page.evaluate(
          () =>
            performance
              .getEntriesByType('resource')
              .filter((e) => e.name.includes('/dicom-web/studies?'))
              .at(-1)?.name,
        );
        const refMs = await page.evaluate(async (u) => {
          const t = performance.now();
          await (await fetch(u, { headers: { Accept: 'application/dicom+json' } })).json();
          return performance.now() - t;
        }, q);
        if (r === 0) continue; // the first round warms the server's caches
        ui.push(t1 - t0);
        ref.push(refMs);
      }
      results[label] = { ui: median(ui), ref: median(ref) };
    }
    for (const [label, { ui, ref }] of Object.entries(results))
      console.log(
        `study list on ${STUDIES} studies, ${label}: first page ${ms(ui)} (target < 300 ms); the QIDO-RS request alone ${ms(ref)} (ratio ${(ui / ref).toFixed(2)}x)`,
      );
    await context.close();
    await http.close();
    await app.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--ignore-gpu-blocklist',
    ],
  });
  try {
    if (process.env.BENCH_WEB !== 'list') await viewer(browser);
    if (process.env.BENCH_WEB !== 'viewer') await studyList(browser);
  } finally {
    await browser.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
