import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';

/** Debian's Chromium, which the test command installs when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Chromium headless; with `webgl`, WebGL in software (SwiftShader), as the viewers need it here. */
export function launchChromium(o: { webgl?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      ...(o.webgl
        ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist']
        : []),
    ],
  });
}

/** The spread (standard deviation) of grey values in a screenshot of the first match: 0 for a blank. */
export async function contrast(page: Page, selector: string): Promise<number> {
  const loc = page.locator(selector).first();
  if (!(await loc.count())) return 0;
  return spread(await loc.screenshot());
}

/**
 * The same spread over the pixels a canvas holds itself (its 2D content, as a PNG from the page), whatever
 * the page paints over it: a viewer of others' (OHIF) shows tours and notices above its images.
 */
export async function canvasContrast(page: Page, selector: string): Promise<number> {
  const url = await page.evaluate((sel) => {
    // Runs in the page (this project's types have no DOM).
    const doc = (globalThis as unknown as { document: { querySelector(s: string): object | null } }).document;
    const c = doc.querySelector(sel);
    return c && 'toDataURL' in c ? (c as { toDataURL(type: string): string }).toDataURL('image/png') : '';
  }, selector);
  if (!url.startsWith('data:image/png;base64,')) return 0;
  return spread(Buffer.from(url.slice('data:image/png;base64,'.length), 'base64'));
}

async function spread(png: Buffer): Promise<number> {
  const { data } = await sharp(png)
    .flatten({ background: '#000000' })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let sum = 0;
  let sq = 0;
  for (const v of data) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / data.length;
  return Math.sqrt(Math.max(0, sq / data.length - mean * mean));
}
