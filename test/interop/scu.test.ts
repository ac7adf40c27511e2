import { type ChildProcess, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getString } from '../../src/core/dicom/values.js';
import { toJson } from '../../src/core/dicom/json.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { freePort, startDcmtkServer } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';

/** Our SCU commands (`lantern echo|store|find|move|get`) against DCMTK's storescp and dcmqrscp. */
const bin = resolve(import.meta.dirname, '../../bin/lantern.js');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'lantern-scu-'));
const procs: ChildProcess[] = [];
let scpPort: number;
let qrPort: number;
const rx = join(work, 'rx');

async function lantern(args: string[]) {
  try {
    const r = await run('node', [bin, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  mkdirSync(rx);
  scpPort = await freePort();
  procs.push(
    await startDcmtkServer(
      'storescp',
      ['+xa', '-B', '-aet', 'STORESCP', '-od', rx, String(scpPort)],
      scpPort,
    ),
  );
  qrPort = await freePort();
  const db = join(work, 'qrdb');
  mkdirSync(db);
  const cfg = join(work, 'dcmqrscp.cfg');
  writeFileSync(
    cfg,
    [
      `NetworkTCPPort = ${qrPort}`,
      'MaxPDUSize = 16384',
      'MaxAssociations = 16',
      'HostTable BEGIN',
      `dest = (STORESCP, 127.0.0.1, ${scpPort})`,
      'HostTable END',
      'VendorTable BEGIN',
      'VendorTable END',
      'AETable BEGIN',
      `QRSCP ${db} RW (200, 1024mb) ANY`,
      'AETable END',
      '',
    ].join('\n'),
  );
  procs.push(await startDcmtkServer('dcmqrscp', ['-c', cfg], qrPort));
});
afterAll(() => {
  procs.forEach((p) => p.kill());
  rmSync(work, { recursive: true, force: true });
});

describe('lantern SCU commands against DCMTK', () => {
  it('echo: storescp answers Success; an unreachable peer fails clearly', async () => {
    const ok = await lantern(['echo', '127.0.0.1', String(scpPort), '--aec', 'STORESCP']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/status 0x0000 \(Success\)/);
    const down = await lantern(['echo', '127.0.0.1', '1', '--aec', 'X']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/connection to 127.0.0.1:1 failed/);
  });

  it('store: each file in its own transfer syntax; storescp receives the data sets byte for byte', async () => {
    const d = pydicomDataDir();
    const files = ['CT_small.dcm', 'JPEG2000.dcm', 'MR_small_RLE.dcm', 'rtplan.dcm'].map((n) =>
      join(d, 'test_files', n),
    );
    const r = await lantern(['store', '127.0.0.1', String(scpPort), '--aec', 'STORESCP', ...files]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const f of files) {
      const sent = readFileSync(f);
      const sp = parseDicom(sent);
      const uid = getString(sp.dataset, Tag.SOPInstanceUID)!;
      const name = readdirSync(rx).find((n) => n.endsWith(uid));
      expect(name, f).toBeDefined();
      const got = readFileSync(join(rx, name!));
      // storescp rewrites some encodings (sequence lengths, trailing padding): compare what the data sets say.
      const gotDs = parseDicom(got).dataset;
      expect(toJson(gotDs, { bulkDataUri: () => 'x' }), f).toEqual(
        toJson(sp.dataset.without(0xfffcfffc), { bulkDataUri: () => 'x' }),
      );
      const px = (d: typeof gotDs) =>
        d.get(Tag.PixelData)?.fragments?.map((x) => Buffer.from(x.value!).toString('hex')) ??
        Buffer.from(d.get(Tag.PixelData)?.value ?? []).toString('hex');
      expect(px(gotDs), f).toEqual(px(sp.dataset));
    }
  });

  it('store, find, move and get with dcmqrscp', async () => {
    const study = `2.25.${Date.now()}9`;
    const src = join(work, 'src');
    mkdirSync(src);
    for (let i = 1; i <= 2; i++) {
      writeFileSync(
        join(src, `i${i}.dcm`),
        synthInstance({ patientId: 'QR1', patientName: 'Query^Quinn', studyUid: study, instanceNumber: i })
          .bytes,
      );
    }
    const st = await lantern(['store', '127.0.0.1', String(qrPort), '--aec', 'QRSCP', src]);
    expect(st.code, st.stdout + st.stderr).toBe(0);
    const f = await lantern([
      'find',
      '127.0.0.1',
      String(qrPort),
      '--aec',
      'QRSCP',
      '--model',
      'patient',
      '--level',
      'STUDY',
      '-k',
      'PatientID=QR1',
      '-k',
      'StudyInstanceUID',
    ]);
    expect(f.code, f.stderr).toBe(0);
    const lines = f.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, { Value?: unknown[] }>);
    expect(lines).toHaveLength(1);
    expect(lines[0]['0020000D'].Value).toEqual([study]);
    const before = readdirSync(rx).length;
    const m = await lantern([
      'move',
      '127.0.0.1',
      String(qrPort),
      '--aec',
      'QRSCP',
      '--dest',
      'STORESCP',
      '--model',
      'patient',
      '-k',
      'PatientID=QR1',
      '-k',
      `StudyInstanceUID=${study}`,
    ]);
    expect(m.code, m.stdout + m.stderr).toBe(0);
    expect(m.stdout).toMatch(/status 0x0000 \(Success\): remaining .*completed 2, failed 0/);
    expect(readdirSync(rx).length).toBe(before + 2);
    const out = join(work, 'got');
    const g = await lantern([
      'get',
      '127.0.0.1',
      String(qrPort),
      '--aec',
      'QRSCP',
      '--out',
      out,
      '--model',
      'patient',
      '-k',
      'PatientID=QR1',
      '-k',
      `StudyInstanceUID=${study}`,
    ]);
    expect(g.code, g.stdout + g.stderr).toBe(0);
    expect(g.stdout).toMatch(/2 instances written/);
    const got = readdirSync(out).map((n) =>
      getString(parseDicom(readFileSync(join(out, n))).dataset, Tag.StudyInstanceUID),
    );
    expect(got).toEqual([study, study]);
  });
});
