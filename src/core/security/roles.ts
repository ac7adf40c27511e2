/**
 * What an actor may do. Permissions are checked by the services (and, before them, by the HTTP routes and the
 * DIMSE association), never inferred from where a request came in.
 */
export const PERMISSIONS = [
  /** Query and retrieve identified images and reports (QIDO-RS, WADO-RS, WADO-URI, C-FIND, C-MOVE, C-GET). */
  'study.read',
  /** Store images (STOW-RS, C-STORE). */
  'study.store',
  /** Change patient and study information (QC, merge, split). */
  'study.modify',
  /** Delete studies. */
  'study.delete',
  /** Export identified data to other systems and media. */
  'study.export',
  /** Query and retrieve de-identified data only (research, teaching). */
  'deidentified.read',
  /** Read the audit trail and its reports. */
  'audit.read',
  /** Manage DICOM peers (the AE registry). */
  'ae.manage',
  /** Manage accounts, roles and API tokens of others. */
  'users.manage',
  /** Change the configuration. */
  'config.manage',
  /** See the archive's state: counts, storage use, the quarantine list. */
  'system.read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** The built-in roles and what each may do. */
export const ROLES: Readonly<Record<string, readonly Permission[]>> = {
  administrator: PERMISSIONS,
  informaticist: [
    'study.read',
    'study.store',
    'study.modify',
    'study.delete',
    'study.export',
    'ae.manage',
    'audit.read',
    'system.read',
  ],
  radiographer: ['study.read', 'study.store', 'study.modify'],
  radiologist: ['study.read', 'study.store'],
  clinician: ['study.read'],
  researcher: ['deidentified.read'],
  auditor: ['audit.read'],
};

export const ROLE_NAMES = Object.keys(ROLES);

export function isRole(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(ROLES, name);
}

/** The permissions a set of roles grants (unknown role names grant nothing). */
export function permissionsOf(roles: readonly string[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) if (isRole(r)) for (const p of ROLES[r]) out.add(p);
  return out;
}
