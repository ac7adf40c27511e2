import { lookupTag } from './dictionary.js';
import type { JsonAttribute, JsonDataset } from './json.js';

/** Escapes text for XML content and attribute values; control characters XML 1.0 cannot hold are dropped. */
export function xmlEscape(s: string): string {
  let out = '';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 0x20 && c !== '\t' && c !== '\n' && c !== '\r') continue;
    out += c === '&' || c === '<' || c === '>' || c === '"' || c === "'" ? `&#${code};` : c;
  }
  return out;
}

const NAME_PARTS = ['FamilyName', 'GivenName', 'MiddleName', 'NamePrefix', 'NameSuffix'] as const;

function personName(v: unknown, number: number): string {
  const pn = (v ?? {}) as Record<string, string | undefined>;
  let out = `<PersonName number="${number}">`;
  for (const group of ['Alphabetic', 'Ideographic', 'Phonetic']) {
    const text = pn[group];
    if (text === undefined) continue;
    const parts = text.split('^');
    out += `<${group}>`;
    parts.forEach((p, i) => {
      if (i < 5 && p !== '') out += `<${NAME_PARTS[i]}>${xmlEscape(p)}</${NAME_PARTS[i]}>`;
    });
    out += `</${group}>`;
  }
  return `${out}</PersonName>`;
}

function attribute(tag: string, a: JsonAttribute): string {
  const keyword = lookupTag(parseInt(tag, 16) >>> 0)?.keyword;
  let out = `<DicomAttribute tag="${tag}" vr="${a.vr}"${keyword ? ` keyword="${keyword}"` : ''}>`;
  if (a.BulkDataURI !== undefined) out += `<BulkData uri="${xmlEscape(a.BulkDataURI)}"/>`;
  else if (a.InlineBinary !== undefined) out += `<InlineBinary>${a.InlineBinary}</InlineBinary>`;
  else if (a.Value) {
    a.Value.forEach((v, i) => {
      const n = i + 1;
      if (a.vr === 'SQ') out += `<Item number="${n}">${datasetXml((v ?? {}) as JsonDataset)}</Item>`;
      else if (a.vr === 'PN') out += personName(v, n);
      else
        out += v === null ? `<Value number="${n}"/>` : `<Value number="${n}">${xmlEscape(String(v))}</Value>`;
    });
  }
  return `${out}</DicomAttribute>`;
}

function datasetXml(ds: JsonDataset): string {
  let out = '';
  for (const tag of Object.keys(ds).sort()) out += attribute(tag, ds[tag]);
  return out;
}

/** One data set in the Native DICOM Model (PS3.19 A.1), from its DICOM JSON form (PS3.18 F). */
export function toNativeXml(ds: JsonDataset): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<NativeDicomModel xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM" xml:space="preserve">${datasetXml(ds)}</NativeDicomModel>\n`
  );
}
