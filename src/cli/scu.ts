import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tag, tagHex } from '../core/dicom/dictionary.js';
import { fromJson } from '../core/dicom/json.js';
import { parseDicom } from '../core/dicom/parser.js';
import { isStorageSopClass, parseTag, lookupTag } from '../core/dicom/dictionary.js';
import { SOP_CLASS_ENTRIES } from '../core/dicom/dictionary.generated.js';
import { getString } from '../core/dicom/values.js';
import { buildMeta, encodeDataset, encodeFileHeader, encodingOf } from '../core/dicom/writer.js';
import { lookupTransferSyntax } from '../core/dicom/transfer-syntax.js';
import { IMPLICIT_LITTLE } from '../core/dicom/dataset.js';
import { type Command, CommandField } from '../core/dimse/command.js';
import { ServiceSopClass } from '../core/dimse/sop-classes.js';
import { Status, statusCategory } from '../core/dimse/status.js';
import { ConfigError } from '../core/errors.js';
import { toJson } from '../core/dicom/json.js';
import { resolveDictionaryVr } from '../core/dicom/vr.js';
import { Association, type DimseHandler, type ProposedContext } from '../net/dimse/association.js';
import type { NegotiatedContext } from '../core/ul/negotiation.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../version.js';
import { walk } from './import.js';

export interface Peer {
  host: string;
  port: number;
  aet: string;
  aec: string;
}

const UNCOMPRESSED = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'];

/** C-STOREs `lantern store` keeps outstanding, when the peer grants that window. */
const STORE_WINDOW = 8;

function connect(peer: Peer, contexts: ProposedContext[], asyncOperations?: number): Promise<Association> {
  return Association.connect({
    host: peer.host,
    port: peer.port,
    callingAeTitle: peer.aet,
    calledAeTitle: peer.aec,
    contexts,
    ...(asyncOperations ? { asyncOperations } : {}),
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
}

/** One line per C-MOVE or C-GET response: status and sub-operation counts. */
function printRetrieveResponse(label: string, c: Command): void {
  const status = Number(c.Status);
  const counts = `remaining ${c.NumberOfRemainingSuboperations ?? '-'}, completed ${c.NumberOfCompletedSuboperations ?? '-'}, failed ${c.NumberOfFailedSuboperations ?? '-'}, warning ${c.NumberOfWarningSuboperations ?? '-'}`;
  process.stdout.write(
    `${label} status ${hex(status)} (${statusCategory(status)}): ${counts}${c.ErrorComment ? `: ${String(c.ErrorComment)}` : ''}\n`,
  );
}

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

/** C-ECHO: prints the status; true on success. */
export async function echoScu(peer: Peer): Promise<boolean> {
  const a = await connect(peer, [
    { abstractSyntax: ServiceSopClass.Verification, transferSyntaxes: UNCOMPRESSED },
  ]);
  try {
    const ctx = a.acceptedContext(ServiceSopClass.Verification);
    if (!ctx) throw new ConfigError('the peer did not accept Verification');
    for await (const r of a.request(ctx.id, {
      CommandField: CommandField.C_ECHO_RQ,
      AffectedSOPClassUID: ServiceSopClass.Verification,
    })) {
      const status = Number(r.command.Status);
      process.stdout.write(
        `C-ECHO ${peer.aec}@${peer.host}:${peer.port}: status ${hex(status)} (${statusCategory(status)})\n`,
      );
      return status === 0;
    }
    return false;
  } finally {
    await a.release();
  }
}

/** C-STORE of files and folders, each in its own transfer syntax; returns the number of failures. */
export async function storeScu(peer: Peer, paths: string[]): Promise<number> {
  const files: { path: string; sopClass: string; sop: string; ts: string; offset: number; size: number }[] =
    [];
  let failures = 0;
  for await (const f of walk(paths)) {
    try {
      const head = await readHead(f.path);
      const p = parseDicom(head, { untilPixelData: true });
      const sopClass = getString(p.dataset, Tag.SOPClassUID);
      const sop = getString(p.dataset, Tag.SOPInstanceUID);
      if (!sopClass || !sop || !p.meta) throw new Error('not a DICOM Part 10 file with SOP UIDs');
      files.push({
        path: f.path,
        sopClass,
        sop,
        ts: p.transferSyntax.uid,
        offset: p.datasetOffset,
        size: f.size,
      });
    } catch (e) {
      failures++;
      process.stdout.write(`skipped ${f.path}: ${(e as Error).message}\n`);
    }
  }
  const pairs = new Map<string, ProposedContext>();
  for (const f of files)
    pairs.set(`${f.sopClass}|${f.ts}`, { abstractSyntax: f.sopClass, transferSyntaxes: [f.ts] });
  if (pairs.size > 128)
    throw new ConfigError('more than 128 SOP class and transfer syntax pairs: send them in several runs');
  if (!files.length) return failures;
  const a = await connect(peer, [...pairs.values()], STORE_WINDOW);
  // Several C-STOREs outstanding when the peer grants a window (PS3.7 D.3.3.3); lines in the order sent.
  const storeFile = async (f: (typeof files)[number], ctx: NegotiatedContext): Promise<string> => {
    const data = createReadStream(f.path, {
      start: f.offset,
      highWaterMark: 256 * 1024,
    }) as AsyncIterable<Uint8Array>;
    let line = '';
    for await (const r of a.request(
      ctx.id,
      {
        CommandField: CommandField.C_STORE_RQ,
        AffectedSOPClassUID: f.sopClass,
        AffectedSOPInstanceUID: f.sop,
        Priority: 0,
      },
      data,
    )) {
      const status = Number(r.command.Status);
      const cat = statusCategory(status);
      if (cat === 'Failure') failures++;
      const comment = r.command.ErrorComment ? `: ${String(r.command.ErrorComment)}` : '';
      line = `${f.path}: status ${hex(status)} (${cat})${comment}\n`;
    }
    return line;
  };
  try {
    const inFlight: Promise<string>[] = [];
    for (const f of files) {
      const ctx = a.acceptedContext(f.sopClass, f.ts);
      if (!ctx) {
        failures++;
        inFlight.push(
          Promise.resolve(`${f.path}: the peer did not accept this SOP class in this transfer syntax\n`),
        );
      } else {
        const p = storeFile(f, ctx);
        p.catch(() => undefined); // awaited below, in order
        inFlight.push(p);
      }
      if (inFlight.length >= a.operationsWindow) process.stdout.write(await inFlight.shift()!);
    }
    while (inFlight.length) process.stdout.write(await inFlight.shift()!);
  } finally {
    await a.release();
  }
  return failures;
}

async function readHead(path: string): Promise<Uint8Array> {
  const size = (await stat(path)).size;
  const chunks: Buffer[] = [];
  for await (const c of createReadStream(path, { start: 0, end: Math.min(size, 1024 * 1024) - 1 }))
    chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Builds an identifier from -k KEY[=VALUE] arguments (keywords or gggg,eeee). */
export function identifierFrom(keys: string[], level: string, transferSyntaxUid: string): Uint8Array {
  const json: Record<string, { vr: string; Value?: unknown[] }> = {
    [tagHex(Tag.QueryRetrieveLevel)]: { vr: 'CS', Value: [level] },
  };
  for (const k of keys) {
    const eq = k.indexOf('=');
    const name = eq < 0 ? k : k.slice(0, eq);
    const value = eq < 0 ? '' : k.slice(eq + 1);
    const tag = parseTag(name);
    if (tag === undefined) throw new ConfigError(`unknown attribute ${name}`);
    const vr = resolveDictionaryVr(lookupTag(tag)?.vr);
    const v = value === '' ? undefined : vr === 'PN' ? [{ Alphabetic: value }] : value.split('\\');
    json[tagHex(tag)] = {
      vr,
      ...(v ? { Value: vr === 'US' || vr === 'UL' ? (v as string[]).map(Number) : v } : {}),
    };
  }
  const ts = lookupTransferSyntax(transferSyntaxUid);
  return encodeDataset(fromJson(json), ts ? encodingOf(ts) : IMPLICIT_LITTLE);
}

const FIND_MODEL: Record<string, string> = {
  patient: ServiceSopClass.PatientRootFind,
  study: ServiceSopClass.StudyRootFind,
};
const MOVE_MODEL: Record<string, string> = {
  patient: ServiceSopClass.PatientRootMove,
  study: ServiceSopClass.StudyRootMove,
};

/** C-FIND: prints each match as DICOM JSON, one per line; returns the final status. */
export async function findScu(peer: Peer, model: string, level: string, keys: string[]): Promise<number> {
  const sop = FIND_MODEL[model];
  if (!sop) throw new ConfigError('--model must be patient or study');
  const a = await connect(peer, [{ abstractSyntax: sop, transferSyntaxes: UNCOMPRESSED }]);
  try {
    const ctx = a.acceptedContext(sop);
    if (!ctx) throw new ConfigError('the peer did not accept the query model');
    let status = -1;
    for await (const r of a.request(
      ctx.id,
      { CommandField: CommandField.C_FIND_RQ, AffectedSOPClassUID: sop, Priority: 0 },
      identifierFrom(keys, level, ctx.transferSyntax),
    )) {
      status = Number(r.command.Status);
      if (r.dataset) {
        const ts = ctx.transferSyntax;
        const ds = parseDicom(r.dataset, { assumeTransferSyntax: ts }).dataset;
        process.stdout.write(JSON.stringify(toJson(ds)) + '\n');
      }
    }
    process.stderr.write(`C-FIND final status ${hex(status)} (${statusCategory(status)})\n`);
    return status;
  } finally {
    await a.release();
  }
}

/** C-MOVE: prints pending counts and the final status; returns the final status. */
export async function moveScu(
  peer: Peer,
  model: string,
  level: string,
  destination: string,
  keys: string[],
): Promise<number> {
  const sop = MOVE_MODEL[model];
  if (!sop) throw new ConfigError('--model must be patient or study');
  const a = await connect(peer, [{ abstractSyntax: sop, transferSyntaxes: UNCOMPRESSED }]);
  try {
    const ctx = a.acceptedContext(sop);
    if (!ctx) throw new ConfigError('the peer did not accept the retrieve model');
    let status = -1;
    for await (const r of a.request(
      ctx.id,
      {
        CommandField: CommandField.C_MOVE_RQ,
        AffectedSOPClassUID: sop,
        Priority: 0,
        MoveDestination: destination,
      },
      identifierFrom(keys, level, ctx.transferSyntax),
    )) {
      status = Number(r.command.Status);
      printRetrieveResponse('C-MOVE', r.command);
    }
    return status;
  } finally {
    await a.release();
  }
}

const GET_MODEL: Record<string, string> = {
  patient: ServiceSopClass.PatientRootGet,
  study: ServiceSopClass.StudyRootGet,
};

/**
 * C-GET: the peer sends the instances back on the same association; each is written to `outDir` as a Part 10
 * file named by its SOP Instance UID. Storage classes are proposed with the SCP role.
 */
export async function getScu(
  peer: Peer,
  model: string,
  level: string,
  outDir: string,
  keys: string[],
): Promise<number> {
  const sop = GET_MODEL[model];
  if (!sop) throw new ConfigError('--model must be patient or study');
  await mkdir(outDir, { recursive: true });
  const storage = SOP_CLASS_ENTRIES.map(([uid]) => uid)
    .filter((u) => isStorageSopClass(u))
    .slice(0, 120);
  // As DCMTK's getscu: the uncompressed syntaxes, so that the association request stays small enough for
  // every peer. Instances stored compressed cannot come back this way (they count as failed sub-operations).
  const syntaxes = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.2'];
  const contexts: ProposedContext[] = [{ abstractSyntax: sop, transferSyntaxes: UNCOMPRESSED }];
  for (const uid of storage) contexts.push({ abstractSyntax: uid, transferSyntaxes: syntaxes });
  let received = 0;
  // Each instance the peer sends back is written to its file as it arrives.
  const receive: DimseHandler = async (req) => {
    const command = req.command;
    if (!req.dataset)
      return {
        status: Status.DataSetDoesNotMatchSopClass,
        fields: { ErrorComment: 'C-STORE without a data set' },
      };
    const sopInstanceUid = String(command.AffectedSOPInstanceUID ?? '');
    if (!/^[0-9.]{1,64}$/.test(sopInstanceUid)) {
      for await (const _ of req.dataset) void _;
      return {
        status: Status.DataSetDoesNotMatchSopClass,
        fields: { ErrorComment: 'invalid SOP Instance UID' },
      };
    }
    const meta = buildMeta({
      sopClassUid: String(command.AffectedSOPClassUID),
      sopInstanceUid,
      transferSyntaxUid: req.context.transferSyntax,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    });
    const dataset = req.dataset;
    await pipeline(
      (async function* () {
        yield encodeFileHeader(meta);
        yield* dataset;
      })(),
      createWriteStream(join(outDir, `${sopInstanceUid}.dcm`)),
    );
    received++;
    return { status: 0 };
  };
  const a = await Association.connect({
    host: peer.host,
    port: peer.port,
    callingAeTitle: peer.aet,
    calledAeTitle: peer.aec,
    contexts,
    roles: storage.map((sopClassUid) => ({ sopClassUid, scu: false, scp: true })),
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    handlers: new Map([[CommandField.C_STORE_RQ, receive]]),
  });
  try {
    const ctx = a.acceptedContext(sop);
    if (!ctx) throw new ConfigError('the peer did not accept the retrieve model');
    let status = -1;
    for await (const r of a.request(
      ctx.id,
      { CommandField: CommandField.C_GET_RQ, AffectedSOPClassUID: sop, Priority: 0 },
      identifierFrom(keys, level, ctx.transferSyntax),
    )) {
      status = Number(r.command.Status);
      printRetrieveResponse('C-GET', r.command);
    }
    process.stdout.write(`${received} instances written to ${outDir}\n`);
    return status;
  } finally {
    await a.release();
  }
}
