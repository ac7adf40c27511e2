import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DicomFormatError, LanternError } from '../errors.js';
import { pydicomDataDir, pydicomFiles } from '../../../test/helpers/corpus.js';
import { prng } from '../../../test/helpers/mutate.js';
import { Tag } from './dictionary.js';
import { DicomParser, metaHeaderEnd, parseDicom, type ParseResult } from './parser.js';
import { getNumber, getString } from './values.js';
import { stringElement } from './encode.js';
import { encodeDataset, encodePart10, encodingOf } from './writer.js';

const data = pydicomDataDir();
const file = (name: string) => readFileSync(join(data, 'test_files', name));

function rewrite(r: ParseResult): Buffer {
  if (r.meta)
    return Buffer.from(encodePart10({ preamble: r.preamble, meta: r.meta, dataset: r.dataset, source: r }));
  return Buffer.from(encodeDataset(r.dataset, encodingOf(r.transferSyntax)));
}

function parseChunked(bytes: Uint8Array, cuts: number[], opts = {}): ParseResult {
  const p = new DicomParser(opts);
  let at = 0;
  for (const c of cuts) {
    p.push(bytes.subarray(at, c));
    at = c;
  }
  p.push(bytes.subarray(at));
  return p.end();
}

/** A small explicit little endian Part 10 file with nested sequences of both length kinds. */
function sampleFile(): Buffer {
  return readFileSync(join(data, 'charset_files', 'chrSQEncoding.dcm'));
}

describe('round trip: read then write without changes is byte-identical', () => {
  for (const f of pydicomFiles()) {
    const name = f.slice(data.length + 1);
    it(name, () => {
      const bytes = readFileSync(f);
      let r: ParseResult;
      try {
        r = parseDicom(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(DicomFormatError);
        return;
      }
      const out = rewrite(r);
      expect(out.length).toBe(bytes.length);
      expect(out.equals(bytes)).toBe(true);
    });
  }
});

describe('chunked input', () => {
  it('gives the same dataset when split at every byte offset', () => {
    const bytes = sampleFile();
    const whole = rewrite(parseDicom(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = parseChunked(bytes, [cut]);
      expect(rewrite(r).equals(whole), `split at ${cut}`).toBe(true);
    }
  });

  it('gives the same dataset when split into two at every offset of a sequence-rich implicit file', () => {
    const bytes = file('nested_priv_SQ.dcm');
    const whole = rewrite(parseDicom(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(rewrite(parseChunked(bytes, [cut])).equals(whole), `split at ${cut}`).toBe(true);
    }
  });

  it('reads larger files fed one byte at a time, and in odd-sized chunks', () => {
    for (const name of [
      'CT_small.dcm',
      'MR_small_bigendian.dcm',
      'JPEG2000.dcm',
      'rtplan.dcm',
      'image_dfl.dcm',
    ]) {
      const bytes = file(name);
      const whole = rewrite(parseDicom(bytes));
      const ones = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      expect(rewrite(parseChunked(bytes, ones)).equals(whole), name).toBe(true);
      const odd = Array.from({ length: Math.floor(bytes.length / 97) }, (_, i) => (i + 1) * 97);
      expect(rewrite(parseChunked(bytes, odd)).equals(whole), name).toBe(true);
    }
  });

  it('leaves bulk data in the source when asked, recording where it is', () => {
    const bytes = file('CT_small.dcm');
    const cuts = Array.from({ length: Math.floor(bytes.length / 1000) }, (_, i) => (i + 1) * 1000);
    const r = parseChunked(bytes, cuts, { bulkDataThreshold: 1024 });
    const px = r.dataset.get(Tag.PixelData)!;
    expect(px.value).toBeUndefined();
    const whole = parseDicom(bytes);
    expect(px.bulk).toEqual({ offset: whole.pixelDataOffset! + 12, length: 32768 });
    expect(r.bytesRead).toBe(bytes.length);
    const out = encodePart10(
      { preamble: r.preamble, meta: r.meta!, dataset: r.dataset },
      { readBulk: (ref) => bytes.subarray(ref.offset, ref.offset + ref.length) },
    );
    expect(Buffer.from(out).equals(bytes)).toBe(true);
  });

  it('stops at Pixel Data when asked', () => {
    const bytes = file('CT_small.dcm');
    const p = new DicomParser({ untilPixelData: true });
    p.push(bytes.subarray(0, 5000));
    expect(p.stopped).toBe(false);
    p.push(bytes.subarray(5000, 7000));
    expect(p.stopped).toBe(true);
    const r = p.end();
    expect(r.stoppedAtPixelData).toBe(true);
    expect(r.pixelDataOffset).toBe(parseDicom(bytes).pixelDataOffset);
    expect(r.pixelDataOffset).toBe(6288);
    expect(getString(r.dataset, Tag.PatientID)).toBe('1CT1');
    expect(getNumber(r.dataset, Tag.Rows)).toBe(128);
  });
});

function explicitElement(group: number, element: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR', 'OF', 'OD', 'OL', 'OV', 'SV', 'UV'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(value.length, 8);
  else h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, value]);
}

function part10(dataset: Buffer, ts = '1.2.840.10008.1.2.1'): Buffer {
  const tsv = Buffer.from(ts.length % 2 ? ts + '\0' : ts, 'latin1');
  const metaBody = Buffer.concat([explicitElement(2, 0x0010, 'UI', tsv)]);
  const gl = Buffer.alloc(4);
  gl.writeUInt32LE(metaBody.length);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM'),
    explicitElement(2, 0, 'UL', gl),
    metaBody,
    dataset,
  ]);
}

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LanternError);
    expect((e as LanternError).code).toBe(code);
    if (message) expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('strict reading refuses what lenient readers step over', () => {
  const pid = explicitElement(0x10, 0x20, 'LO', Buffer.from('ID01'));
  const cases: [string, Buffer, string, RegExp][] = [
    [
      'a sequence delimiter outside any sequence',
      part10(Buffer.concat([Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]), pid])),
      'LNT_DICOM_BAD_STRUCTURE',
      /a sequence delimiter outside any sequence \(at byte \d+\)/,
    ],
    [
      'bytes after the last element',
      part10(Buffer.concat([pid, Buffer.from([0x10, 0x00, 0x30])])),
      'LNT_DICOM_TRUNCATED',
      /3 bytes after the last element are not an element/,
    ],
    [
      'a value that does not fit its VR',
      part10(explicitElement(0x18, 0x0080, 'FD', Buffer.from('4000.0'))),
      'LNT_DICOM_BAD_LENGTH',
      /\(0018,0080\) \(FD\) of 6 bytes is not a multiple of 8/,
    ],
  ];
  for (const [name, bytes, code, message] of cases) {
    it(`${name}, wherever the input is split`, () => {
      expect(() => parseDicom(bytes)).not.toThrow();
      for (let cut = 1; cut < bytes.length; cut++)
        expectCode(() => parseChunked(bytes, [cut], { strict: true }), code, message);
    });
  }
});

describe('bad input gets a precise rejection', () => {
  const pid = explicitElement(0x10, 0x20, 'LO', Buffer.from('ID01'));

  it('a truncated file', () => {
    const b = part10(pid);
    expectCode(
      () => parseDicom(b.subarray(0, b.length - 2)),
      'LNT_DICOM_TRUNCATED',
      /\(0010,0020\) declares 4 bytes, 2 remain/,
    );
  });

  it('an element longer than the rest of the file', () => {
    const el = explicitElement(0x10, 0x20, 'LO', Buffer.from('ID01'));
    el.writeUInt16LE(4000, 6);
    expectCode(() => parseDicom(part10(el)), 'LNT_DICOM_TRUNCATED', /declares 4000 bytes/);
  });

  it('an element longer than its item', () => {
    const inner = explicitElement(0x10, 0x20, 'LO', Buffer.from('ID01'));
    const item = Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0]), Buffer.alloc(4), inner]);
    item.writeUInt32LE(inner.length - 2, 4);
    const sq = explicitElement(0x10, 0x1002, 'SQ', item);
    expectCode(() => parseDicom(part10(sq)), 'LNT_DICOM_BAD_LENGTH', /runs 2 bytes past the end of its item/);
  });

  it('an odd length, when odd lengths are refused', () => {
    const el = explicitElement(0x10, 0x20, 'LO', Buffer.from('ID0'));
    expectCode(
      () => parseDicom(part10(el), { rejectOddLengths: true }),
      'LNT_DICOM_ODD_LENGTH',
      /odd length 3/,
    );
    expect(parseDicom(part10(el)).warnings.join()).toMatch(/odd length 3/);
  });

  it('an unknown VR', () => {
    const el = explicitElement(0x10, 0x20, 'ZZ', Buffer.from('ID01'));
    expectCode(() => parseDicom(part10(el)), 'LNT_DICOM_UNKNOWN_VR', /\(0010,0020\) has an unknown VR/);
  });

  it('10,000-deep sequences, in bounded time and memory', () => {
    const open = Buffer.from([
      0x08, 0x00, 0x15, 0x11, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff,
      0xff, 0xff,
    ]);
    const deep = Buffer.concat(Array.from({ length: 10_000 }, () => open));
    const t = Date.now();
    expectCode(() => parseDicom(part10(deep)), 'LNT_DICOM_TOO_DEEP', /deeper than 64/);
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('a file with no meta header is read when it is a dataset, refused when it is not DICOM', () => {
    const r = parseDicom(Buffer.concat([explicitElement(8, 0x60, 'CS', Buffer.from('CT')), pid]));
    expect(r.meta).toBeUndefined();
    expect(getString(r.dataset, Tag.Modality)).toBe('CT');
    expectCode(() => parseDicom(Buffer.from('This is a text file, not an image.\n')), 'LNT_DICOM_NOT_DICOM');
    expectCode(
      () => parseDicom(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0])),
      'LNT_DICOM_NOT_DICOM',
    );
    expectCode(() => parseDicom(Buffer.alloc(0)), 'LNT_DICOM_NOT_DICOM');
  });

  it('an unknown transfer syntax', () => {
    expectCode(() => parseDicom(part10(pid, '1.2.3.4.5')), 'LNT_DICOM_UNSUPPORTED_TRANSFER_SYNTAX');
  });

  it('a sequence that never closes', () => {
    const sq = Buffer.from([
      0x10, 0x00, 0x02, 0x10, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff,
      0xff, 0xff,
    ]);
    expectCode(() => parseDicom(part10(Buffer.concat([sq, pid]))), 'LNT_DICOM_TRUNCATED', /not closed/);
  });

  it('a non-item tag inside a sequence', () => {
    const sq = Buffer.concat([
      Buffer.from([0x10, 0x00, 0x02, 0x10, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff]),
      pid,
    ]);
    expectCode(
      () => parseDicom(part10(sq)),
      'LNT_DICOM_BAD_STRUCTURE',
      /where an item of a sequence must be/,
    );
  });
});

describe('fuzz corpus: mutated real files', () => {
  const seeds = [
    'CT_small.dcm',
    'MR_small_implicit.dcm',
    'MR_small_bigendian.dcm',
    'JPEG2000.dcm',
    'rtplan.dcm',
    'nested_priv_SQ.dcm',
    'image_dfl.dcm',
  ];
  it('either reads or fails with a catalogued error, never anything else', () => {
    const rnd = prng(20261127);
    let read = 0;
    let rejected = 0;
    for (const name of seeds) {
      const original = file(name);
      for (let n = 0; n < 300; n++) {
        const b = Buffer.from(original);
        const kind = n % 4;
        const count = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < count; k++) {
          const at = Math.floor(rnd() * b.length);
          if (kind === 0) b[at] = Math.floor(rnd() * 256);
          else if (kind === 1)
            b[at] = 0xff; // lengths become huge or undefined
          else if (kind === 2) b.writeUInt16LE(Math.floor(rnd() * 65536), Math.min(at, b.length - 2));
        }
        const input = kind === 3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
        try {
          const r = parseDicom(input, { maxValueLength: 16 * 1024 * 1024 });
          rewrite(r);
          read++;
        } catch (e) {
          if (!(e instanceof LanternError)) throw new Error(`${name} mutation ${n}: ${(e as Error).stack}`);
          rejected++;
        }
      }
    }
    expect(read + rejected).toBe(seeds.length * 300);
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('a changed dataset keeps the bytes of everything it did not touch', () => {
  it('top-level change: every other element is written from its original bytes', () => {
    const bytes = file('CT_small.dcm');
    const r = parseDicom(bytes);
    const changed = r.dataset.with(stringElement(Tag.PatientName, 'PN', ['Changed^Name']));
    const out = Buffer.from(encodePart10({ preamble: r.preamble, meta: r.meta!, dataset: changed }));
    const again = parseDicom(out);
    expect(getString(again.dataset, Tag.PatientName)).toBe('Changed^Name');
    const raw = (d: ParseResult['dataset'], tag: number) => {
      const el = d.get(tag)!;
      return Buffer.concat([el.header ?? Buffer.alloc(0), el.value ?? Buffer.alloc(0)]);
    };
    for (const el of r.dataset.elements) {
      if (el.tag === Tag.PatientName || el.items) continue;
      expect(raw(again.dataset, el.tag).equals(raw(r.dataset, el.tag)), `(${el.tag.toString(16)})`).toBe(
        true,
      );
    }
    // Everything after the changed element is the original byte run, shifted by the length difference.
    const tail = bytes.subarray(bytes.indexOf(Buffer.from('1CT1')) - 8);
    expect(out.subarray(out.length - tail.length).equals(tail)).toBe(true);
  });

  it('a change inside a sequence item rewrites only the lengths that contain it', () => {
    const bytes = file('CT_small.dcm');
    const r = parseDicom(bytes);
    const seq = r.dataset.get(Tag.OtherPatientIDsSequence)!;
    const item0 = seq.items![0];
    const newItem = {
      ...item0,
      dataset: item0.dataset.with(stringElement(Tag.PatientID, 'LO', ['LONGER-ID-0001'])),
    };
    const changed = r.dataset.with({ ...seq, items: [newItem, ...seq.items!.slice(1)] });
    const out = Buffer.from(encodePart10({ preamble: r.preamble, meta: r.meta!, dataset: changed }));
    const again = parseDicom(out).dataset;
    const items = again.get(Tag.OtherPatientIDsSequence)!.items!;
    expect(getString(items[0].dataset, Tag.PatientID)).toBe('LONGER-ID-0001');
    expect(getString(items[1].dataset, Tag.PatientID)).toBe(getString(seq.items![1].dataset, Tag.PatientID));
    expect(out.length - bytes.length).toBe(14 - 8);
  });
});

describe('metaHeaderEnd', () => {
  it("finds where every sample file's data set starts, as the parser does, from the first bytes alone", () => {
    let checked = 0;
    for (const f of pydicomFiles()) {
      const bytes = readFileSync(f);
      let expected: number;
      try {
        const r = parseDicom(bytes, { untilPixelData: true });
        if (!r.meta || !r.preamble) continue;
        expected = r.datasetOffset;
      } catch {
        continue;
      }
      expect(metaHeaderEnd(bytes.subarray(0, 4096)), f).toBe(expected);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('is undefined for a bare data set and for a head that ends inside the meta header', () => {
    expect(metaHeaderEnd(new Uint8Array(200))).toBeUndefined();
    const file = readFileSync(join(data, 'test_files', 'CT_small.dcm'));
    const end = metaHeaderEnd(file)!;
    expect(end).toBeGreaterThan(132);
    expect(metaHeaderEnd(file.subarray(0, end - 1))).toBeUndefined();
    expect(metaHeaderEnd(file.subarray(0, end + 8))).toBe(end);
  });
});
