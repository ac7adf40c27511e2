#!/usr/bin/env node
// The whole test suite: installs the test peers it needs (DCMTK, pydicom's sample files, PostgreSQL,
// Chromium, faketime) when they are missing and it runs as root on Debian (the OHIF viewer the end-to-end test drives is
// fetched by the test itself, test/helpers/ohif.ts), finds or starts a PostgreSQL server, then runs the type
// check, the linters and every test, and the interop and CLI tests once more with the index in PostgreSQL.
// Exit status 0 only when all of it passed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const log = (msg) => process.stdout.write(`[test] ${msg}\n`);
const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const isRoot = process.getuid?.() === 0;

function pydicomPresent() {
  return (
    existsSync('/usr/lib/python3/dist-packages/pydicom/data/test_files') ||
    spawnSync('python3', ['-c', 'import pydicom'], { stdio: 'ignore' }).status === 0
  );
}

function pgBinDir() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  return undefined;
}

function canConnect(host, port) {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

async function ensurePeers(needPg) {
  const missing = [];
  if (!has('dcmdump')) missing.push('dcmtk');
  if (!pydicomPresent()) missing.push('python3-pydicom');
  if (needPg && !pgBinDir()) missing.push('postgresql');
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!has('Orthanc')) missing.push('orthanc');
  if (!has('faketime', ['-f', '+0d', 'true'])) missing.push('faketime');
  if (!missing.length) return;
  if (!isRoot || !has('apt-get', ['--version'])) {
    throw new Error(
      `missing test peers: ${missing.join(', ')}; install them (apt-get install -y ${missing.join(' ')})`,
    );
  }
  log(`installing ${missing.join(', ')}`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** A PostgreSQL cluster of our own in a temporary folder, for machines without a server. */
function startThrowawayCluster() {
  const bin = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'lantern-pg-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const asPostgres = (cmd, args) => {
    if (!isRoot) return execFileSync(cmd, args, { stdio: 'ignore' });
    return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' });
  };
  if (isRoot)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    );
  asPostgres(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
  asPostgres(join(bin, 'pg_ctl'), [
    '-D',
    join(dir, 'data'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    '-w',
    'start',
  ]);
  const stop = () => {
    try {
      asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}

async function main() {
  const env = { ...process.env };
  let stopPg;
  const pgFromEnv = !!env.LANTERN_TEST_PG_URL;
  const pgLocal = !pgFromEnv && (await canConnect('127.0.0.1', 5432));
  await ensurePeers(!pgFromEnv && !pgLocal);
  if (pgFromEnv) log('PostgreSQL from LANTERN_TEST_PG_URL');
  else if (pgLocal) {
    env.LANTERN_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
    log('PostgreSQL on 127.0.0.1:5432');
  } else {
    const c = startThrowawayCluster();
    env.LANTERN_TEST_PG_URL = c.url;
    stopPg = c.stop;
    log('PostgreSQL: a throwaway cluster in a temporary folder');
  }
  const steps = [
    ['type check', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
    ['build (the CLI tests run the built command)', 'npm', ['run', 'build']],
    ['eslint', 'npx', ['eslint', '.']],
    ['prettier', 'npx', ['prettier', '--check', '.']],
    ['tests', 'npx', ['vitest', 'run', '--exclude', 'test/e2e/**']],
    // The browser tests one at a time: Chromium renders WebGL in software here, and two at once on two
    // cores starve each other past their deadlines.
    ['browser tests (Chromium)', 'npx', ['vitest', 'run', 'test/e2e', '--maxWorkers=1']],
    // The suite must not depend on the day it runs: everything but the browser tests once more with the
    // clock of every process (the tests, the CLIs and DCMTK tools they start) a year ahead.
    [
      'tests with the clock a year ahead (faketime)',
      'faketime',
      ['-f', '+365d', 'npx', 'vitest', 'run', '--exclude', 'test/e2e/**'],
      { FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    ],
    // The same archive on the other index: every test archive and CLI data folder in a PostgreSQL database
    // of its own (test/helpers/test-index.ts). The suites that go through the index: DIMSE, DICOMweb,
    // security, audit and the CLI. Left out: the files that never open an index (dcmdump, dcmtk-corpus,
    // scu) and the structural mutants (structure), whose time goes to DCMTK and pydicom reading each one.
    [
      'interop and CLI tests on PostgreSQL',
      'npx',
      [
        'vitest',
        'run',
        'test/interop',
        'test/cli',
        ...['dcmdump', 'dcmtk-corpus', 'scu', 'structure'].flatMap((f) => [
          '--exclude',
          `test/interop/${f}.test.ts`,
        ]),
      ],
      { LANTERN_TEST_INDEX: 'postgres' },
    ],
  ];
  let failed = false;
  try {
    for (const [name, cmd, args, extraEnv] of steps) {
      log(name);
      const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...env, ...extraEnv } });
      if (r.status !== 0) {
        log(`${name} failed`);
        failed = true;
        break;
      }
    }
  } finally {
    stopPg?.();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`[test] ${e.message}\n`);
  process.exit(1);
});
