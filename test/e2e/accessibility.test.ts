import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { contrast, launchChromium } from '../helpers/browser.js';
import { ctPhantom } from '../helpers/phantom.js';

// Every page of the web app checked by axe-core (WCAG 2.1 A and AA rules: labels, names, roles, contrast,
// landmarks) in Chromium, and the study list and viewer driven by the keyboard alone. The pages' own
// Content-Security-Policy is bypassed in this test only, to let axe's script in.

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSWORD = 'a lantern by the harbour wall';

let archive: TestArchive;
let http: FastifyInstance;
let browser: Browser;
let base: string;
let studyUid: string;

beforeAll(async () => {
  archive = await startTestArchive({ settings: { 'security.authentication': true } });
  await archive.app.auth.createAccount(
    { login: 'boss', displayName: 'Ada Boss', roles: ['administrator'] },
    PASSWORD,
  );
  const { files, phantom } = ctPhantom({ patientName: 'Axe^Ada', patientId: 'AXE-1', slices: 4 });
  for (const f of files) await archive.app.ingest.ingest({ chunks: [f] });
  studyUid = phantom.studyUid;
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

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's WCAG 2.1 A/AA violations on the page as it stands. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const { violations: found, passes } = (await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => ({ violations: r.violations, passes: r.passes.length }))`,
  )) as { violations: Violation[]; passes: number };
  // The rules ran (a page they could not read would pass nothing).
  expect(passes).toBeGreaterThan(5);
  return found.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

describe('the web app is accessible', () => {
  it('has no WCAG 2.1 A/AA violations on any page, and the list and viewer work from the keyboard', async () => {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const found: Record<string, string[]> = {};

    await page.goto(`${base}/login`);
    await page.waitForSelector('#login:not([hidden])');
    found.login = await violations(page);

    // Signing in by the keyboard alone.
    await page.focus('#login input[name=login]');
    await page.keyboard.type('boss');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/`);
    const rows = page.locator('table.studies[aria-label=Studies] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => page.locator('td.state').first().textContent()).not.toBe('');
    found.studies = await violations(page);

    // The study row is reached with Tab and opened with Enter; focus is visible on it.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate(
        "document.activeElement?.tagName === 'TR' && document.activeElement.hasAttribute('data-study')",
      )) as boolean;
    }
    expect(reached, 'a study row takes the focus by Tab').toBe(true);
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/viewer/${studyUid}`);
    await expect.poll(() => contrast(page, '.viewport canvas'), { timeout: 60_000 }).toBeGreaterThan(10);
    found.viewer = await violations(page);

    // Scrolling the stack from the keyboard once the viewport has the focus (Tab reaches it).
    let onViewport = false;
    for (let i = 0; i < 60 && !onViewport; i++) {
      await page.keyboard.press('Tab');
      onViewport = (await page.evaluate(
        "!!document.activeElement?.classList.contains('viewport-element')",
      )) as boolean;
    }
    expect(onViewport, 'the viewport takes the focus by Tab').toBe(true);
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.textContent('[data-testid=image-index]')).toBe('Im 2/4');

    for (const section of ['users', 'peers', 'status', 'quarantine', 'audit']) {
      await page.goto(`${base}/admin/${section}`);
      await page.waitForSelector('.admin-page');
      await page.waitForLoadState('networkidle');
      found[`admin/${section}`] = await violations(page);
    }
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
    await context.close();
  }, 180_000);
});
