import { peerActor, peerParty } from './actor.js';
import { Tag } from '../../core/dicom/dictionary.js';
import { fromJson } from '../../core/dicom/json.js';
import { parseDicom } from '../../core/dicom/parser.js';
import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import { getString } from '../../core/dicom/values.js';
import { encodeDataset, encodingOf } from '../../core/dicom/writer.js';
import { stringElement } from '../../core/dicom/encode.js';
import { MODEL_LEVELS } from '../../core/dimse/sop-classes.js';
import { Status } from '../../core/dimse/status.js';
import { QueryError } from '../../core/errors.js';
import { keysFromDataset } from '../../core/query/keys.js';
import type { QueryLevel } from '../../core/query/levels.js';
import type { QueryService } from '../../services/query.js';
import type { DimseHandler, DimseResponse } from '../../net/dimse/association.js';

const MAX_IDENTIFIER = 1024 * 1024;

/** Reads a whole identifier (small by nature; capped so a hostile peer cannot make us hold more). */
export async function readIdentifier(chunks: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks ?? []) {
    n += c.length;
    if (n > MAX_IDENTIFIER) throw new QueryError('identifier larger than 1 MiB');
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * C-FIND SCP (PS3.4 C.4.1) for the Patient Root, Study Root and Patient/Study Only models: the identifier's
 * keys go to the query service; each match is a pending response, then Success. Relational keys are
 * accepted at every level. A C-CANCEL stops the query (status FE00).
 */
export function find(
  query: QueryService,
  permits: (callingAeTitle: string, withUser: boolean) => Promise<boolean>,
  aeTitle: string,
): DimseHandler {
  return async function* (req, assoc, signal): AsyncGenerator<DimseResponse> {
    const bytes = await readIdentifier(req.dataset);
    if (!(await permits(assoc.callingAeTitle, !!assoc.user))) {
      yield { status: Status.NotAuthorized, fields: { ErrorComment: 'this AE may not query here' } };
      return;
    }
    const ts = lookupTransferSyntax(req.context.transferSyntax)!;
    const identifier = parseDicom(bytes, { assumeTransferSyntax: ts.uid }).dataset;
    const level = getString(identifier, Tag.QueryRetrieveLevel) as QueryLevel | undefined;
    const allowed = MODEL_LEVELS[req.context.abstractSyntax] ?? [];
    if (!level || !allowed.includes(level)) {
      yield {
        status: Status.IdentifierDoesNotMatchSopClass,
        fields: {
          ErrorComment: level
            ? `level ${level.slice(0, 16)} is not in this model`
            : 'Query/Retrieve Level missing',
          OffendingElement: [Tag.QueryRetrieveLevel],
        },
      };
      return;
    }
    const keys = keysFromDataset(identifier);
    const enc = encodingOf(ts);
    // Fuzzy semantic matching of person names when the requestor negotiated it (extended negotiation byte 2).
    const fuzzy = assoc.extended?.(req.context.abstractSyntax)?.[2] === 1;
    const actor = peerActor(assoc, ['study.read']);
    // Recorded before it runs: who asked, the model, the identifier as received.
    const audit = { by: peerParty(assoc), model: req.context.abstractSyntax, query: bytes };
    for await (const match of query.query({
      level,
      keys,
      signal,
      retrieveAeTitle: aeTitle,
      fuzzy,
      actor,
      audit,
    })) {
      let ds = fromJson(match).with(stringElement(Tag.QueryRetrieveLevel, 'CS', [level]));
      if (!ds.has(Tag.SpecificCharacterSet) && identifier.has(Tag.SpecificCharacterSet)) {
        ds = ds.with(identifier.get(Tag.SpecificCharacterSet)!);
      }
      yield { status: Status.Pending, dataset: encodeDataset(ds, enc) };
    }
    yield { status: Status.Success };
  };
}
