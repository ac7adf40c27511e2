import type { Kysely, Selectable } from 'kysely';
import type { AePermission, AeRecord, AeStore } from '../../ports/ae-store.js';
import type { AeTable, Database } from './schema.js';

function toAe(r: Selectable<AeTable>): AeRecord {
  return {
    aeTitle: r.ae_title,
    host: r.host,
    port: Number(r.port),
    tls: Number(r.tls) === 1,
    permissions: r.permissions ? (r.permissions.split(',') as AePermission[]) : [],
    mode: r.mode === 'people' ? 'people' : 'device',
    certSha256: r.cert_sha256,
  };
}

/** The AE registry's peers in the index database's `ae` table. */
export class KyselyAeStore implements AeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async listAes(): Promise<AeRecord[]> {
    const rows = await this.db.selectFrom('ae').selectAll().orderBy('ae_title').execute();
    return rows.map(toAe);
  }

  async findAe(aeTitle: string): Promise<AeRecord | undefined> {
    const r = await this.db.selectFrom('ae').selectAll().where('ae_title', '=', aeTitle).executeTakeFirst();
    return r ? toAe(r) : undefined;
  }

  async putAe(ae: AeRecord, now: string): Promise<void> {
    const row = {
      ae_title: ae.aeTitle,
      host: ae.host,
      port: ae.port,
      tls: ae.tls ? 1 : 0,
      permissions: ae.permissions.join(','),
      mode: ae.mode,
      cert_sha256: ae.certSha256,
      updated_at: now,
    };
    await this.db
      .insertInto('ae')
      .values(row)
      .onConflict((oc) => oc.column('ae_title').doUpdateSet({ ...row }))
      .execute();
  }

  async removeAe(aeTitle: string): Promise<boolean> {
    const r = await this.db.deleteFrom('ae').where('ae_title', '=', aeTitle).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
