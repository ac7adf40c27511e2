import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tag, tagHex } from '../../src/core/dicom/dictionary.js';
import type { JsonDataset } from '../../src/core/dicom/json.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getString } from '../../src/core/dicom/values.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { multipartParts } from '../helpers/http.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { leftoverTemp } from '../helpers/storage.js';
import { synthInstance, uid } from '../helpers/synth.js';

let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-dicomweb-'));
const MAX_STOW = 2 * 1024 * 1024;

beforeAll(async () => {
  archive = await startTestArchive({ settings: { 'http.maxStowBytes': MAX_STOW } });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'STORESCU',
    host: '',
    port: 0,
    permissions: ['store', 'find'],
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  const addr = http.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}/dicom-web`;
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

const dcmtk = runDcmtk;

const BOUNDARY = 'test-boundary-7d3f';

/** A STOW-RS body of the given parts (each application/dicom unless its type says otherwise). */
function stowBody(parts: { bytes: Uint8Array; type?: string }[], close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Type: ${p.type ?? 'application/dicom'}\r\n\r\n`));
    chunks.push(Buffer.from(p.bytes), Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

async function stowRs(body: Buffer, path = '/studies', headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: {
      'Content-Type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`,
      Accept: 'application/dicom+json',
      ...headers,
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as JsonDataset & { code?: string }) : {} };
}

async function qido(path: string): Promise<{ status: number; json: unknown; warning: string | null }> {
  const res = await fetch(base + path, { headers: { Accept: 'application/dicom+json' } });
  return { status: res.status, json: await res.json(), warning: res.headers.get('warning') };
}

const value = (ds: JsonDataset, tag: number) => ds[tagHex(tag)]?.Value?.[0];

describe('WADO-RS after DCMTK storescu', () => {
  it('retrieves a study stored by storescu with every instance byte-identical to what the archive stores', async () => {
    const dir = join(work, 'study');
    mkdirSync(dir);
    const studyUid = uid();
    const sent = [1, 2, 3].map((n) =>
      synthInstance({
        studyUid,
        seriesUid: `${studyUid}.1`,
        instanceNumber: n,
        patientId: 'WADO1',
        rows: 32,
        columns: 32,
      }),
    );
    sent.forEach((s, i) => writeFileSync(join(dir, `i${i}.dcm`), s.bytes));
    const r = await dcmtk('storescu', [
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '+sd',
      '127.0.0.1',
      String(archive.port),
      dir,
    ]);
    expect(r.code, r.out).toBe(0);

    const res = await fetch(`${base}/studies/${studyUid}`, {
      headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(
      /^multipart\/related; type="application\/dicom"; boundary=/,
    );
    const parts = await multipartParts(res);
    expect(parts).toHaveLength(3);
    for (const part of parts) {
      const p = parseDicom(part.bytes);
      const sop = getString(p.dataset, Tag.SOPInstanceUID)!;
      const row = (await archive.app.index.findInstance(sop))!;
      expect(part.bytes.equals(readFileSync(join(archive.dir, 'storage', row.blobKey)))).toBe(true);
      // And the data set is what storescu sent.
      const original = sent.find((s) => s.sopUid === sop)!.bytes;
      expect(
        part.bytes.subarray(p.datasetOffset).equals(original.subarray(parseDicom(original).datasetOffset)),
      ).toBe(true);
      expect(part.headers['content-type']).toBe('application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
    }

    // Series and instance level, and metadata with a BulkDataURI for the pixel data.
    const series = await fetch(`${base}/studies/${studyUid}/series/${studyUid}.1`);
    expect((await multipartParts(series)).length).toBe(3);
    const one = await fetch(`${base}/studies/${studyUid}/series/${studyUid}.1/instances/${sent[1].sopUid}`);
    const [only] = await multipartParts(one);
    expect(getString(parseDicom(only.bytes).dataset, Tag.SOPInstanceUID)).toBe(sent[1].sopUid);
    const meta = (await (await fetch(`${base}/studies/${studyUid}/metadata`)).json()) as JsonDataset[];
    expect(meta).toHaveLength(3);
    expect(meta[0][tagHex(Tag.PixelData)].BulkDataURI).toMatch(
      new RegExp(`/studies/${studyUid}/series/${studyUid}\\.1/instances/[0-9.]+/bulk/7FE00010$`),
    );
    expect(value(meta[0], Tag.PatientID)).toBe('WADO1');

    // The bulk data the metadata points to: whole, by byte range, and as one multipart part.
    const bulkUri = meta[0][tagHex(Tag.PixelData)].BulkDataURI!;
    const metaSop = value(meta[0], Tag.SOPInstanceUID) as string;
    const source = sent.find((s) => s.sopUid === metaSop)!.bytes;
    const pixels = parseDicom(source).dataset.get(Tag.PixelData)!.value!;
    const octet = { Accept: 'application/octet-stream' };
    const whole = await fetch(bulkUri, { headers: octet });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(Buffer.from(pixels))).toBe(true);
    const ranged = await fetch(bulkUri, { headers: { ...octet, Range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${pixels.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from(pixels.subarray(100, 200)))).toBe(true);
    const beyond = await fetch(bulkUri, { headers: { ...octet, Range: `bytes=${pixels.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${pixels.length}`);
    expect(await beyond.json()).toMatchObject({ code: 'LNT_HTTP_RANGE' });
    const [bulkPart] = await multipartParts(await fetch(bulkUri));
    expect(bulkPart.bytes.equals(Buffer.from(pixels))).toBe(true);
    expect((await fetch(bulkUri.replace('7FE00010', '00091001'), { headers: octet })).status).toBe(404);
    // A value before the pixel data: read without going through the rest of the file.
    const rows = await fetch(bulkUri.replace('7FE00010', '00280010'), { headers: octet });
    expect([...Buffer.from(await rows.arrayBuffer())]).toEqual([32, 0]);

    // WADO-URI.
    const uri = await fetch(
      `${base.replace('/dicom-web', '')}/wado?requestType=WADO&studyUID=${studyUid}&seriesUID=${studyUid}.1&objectUID=${sent[0].sopUid}&contentType=application%2Fdicom`,
    );
    expect(uri.status).toBe(200);
    expect(uri.headers.get('content-type')).toBe('application/dicom');
    const row = (await archive.app.index.findInstance(sent[0].sopUid))!;
    expect(
      Buffer.from(await uri.arrayBuffer()).equals(readFileSync(join(archive.dir, 'storage', row.blobKey))),
    ).toBe(true);
  });

  it('stores a pydicom sample in its own transfer syntax and sends it back as stored or converted', async () => {
    const file = join(pydicomDataDir(), 'test_files', 'JPEG2000.dcm');
    const bytes = readFileSync(file);
    const sop = getString(parseDicom(bytes).dataset, Tag.SOPInstanceUID)!;
    const study = getString(parseDicom(bytes).dataset, Tag.StudyInstanceUID)!;
    expect((await stowRs(stowBody([{ bytes }]))).status).toBe(200);
    const res = await fetch(`${base}/studies/${study}`);
    const [part] = await multipartParts(res);
    const row = (await archive.app.index.findInstance(sop))!;
    expect(part.headers['content-type']).toBe(`application/dicom; transfer-syntax=${row.transferSyntaxUid}`);
    expect(part.bytes.equals(readFileSync(join(archive.dir, 'storage', row.blobKey)))).toBe(true);
    // Another transfer syntax: converted (decoded to Explicit VR Little Endian) ...
    const other = await fetch(`${base}/studies/${study}`, {
      headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1' },
    });
    const [converted] = await multipartParts(other);
    expect(converted.headers['content-type']).toBe('application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
    expect(parseDicom(converted.bytes).transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
    // ... and one it cannot make is 406, not a silent substitute.
    const video = await fetch(`${base}/studies/${study}`, {
      headers: {
        Accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.100',
      },
    });
    expect(video.status).toBe(406);
  });
});

describe('STOW-RS', () => {
  it('stores every part, answers with the references, and C-FIND finds what it stored', async () => {
    const studyUid = uid();
    const a = synthInstance({ studyUid, patientId: 'STOW1', patientName: 'Stow^Sam' });
    const b = synthInstance({
      studyUid,
      seriesUid: a.seriesUid,
      patientId: 'STOW1',
      patientName: 'Stow^Sam',
    });
    const r = await stowRs(stowBody([{ bytes: a.bytes }, { bytes: b.bytes }]), `/studies/${studyUid}`);
    expect(r.status).toBe(200);
    const refs = r.json[tagHex(Tag.ReferencedSOPSequence)].Value as JsonDataset[];
    expect(refs.map((i) => value(i, Tag.ReferencedSOPInstanceUID)).sort()).toEqual(
      [a.sopUid, b.sopUid].sort(),
    );
    expect(value(refs[0], Tag.ReferencedSOPClassUID)).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(value(refs[0], Tag.RetrieveURL)).toMatch(
      new RegExp(`/studies/${studyUid}/series/[0-9.]+/instances/`),
    );
    expect(value(r.json, Tag.RetrieveURL)).toBe(`${base}/studies/${studyUid}`);

    const f = await dcmtk('findscu', [
      '-S',
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${studyUid}`,
      '-k',
      'PatientID',
      '-k',
      'NumberOfStudyRelatedInstances',
      '127.0.0.1',
      String(archive.port),
    ]);
    expect(f.code, f.out).toBe(0);
    expect(f.out).toContain('STOW1');
    expect(f.out).toMatch(/\[2 ?\]\s+#.*NumberOfStudyRelatedInstances/);
  });

  it('judges each part on its own: a truncated part and a part that is not DICOM fail, the good one is stored', async () => {
    const good = synthInstance({ patientId: 'STOW2' });
    const truncated = synthInstance({ patientId: 'STOW2' });
    const before = await archive.app.index.counts();
    const r = await stowRs(
      stowBody([
        { bytes: truncated.bytes.subarray(0, truncated.bytes.length - 100) },
        { bytes: Buffer.from('this is not DICOM at all, just some text that goes on for a while'.repeat(4)) },
        { bytes: good.bytes },
        { bytes: Buffer.from('{}'), type: 'application/json' },
      ]),
    );
    expect(r.status).toBe(202);
    const failed = r.json[tagHex(Tag.FailedSOPSequence)].Value as JsonDataset[];
    expect(failed).toHaveLength(3);
    for (const f of failed) expect(typeof value(f, Tag.FailureReason)).toBe('number');
    expect(value(failed[0], Tag.FailureReason)).toBe(0xc000);
    const refs = r.json[tagHex(Tag.ReferencedSOPSequence)].Value as JsonDataset[];
    expect(refs.map((i) => value(i, Tag.ReferencedSOPInstanceUID))).toEqual([good.sopUid]);
    expect((await archive.app.index.counts()).instances).toBe(before.instances + 1);
    expect(await archive.app.index.findInstance(truncated.sopUid)).toBeUndefined();
    expect(leftoverTemp(join(archive.dir, 'storage'))).toEqual([]);
  });

  it('refuses whole requests precisely: no closing boundary, too large, compressed, wrong types, wrong study', async () => {
    const before = await archive.app.index.counts();
    const x = synthInstance();
    const unclosed = await stowRs(stowBody([{ bytes: x.bytes }], false));
    expect(unclosed.status).toBe(400);
    expect(unclosed.json.code).toBe('LNT_HTTP_BAD_REQUEST');

    const big = synthInstance({ rows: 1100, columns: 1100 }); // 2.4 MB of pixels, over the 2 MiB limit
    expect((await stowRs(stowBody([{ bytes: big.bytes }]))).status).toBe(413);

    const gz = await stowRs(stowBody([{ bytes: x.bytes }]), '/studies', { 'Content-Encoding': 'gzip' });
    expect(gz.status).toBe(415);
    const json = await fetch(`${base}/studies`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/dicom+json' },
      body: '{}',
    });
    expect(json.status).toBe(415);

    // Every part in another study than the path names: nothing stored, 409.
    const wrong = await stowRs(stowBody([{ bytes: x.bytes }]), `/studies/${uid()}`);
    expect(wrong.status).toBe(409);
    expect(
      value((wrong.json[tagHex(Tag.FailedSOPSequence)].Value as JsonDataset[])[0], Tag.FailureReason),
    ).toBe(0xa900);
    expect(await archive.app.index.counts()).toEqual(before);
    expect(leftoverTemp(join(archive.dir, 'storage'))).toEqual([]);
  });
});

describe('QIDO-RS', () => {
  const studies: string[] = [];
  beforeAll(async () => {
    const people = [
      { id: 'Q1', name: 'Müller^Jürgen', date: '20250110', mod: 'CT' },
      { id: 'Q2', name: '山田^太郎', date: '20250320', mod: 'MR' },
      { id: 'Q3', name: 'Smith^Ann', date: '20250615', mod: 'CT' },
      { id: 'Q4', name: 'Smith^Bob', date: '20251101', mod: 'US' },
      { id: 'Q5', name: 'Jones^Cy', date: '20260105', mod: 'CT' },
      { id: 'Q6', name: 'DOE^JOHN^A^DR^JR', date: '20260106', mod: 'CR', description: 'FUZZY' },
      { id: 'Q7', name: 'García^José María', date: '20260107', mod: 'CR', description: 'FUZZY' },
    ];
    const parts = people.map((p) => {
      const s = synthInstance({
        patientId: p.id,
        patientName: p.name,
        studyDate: p.date,
        modality: p.mod,
        accession: `QACC${p.id}`,
        studyDescription: 'description' in p ? p.description : 'QIDO TEST',
      });
      studies.push(s.studyUid);
      return { bytes: s.bytes };
    });
    expect((await stowRs(stowBody(parts))).status).toBe(200);
  });

  it('matches non-ASCII names percent-encoded, with wildcards', async () => {
    const r = await qido(`/studies?PatientName=${encodeURIComponent('山田*')}`);
    expect(r.status).toBe(200);
    const rows = r.json as JsonDataset[];
    expect(rows).toHaveLength(1);
    expect(value(rows[0], Tag.PatientName)).toEqual({ Alphabetic: '山田^太郎' });
    expect(value(rows[0], Tag.RetrieveURL)).toBe(`${base}/studies/${studies[1]}`);
    const m = (await qido(`/studies?00100010=${encodeURIComponent('Müller*')}`)).json as JsonDataset[];
    expect(m.map((x) => value(x, Tag.PatientID))).toEqual(['Q1']);
    // fuzzymatching: names by component, without case or accents, by prefix or sound.
    const fuzzy = async (name: string) =>
      (
        (await qido(`/studies?PatientName=${encodeURIComponent(name)}&fuzzymatching=true&PatientID=Q*`))
          .json as JsonDataset[]
      )
        .map((x) => value(x, Tag.PatientID))
        .sort();
    expect(await fuzzy('smith*')).toEqual(['Q3', 'Q4']);
    expect(await fuzzy('doe')).toEqual(['Q6']);
    expect(await fuzzy('garcia')).toEqual(['Q7']);
    expect(await fuzzy('garcia^maria')).toEqual(['Q7']);
    expect(await fuzzy('smyth^ann')).toEqual(['Q3']);
    expect(await fuzzy('mueller')).toEqual(['Q1']);
    // Without it, PS3.4's exact matching.
    expect((await qido('/studies?PatientName=doe')).json).toEqual([]);
  });

  it('matches a date range and UID lists, and returns the default attributes', async () => {
    const r = (await qido('/studies?StudyDate=20250301-20251231&StudyDescription=QIDO%20TEST'))
      .json as JsonDataset[];
    expect(r.map((x) => value(x, Tag.PatientID)).sort()).toEqual(['Q2', 'Q3', 'Q4']);
    for (const row of r) {
      expect(row[tagHex(Tag.StudyInstanceUID)]).toBeDefined();
      expect(row[tagHex(Tag.ModalitiesInStudy)]).toBeDefined();
      expect(value(row, Tag.NumberOfStudyRelatedInstances)).toBe(1);
    }
    const list = (await qido(`/studies?StudyInstanceUID=${studies[0]}%5C${studies[4]}`))
      .json as JsonDataset[];
    expect(list.map((x) => value(x, Tag.PatientID)).sort()).toEqual(['Q1', 'Q5']);
  });

  it('includefield=all, includefield lists, and the series and instance resources', async () => {
    const all = (await qido(`/studies?PatientID=Q3&includefield=all`)).json as JsonDataset[];
    expect(value(all[0], Tag.ReferringPhysicianName)).toEqual({ Alphabetic: 'Referrer^Rita' });
    const some = (await qido(`/studies?PatientID=Q3&includefield=ReferringPhysicianName,00081030`))
      .json as JsonDataset[];
    expect(value(some[0], Tag.ReferringPhysicianName)).toEqual({ Alphabetic: 'Referrer^Rita' });
    const series = (await qido(`/studies/${studies[2]}/series`)).json as JsonDataset[];
    expect(series).toHaveLength(1);
    expect(value(series[0], Tag.Modality)).toBe('CT');
    expect(value(series[0], Tag.RetrieveURL)).toMatch(new RegExp(`/studies/${studies[2]}/series/`));
    const seriesUid = value(series[0], Tag.SeriesInstanceUID) as string;
    const inst = (await qido(`/studies/${studies[2]}/series/${seriesUid}/instances`)).json as JsonDataset[];
    expect(inst).toHaveLength(1);
    const byStudy = (await qido(`/studies/${studies[2]}/instances`)).json as JsonDataset[];
    expect(value(byStudy[0], Tag.SOPInstanceUID)).toBe(value(inst[0], Tag.SOPInstanceUID));
    const allSeries = (await qido(`/series?Modality=US`)).json as JsonDataset[];
    expect(allSeries.map((x) => value(x, Tag.StudyInstanceUID))).toEqual([studies[3]]);
    const allInst = (await qido(`/instances?PatientID=Q4`)).json as JsonDataset[];
    expect(allInst).toHaveLength(1);
  });

  it('pages with limit and offset, and warns when results were cut', async () => {
    const first = await qido('/studies?StudyDescription=QIDO%20TEST&limit=2');
    expect((first.json as JsonDataset[]).length).toBe(2);
    expect(first.warning).toMatch(/^299 /);
    const pages: string[] = [];
    for (let offset = 0; offset < 6; offset += 2) {
      const p = await qido(`/studies?StudyDescription=QIDO%20TEST&limit=2&offset=${offset}`);
      pages.push(...(p.json as JsonDataset[]).map((x) => value(x, Tag.PatientID) as string));
    }
    expect(pages.sort()).toEqual(['Q1', 'Q2', 'Q3', 'Q4', 'Q5']);
    const last = await qido('/studies?StudyDescription=QIDO%20TEST&limit=2&offset=4');
    expect(last.warning).toBeNull();
    const none = await qido('/studies?PatientID=NOBODY');
    expect(none.status).toBe(200);
    expect(none.json).toEqual([]);
  });

  it('answers invalid parameters with 400 and a reason, never an empty 200', async () => {
    for (const q of [
      'StudyDate=2025-13-45',
      'StudyDate=20251301',
      'NoSuchAttribute=1',
      'limit=-1',
      'limit=abc',
      'fuzzymatching=maybe',
      'StudyInstanceUID=1.2.abc',
      'PatientName=%E0%A4%A',
    ]) {
      const r = await qido(`/studies?${q}`);
      expect(r.status, q).toBe(400);
      expect((r.json as { code: string }).code, q).toMatch(/^LNT_(QUERY_INVALID|HTTP_BAD_REQUEST)$/);
    }
    expect((await qido('/studies/not-a-uid/series')).status).toBe(400);
    const xml = await fetch(`${base}/studies`, { headers: { Accept: 'image/png' } });
    expect(xml.status).toBe(406);
    expect((await fetch(`${base}/studies/1.2.3.4.5.6.7`)).status).toBe(404);
  });
});
