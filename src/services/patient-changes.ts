import { createHash, randomUUID } from 'node:crypto';
import { EVENT, type Participant } from '../core/audit/events.js';
import { Tag, tagHex } from '../core/dicom/dictionary.js';
import {
  type AttributeChange,
  applyToJson,
  changesToMatch,
  editedFromJson,
  type EditedAttribute,
  editHead,
} from '../core/dicom/edit.js';
import type { JsonDataset } from '../core/dicom/json.js';
import { LanternError, NotFoundError } from '../core/errors.js';
import { checkHkid } from '../core/patient/hkid.js';
import { type GivenIdentifier, identifierKindOf, normalizeIdentifier } from '../core/patient/identity.js';
import { PATIENT_KEYS } from '../core/query/levels.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { ArchiveIndex, ChangePlan, ChangeRecord, InstanceRow } from '../ports/archive-index.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Clock } from '../ports/clock.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';
import type { PatientIdentification, PatientRef } from './patient-identification.js';

/** Demographics an edit may set ('' clears one). */
export interface PatientEdits {
  readonly name?: string;
  readonly birthDate?: string;
  readonly sex?: string;
  readonly phone?: string;
  readonly address?: string;
  readonly hkid?: string;
  readonly birthCertificate?: string;
}

/** Study attributes an edit may set. */
export interface StudyEdits {
  readonly description?: string;
  readonly accessionNumber?: string;
  readonly referringPhysician?: string;
}

export interface ChangeOutcome {
  readonly id: number;
  readonly kind: string;
  /** Objects rewritten. */
  readonly instances: number;
}

/** The plan as kept, with what the trail will say of it when it is carried out. */
interface RecordedPlan extends ChangePlan {
  readonly audit: {
    readonly by: Participant;
    readonly description: string;
    readonly patientIds: readonly string[];
    readonly studyUids: readonly string[];
  };
}

export interface PatientChangesDeps {
  readonly index: ArchiveIndex;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly identification: PatientIdentification;
  readonly audit?: ClinicalAudit;
  /** How long a replaced file is kept (storage.versionDays). */
  readonly keepDays: number;
}

/** Patient-level attributes a merge or move carries over (the character set is the file's own). */
const PATIENT_TAGS = PATIENT_KEYS.filter((t) => t !== Tag.SpecificCharacterSet);
const HEAD = 64 * 1024;
const MAX_HEAD = 64 * 1024 * 1024;

const OPERATION = {
  'edit-patient': { name: 'edit', eventId: EVENT.patientRecord, action: 'U' as const },
  'edit-study': { name: 'study edit', eventId: EVENT.patientRecord, action: 'U' as const },
  merge: { name: 'merge', eventId: EVENT.patientRecord, action: 'U' as const },
  'move-study': { name: 'study move', eventId: EVENT.patientRecord, action: 'U' as const },
};

/**
 * Operations on a patient's records (docs/patients.md): edit demographics, edit a study, merge two patients,
 * move a study to another patient. Each is confirmed with two identifiers of every patient it touches
 * (PatientIdentification), planned once (the plan kept in the index, the patients marked), then carried out:
 * every affected stored object rewritten to a new file with its attributes changed and nothing else
 * (core/dicom/edit.ts), each new file recorded as it is made durable, then one unit of work switches the
 * index to them (the replaced files kept as versions for `keepDays`). A crash leaves a plan that `resume`
 * carries out at the next start; until the switch, the archive serves the records as they were.
 */
export class PatientChanges {
  constructor(private readonly deps: PatientChangesDeps) {}

  async editPatient(
    ref: PatientRef,
    given: readonly GivenIdentifier[],
    edits: PatientEdits,
    by: Party,
    actor?: Actor,
  ): Promise<ChangeOutcome> {
    requirePermission(actor, 'study.modify');
    const { row } = await this.deps.identification.confirm(ref, given, by, OPERATION['edit-patient']);
    const current = (await this.deps.index.patientAttributes(row.id))?.patient ?? {};
    const changes = patientChanges(current, edits);
    if (!changes.length) throw new LanternError('LNT_HTTP_BAD_REQUEST', 'the edit changes nothing');
    const attrs = applyToJson(current, changes);
    const instances = await this.deps.index.instancesOfPatients([row.id]);
    const fields = Object.keys(edits).join(', ');
    return this.plan('edit-patient', by, {
      instances: instances.map((i) => i.id),
      fileChanges: changes,
      patients: [
        {
          id: row.id,
          name: str(attrs, Tag.PatientName),
          birthDate: str(attrs, Tag.PatientBirthDate),
          sex: str(attrs, Tag.PatientSex),
          attrs,
        },
      ],
      studies: [],
      removeIfEmpty: [],
      lock: [row.id],
      audit: {
        by: this.who(by),
        description: `patient edited: ${fields}`,
        patientIds: [row.patientId],
        studyUids: [...new Set(instances.map((i) => i.studyUid))],
      },
    });
  }

  async editStudy(
    studyUid: string,
    given: readonly GivenIdentifier[],
    edits: StudyEdits,
    by: Party,
    actor?: Actor,
  ): Promise<ChangeOutcome> {
    requirePermission(actor, 'study.modify');
    const study = await this.deps.index.findStudy(studyUid);
    if (!study) throw new NotFoundError('no such study');
    const { row } = await this.deps.identification.confirm(
      { patientId: study.patientId, issuer: study.patientIssuer },
      given,
      by,
      OPERATION['edit-study'],
    );
    const changes: AttributeChange[] = [];
    const set = (tag: number, vr: 'LO' | 'SH' | 'PN', v: string | undefined, max: number) => {
      if (v === undefined) return;
      if (v.length > max)
        throw new LanternError('LNT_HTTP_BAD_REQUEST', `a value of ${vr} is at most ${max} characters`);
      changes.push(v === '' ? { tag, remove: true } : { tag, vr, values: [v] });
    };
    set(Tag.AccessionNumber, 'SH', edits.accessionNumber, 16);
    set(Tag.ReferringPhysicianName, 'PN', edits.referringPhysician, 64);
    set(Tag.StudyDescription, 'LO', edits.description, 64);
    if (!changes.length) throw new LanternError('LNT_HTTP_BAD_REQUEST', 'the edit changes nothing');
    changes.sort((a, b) => a.tag - b.tag);
    const attrs = applyToJson((await this.deps.index.studyAttributes(study.id)) ?? {}, changes);
    const instances = await this.deps.index.instancesByUid({ study: studyUid });
    return this.plan('edit-study', by, {
      instances: instances.map((i) => i.id),
      fileChanges: changes,
      patients: [],
      studies: [
        {
          id: study.id,
          patientFk: study.patientFk,
          attrs,
          ...(edits.accessionNumber !== undefined ? { accessionNumber: edits.accessionNumber } : {}),
          ...(edits.description !== undefined ? { description: edits.description } : {}),
          ...(edits.referringPhysician !== undefined ? { referringPhysician: edits.referringPhysician } : {}),
        },
      ],
      removeIfEmpty: [],
      lock: [row.id],
      audit: {
        by: this.who(by),
        description: `study edited: ${Object.keys(edits).join(', ')}`,
        patientIds: [row.patientId],
        studyUids: [studyUid],
      },
    });
  }

  /** Merges `from` into `into`: its studies become `into`'s, its objects carry `into`'s patient module. */
  async merge(
    from: PatientRef,
    fromGiven: readonly GivenIdentifier[],
    into: PatientRef,
    intoGiven: readonly GivenIdentifier[],
    by: Party,
    actor?: Actor,
  ): Promise<ChangeOutcome> {
    requirePermission(actor, 'study.modify');
    const a = await this.deps.identification.confirm(from, fromGiven, by, OPERATION.merge);
    const b = await this.deps.identification.confirm(into, intoGiven, by, OPERATION.merge);
    if (a.row.id === b.row.id)
      throw new LanternError('LNT_HTTP_BAD_REQUEST', 'a patient cannot be merged into itself');
    const instances = await this.deps.index.instancesOfPatients([a.row.id]);
    const studyUids = [...new Set(instances.map((i) => i.studyUid))];
    const studies = await Promise.all(studyUids.map((u) => this.deps.index.findStudy(u)));
    return this.plan('merge', by, {
      instances: instances.map((i) => i.id),
      fileChanges: await this.toPatient(a.row.id, b.row.id),
      patients: [],
      studies: studies.flatMap((s) => (s ? [{ id: s.id, patientFk: b.row.id }] : [])),
      removeIfEmpty: [a.row.id],
      lock: [a.row.id, b.row.id],
      audit: {
        by: this.who(by),
        description: `patient merged into another (${studyUids.length} studies)`,
        patientIds: [a.row.patientId, b.row.patientId],
        studyUids,
      },
    });
  }

  /** Moves a study to another patient (a study filed under the wrong patient). */
  async moveStudy(
    studyUid: string,
    given: readonly GivenIdentifier[],
    to: PatientRef,
    toGiven: readonly GivenIdentifier[],
    by: Party,
    actor?: Actor,
  ): Promise<ChangeOutcome> {
    requirePermission(actor, 'study.modify');
    const study = await this.deps.index.findStudy(studyUid);
    if (!study) throw new NotFoundError('no such study');
    const a = await this.deps.identification.confirm(
      { patientId: study.patientId, issuer: study.patientIssuer },
      given,
      by,
      OPERATION['move-study'],
    );
    const b = await this.deps.identification.confirm(to, toGiven, by, OPERATION['move-study']);
    if (a.row.id === b.row.id)
      throw new LanternError('LNT_HTTP_BAD_REQUEST', 'the study already belongs to this patient');
    const instances = await this.deps.index.instancesByUid({ study: studyUid });
    return this.plan('move-study', by, {
      instances: instances.map((i) => i.id),
      fileChanges: await this.toPatient(a.row.id, b.row.id),
      patients: [],
      studies: [{ id: study.id, patientFk: b.row.id }],
      removeIfEmpty: [a.row.id],
      lock: [a.row.id, b.row.id],
      audit: {
        by: this.who(by),
        description: 'study moved to another patient',
        patientIds: [a.row.patientId, b.row.patientId],
        studyUids: [studyUid],
      },
    });
  }

  /** The changes that give an object of patient `fromFk` the patient module of `toFk`. */
  private async toPatient(fromFk: number, toFk: number): Promise<AttributeChange[]> {
    const from = (await this.deps.index.patientAttributes(fromFk))?.patient ?? {};
    const to = (await this.deps.index.patientAttributes(toFk))?.patient ?? {};
    return changesToMatch(to, from, PATIENT_TAGS);
  }

  private who(by: Party): Participant {
    return this.deps.audit?.participantOf(by) ?? { userId: 'lantern', requestor: true };
  }

  /** Records the plan (marking its patients) and carries it out; a failure ends it, nothing applied. */
  private async plan(kind: keyof typeof OPERATION, by: Party, plan: RecordedPlan): Promise<ChangeOutcome> {
    const at = this.deps.clock.now().toISOString();
    const id = await this.deps.index.write((tx) =>
      tx.createChange(kind, plan, JSON.stringify(plan.audit.by), at),
    );
    try {
      await this.carryOut(id);
    } catch (e) {
      await this.abandon(id, e as Error);
      throw e;
    }
    return { id, kind, instances: plan.instances.length };
  }

  /** Ends a change that cannot be carried out: nothing applied, its new files removed, the marks cleared. */
  private async abandon(id: number, e: Error): Promise<void> {
    const at = this.deps.clock.now().toISOString();
    await this.deps.index.write((tx) => tx.failChange(id, e.message, at));
    for (const item of await this.deps.index.changeItems(id))
      if (item.blobKey) await this.deps.blobs.delete(item.blobKey).catch(() => undefined);
  }

  /**
   * Carries a planned change out (again after a crash: files already written are kept): each object's new
   * file written and recorded, then the switch in one unit of work, then the audit record.
   */
  async carryOut(id: number): Promise<void> {
    const change = await this.deps.index.getChange(id);
    if (!change || change.state !== 'preparing') return;
    const plan = change.plan as RecordedPlan;
    const todo = (await this.deps.index.changeItems(id)).filter((i) => !i.blobKey).map((i) => i.instanceFk);
    for (let i = 0; i < todo.length; i += 100) {
      for (const row of await this.deps.index.instancesById(todo.slice(i, i + 100))) {
        const written = await this.rewrite(row, plan.fileChanges);
        const attrs = JSON.stringify(applyToJson(JSON.parse(row.attrs) as JsonDataset, plan.fileChanges));
        await this.deps.index.write((tx) =>
          tx.prepareChangeItem(id, { instanceFk: row.id, ...written, attrs }),
        );
      }
    }
    const now = this.deps.clock.now();
    const keepUntil = new Date(now.getTime() + this.deps.keepDays * 86_400_000).toISOString();
    const applied = await this.deps.index.write((tx) => tx.applyChange(id, now.toISOString(), keepUntil));
    if (applied) await this.record(change, plan);
  }

  private async record(change: ChangeRecord, plan: RecordedPlan): Promise<void> {
    const op = OPERATION[change.kind as keyof typeof OPERATION];
    await this.deps.audit?.changed(
      plan.audit.by,
      op,
      plan.audit.description,
      plan.audit.patientIds,
      plan.audit.studyUids,
    );
  }

  /** Writes an object's new file: its head edited, the rest copied from the stored bytes; durable. */
  private async rewrite(
    row: InstanceRow,
    changes: readonly AttributeChange[],
  ): Promise<{ blobKey: string; size: number; sha256: string }> {
    const { blobs } = this.deps;
    let edit: Exclude<ReturnType<typeof editHead>, 'more'> | undefined;
    for (let n = Math.min(HEAD, row.size); !edit; n = Math.min(row.size, n * 4)) {
      const head = await collect(blobs.read(row.blobKey, { start: 0, end: n }));
      const r = editHead(head, changes, n >= row.size);
      if (r !== 'more') edit = r;
      else if (n >= Math.min(row.size, MAX_HEAD))
        throw new LanternError(
          'LNT_INTERNAL',
          `stored object ${row.id}: its attributes run past ${MAX_HEAD} bytes`,
        );
    }
    const temp = await blobs.createTemp();
    try {
      const hash = createHash('sha256');
      hash.update(edit.head);
      await temp.write(edit.head);
      if (edit.resumeAt < row.size) {
        for await (const chunk of blobs.read(row.blobKey, { start: edit.resumeAt, end: row.size })) {
          hash.update(chunk);
          await temp.write(chunk);
        }
      }
      const id = randomUUID();
      const key = `objects/${id.slice(0, 2)}/${id}.dcm`;
      await temp.commit(key);
      return { blobKey: key, size: temp.length, sha256: hash.digest('hex') };
    } finally {
      await temp.abort();
    }
  }

  /** Carries out the changes a crash stopped (at start); returns how many. */
  async resume(onError?: (id: number, e: Error) => void): Promise<number> {
    let n = 0;
    for (const c of await this.deps.index.unfinishedChanges()) {
      try {
        await this.carryOut(c.id);
        n++;
      } catch (e) {
        onError?.(c.id, e as Error);
        await this.abandon(c.id, e as Error);
      }
    }
    return n;
  }

  /** Removes the replaced files whose retention has ended; returns how many. */
  async purgeVersions(): Promise<number> {
    const at = this.deps.clock.now().toISOString();
    let n = 0;
    for (;;) {
      const due = await this.deps.index.versionsDue(at, 200);
      if (!due.length) return n;
      for (const v of due) await this.deps.blobs.delete(v.blobKey);
      await this.deps.index.write((tx) => tx.removeVersions(due.map((v) => v.id)));
      n += due.length;
    }
  }
}

/** The first string of an attribute in DICOM JSON (a person name's alphabetic group), or ''. */
function str(ds: JsonDataset, tag: number): string {
  const v = ds[tagHex(tag)]?.Value?.[0];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const pn = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
    return [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''].join('=').replace(/=+$/, '');
  }
  return '';
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The attribute changes of a demographics edit, validated; HKID and birth certificate in Other Patient IDs. */
function patientChanges(current: JsonDataset, edits: PatientEdits): AttributeChange[] {
  const out: AttributeChange[] = [];
  const bad = (what: string) => new LanternError('LNT_HTTP_BAD_REQUEST', what);
  const set = (tag: number, vr: 'PN' | 'DA' | 'CS' | 'SH' | 'LO', value: string) =>
    out.push(value === '' ? { tag, remove: true } : { tag, vr, values: [value] });
  if (edits.name !== undefined) {
    if (!edits.name.trim()) throw bad('a patient has a name');
    if (edits.name.split('=').some((g) => g.length > 64)) throw bad('a name group is at most 64 characters');
    set(Tag.PatientName, 'PN', edits.name.trim());
  }
  if (edits.birthDate !== undefined) {
    if (edits.birthDate === '') set(Tag.PatientBirthDate, 'DA', '');
    else {
      const n = normalizeIdentifier('birthDate', edits.birthDate);
      if ('invalid' in n) throw bad(`birth date: ${n.invalid}`);
      set(Tag.PatientBirthDate, 'DA', n.value);
    }
  }
  if (edits.sex !== undefined) {
    if (!['', 'M', 'F', 'O'].includes(edits.sex)) throw bad('sex is M, F, O or empty');
    set(Tag.PatientSex, 'CS', edits.sex);
  }
  if (edits.address !== undefined) {
    if (edits.address.length > 64) throw bad('an address is at most 64 characters');
    set(Tag.PatientAddress, 'LO', edits.address.trim());
  }
  if (edits.phone !== undefined) {
    if (edits.phone.length > 16) throw bad('a telephone number is at most 16 characters');
    set(Tag.PatientTelephoneNumbers, 'SH', edits.phone.trim());
  }
  if (edits.hkid !== undefined || edits.birthCertificate !== undefined) {
    // The other identifiers are kept; those of the kinds edited are replaced.
    const items = (current[tagHex(Tag.OtherPatientIDsSequence)]?.Value ?? []) as JsonDataset[];
    const kept = items.filter((item) => {
      const k = identifierKindOf(item);
      return (
        !(k === 'hkid' && edits.hkid !== undefined) &&
        !(k === 'birthCertificate' && edits.birthCertificate !== undefined)
      );
    });
    const next: EditedAttribute[][] = kept.map((item) => {
      const e = editedFromJson(Tag.OtherPatientIDsSequence, { vr: 'SQ', Value: [item] });
      return e && 'items' in e ? [...e.items[0]] : [];
    });
    const add = (id: string, issuer: string) =>
      next.push([
        { tag: Tag.PatientID, vr: 'LO', values: [id] },
        { tag: Tag.IssuerOfPatientID, vr: 'LO', values: [issuer] },
        { tag: Tag.TypeOfPatientID, vr: 'CS', values: ['TEXT'] },
      ]);
    if (edits.hkid) {
      const h = checkHkid(edits.hkid);
      if (!h.ok) throw bad(`HKID: ${h.reason}`);
      add(`${h.value.slice(0, -1)}(${h.value.slice(-1)})`, 'HKID');
    }
    if (edits.birthCertificate) {
      const b = normalizeIdentifier('birthCertificate', edits.birthCertificate);
      if ('invalid' in b) throw bad(`birth certificate: ${b.invalid}`);
      add(b.value, 'BC');
    }
    out.push(
      next.length
        ? { tag: Tag.OtherPatientIDsSequence, items: next }
        : { tag: Tag.OtherPatientIDsSequence, remove: true },
    );
  }
  return out.sort((a, b) => a.tag - b.tag);
}
