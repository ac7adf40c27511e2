import type { FastifyReply, FastifyRequest } from 'fastify';
import { Tag, tagHex } from '../../../core/dicom/dictionary.js';
import type { JsonDataset } from '../../../core/dicom/json.js';
import { LanternError } from '../../../core/errors.js';
import { Status } from '../../../core/dimse/status.js';
import type { App } from '../../../app.js';
import { acceptsJson, parseMediaType } from './accept.js';
import { baseUrl, pathKeys, resourceUrl } from './urls.js';
import { partyOf } from './audit.js';
import { readParts } from './multipart.js';

/**
 * Counts the bytes of a request body and stops it at the limit (413); a body that sends nothing for `idleMs`
 * (a slow or stalled client, a Content-Length larger than what is sent) is stopped with 408.
 */
async function* guarded(
  source: AsyncIterable<Uint8Array>,
  max: number,
  idleMs: number,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let n = 0;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LanternError('LNT_HTTP_TIMEOUT', `the request body sent nothing for ${idleMs / 1000} s`),
          ),
        idleMs,
      );
    });
    let r: IteratorResult<Uint8Array>;
    try {
      r = await Promise.race([it.next(), idle]);
    } finally {
      clearTimeout(timer);
    }
    if (r.done) return;
    n += r.value.length;
    if (n > max) throw new LanternError('LNT_HTTP_TOO_LARGE', `the request body is larger than ${max} bytes`);
    yield r.value;
  }
}

interface Item {
  sopClassUid?: string;
  sopInstanceUid?: string;
  failure?: number;
  warning?: number;
  studyUid?: string;
  seriesUid?: string;
}

function sopItem(item: Item, extra: JsonDataset): JsonDataset {
  const out: JsonDataset = {};
  if (item.sopClassUid) out[tagHex(Tag.ReferencedSOPClassUID)] = { vr: 'UI', Value: [item.sopClassUid] };
  if (item.sopInstanceUid)
    out[tagHex(Tag.ReferencedSOPInstanceUID)] = { vr: 'UI', Value: [item.sopInstanceUid] };
  return { ...out, ...extra };
}

/**
 * STOW-RS (PS3.18 10.5): each application/dicom part streams through the same ingest path as C-STORE and is
 * judged on its own. 200 when all were stored, 202 when some failed or carry warnings, 409 when none was.
 */
export async function stow(
  app: App,
  req: FastifyRequest<{ Params: { study?: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const study = req.params.study;
  pathKeys({ study });
  if (!acceptsJson(req.headers.accept))
    throw new LanternError('LNT_HTTP_NOT_ACCEPTABLE', 'STOW-RS answers in application/dicom+json');
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'identity')
    throw new LanternError('LNT_HTTP_UNSUPPORTED_MEDIA_TYPE', `content encoding ${encoding} is not accepted`);
  const { type, params } = parseMediaType(req.headers['content-type'] ?? '');
  const partType = (params.type ?? 'application/dicom').toLowerCase();
  if (type !== 'multipart/related' || partType !== 'application/dicom') {
    throw new LanternError(
      'LNT_HTTP_UNSUPPORTED_MEDIA_TYPE',
      'STOW-RS takes multipart/related; type="application/dicom" bodies',
    );
  }
  if (!params.boundary) throw new LanternError('LNT_HTTP_BAD_REQUEST', 'the multipart boundary is missing');
  const max = app.config.http.maxStowBytes;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max)
    throw new LanternError('LNT_HTTP_TOO_LARGE', `the request body is larger than ${max} bytes`);

  const base = baseUrl(app, req);
  const items: Item[] = [];
  const body = req.body as AsyncIterable<Uint8Array>;
  // The request is one transfer: the ingest service records each object it acknowledges for it.
  const transfer = app.ingest.beginTransfer(partyOf(req));
  const end = (interrupted?: string) => app.ingest.endTransfer(transfer, interrupted);
  try {
    for await (const part of readParts(
      guarded(body, max, app.config.http.bodyIdleSeconds * 1000),
      params.boundary,
    )) {
      const ct = parseMediaType(part.headers['content-type'] ?? partType);
      if (ct.type !== 'application/dicom') {
        items.push({ failure: Status.SopClassNotSupported });
        transfer.fail(); // refused here; what the ingest service fails, it counts
        continue; // its body is skipped by the reader
      }
      try {
        const outcome = await app.ingest.ingest({
          chunks: part.body,
          source: 'STOW-RS',
          expectStudyUid: study,
          actor: req.actor,
          transfer,
        });
        items.push({
          sopInstanceUid: outcome.sopInstanceUid,
          sopClassUid: outcome.sopClassUid,
          seriesUid: outcome.seriesUid,
          studyUid: outcome.studyUid,
          warning: outcome.status === 'quarantined' ? Status.CoercionOfDataElements : undefined,
        });
      } catch (e) {
        // The whole body failing (too large, malformed multipart) ends the request; a bad part fails alone.
        const whole: readonly string[] = ['LNT_HTTP_TOO_LARGE', 'LNT_HTTP_BAD_REQUEST', 'LNT_HTTP_TIMEOUT'];
        if (e instanceof LanternError && whole.includes(e.code)) throw e;
        if (!(e instanceof LanternError)) throw e;
        items.push({ failure: e.dimseStatus });
        // Drain what is left of the failed part so the next one can be read.
        for await (const _ of part.body) void _;
      }
    }
  } catch (e) {
    // The body ended badly after some parts were stored: they are recorded, and their studies incomplete.
    const code = e instanceof LanternError ? e.code : 'error';
    await end(`the request ended before its body did (${code})`).catch((err: unknown) =>
      req.log.error({ err: { message: (err as Error).message } }, 'recording a broken STOW-RS failed'),
    );
    throw e;
  }
  if (!items.length) throw new LanternError('LNT_HTTP_BAD_REQUEST', 'the multipart body holds no part');

  const stored = items.filter((i) => i.failure === undefined);
  const failed = items.filter((i) => i.failure !== undefined);
  const response: JsonDataset = {};
  const studyUid = study ?? stored[0]?.studyUid;
  if (studyUid) response[tagHex(Tag.RetrieveURL)] = { vr: 'UR', Value: [resourceUrl(base, studyUid)] };
  if (failed.length) {
    response[tagHex(Tag.FailedSOPSequence)] = {
      vr: 'SQ',
      Value: failed.map((i) =>
        sopItem(i, { [tagHex(Tag.FailureReason)]: { vr: 'US', Value: [i.failure!] } }),
      ),
    };
  }
  if (stored.length) {
    response[tagHex(Tag.ReferencedSOPSequence)] = {
      vr: 'SQ',
      Value: stored.map((i) =>
        sopItem(i, {
          [tagHex(Tag.RetrieveURL)]: {
            vr: 'UR',
            Value: [resourceUrl(base, i.studyUid!, i.seriesUid, i.sopInstanceUid)],
          },
          ...(i.warning ? { [tagHex(Tag.WarningReason)]: { vr: 'US', Value: [i.warning] } } : {}),
        }),
      ),
    };
  }
  await end();
  const status = !stored.length ? 409 : failed.length || stored.some((i) => i.warning) ? 202 : 200;
  return reply.code(status).type('application/dicom+json').send(response);
}
