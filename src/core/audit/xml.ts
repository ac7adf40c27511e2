import { xmlEscape } from '../dicom/xml.js';
import type { AuditEvent, Code } from './events.js';

const attrs = (o: Record<string, string | number | boolean | undefined>) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

const code = (name: string, c: Code) =>
  `<${name}${attrs({ 'csd-code': c.code, codeSystemName: c.system, originalText: c.display })}/>`;

/** An audit event as the DICOM audit message XML of PS3.15 A.5.1 (the schema ATNA repositories take). */
export function toAuditMessageXml(e: AuditEvent): string {
  let x = '<?xml version="1.0" encoding="UTF-8"?><AuditMessage>';
  x += `<EventIdentification${attrs({ EventActionCode: e.action, EventDateTime: e.at, EventOutcomeIndicator: e.outcome })}>`;
  x += code('EventID', e.eventId);
  for (const t of e.types ?? []) x += code('EventTypeCode', t);
  if (e.outcomeDescription)
    x += `<EventOutcomeDescription>${xmlEscape(e.outcomeDescription)}</EventOutcomeDescription>`;
  x += '</EventIdentification>';
  for (const p of e.participants) {
    const ip = p.networkAccessPoint && /^[\d.:a-f]+$/i.test(p.networkAccessPoint);
    x += `<ActiveParticipant${attrs({
      UserID: p.userId,
      AlternativeUserID: p.altUserId,
      UserName: p.userName,
      UserIsRequestor: p.requestor,
      NetworkAccessPointID: p.networkAccessPoint,
      NetworkAccessPointTypeCode: p.networkAccessPoint ? (ip ? 2 : 1) : undefined,
    })}>`;
    for (const r of p.roles ?? []) x += code('RoleIDCode', r);
    x += '</ActiveParticipant>';
  }
  x += `<AuditSourceIdentification${attrs({ AuditEnterpriseSiteID: e.source.site, AuditSourceID: e.source.id })}>`;
  x += '<AuditSourceTypeCode csd-code="4"/></AuditSourceIdentification>';
  for (const o of e.objects ?? []) {
    x += `<ParticipantObjectIdentification${attrs({
      ParticipantObjectID: o.id,
      ParticipantObjectTypeCode: o.typeCode,
      ParticipantObjectTypeCodeRole: o.role,
    })}>`;
    x += code('ParticipantObjectIDTypeCode', o.idType);
    if (o.name) x += `<ParticipantObjectName>${xmlEscape(o.name)}</ParticipantObjectName>`;
    if (o.query) x += `<ParticipantObjectQuery>${xmlEscape(o.query)}</ParticipantObjectQuery>`;
    for (const [type, value] of Object.entries(o.detail ?? {})) {
      x += `<ParticipantObjectDetail${attrs({ type, value: Buffer.from(value).toString('base64') })}/>`;
    }
    if (o.sopClasses?.length) {
      x += '<ParticipantObjectDescription>';
      for (const s of o.sopClasses) {
        const named = s.instanceUids ?? [];
        x += `<SOPClass${attrs({ UID: s.uid, NumberOfInstances: s.instances })}${named.length ? '>' : '/>'}`;
        if (!named.length) continue;
        for (const uid of named) x += `<Instance${attrs({ UID: uid })}/>`;
        x += '</SOPClass>';
      }
      x += '</ParticipantObjectDescription>';
    }
    x += '</ParticipantObjectIdentification>';
  }
  return `${x}</AuditMessage>`;
}

/**
 * One RFC 5424 syslog message carrying an audit message, framed for TLS transport by octet counting (RFC
 * 5425): PRI 85 (authpriv.notice), MSGID IHE+RFC-3881 as IHE ATNA asks.
 */
export function syslogFrame(e: AuditEvent, host: string, app = 'lantern'): Buffer {
  return frame(e.at, host, app, 'IHE+RFC-3881', toAuditMessageXml(e));
}

/**
 * A signed checkpoint of the audit chain as a syslog message of its own (MSGID LANTERN-CHECKPOINT, the
 * checkpoint as JSON: `{id, hash, at, sig}`), so that the repository holds the signed heads too.
 */
export function checkpointFrame(
  c: { readonly id: number; readonly hash: string; readonly at: string; readonly sig: string },
  host: string,
  app = 'lantern',
): Buffer {
  const body = JSON.stringify({ id: c.id, hash: c.hash, at: c.at, sig: c.sig });
  return frame(c.at, host, app, 'LANTERN-CHECKPOINT', body);
}

function frame(at: string, host: string, app: string, msgId: string, body: string): Buffer {
  const clean = (s: string) => s.replace(/[^\x21-\x7e]/g, '').slice(0, 48) || '-';
  const msg = Buffer.from(
    `<85>1 ${at} ${clean(host)} ${clean(app)} ${process.pid} ${msgId} - \uFEFF${body}`,
    'utf8',
  );
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}
