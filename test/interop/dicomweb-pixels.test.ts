import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/adapters/imaging/codecs.js';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { frameLayout } from '../../src/core/imaging/frames.js';
import { pixelModule } from '../../src/core/imaging/pixel-module.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { multipartParts } from '../helpers/http.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';

let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-pixels-'));
const samples = () => join(pydicomDataDir(), 'test_files');

beforeAll(async () => {
  archive = await startTestArchive();
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}/dicom-web`;
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

async function dcmtk(tool: string, args: string[]): Promise<void> {
  const r = await runDcmtk(tool, args);
  if (r.code !== 0) throw new Error(`${tool} failed: ${r.out}`);
}

/** Gives a derived file its own SOP Instance UID (the archive would take it for the original). */
async function newUids(file: string): Promise<void> {
  await dcmtk('dcmodify', ['-nb', '-gin', file]);
}

let copies = 0;

/** Stores a copy of a file under its own SOP Instance UID (samples share UIDs) and returns its URL. */
async function store(file: string): Promise<string> {
  const copy = join(work, `stored-${++copies}.dcm`);
  copyFileSync(file, copy);
  await newUids(copy);
  const o = await archive.app.ingest.ingest({ chunks: [readFileSync(copy)], source: 'TEST' });
  expect(o.status, file).toBe('stored');
  return `${base}/studies/${o.studyUid}/series/${o.seriesUid}/instances/${o.sopInstanceUid}`;
}

/** The native frames of an uncompressed file (as DCMTK's decompressors write them). */
function nativeFrames(file: string): Buffer[] {
  const r = parseDicom(readFileSync(file));
  const ds = r.dataset;
  const pm = pixelModule(ds);
  const pixels = ds.get(Tag.PixelData)!.value!;
  const size = (pm.rows * pm.columns * pm.samplesPerPixel * pm.bitsAllocated) / 8;
  return Array.from({ length: pm.frames }, (_, i) => Buffer.from(pixels.subarray(i * size, (i + 1) * size)));
}

const EXPLICIT_LE = 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1';
const AS_STORED = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

describe('WADO-RS frames', () => {
  it('decodes every lossless syntax exactly as DCMTK does (dcmdjpeg, dcmdjpls, dcmdrle)', async () => {
    const ct = join(samples(), 'CT_small.dcm');
    const cases: { file: string; tool: string }[] = [];
    for (const [tool, out, args] of [
      ['dcmcjpeg', 'ct-jpeg-ll.dcm', []], // JPEG Lossless SV1
      ['dcmcjpeg', 'ct-jpeg-ll-p6.dcm', ['+el', '+sv', '6']], // JPEG Lossless, predictor 6
      ['dcmcjpeg', 'ct-jpeg-ll-p7.dcm', ['+el', '+sv', '7']],
      ['dcmcjpls', 'ct-jls.dcm', []],
      ['dcmcrle', 'ct-rle.dcm', []],
    ] as const) {
      await dcmtk(tool, [...args, ct, join(work, out)]);
      await newUids(join(work, out));
      cases.push({ file: join(work, out), tool: tool.replace('dcmc', 'dcmd') });
    }
    for (const name of [
      'MR_small_RLE.dcm',
      'MR_small_jpeg_ls_lossless.dcm',
      'SC_rgb_rle_16bit_2frame.dcm',
      'SC_rgb_rle_32bit_2frame.dcm',
      'SC_rgb_jpeg_gdcm.dcm',
    ]) {
      const lower = name.toLowerCase();
      const tool = lower.includes('rle') ? 'dcmdrle' : lower.includes('jpeg_ls') ? 'dcmdjpls' : 'dcmdjpeg';
      cases.push({ file: join(samples(), name), tool });
    }
    for (const c of cases) {
      const reference = c.file.replace(/\.dcm$/, '') + '.ref.dcm';
      const target = join(work, reference.split('/').pop()!);
      await dcmtk(c.tool, [c.file, target]);
      const expected = nativeFrames(target);
      const url = await store(c.file);
      const list = expected.map((_, i) => i + 1).join(',');
      const res = await fetch(`${url}/frames/${list}`, { headers: { Accept: EXPLICIT_LE } });
      expect(res.status, c.file).toBe(200);
      const got = await multipartParts(res);
      expect(got.length, c.file).toBe(expected.length);
      for (let i = 0; i < got.length; i++) {
        expect(got[i].headers['content-type']).toBe(
          'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1',
        );
        expect(got[i].bytes.equals(expected[i]), `${c.file} frame ${i + 1}`).toBe(true);
      }
    }
  });

  it('decodes JPEG 2000 lossless to the pixels of the uncompressed original', async () => {
    const url = await store(join(samples(), 'MR_small_jp2klossless.dcm'));
    const [part] = await multipartParts(await fetch(`${url}/frames/1`, { headers: { Accept: EXPLICIT_LE } }));
    expect(part.bytes.equals(nativeFrames(join(samples(), 'MR_small.dcm'))[0])).toBe(true);
  });

  it('sends frames as stored with transfer-syntax=*, and transcodes to JPEG-LS and JPEG 2000 losslessly', async () => {
    const file = join(samples(), 'SC_rgb_rle_2frame.dcm');
    const url = await store(file);
    const stored = parseDicom(readFileSync(file)).dataset.get(Tag.PixelData)!.fragments!;
    const got = await multipartParts(await fetch(`${url}/frames/2,1`, { headers: { Accept: AS_STORED } }));
    expect(got.map((p) => p.headers['content-type'])).toEqual([
      'image/x-dicom-rle; transfer-syntax=1.2.840.10008.1.2.5',
      'image/x-dicom-rle; transfer-syntax=1.2.840.10008.1.2.5',
    ]);
    expect(got[0].bytes.equals(Buffer.from(stored[2].value!))).toBe(true);
    expect(got[1].bytes.equals(Buffer.from(stored[1].value!))).toBe(true);
    // No Accept: the standard's default, uncompressed.
    const plain = await multipartParts(await fetch(`${url}/frames/1`));
    expect(plain[0].headers['content-type']).toContain('transfer-syntax=1.2.840.10008.1.2.1');
    // Transcoded: decoding the JPEG-LS / JPEG 2000 frame gives the original pixels back.
    const native = plain[0].bytes;
    const header = parseDicom(readFileSync(file)).dataset;
    const pm = pixelModule(header);
    for (const [type, ts] of [
      ['image/jls', '1.2.840.10008.1.2.4.80'],
      ['image/jp2', '1.2.840.10008.1.2.4.90'],
    ]) {
      const res = await fetch(`${url}/frames/1`, {
        headers: { Accept: `multipart/related; type="${type}"` },
      });
      const [p] = await multipartParts(res);
      expect(p.headers['content-type']).toBe(`${type}; transfer-syntax=${ts}`);
      const back = await decodeFrame(ts, { ...pm, photometric: 'RGB' }, [p.bytes]);
      expect(Buffer.from(back.data).equals(native), type).toBe(true);
    }
    // A single frame may come as a single part.
    const single = await fetch(`${url}/frames/1`, { headers: { Accept: 'application/octet-stream' } });
    expect(single.headers.get('content-type')).toBe(
      'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1',
    );
    expect(Buffer.from(await single.arrayBuffer()).equals(native)).toBe(true);
  });

  it('finds frames without an offset table by their codestream markers', async () => {
    // A two-frame JPEG-LS object, several fragments a frame, an empty Basic Offset Table.
    const native = join(work, 'noise-2frame.dcm');
    const noise = Buffer.alloc(64 * 64 * 2 * 2);
    for (let i = 0; i < noise.length / 2; i++) noise.writeUInt16LE((i * 2654435761) % 4096, i * 2);
    writeFileSync(native, synthInstance({ rows: 64, columns: 64, pixels: noise }).bytes);
    await dcmtk('dcmodify', ['-nb', '-i', '(0028,0008)=2', native]);
    const jls = join(work, 'noise-2frame-jls.dcm');
    await dcmtk('dcmcjpls', ['--fragment-size', '1', '--offset-table-empty', native, jls]);
    await newUids(jls);
    const parsed = parseDicom(readFileSync(jls));
    const fragments = parsed.dataset.get(Tag.PixelData)!.fragments!;
    expect(fragments[0].length).toBe(0);
    expect(fragments.length).toBeGreaterThan(3);
    const url = await store(jls);
    const expected = nativeFrames(native);
    const got = await multipartParts(await fetch(`${url}/frames/2,1`, { headers: { Accept: EXPLICIT_LE } }));
    expect(got[0].bytes.equals(expected[1])).toBe(true);
    expect(got[1].bytes.equals(expected[0])).toBe(true);
    const layout = await frameLayout(
      parsed.dataset,
      pixelModule(parsed.dataset),
      parsed.transferSyntax,
      async (p) => ('bytes' in p ? p.bytes : new Uint8Array(0)),
    );
    expect(layout.frames.length).toBe(2);
  });

  it('answers bad frame requests precisely', async () => {
    const url = await store(join(samples(), 'CT_small.dcm'));
    expect((await fetch(`${url}/frames/2`, { headers: { Accept: AS_STORED } })).status).toBe(404);
    expect((await fetch(`${url}/frames/1,x`, { headers: { Accept: AS_STORED } })).status).toBe(400);
    expect((await fetch(`${url}/frames/0`, { headers: { Accept: AS_STORED } })).status).toBe(400);
    const lossy = await fetch(`${url}/frames/1`, {
      headers: { Accept: 'multipart/related; type="image/jp2"; transfer-syntax=1.2.840.10008.1.2.4.91' },
    });
    expect(lossy.status).toBe(406);
    expect((await fetch(`${url}/frames/1`, { headers: { Accept: 'text/html' } })).status).toBe(406);
    // A 12-bit lossy JPEG has no decoder here: as stored only.
    const jpeg12 = await store(join(samples(), 'JPEG-lossy.dcm'));
    expect((await fetch(`${jpeg12}/frames/1`, { headers: { Accept: AS_STORED } })).status).toBe(200);
    const r = await fetch(`${jpeg12}/frames/1`, { headers: { Accept: EXPLICIT_LE } });
    expect(r.status).toBe(406);
  });
});

/** A binary PGM/PPM (as dcmj2pnm writes) as raw samples. */
function readPnm(file: string): { width: number; height: number; channels: number; data: Buffer } {
  const b = readFileSync(file);
  const header: string[] = [];
  let p = 0;
  while (header.length < 4) {
    while (/\s/.test(String.fromCharCode(b[p]))) p++;
    let t = '';
    while (!/\s/.test(String.fromCharCode(b[p]))) t += String.fromCharCode(b[p++]);
    header.push(t);
  }
  p++;
  return {
    width: Number(header[1]),
    height: Number(header[2]),
    channels: header[0] === 'P6' ? 3 : 1,
    data: b.subarray(p),
  };
}

async function pngPixels(
  res: Response,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  expect(res.status, await res.clone().text()).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const grey = (await sharp(bytes).metadata()).channels === 1;
  const img = grey ? sharp(bytes).toColourspace('b-w') : sharp(bytes);
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function maxDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('rendered and thumbnail', () => {
  it('renders what dcmj2pnm renders for the same window, from any transfer syntax', async () => {
    const ct = join(samples(), 'CT_small.dcm');
    const cases: { file: string; dcmj2pnm: string[]; query: string }[] = [
      { file: ct, dcmj2pnm: ['+Ww', '40', '400'], query: 'window=40,400' },
      { file: ct, dcmj2pnm: ['+Ww', '1000', '3000'], query: 'window=1000,3000,linear' },
      { file: ct, dcmj2pnm: ['+Wm'], query: '' },
      { file: join(samples(), 'MR_small.dcm'), dcmj2pnm: ['+Ww', '600', '1200'], query: 'window=600,1200' },
      { file: join(samples(), 'MR_small.dcm'), dcmj2pnm: ['+Wi', '1'], query: '' },
      { file: join(samples(), 'SC_ybr_full_422_uncompressed.dcm'), dcmj2pnm: [], query: '' },
      { file: join(samples(), 'SC_rgb_rle.dcm'), dcmj2pnm: [], query: '' },
      { file: join(samples(), 'SC_rgb_rle_16bit.dcm'), dcmj2pnm: [], query: '' },
    ];
    // The same CT through JPEG Lossless renders the same.
    const jpll = join(work, 'ct-render-jpll.dcm');
    await dcmtk('dcmcjpeg', [ct, jpll]);
    await newUids(jpll);
    cases.push({ file: jpll, dcmj2pnm: ['+Ww', '40', '400'], query: 'window=40,400' });
    for (const [i, c] of cases.entries()) {
      const pnm = join(work, `ref-${i}.pnm`);
      await dcmtk('dcmj2pnm', [...c.dcmj2pnm, c.file, pnm]);
      const ref = readPnm(pnm);
      const url = await store(c.file);
      const got = await pngPixels(
        await fetch(`${url}/rendered?${c.query}`, { headers: { Accept: 'image/png' } }),
      );
      expect([got.width, got.height, got.channels], c.file).toEqual([ref.width, ref.height, ref.channels]);
      expect(maxDiff(got.data, ref.data), `${c.file} ${c.query}`).toBeLessThanOrEqual(1);
    }
  });

  it('renders MONOCHROME1 inverted and palette colour through its tables, as dcmj2pnm does', async () => {
    const mono1 = join(work, 'mono1.dcm');
    copyFileSync(join(samples(), 'MR_small.dcm'), mono1);
    await dcmtk('dcmodify', ['-nb', '-gin', '-m', '(0028,0004)=MONOCHROME1', mono1]);
    const pnm = join(work, 'mono1.pnm');
    await dcmtk('dcmj2pnm', ['+Ww', '600', '1200', mono1, pnm]);
    const got = await pngPixels(
      await fetch(`${await store(mono1)}/rendered?window=600,1200`, { headers: { Accept: 'image/png' } }),
    );
    expect(maxDiff(got.data, readPnm(pnm).data)).toBeLessThanOrEqual(1);
    // Palette colour: a 12-bit image whose tables are three different ramps.
    const pal = join(work, 'palette.dcm');
    writeFileSync(pal, synthInstance({ rows: 64, columns: 64 }).bytes);
    const ramps = [0, 1, 2].map((k) => {
      const lut = Buffer.alloc(4096 * 2);
      for (let i = 0; i < 4096; i++)
        lut.writeUInt16LE(k === 0 ? i * 16 : k === 1 ? 65535 - i * 16 : (i * 48) & 0xffff, i * 2);
      const f = join(work, `lut-${k}.raw`);
      writeFileSync(f, lut);
      return f;
    });
    await dcmtk('dcmodify', [
      '-nb',
      '-m',
      '(0028,0004)=PALETTE COLOR',
      '-i',
      '(0028,1101)=4096\\0\\16',
      '-i',
      '(0028,1102)=4096\\0\\16',
      '-i',
      '(0028,1103)=4096\\0\\16',
      '-if',
      `(0028,1201)=${ramps[0]}`,
      '-if',
      `(0028,1202)=${ramps[1]}`,
      '-if',
      `(0028,1203)=${ramps[2]}`,
      pal,
    ]);
    const ppm = join(work, 'palette.pnm');
    await dcmtk('dcmj2pnm', [pal, ppm]);
    const ref = readPnm(ppm);
    const colour = await pngPixels(
      await fetch(`${await store(pal)}/rendered`, { headers: { Accept: 'image/png' } }),
    );
    expect(colour.channels).toBe(3);
    expect(maxDiff(colour.data, ref.data)).toBeLessThanOrEqual(1);
  });

  it('applies a VOI LUT Sequence and a Modality LUT Sequence as dcmj2pnm does', async () => {
    const table = (f: (i: number) => number) => {
      const b = Buffer.alloc(4096 * 2);
      for (let i = 0; i < 4096; i++) b.writeUInt16LE(Math.min(65535, Math.round(f(i))), i * 2);
      const file = join(work, `lut-${Math.random().toString(36).slice(2)}.raw`);
      writeFileSync(file, b);
      return file;
    };
    // A VOI LUT (a square-root curve over 12 bits) instead of a window.
    const voi = join(work, 'voi-lut.dcm');
    copyFileSync(join(samples(), 'MR_small.dcm'), voi);
    await dcmtk('dcmodify', [
      '-nb',
      '-e',
      '(0028,1050)',
      '-e',
      '(0028,1051)',
      '-i',
      '(0028,3010)[0].(0028,3002)=4096\\0\\12',
      '-if',
      `(0028,3010)[0].(0028,3006)=${table((i) => Math.sqrt(i / 4095) * 4095)}`,
      voi,
    ]);
    // A Modality LUT (doubling) instead of a rescale, then a window over its output.
    const modality = join(work, 'modality-lut.dcm');
    copyFileSync(join(samples(), 'MR_small.dcm'), modality);
    await dcmtk('dcmodify', [
      '-nb',
      '-i',
      '(0028,3000)[0].(0028,3002)=4096\\0\\16',
      '-i',
      '(0028,3000)[0].(0028,3004)=US',
      '-if',
      `(0028,3000)[0].(0028,3006)=${table((i) => i * 2)}`,
      modality,
    ]);
    for (const [file, args, query] of [
      [voi, ['+Wl', '1'], ''],
      [modality, ['+Ww', '1200', '2400'], 'window=1200,2400'],
    ] as const) {
      const pnm = join(work, `${file.split('/').pop()}.pnm`);
      await dcmtk('dcmj2pnm', [...args, file, pnm]);
      const got = await pngPixels(
        await fetch(`${await store(file)}/rendered?${query}`, { headers: { Accept: 'image/png' } }),
      );
      expect(maxDiff(got.data, readPnm(pnm).data), file).toBeLessThanOrEqual(1);
    }
  });

  it('scales to a viewport, crops a region, honours quality, and makes thumbnails at every level', async () => {
    const big = synthInstance({ rows: 256, columns: 512 });
    const file = join(work, 'big.dcm');
    writeFileSync(file, big.bytes);
    const url = await store(file);
    const vp = await pngPixels(
      await fetch(`${url}/rendered?viewport=128,128`, { headers: { Accept: 'image/png' } }),
    );
    expect([vp.width, vp.height]).toEqual([128, 64]);
    const crop = await pngPixels(
      await fetch(`${url}/rendered?viewport=100,100,10,20,100,50`, { headers: { Accept: 'image/png' } }),
    );
    expect([crop.width, crop.height]).toEqual([100, 50]);
    const full = await pngPixels(await fetch(`${url}/rendered`, { headers: { Accept: 'image/png' } }));
    // The crop is the region of the full-size rendering.
    for (let y = 0; y < 50; y++) {
      for (let x = 0; x < 100; x++) expect(crop.data[y * 100 + x]).toBe(full.data[(y + 20) * 512 + x + 10]);
    }
    const low = await fetch(`${url}/rendered?quality=5`);
    const high = await fetch(`${url}/rendered?quality=95`);
    expect(low.headers.get('content-type')).toBe('image/jpeg');
    expect((await low.arrayBuffer()).byteLength).toBeLessThan((await high.arrayBuffer()).byteLength);
    for (const path of [url, url.replace(/\/instances\/.*/, ''), url.replace(/\/series\/.*/, '')]) {
      const t = await fetch(`${path}/thumbnail`, { headers: { Accept: 'image/jpeg' } });
      expect(t.status).toBe(200);
      const meta = await sharp(Buffer.from(await t.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 128, 64]);
    }
    // A series renders as one part per instance.
    const series = await fetch(`${url.replace(/\/instances\/.*/, '')}/rendered`, {
      headers: { Accept: 'image/jpeg' },
    });
    expect((await multipartParts(series)).length).toBe(1);
    // Frame-level rendered and thumbnail.
    expect((await fetch(`${url}/frames/1/rendered`)).headers.get('content-type')).toBe('image/jpeg');
    expect((await fetch(`${url}/frames/1/thumbnail`)).status).toBe(200);
    // Bad parameters: 400; unrenderable media type: 406.
    for (const q of [
      'window=40',
      'window=a,b',
      'window=40,0',
      'window=40,400,cubic',
      'viewport=0,10',
      'viewport=10,10,600,0,10,10',
      'quality=0',
      'quality=101',
    ]) {
      expect((await fetch(`${url}/rendered?${q}`)).status, q).toBe(400);
    }
    expect((await fetch(`${url}/rendered`, { headers: { Accept: 'image/gif' } })).status).toBe(406);
  });

  it('answers WADO-URI with JPEG by default for an image, with window, size, region and frame', async () => {
    const file = join(samples(), 'CT_small.dcm');
    const url = await store(file);
    const [, study, series, instance] = /studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)/.exec(url)!;
    const wado = `${base.replace('/dicom-web', '')}/wado?requestType=WADO&studyUID=${study}&seriesUID=${series}&objectUID=${instance}`;
    const def = await fetch(wado);
    expect(def.headers.get('content-type')).toBe('image/jpeg');
    const pnm = join(work, 'wado.pnm');
    await dcmtk('dcmj2pnm', ['+Ww', '40', '400', file, pnm]);
    const png = await pngPixels(await fetch(`${wado}&contentType=image/png&windowCenter=40&windowWidth=400`));
    expect(maxDiff(png.data, readPnm(pnm).data)).toBeLessThanOrEqual(1);
    const small = await pngPixels(await fetch(`${wado}&contentType=image/png&rows=64&columns=64`));
    expect([small.width, small.height]).toEqual([64, 64]);
    const region = await pngPixels(await fetch(`${wado}&contentType=image/png&region=0,0,0.5,0.25`));
    expect([region.width, region.height]).toEqual([64, 32]);
    expect((await fetch(`${wado}&contentType=application/dicom`)).headers.get('content-type')).toBe(
      'application/dicom',
    );
    expect((await fetch(`${wado}&contentType=image/png&windowCenter=40`)).status).toBe(400);
    expect((await fetch(`${wado}&contentType=image/png&frameNumber=2`)).status).toBe(404);
    expect((await fetch(`${wado}&contentType=image/gif`)).status).toBe(406);
    // A non-image object defaults to application/dicom.
    const sr = await store(join(samples(), 'test-SR.dcm'));
    const [, s2, se2, i2] = /studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)/.exec(sr)!;
    const srRes = await fetch(
      `${base.replace('/dicom-web', '')}/wado?requestType=WADO&studyUID=${s2}&seriesUID=${se2}&objectUID=${i2}`,
    );
    expect(srRes.headers.get('content-type')).toBe('application/dicom');
    expect((await fetch(`${sr}/rendered`)).status).toBe(406);
  });
});

describe('bad pixel data', () => {
  it('refuses frames that disagree with their header, absurd sizes and corrupt codestreams with 422, and keeps serving', async () => {
    const bad: string[] = [];
    // Native pixel data shorter than Rows x Columns declares.
    const short = join(work, 'short.dcm');
    copyFileSync(join(samples(), 'CT_small.dcm'), short);
    await dcmtk('dcmodify', ['-nb', '-gin', '-m', '(0028,0010)=512', short]);
    bad.push(short);
    // Absurd dimensions.
    const huge = join(work, 'huge.dcm');
    copyFileSync(join(samples(), 'CT_small.dcm'), huge);
    await dcmtk('dcmodify', ['-nb', '-gin', '-m', '(0028,0010)=65535', '-m', '(0028,0011)=65535', huge]);
    bad.push(huge);
    // A JPEG 2000 codestream smaller than the header says.
    const j2k = join(work, 'j2k-size.dcm');
    copyFileSync(join(samples(), 'MR_small_jp2klossless.dcm'), j2k);
    await dcmtk('dcmodify', ['-nb', '-gin', '-m', '(0028,0010)=128', j2k]);
    bad.push(j2k);
    // JPEG-LS and JPEG Lossless frames with their entropy-coded data overwritten.
    for (const [tool, name] of [
      ['dcmcjpls', 'corrupt-jls.dcm'],
      ['dcmcjpeg', 'corrupt-jpll.dcm'],
    ]) {
      const f = join(work, name);
      await dcmtk(tool, [join(samples(), 'CT_small.dcm'), f]);
      await newUids(f);
      const b = readFileSync(f);
      for (let i = b.length - 4000; i < b.length - 100; i++) b[i] = (i * 7919) & 0xff;
      writeFileSync(f, b);
      bad.push(f);
    }
    for (const f of bad) {
      const url = await store(f);
      const r = await fetch(`${url}/rendered`);
      expect(r.status, f).toBe(422);
      expect(((await r.json()) as { code: string }).code).toBe('LNT_IMAGE_INVALID');
      expect((await fetch(`${url}/frames/1`, { headers: { Accept: EXPLICIT_LE } })).status, f).toBe(422);
    }
    // Still serving.
    const ok = await store(join(samples(), 'MR_small.dcm'));
    expect((await fetch(`${ok}/rendered`)).status).toBe(200);
  });
});

/** The data set of a file as dcmdump prints it, without the meta header and the lines a codec may change. */
async function dump(file: string): Promise<string[]> {
  const r = await runDcmtk('dcmdump', ['-q', '+L', '-M', file]);
  expect(r.code, r.out).toBe(0);
  return r.out
    .split('\n')
    .filter((l) => l.trim() && !/^\(0002,/.test(l) && !/\(7fe0,0010\)/.test(l) && !/^\s*\(fffe,e0/.test(l));
}

describe('WADO-RS transcoding of whole instances', () => {
  const accept = (ts: string) => ({
    Accept: `multipart/related; type="application/dicom"; transfer-syntax=${ts}`,
  });
  const EXPLICIT = '1.2.840.10008.1.2.1';

  it('decompresses to Explicit VR Little Endian exactly as DCMTK does, data set and pixels', async () => {
    const ct = join(samples(), 'CT_small.dcm');
    const cases: { file: string; tool: string }[] = [];
    for (const [tool, out] of [
      ['dcmcjpls', 'tx-jls.dcm'],
      ['dcmcjpeg', 'tx-jpll.dcm'],
      ['dcmcrle', 'tx-rle.dcm'],
    ] as const) {
      await dcmtk(tool, [ct, join(work, out)]);
      cases.push({ file: join(work, out), tool: tool.replace('dcmc', 'dcmd') });
    }
    cases.push({ file: join(samples(), 'SC_rgb_rle_2frame.dcm'), tool: 'dcmdrle' });
    for (const c of cases) {
      const url = await store(c.file);
      const res = await fetch(url, { headers: accept(EXPLICIT) });
      expect(res.status, c.file).toBe(200);
      const [part] = await multipartParts(res);
      expect(part.headers['content-type']).toBe(`application/dicom; transfer-syntax=${EXPLICIT}`);
      expect(Number(part.headers['content-length'])).toBe(part.bytes.length);
      const ours = join(work, `ours-${c.file.split('/').pop()}`);
      writeFileSync(ours, part.bytes);
      // DCMTK's own decompression of the same stored object (its UIDs are the stored copy's).
      const storedCopy = join(work, `copy-${c.file.split('/').pop()}`);
      const row = (await archive.app.index.findInstance(url.split('/').pop()!))!;
      copyFileSync(join(archive.dir, 'storage', row.blobKey), storedCopy);
      const theirs = join(work, `theirs-${c.file.split('/').pop()}`);
      await dcmtk(c.tool, [storedCopy, theirs]);
      expect(parseDicom(readFileSync(ours)).transferSyntax.uid).toBe(EXPLICIT);
      expect(
        nativeFrames(ours).every((f, i) => f.equals(nativeFrames(theirs)[i])),
        c.file,
      ).toBe(true);
      expect(await dump(ours), c.file).toEqual(await dump(theirs));
    }
  });

  it('compresses to JPEG-LS that DCMTK decodes back to the original pixels, and to JPEG 2000 and implicit VR', async () => {
    const mr = join(samples(), 'MR_small.dcm');
    const url = await store(mr);
    const [jls] = await multipartParts(await fetch(url, { headers: accept('1.2.840.10008.1.2.4.80') }));
    expect(jls.headers['content-type']).toBe('application/dicom; transfer-syntax=1.2.840.10008.1.2.4.80');
    const f = join(work, 'ours-jls.dcm');
    writeFileSync(f, jls.bytes);
    const back = join(work, 'ours-jls-back.dcm');
    await dcmtk('dcmdjpls', [f, back]);
    expect(nativeFrames(back)[0].equals(nativeFrames(mr)[0])).toBe(true);
    const [j2k] = await multipartParts(await fetch(url, { headers: accept('1.2.840.10008.1.2.4.90') }));
    const parsed = parseDicom(j2k.bytes);
    expect(parsed.transferSyntax.uid).toBe('1.2.840.10008.1.2.4.90');
    const frag = parsed.dataset.get(Tag.PixelData)!.fragments!;
    const decoded = await decodeFrame('1.2.840.10008.1.2.4.90', pixelModule(parsed.dataset), [
      frag[1].value!,
    ]);
    expect(Buffer.from(decoded.data).equals(nativeFrames(mr)[0])).toBe(true);
    // Implicit VR Little Endian from a compressed object, readable by DCMTK.
    const jll = join(work, 'tx-jll-implicit.dcm');
    await dcmtk('dcmcjpeg', [mr, jll]);
    const [imp] = await multipartParts(
      await fetch(await store(jll), { headers: accept('1.2.840.10008.1.2') }),
    );
    const impFile = join(work, 'ours-implicit.dcm');
    writeFileSync(impFile, imp.bytes);
    expect(nativeFrames(impFile)[0].equals(nativeFrames(mr)[0])).toBe(true);
    expect((await dump(impFile)).length).toBeGreaterThan(20);
  });

  it('sends objects without pixel data in the syntax asked for, takes the first acceptable, and refuses what it cannot make', async () => {
    const sr = await store(join(samples(), 'test-SR.dcm'));
    const [part] = await multipartParts(await fetch(sr, { headers: accept('1.2.840.10008.1.2') }));
    const f = join(work, 'sr-implicit.dcm');
    writeFileSync(f, part.bytes);
    expect(parseDicom(part.bytes).transferSyntax.uid).toBe('1.2.840.10008.1.2');
    expect((await dump(f)).some((l) => l.includes('ContentSequence'))).toBe(true);
    // Several choices in order: a syntax nothing can be converted to, then explicit VR.
    const jpeg12 = await store(join(samples(), 'JPEG-lossy.dcm'));
    const choice = await fetch(jpeg12, {
      headers: {
        Accept: `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.100, multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5`,
      },
    });
    expect((await multipartParts(choice))[0].headers['content-type']).toContain('1.2.840.10008.1.2.4.51');
    // A 12-bit lossy JPEG cannot be decoded here: 406 before anything is sent.
    expect((await fetch(jpeg12, { headers: accept(EXPLICIT) })).status).toBe(406);
    expect((await fetch(sr, { headers: accept('1.2.840.10008.1.2.4.100') })).status).toBe(406);
    // WADO-URI with transferSyntax.
    const [, study, series, instance] = /studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)/.exec(
      await store(join(work, 'tx-jls.dcm')),
    )!;
    const uri = await fetch(
      `${base.replace('/dicom-web', '')}/wado?requestType=WADO&studyUID=${study}&seriesUID=${series}&objectUID=${instance}&contentType=application%2Fdicom&transferSyntax=${EXPLICIT}`,
    );
    expect(uri.status).toBe(200);
    const body = Buffer.from(await uri.arrayBuffer());
    expect(Number(uri.headers.get('content-length'))).toBe(body.length);
    expect(parseDicom(body).transferSyntax.uid).toBe(EXPLICIT);
  });
});
