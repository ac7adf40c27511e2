// C-MOVE of a whole study (500 CT instances of 132 KB) to DCMTK's storescp, asked for by DCMTK's movescu
// (TCP_NODELAY=1), from Lantern and from Orthanc holding the same files, in rounds that alternate;
// instances per second, medians. Target: at least 1.5x Orthanc. Beside them, DCMTK's storescu sending the same
// files to the same storescp: what the destination can take over one association (storescp answers each
// C-STORE before the next, with no operations window), the ceiling of any archive's C-MOVE to it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctFile } from './corpus.mjs';
import { bin, env, exec, startLantern, storescu } from './lantern.mjs';
import { ensureOrthanc, startOrthanc } from './orthanc.mjs';

const COUNT = Number(process.env.BENCH_MOVE_INSTANCES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  if (!ensureOrthanc()) {
    console.log('Orthanc is not installed and cannot be (not root): left out');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-cmove-'));
  const procs = [];
  let orthanc;
  try {
    const src = join(work, 'src');
    mkdirSync(src);
    for (let i = 0; i < COUNT; i++) {
      writeFileSync(join(src, `ct${i}.dcm`), ctFile(i, { study: 42, rows: 256, columns: 256 }));
    }
    const studyUid = `2.25.${BigInt('0x' + 'a1b2c3d4e5f60718293a4b5c6d7e8f90').toString()}.0.43`;
    const rx = join(work, 'rx');
    mkdirSync(rx);
    const destPort = 30000 + Math.floor(Math.random() * 10000);
    // The destination writes nothing to disk (--ignore): the figure is the archives' sending.
    const dest = spawn('storescp', ['--ignore', '-aet', 'DEST', String(destPort)], { env });
    procs.push(dest);
    await new Promise((r) => setTimeout(r, 400));

    const data = join(work, 'lantern');
    const cli = (...args) => execFileSync('node', [bin, ...args, '--data', data], { env, encoding: 'utf8' });
    cli('ae', 'add', 'BENCHSCU', '--allow', 'store,find,move');
    cli('ae', 'add', 'DEST', '--host', '127.0.0.1', '--port', String(destPort));
    const port = destPort + 1;
    const srv = await startLantern(data, port);
    procs.push(srv);
    orthanc = await startOrthanc({
      modalities: { dest: ['DEST', '127.0.0.1', destPort], bench: ['BENCHSCU', '127.0.0.1', 1] },
    });
    await storescu(port, 'LANTERN', [src]);
    await storescu(orthanc.dicomPort, orthanc.aeTitle, [src]);

    const move = async (p, aec) => {
      const t = process.hrtime.bigint();
      const out = await exec('movescu', [
        '-v',
        '-S',
        '-aet',
        'BENCHSCU',
        '-aec',
        aec,
        '-aem',
        'DEST',
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        `StudyInstanceUID=${studyUid}`,
        '127.0.0.1',
        String(p),
      ]);
      const secs = Number(process.hrtime.bigint() - t) / 1e9;
      // A final Success: every sub-operation completed, none failed (PS3.4 C.4.2.1.5).
      if (!/Received Final Move Response \(Success\)/.test(out))
        throw new Error(`${aec}: ${out.slice(-600)}`);
      return COUNT / secs;
    };
    const ours = [];
    const theirs = [];
    const ceiling = [];
    const direct = async () => {
      const t = process.hrtime.bigint();
      await exec('storescu', ['-aet', 'BENCHSCU', '-aec', 'DEST', '+sd', '127.0.0.1', String(destPort), src]);
      return COUNT / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    for (let r = 0; r < ROUNDS; r++) {
      ceiling.push(await direct());
      if (r % 2) {
        theirs.push(await move(orthanc.dicomPort, orthanc.aeTitle));
        ours.push(await move(port, 'LANTERN'));
      } else {
        ours.push(await move(port, 'LANTERN'));
        theirs.push(await move(orthanc.dicomPort, orthanc.aeTitle));
      }
    }
    const l = median(ours);
    const o = median(theirs);
    const c = median(ceiling);
    console.log(
      `C-MOVE of a study of ${COUNT} instances to storescp: lantern ${l.toFixed(0)}/s, orthanc ${o.toFixed(0)}/s, lantern / orthanc ${(l / o).toFixed(2)} (target >= 1.5; rounds ${ours.map((x) => x.toFixed(0)).join('/')} vs ${theirs.map((x) => x.toFixed(0)).join('/')}); ` +
        `storescu to the same storescp ${c.toFixed(0)}/s (the destination's ceiling): lantern ${(l / c).toFixed(2)}, orthanc ${(o / c).toFixed(2)} of it`,
    );
  } finally {
    await orthanc?.stop();
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
