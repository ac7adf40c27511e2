// Builds benchmark corpora with our own writer: 512x512 16-bit CT images whose header is that of a real CT
// (pydicom's CT_small.dcm, private elements included) with new UIDs, new dimensions and new pixel data.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseDicom } from '../dist/core/dicom/parser.js';
import { Tag } from '../dist/core/dicom/dictionary.js';
import { bytesElement, numberElement, stringElement } from '../dist/core/dicom/encode.js';
import { buildMeta, encodePart10 } from '../dist/core/dicom/writer.js';

let dataDir;
export function pydicomData() {
  if (dataDir) return dataDir;
  dataDir = '/usr/lib/python3/dist-packages/pydicom/data';
  if (!existsSync(dataDir)) {
    const d = execFileSync('python3', ['-c', 'import pydicom,os;print(os.path.dirname(pydicom.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    dataDir = join(d, 'data');
  }
  return dataDir;
}

/** An API token of a clinician service account, as a viewer would send it (authentication is on, as by default). */
export async function benchToken(app) {
  await app.auth.createAccount({ login: 'bench-viewer', roles: ['clinician'], kind: 'service' });
  return `Bearer ${(await app.auth.createToken('bench-viewer')).token}`;
}

let template;

const root = `2.25.${BigInt('0x' + 'a1b2c3d4e5f60718293a4b5c6d7e8f90').toString()}`;

/**
 * A 512x512 CT file as bytes; `i` makes its UIDs unique, `study` groups files into studies; `pixels` (16-bit
 * little endian) replaces the default pattern; `strings` sets further string elements ([tag, VR, value]).
 */
export function ctFile(i, { study = 0, rows = 512, columns = 512, pixels: given, strings = [] } = {}) {
  template ??= parseDicom(readFileSync(join(pydicomData(), 'test_files', 'CT_small.dcm'))).dataset;
  const pixels = given ?? new Uint8Array(rows * columns * 2);
  const dv = new DataView(pixels.buffer);
  if (!given) for (let k = 0; k < rows * columns; k++) dv.setUint16(k * 2, (k * 7 + i) % 4096, true);
  const sop = `${root}.${i + 1}`;
  let ds = template;
  for (const el of [
    stringElement(Tag.SOPInstanceUID, 'UI', [sop]),
    stringElement(Tag.StudyInstanceUID, 'UI', [`${root}.0.${study + 1}`]),
    stringElement(Tag.SeriesInstanceUID, 'UI', [`${root}.0.${study + 1}.1`]),
    stringElement(Tag.InstanceNumber, 'IS', [String(i + 1)]),
    numberElement(Tag.Rows, 'US', [rows]),
    numberElement(Tag.Columns, 'US', [columns]),
    bytesElement(Tag.PixelData, 'OW', pixels),
    ...strings.map(([tag, vr, value]) => stringElement(tag, vr, [value])),
  ])
    ds = ds.with(el);
  const meta = buildMeta({
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    sopInstanceUid: sop,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    implementationClassUid: '2.25.196582671211553486936946622043397729514',
  });
  return Buffer.from(encodePart10({ meta, dataset: ds }));
}
