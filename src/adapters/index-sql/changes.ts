import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { LanternError } from '../../core/errors.js';
import { nameKeys } from '../../core/query/person-name.js';
import type { ChangeItem, ChangePlan, ChangeRecord, InstanceVersion } from '../../ports/archive-index.js';
import type { ChangeTable, Database, InstanceVersionTable } from './schema.js';

/**
 * The index side of operations on patients' records (docs/patients.md): their plans and items, carrying
 * one out in one unit of work, and the stored files they replaced. Shared by both dialects.
 */

function toChange(r: Selectable<ChangeTable>): ChangeRecord {
  return {
    id: Number(r.id),
    kind: r.kind,
    plan: JSON.parse(r.plan) as ChangePlan,
    state: r.state as ChangeRecord['state'],
    createdBy: r.created_by,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    error: r.error,
  };
}

function toVersion(r: Selectable<InstanceVersionTable>): InstanceVersion {
  return {
    id: Number(r.id),
    instanceFk: Number(r.instance_fk),
    sopInstanceUid: r.sop_instance_uid,
    blobKey: r.blob_key,
    size: Number(r.size),
    sha256: r.sha256,
    changeFk: Number(r.change_fk),
    replacedAt: r.replaced_at,
    keepUntil: r.keep_until,
  };
}

export async function getChange(db: Kysely<Database>, id: number): Promise<ChangeRecord | undefined> {
  const r = await db.selectFrom('change').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toChange(r) : undefined;
}

export async function unfinishedChanges(db: Kysely<Database>): Promise<ChangeRecord[]> {
  const rows = await db
    .selectFrom('change')
    .selectAll()
    .where('state', '=', 'preparing')
    .orderBy('id')
    .execute();
  return rows.map(toChange);
}

export async function changeItems(db: Kysely<Database>, changeId: number): Promise<ChangeItem[]> {
  const rows = await db
    .selectFrom('change_item')
    .selectAll()
    .where('change_fk', '=', changeId)
    .orderBy('instance_fk')
    .execute();
  return rows.map((r) => ({
    instanceFk: Number(r.instance_fk),
    blobKey: r.blob_key,
    size: Number(r.size),
    sha256: r.sha256,
    attrs: r.attrs,
  }));
}

export async function versionsOf(db: Kysely<Database>, instanceFk: number): Promise<InstanceVersion[]> {
  const rows = await db
    .selectFrom('instance_version')
    .selectAll()
    .where('instance_fk', '=', instanceFk)
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toVersion);
}

export async function versionsDue(
  db: Kysely<Database>,
  at: string,
  limit: number,
): Promise<InstanceVersion[]> {
  const rows = await db
    .selectFrom('instance_version')
    .selectAll()
    .where('keep_until', '<', at)
    .orderBy('keep_until')
    .limit(limit)
    .execute();
  return rows.map(toVersion);
}

export async function createChange(
  tx: Transaction<Database>,
  kind: string,
  plan: ChangePlan,
  createdBy: string,
  at: string,
): Promise<number> {
  const r = await tx
    .insertInto('change')
    .values({ kind, plan: JSON.stringify(plan), state: 'preparing', created_by: createdBy, created_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = Number(r.id);
  if (plan.lock.length) {
    const locked = await tx
      .updateTable('patient')
      .set({ changing: id })
      .where('id', 'in', [...plan.lock])
      .where('changing', '=', 0)
      .executeTakeFirst();
    if (Number(locked.numUpdatedRows) !== new Set(plan.lock).size)
      throw new LanternError(
        'LNT_CONFLICT',
        "another operation on this patient's records is under way (or the patient is gone); try again once it has ended",
      );
  }
  for (let i = 0; i < plan.instances.length; i += 500) {
    await tx
      .insertInto('change_item')
      .values(plan.instances.slice(i, i + 500).map((instance_fk) => ({ change_fk: id, instance_fk })))
      .execute();
  }
  return id;
}

export async function prepareChangeItem(
  tx: Transaction<Database>,
  changeId: number,
  item: ChangeItem,
): Promise<void> {
  await tx
    .updateTable('change_item')
    .set({ blob_key: item.blobKey, size: item.size, sha256: item.sha256, attrs: item.attrs })
    .where('change_fk', '=', changeId)
    .where('instance_fk', '=', item.instanceFk)
    .execute();
}

export async function applyChange(
  tx: Transaction<Database>,
  changeId: number,
  at: string,
  keepUntil: string,
): Promise<boolean> {
  const change = await getChange(tx, changeId);
  if (!change || change.state !== 'preparing') return false;
  const plan = change.plan;
  const items = await changeItems(tx, changeId);
  if (items.some((i) => !i.blobKey))
    throw new LanternError('LNT_INDEX_FAILED', `operation ${changeId} is not prepared: a file is missing`);
  // Each instance takes its rewritten file; the stored one is kept as a version.
  for (const item of items) {
    const old = await tx
      .selectFrom('instance')
      .select(['sop_instance_uid', 'blob_key', 'size', 'sha256'])
      .where('id', '=', item.instanceFk)
      .executeTakeFirst();
    if (!old) continue; // removed meanwhile: its new file is an orphan, left to the caller
    await tx
      .insertInto('instance_version')
      .values({
        instance_fk: item.instanceFk,
        sop_instance_uid: old.sop_instance_uid,
        blob_key: old.blob_key,
        size: old.size,
        sha256: old.sha256,
        change_fk: changeId,
        replaced_at: at,
        keep_until: keepUntil,
      })
      .execute();
    await tx
      .updateTable('instance')
      .set({
        blob_key: item.blobKey,
        size: item.size,
        sha256: item.sha256,
        attrs: item.attrs,
        integrity: '',
        verified_at: '',
      })
      .where('id', '=', item.instanceFk)
      .execute();
  }
  for (const p of plan.patients) {
    await tx
      .updateTable('patient')
      .set({
        name: p.name,
        name_upper: p.name.toLocaleUpperCase(),
        birth_date: p.birthDate,
        sex: p.sex,
        attrs: JSON.stringify(p.attrs),
        updated_at: at,
      })
      .where('id', '=', p.id)
      .execute();
    await tx.deleteFrom('patient_name_key').where('patient_fk', '=', p.id).execute();
    const keys = nameKeys(p.name).map((key) => ({ patient_fk: p.id, key }));
    if (keys.length) await tx.insertInto('patient_name_key').values(keys).execute();
  }
  for (const st of plan.studies) {
    await tx
      .updateTable('study')
      .set({
        patient_fk: st.patientFk,
        ...(st.attrs ? { attrs: JSON.stringify(st.attrs) } : {}),
        ...(st.accessionNumber !== undefined ? { accession_number: st.accessionNumber } : {}),
        ...(st.description !== undefined ? { description: st.description } : {}),
        ...(st.referringPhysician !== undefined ? { referring_physician: st.referringPhysician } : {}),
        updated_at: at,
      })
      .where('id', '=', st.id)
      .execute();
  }
  // The counts of every patient the operation touched, from its rows.
  const touched = [...new Set([...plan.lock, ...plan.removeIfEmpty])];
  for (const pid of touched) {
    await tx
      .updateTable('patient')
      .set({
        num_studies: sql<number>`(select count(*) from study t where t.patient_fk = ${pid})`,
        num_series: sql<number>`(select count(*) from series s join study t on t.id = s.study_fk where t.patient_fk = ${pid})`,
        num_instances: sql<number>`(select count(*) from instance i join series s on s.id = i.series_fk join study t on t.id = s.study_fk where t.patient_fk = ${pid})`,
        changing: 0,
      })
      .where('id', '=', pid)
      .execute();
  }
  for (const pid of plan.removeIfEmpty) {
    const left = await tx
      .selectFrom('study')
      .select('id')
      .where('patient_fk', '=', pid)
      .limit(1)
      .executeTakeFirst();
    if (left) continue;
    await tx.deleteFrom('patient_name_key').where('patient_fk', '=', pid).execute();
    await tx.deleteFrom('patient').where('id', '=', pid).execute();
  }
  await tx.updateTable('change').set({ state: 'done', finished_at: at }).where('id', '=', changeId).execute();
  return true;
}

export async function failChange(
  tx: Transaction<Database>,
  changeId: number,
  error: string,
  at: string,
): Promise<void> {
  await tx
    .updateTable('change')
    .set({ state: 'failed', error: error.slice(0, 2000), finished_at: at })
    .where('id', '=', changeId)
    .where('state', '=', 'preparing')
    .execute();
  await tx.updateTable('patient').set({ changing: 0 }).where('changing', '=', changeId).execute();
}

export async function removeVersions(tx: Transaction<Database>, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500)
    await tx
      .deleteFrom('instance_version')
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
}
