import type { Command } from 'commander';
import { collect, int } from './options.js';
import { echoScu, findScu, getScu, moveScu, type Peer, storeScu } from './scu.js';

interface PeerOptions {
  aet: string;
  aec: string;
}

interface QueryOptions extends PeerOptions {
  model: string;
  level: string;
  key: string[];
}

/** The peer's host and port, and both AE titles. */
const peerOptions = (c: Command) =>
  c
    .argument('<host>', 'peer host')
    .argument('<port>', 'peer port', int)
    .option('--aet <title>', 'our (calling) AE title', 'LANTERN')
    .option('--aec <title>', "the peer's (called) AE title", 'ANY-SCP');

const peerOf = (host: string, port: number, o: PeerOptions): Peer => ({
  host,
  port,
  aet: o.aet,
  aec: o.aec,
});

/** The information model, the level and the keys of a C-FIND, C-MOVE or C-GET, and its action. */
function queryCommand<O extends QueryOptions>(
  c: Command,
  keyHelp: string,
  scu: (peer: Peer, model: string, level: string, o: O) => Promise<number>,
): void {
  c.option('--model <m>', 'information model: patient or study', 'study')
    .option('--level <l>', 'PATIENT, STUDY, SERIES or IMAGE', 'STUDY')
    .option('-k, --key <key=value>', keyHelp, collect, [])
    .action(async (host: string, port: number, o: O) => {
      const status = await scu(peerOf(host, port, o), o.model, o.level.toUpperCase(), o);
      process.exitCode = status === 0 ? 0 : 1;
    });
}

/** `lantern echo`, `store`, `find`, `move`, `get`: Lantern as a DICOM client of another peer. */
export function scuCommands(program: Command): void {
  peerOptions(program.command('echo').description('C-ECHO a DICOM peer')).action(
    async (host: string, port: number, o: PeerOptions) => {
      process.exitCode = (await echoScu(peerOf(host, port, o))) ? 0 : 1;
    },
  );
  peerOptions(
    program
      .command('store')
      .description(
        'C-STORE files and folders (recursively) to a DICOM peer, each in its own transfer syntax',
      ),
  )
    .argument('<path...>', 'files or folders')
    .action(async (host: string, port: number, paths: string[], o: PeerOptions) => {
      process.exitCode = (await storeScu(peerOf(host, port, o), paths)) ? 1 : 0;
    });
  queryCommand(
    peerOptions(
      program
        .command('find')
        .description('C-FIND on a DICOM peer; prints each match as DICOM JSON, one per line'),
    ),
    'a matching or return key, e.g. PatientName=SMITH* or StudyInstanceUID',
    (peer, model, level, o) => findScu(peer, model, level, o.key),
  );
  queryCommand(
    peerOptions(
      program.command('move').description('C-MOVE from a DICOM peer to a destination AE'),
    ).requiredOption('--dest <title>', 'move destination AE title'),
    'a key, e.g. StudyInstanceUID=1.2.3',
    (peer, model, level, o: QueryOptions & { dest: string }) => moveScu(peer, model, level, o.dest, o.key),
  );
  queryCommand(
    peerOptions(
      program.command('get').description('C-GET from a DICOM peer; the instances are written to --out'),
    ).requiredOption('--out <dir>', 'folder for the received files'),
    'a key, e.g. StudyInstanceUID=1.2.3',
    (peer, model, level, o: QueryOptions & { out: string }) => getScu(peer, model, level, o.out, o.key),
  );
}
