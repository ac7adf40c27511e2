import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tag, tagHex } from '../../src/core/dicom/dictionary.js';
import type { JsonDataset } from '../../src/core/dicom/json.js';
import { readParts } from '../../src/servers/http/dicomweb/multipart.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { multipartParts } from '../helpers/http.js';
import { leftoverTemp } from '../helpers/storage.js';
import { synthInstance, uid } from '../helpers/synth.js';

let archive: TestArchive;
let http: FastifyInstance;
let port: number;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-dicomweb-http-'));
const studyUid = uid();
const seriesUid = `${studyUid}.1`;
const instances: string[] = [];

beforeAll(async () => {
  archive = await startTestArchive({
    settings: { 'http.bodyIdleSeconds': 1, 'http.corsOrigins': 'https://viewer.example.org' },
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  port = (http.server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}/dicom-web`;
  // A study of three CT images, the last one stored JPEG-LS compressed.
  for (let n = 1; n <= 3; n++) {
    const inst = synthInstance({
      studyUid,
      seriesUid,
      instanceNumber: n,
      rows: 64,
      columns: 64,
      patientId: 'HTTP1',
    });
    let bytes = inst.bytes;
    if (n === 3) {
      const src = join(work, 'src.dcm');
      const out = join(work, 'jls.dcm');
      writeFileSync(src, bytes);
      expect((await runDcmtk('dcmcjpls', [src, out])).code).toBe(0);
      bytes = readFileSync(out);
    }
    await archive.app.ingest.ingest({ chunks: [bytes], source: 'TEST' });
    instances.push(inst.sopUid);
  }
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

const instanceUrl = (i: number) =>
  `${base}/studies/${studyUid}/series/${seriesUid}/instances/${instances[i]}`;

describe('HTTP caching, compression, CORS', () => {
  it('tags retrievals with ETag and Last-Modified and answers 304 to a current copy', async () => {
    for (const [url, accept] of [
      [`${base}/studies/${studyUid}`, 'multipart/related; type="application/dicom"'],
      [`${instanceUrl(0)}/metadata`, 'application/dicom+json'],
      [`${instanceUrl(2)}/frames/1`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*'],
      [`${instanceUrl(0)}/rendered`, 'image/jpeg'],
      [`${base}/studies/${studyUid}/thumbnail`, 'image/jpeg'],
    ]) {
      const first = await fetch(url, { headers: { Accept: accept } });
      expect(first.status, url).toBe(200);
      await first.arrayBuffer();
      const etag = first.headers.get('etag');
      const lastModified = first.headers.get('last-modified');
      expect(etag, url).toMatch(/^"[\w-]+"$/);
      expect(new Date(lastModified!).getTime()).toBeGreaterThan(0);
      const again = await fetch(url, { headers: { Accept: accept, 'If-None-Match': etag! } });
      expect(again.status, url).toBe(304);
      expect((await again.arrayBuffer()).byteLength).toBe(0);
      const since = await fetch(url, { headers: { Accept: accept, 'If-Modified-Since': lastModified! } });
      expect(since.status, url).toBe(304);
      const stale = await fetch(url, { headers: { Accept: accept, 'If-None-Match': '"other"' } });
      expect(stale.status, url).toBe(200);
      await stale.arrayBuffer();
    }
    // What shapes the answer shapes the tag.
    const a = await fetch(`${instanceUrl(0)}/rendered`, { headers: { Accept: 'image/jpeg' } });
    const b = await fetch(`${instanceUrl(0)}/rendered`, { headers: { Accept: 'image/png' } });
    expect(a.headers.get('etag')).not.toBe(b.headers.get('etag'));
  });

  it('gzips JSON for clients that accept it, never DICOM or images', async () => {
    const qido = await fetch(`${base}/studies/${studyUid}/series/${seriesUid}/instances?includefield=all`, {
      headers: { Accept: 'application/dicom+json', 'Accept-Encoding': 'gzip' },
    });
    expect(qido.headers.get('content-encoding')).toBe('gzip');
    expect(((await qido.json()) as unknown[]).length).toBe(3);
    const meta = await fetch(`${base}/studies/${studyUid}/metadata`, {
      headers: { Accept: 'application/dicom+json', 'Accept-Encoding': 'gzip' },
    });
    expect(meta.headers.get('content-encoding')).toBe('gzip');
    await meta.arrayBuffer();
    const plain = await fetch(`${base}/studies/${studyUid}/metadata`, {
      headers: { Accept: 'application/dicom+json', 'Accept-Encoding': 'identity' },
    });
    expect(plain.headers.get('content-encoding')).toBeNull();
    await plain.arrayBuffer();
    for (const [url, accept] of [
      [`${base}/studies/${studyUid}`, 'multipart/related; type="application/dicom"'],
      [`${instanceUrl(0)}/rendered`, 'image/png'],
    ]) {
      const r = await fetch(url, { headers: { Accept: accept, 'Accept-Encoding': 'gzip' } });
      expect(r.headers.get('content-encoding'), url).toBeNull();
      await r.arrayBuffer();
    }
  });

  it('answers CORS preflights and requests from a configured origin only', async () => {
    const preflight = await fetch(`${base}/studies`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://viewer.example.org',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'accept',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://viewer.example.org');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
    const get = await fetch(`${base}/studies`, {
      headers: { Origin: 'https://viewer.example.org', Accept: 'application/dicom+json' },
    });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://viewer.example.org');
    expect(get.headers.get('access-control-expose-headers')).toContain('ETag');
    await get.arrayBuffer();
    const other = await fetch(`${base}/studies`, {
      headers: { Origin: 'https://elsewhere.example.com', Accept: 'application/dicom+json' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    await other.arrayBuffer();
  });
});

/** Sends raw bytes and returns what the server answers until it closes or `ms` pass. */
function rawRequest(chunks: (string | Buffer)[], ms: number): Promise<{ text: string; elapsed: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const done = () => resolve({ text, elapsed: Date.now() - started });
    const timer = setTimeout(() => {
      sock.destroy();
      done();
    }, ms);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('close', () => {
      clearTimeout(timer);
      done();
    });
    sock.on('error', () => undefined);
    for (const c of chunks) sock.write(c);
  });
}

describe('Whole-study retrieval', () => {
  // Three studies of objects small and large (a large one spans several reads of the store), fetched many
  // times at once: buffers reused between responses must never carry another object's bytes.
  const studies: { uid: string; objects: Map<string, Buffer> }[] = [];
  beforeAll(async () => {
    for (let s = 0; s < 3; s++) {
      const uidOf = uid();
      const objects = new Map<string, Buffer>();
      for (let n = 1; n <= 12; n++) {
        const side = n % 5 === 0 ? 900 : 48 + n * 8; // 900x900 16-bit: 1.6 MB
        const inst = synthInstance({
          studyUid: uidOf,
          seriesUid: `${uidOf}.1`,
          instanceNumber: n,
          rows: side,
          columns: side,
          patientId: `WHOLE${s}`,
        });
        await archive.app.ingest.ingest({ chunks: [inst.bytes], source: 'TEST' });
        objects.set(inst.sopUid, inst.bytes);
      }
      studies.push({ uid: uidOf, objects });
    }
  });
  const accept = { Accept: 'multipart/related; type="application/dicom"' };

  it('sends every object whole and byte-identical, with the length of the whole answer, under concurrency', async () => {
    const rounds = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const study = studies[i % studies.length];
        const res = await fetch(`${base}/studies/${study.uid}`, { headers: accept });
        expect(res.status).toBe(200);
        const length = Number(res.headers.get('content-length'));
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.length).toBe(length);
        return { study, body, type: res.headers.get('content-type')! };
      }),
    );
    for (const { study, body, type } of rounds) {
      const parts = await multipartParts(new Response(body, { headers: { 'content-type': type } }));
      expect(parts).toHaveLength(study.objects.size);
      const seen = new Set<string>();
      for (const part of parts) {
        expect(Number(part.headers['content-length'])).toBe(part.bytes.length);
        const sop = [...study.objects].find(([, b]) => b.equals(part.bytes))?.[0];
        expect(sop, 'a part that is none of the study objects').toBeDefined();
        seen.add(sop!);
      }
      expect(seen.size).toBe(study.objects.size);
    }
  });

  it('stops reading for a client that goes away mid-answer, and serves the next one whole', async () => {
    const study = studies[0];
    for (let i = 0; i < 5; i++) {
      const stop = new AbortController();
      const res = await fetch(`${base}/studies/${study.uid}`, { headers: accept, signal: stop.signal });
      const reader = res.body!.getReader();
      await reader.read();
      stop.abort();
    }
    const res = await fetch(`${base}/studies/${study.uid}`, { headers: accept });
    const parts = await multipartParts(res);
    expect(parts.map((p) => p.bytes.length).sort()).toEqual(
      [...study.objects.values()].map((b) => b.length).sort(),
    );
  });

  it('cuts the answer short when a stored object is not the size the index recorded, and goes on serving', async () => {
    const study = studies[2];
    const [row] = await archive.app.retrieve.instances([
      { tag: Tag.StudyInstanceUID, vr: 'UI', value: study.uid },
    ]);
    const file = join(archive.dir, 'storage', row.blobKey);
    const kept = readFileSync(file);
    try {
      // Shorter, or longer: the status and the length went out before the object was read, so the client
      // sees the body end early.
      for (const changed of [kept.subarray(0, kept.length - 100), Buffer.concat([kept, Buffer.alloc(7)])]) {
        writeFileSync(file, changed);
        const whole = fetch(`${base}/studies/${study.uid}`, { headers: accept }).then((r) => r.arrayBuffer());
        await expect(whole).rejects.toThrow();
      }
    } finally {
      writeFileSync(file, kept);
    }
    const again = await fetch(`${base}/studies/${study.uid}`, { headers: accept });
    expect((await multipartParts(again)).length).toBe(study.objects.size);
  });
});

describe('STOW-RS bodies that stall or lie', () => {
  const boundary = 'slow-boundary';
  const part = (bytes: Buffer) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      bytes,
      Buffer.from('\r\n'),
    ]);
  const head = (length: number) =>
    `POST /dicom-web/studies HTTP/1.1\r\nHost: localhost\r\nAccept: application/dicom+json\r\n` +
    `Content-Type: multipart/related; type="application/dicom"; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n`;

  it('answers 408 to a body that stops arriving, stores nothing and leaves no temporary file', async () => {
    const inst = synthInstance({ patientId: 'SLOW1', rows: 64, columns: 64 });
    const body = Buffer.concat([part(inst.bytes), Buffer.from(`--${boundary}--\r\n`)]);
    const before = (await archive.app.index.counts()).instances;
    // Half the body, then nothing: the Content-Length promises more than comes.
    const r = await rawRequest([head(body.length), body.subarray(0, body.length / 2)], 10_000);
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    expect(r.text).toContain('LNT_HTTP_TIMEOUT');
    expect(r.elapsed).toBeLessThan(5000);
    expect((await archive.app.index.counts()).instances).toBe(before);
    expect(await archive.app.index.findInstance(inst.sopUid)).toBeUndefined();
    expect(leftoverTemp(join(archive.dir, 'storage'))).toEqual([]);
  });

  it('answers 400 to a Content-Length shorter than the body, storing nothing from the cut part', async () => {
    const inst = synthInstance({ patientId: 'SHORT1', rows: 64, columns: 64 });
    const body = Buffer.concat([part(inst.bytes), Buffer.from(`--${boundary}--\r\n`)]);
    const r = await rawRequest([head(body.length - 200), body], 10_000);
    expect(r.text).toMatch(/^HTTP\/1\.1 (400|409)/);
    expect(await archive.app.index.findInstance(inst.sopUid)).toBeUndefined();
    // The server closes the connection at the bytes past the Content-Length (they are not HTTP); the
    // handler then meets the end of its body and removes the cut part's temporary file.
    await expect.poll(() => leftoverTemp(join(archive.dir, 'storage')), { timeout: 5000 }).toEqual([]);
  });
});

/** The top-level attributes of a Native DICOM Model document, read by Python's XML parser (a separate reader). */
function nativeAttributes(xml: string): Record<string, { vr: string; values: string[] }> {
  const script = `
import json, sys, xml.etree.ElementTree as E
ns = '{http://dicom.nema.org/PS3.19/models/NativeDICOM}'
root = E.fromstring(sys.stdin.buffer.read())
out = {}
for a in root:
    if not a.tag.endswith('DicomAttribute'): continue
    vals = []
    for v in a:
        if v.tag.endswith('PersonName'):
            al = v.find(ns + 'Alphabetic') or v.find('Alphabetic')
            vals.append('^'.join((c.text or '') for c in list(al)) if al is not None else '')
        elif v.tag.endswith('Value'):
            vals.append(v.text or '')
    out[a.get('tag')] = {'vr': a.get('vr'), 'values': vals}
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml, encoding: 'utf8' })) as Record<
    string,
    { vr: string; values: string[] }
  >;
}

describe('Native DICOM Model (XML)', () => {
  it('answers QIDO-RS and metadata as multipart application/dicom+xml, matching dcm2xml for the same object', async () => {
    const mr = join(work, 'mr.dcm');
    copyFileSync(join(pydicomDataDir(), 'test_files', 'MR_small.dcm'), mr);
    const o = await archive.app.ingest.ingest({ chunks: [readFileSync(mr)], source: 'TEST' });
    const xmlAccept = { Accept: 'multipart/related; type="application/dicom+xml"' };
    const url = `${base}/studies/${o.studyUid}/series/${o.seriesUid}/instances/${o.sopInstanceUid}/metadata`;
    const res = await fetch(url, { headers: xmlAccept });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/related; type="application\/dicom\+xml"/);
    const [part] = await multipartParts(res);
    expect(part.headers['content-type']).toBe('application/dicom+xml');
    const ours = nativeAttributes(part.bytes.toString('utf8'));
    const theirs = nativeAttributes((await runDcmtk('dcm2xml', ['-nat', mr])).out);
    const strings = new Set(['AE', 'AS', 'CS', 'DA', 'DT', 'LO', 'PN', 'SH', 'TM', 'UI', 'UR']);
    let compared = 0;
    for (const [tag, a] of Object.entries(theirs)) {
      if (!strings.has(a.vr) || !ours[tag] || !a.values.length) continue;
      expect(ours[tag], tag).toEqual(a);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
    expect(ours['00100010'].values).toEqual(['CompressedSamples^MR1']);
    // QIDO-RS in XML: one part per match; JSON stays the default.
    const qido = await multipartParts(
      await fetch(`${base}/studies?StudyInstanceUID=${o.studyUid}`, { headers: xmlAccept }),
    );
    expect(qido.length).toBe(1);
    expect(nativeAttributes(qido[0].bytes.toString('utf8'))['0020000D'].values).toEqual([o.studyUid]);
    expect((await fetch(`${base}/studies`, { headers: { Accept: 'application/xml' } })).status).toBe(406);
  });
});

describe('OHIF Viewer v3 as a client', () => {
  it('answers every request its dicomweb data source makes, in the form it parses', async () => {
    // The headers OHIF v3 (dicomweb-client, Cornerstone's WADO-RS image loader) sends, with
    // omitQuotationForMultipartRequest as OHIF's default configuration sets it.
    const json = { Accept: 'application/dicom+json' };
    const origin = { Origin: 'https://viewer.example.org' };
    // Study list.
    const list = await fetch(
      `${base}/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060&PatientID=HTTP1`,
      { headers: { ...json, ...origin } },
    );
    expect(list.status).toBe(200);
    expect(list.headers.get('access-control-allow-origin')).toBe('https://viewer.example.org');
    const studies = (await list.json()) as JsonDataset[];
    expect(studies.length).toBe(1);
    expect(studies[0][tagHex(Tag.ModalitiesInStudy)]?.Value).toEqual(['CT']);
    expect(studies[0][tagHex(Tag.StudyDescription)]).toBeDefined();
    // Date-range search as the study list filter sends it.
    const ranged = await fetch(
      `${base}/studies?limit=101&offset=0&StudyDate=20260101-20261231&fuzzymatching=false`,
      {
        headers: json,
      },
    );
    expect(ranged.status).toBe(200);
    await ranged.arrayBuffer();
    // Series of the study, then its metadata series by series (lazy loading).
    const series = (await (
      await fetch(`${base}/studies/${studyUid}/series`, { headers: json })
    ).json()) as JsonDataset[];
    expect(series.map((s) => s[tagHex(Tag.SeriesInstanceUID)]?.Value?.[0])).toEqual([seriesUid]);
    const meta = (await (
      await fetch(`${base}/studies/${studyUid}/series/${seriesUid}/metadata`, { headers: json })
    ).json()) as JsonDataset[];
    expect(meta.length).toBe(3);
    for (const m of meta) {
      for (const t of [
        Tag.SOPClassUID,
        Tag.Rows,
        Tag.Columns,
        Tag.BitsAllocated,
        Tag.PhotometricInterpretation,
      ]) {
        expect(m[tagHex(t)]?.Value?.[0], tagHex(t)).toBeDefined();
      }
      expect(m[tagHex(Tag.PixelData)]?.BulkDataURI).toMatch(/\/bulk\/7FE00010$/);
    }
    // Pixel data through the frames resource, as stored.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${instanceUrl(i)}/frames/1`, {
        headers: { Accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*', ...origin },
      });
      expect(res.status).toBe(200);
      const ct = res.headers.get('content-type')!;
      const boundaryParam = /boundary=([^;]+)/.exec(ct)![1];
      const parts = [];
      for await (const p of readParts(res.body as unknown as AsyncIterable<Uint8Array>, boundaryParam)) {
        let n = 0;
        for await (const c of p.body) n += c.length;
        parts.push({ type: p.headers['content-type'], n });
      }
      expect(parts.length).toBe(1);
      expect(parts[0].type).toBe(
        i === 2
          ? 'image/jls; transfer-syntax=1.2.840.10008.1.2.4.80'
          : 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1',
      );
      if (i < 2) expect(parts[0].n).toBe(64 * 64 * 2);
    }
    // Thumbnails in the study browser (thumbnail and rendered modes).
    for (const path of [`${instanceUrl(0)}/thumbnail`, `${instanceUrl(2)}/rendered`]) {
      const t = await fetch(path, { headers: { Accept: 'image/jpeg', ...origin } });
      expect(t.status).toBe(200);
      expect(t.headers.get('content-type')).toBe('image/jpeg');
      await t.arrayBuffer();
    }
    // Bulk data the viewer fetches from a BulkDataURI.
    const bulkUri = meta[0][tagHex(Tag.PixelData)]!.BulkDataURI as string;
    const bulk = await fetch(bulkUri, {
      headers: { Accept: 'multipart/related; type=application/octet-stream' },
    });
    expect(bulk.status).toBe(200);
    await bulk.arrayBuffer();
  });
});
