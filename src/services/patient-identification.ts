import type { Action, Code } from '../core/audit/events.js';
import { LanternError, NotFoundError } from '../core/errors.js';
import {
  type GivenIdentifier,
  type IdentificationResult,
  type IdentifierKind,
  IDENTIFIER_KINDS,
  identify,
  identityOf,
  type PatientIdentity,
} from '../core/patient/identity.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { ArchiveIndex, PatientRow } from '../ports/archive-index.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';

/** A patient as an operation names it: Patient ID and its issuer. */
export interface PatientRef {
  readonly patientId: string;
  readonly issuer?: string;
}

/** The operation a confirmation is for, as the audit trail records a refusal of it. */
export interface PatientOperation {
  /** Its name in messages (`merge`, `edit`, `delete`). */
  readonly name: string;
  /** The PS3.15 event it is recorded as (Patient Record, Study Deleted, Export). */
  readonly eventId: Code;
  readonly action: Action;
}

/**
 * The two-identifier rule (docs/patients.md): every operation on a patient's images or studies is confirmed by
 * at least two different identifiers that match the archive's record (core/patient/identity.ts), whatever
 * the way in (the API, the web app, the command line). A refusal says why (kinds and counts, never values)
 * and is recorded in the audit trail as the operation, refused (outcome 4).
 */
export class PatientIdentification {
  constructor(
    private readonly index: ArchiveIndex,
    private readonly audit?: ClinicalAudit,
  ) {}

  /** The patient and what the archive holds of each identifier kind. */
  private async record(ref: PatientRef): Promise<{ row: PatientRow; identity: PatientIdentity }> {
    const row = await this.index.findPatient(ref.patientId, ref.issuer ?? '');
    if (!row) throw new NotFoundError('no patient with this Patient ID (and issuer) in the archive');
    const attrs = await this.index.patientAttributes(row.id);
    const held = identityOf(attrs?.patient ?? {});
    // Kinds the patient level does not keep (a patient first stored by an earlier version): its latest object.
    const latest = identityOf(attrs?.latestInstance ?? {});
    const identity: Partial<Record<IdentifierKind, readonly string[]>> = { ...held };
    for (const k of IDENTIFIER_KINDS) if (!identity[k]?.length && latest[k]?.length) identity[k] = latest[k];
    return { row, identity };
  }

  /** The kinds of identifier the archive holds for a patient (no values): what a dialog may ask for. */
  async kinds(ref: PatientRef, actor?: Actor): Promise<IdentifierKind[]> {
    requirePermission(actor, 'study.read');
    const { identity } = await this.record(ref);
    return IDENTIFIER_KINDS.filter((k) => identity[k]?.length);
  }

  /**
   * Confirms that `given` identifies the patient for `operation`: the patient's row and which kinds matched.
   * Otherwise LNT_PATIENT_NOT_IDENTIFIED, the refusal recorded.
   */
  async confirm(
    ref: PatientRef,
    given: readonly GivenIdentifier[],
    by: Party,
    operation: PatientOperation,
  ): Promise<{ row: PatientRow; result: IdentificationResult }> {
    const { row, identity } = await this.record(ref);
    const result = identify(identity, given);
    if (!result.confirmed) {
      await this.audit?.refusedOperation(
        by,
        row.patientId,
        operation,
        `patient not identified: ${result.reason}`,
      );
      const matched = result.matched.length ? ` (matched: ${result.matched.join(', ')})` : '';
      throw new LanternError(
        'LNT_PATIENT_NOT_IDENTIFIED',
        `${operation.name} refused: the patient is not identified: ${result.reason}${matched}`,
      );
    }
    return { row, result };
  }
}
