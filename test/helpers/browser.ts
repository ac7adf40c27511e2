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
  const { data } = await sharp(await loc.screenshot())
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
