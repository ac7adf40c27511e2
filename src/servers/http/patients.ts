import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { isUid } from '../../core/dicom/uid.js';
import { LanternError } from '../../core/errors.js';
import { type GivenIdentifier, isIdentifierKind } from '../../core/patient/identity.js';
import type { PatientEdits, StudyEdits } from '../../services/patient-changes.js';
import type { PatientRef } from '../../services/patient-identification.js';
import { body } from './auth.js';
import { partyOf } from './dicomweb/audit.js';

const bad = (what: string) => new LanternError('LNT_HTTP_BAD_REQUEST', what);

/** `identifiers`: up to 10 of `{kind, value}` (docs/patients.md). */
function identifiers(v: unknown, name = 'identifiers'): GivenIdentifier[] {
  if (!Array.isArray(v) || v.length > 10) throw bad(`${name} is a list of up to 10 {kind, value}`);
  return v.map((x: unknown) => {
    const o = x as { kind?: unknown; value?: unknown };
    if (!o || !isIdentifierKind(o.kind) || typeof o.value !== 'string' || o.value.length > 128)
      throw bad(
        `${name}: each is {kind, value}, kind one of name, hkid, birthDate, phone, address, birthCertificate`,
      );
    return { kind: o.kind, value: o.value };
  });
}

/** A string field of at most 128 characters, or undefined. */
function text(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 128) throw bad(`${k} is a string of at most 128 characters`);
  return v;
}

function object(v: unknown, name: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${name} is an object`);
  return v as Record<string, unknown>;
}

/** Another patient named in a body: `{patientId, issuer?, identifiers}`. */
function otherPatient(v: unknown, name: string): { ref: PatientRef; given: GivenIdentifier[] } {
  const o = object(v, name);
  const patientId = text(o, 'patientId');
  if (!patientId) throw bad(`${name}.patientId is required`);
  return {
    ref: { patientId, issuer: text(o, 'issuer') ?? '' },
    given: identifiers(o.identifiers, `${name}.identifiers`),
  };
}

function studyUid(req: FastifyRequest<{ Params: { study: string } }>): string {
  if (!isUid(req.params.study)) throw bad('not a Study Instance UID');
  return req.params.study;
}

/**
 * Patients under /api/patients and the operations on their records (docs/patients.md): each names the
 * patient's identifiers, which must match the archive's record. Each route names its permission; the
 * services check it again.
 */
export async function patientsApi(server: FastifyInstance, app: App): Promise<void> {
  // The kinds of identifier the archive holds for a patient (no values): what the dialog asks for.
  server.get<{ Params: { patientId: string }; Querystring: { issuer?: string } }>(
    '/api/patients/:patientId/identifiers',
    { config: { access: 'study.read' } },
    async (req) => ({
      kinds: await app.identification.kinds(
        { patientId: req.params.patientId, issuer: req.query.issuer ?? '' },
        req.actor,
      ),
    }),
  );

  server.post<{ Params: { patientId: string } }>(
    '/api/patients/:patientId/edit',
    { config: { access: 'study.modify' } },
    async (req) => {
      const b = body(req);
      const set = object(b.set, 'set');
      const edits: PatientEdits = {};
      for (const k of ['name', 'birthDate', 'sex', 'phone', 'address', 'hkid', 'birthCertificate'] as const) {
        const v = text(set, k);
        if (v !== undefined) (edits as Record<string, string>)[k] = v;
      }
      return app.changes.editPatient(
        { patientId: req.params.patientId, issuer: text(b, 'issuer') ?? '' },
        identifiers(b.identifiers),
        edits,
        partyOf(req),
        req.actor,
      );
    },
  );

  server.post<{ Params: { patientId: string } }>(
    '/api/patients/:patientId/merge',
    { config: { access: 'study.modify' } },
    async (req) => {
      const b = body(req);
      const into = otherPatient(b.into, 'into');
      return app.changes.merge(
        { patientId: req.params.patientId, issuer: text(b, 'issuer') ?? '' },
        identifiers(b.identifiers),
        into.ref,
        into.given,
        partyOf(req),
        req.actor,
      );
    },
  );

  server.post<{ Params: { study: string } }>(
    '/api/studies/:study/edit',
    { config: { access: 'study.modify' } },
    async (req) => {
      const b = body(req);
      const set = object(b.set, 'set');
      const edits: StudyEdits = {};
      for (const k of ['description', 'accessionNumber', 'referringPhysician'] as const) {
        const v = text(set, k);
        if (v !== undefined) (edits as Record<string, string>)[k] = v;
      }
      return app.changes.editStudy(studyUid(req), identifiers(b.identifiers), edits, partyOf(req), req.actor);
    },
  );

  server.post<{ Params: { study: string } }>(
    '/api/studies/:study/move',
    { config: { access: 'study.modify' } },
    async (req) => {
      const b = body(req);
      const to = otherPatient(b.to, 'to');
      return app.changes.moveStudy(
        studyUid(req),
        identifiers(b.identifiers),
        to.ref,
        to.given,
        partyOf(req),
        req.actor,
      );
    },
  );
}
