import { GENESIS } from '../../core/audit/chain.js';
import { nameKeys } from '../../core/query/person-name.js';
import type { Database } from './schema.js';
import {
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  sql,
} from 'kysely';

/**
 * Versioned schema migrations, in order. Each runs once, in its own transaction, recorded by kysely's
 * migrator in kysely_migration. Never edit a released migration: add a new one.
 */
export function migrations(dialect: 'sqlite' | 'postgres'): Record<string, Migration> {
  const id = dialect === 'sqlite' ? 'integer' : 'integer';
  const bigint = dialect === 'sqlite' ? 'integer' : 'bigint';
  const pk = (col: ColumnDefinitionBuilder) =>
    dialect === 'sqlite' ? col.primaryKey().autoIncrement() : col.generatedByDefaultAsIdentity().primaryKey();
  return {
    '0001_levels': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('patient')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('patient_id', 'text', (c) => c.notNull())
          .addColumn('issuer', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('name_upper', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('birth_date', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('sex', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('attrs', 'text', (c) => c.notNull())
          .addColumn('num_studies', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('num_series', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('num_instances', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('patient_id_issuer_unique', ['patient_id', 'issuer'])
          .execute();
        await db.schema.createIndex('patient_name_upper_idx').on('patient').column('name_upper').execute();
        await db.schema.createIndex('patient_birth_date_idx').on('patient').column('birth_date').execute();

        await db.schema
          .createTable('study')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('patient_fk', 'integer', (c) => c.notNull().references('patient.id'))
          .addColumn('study_uid', 'text', (c) => c.notNull().unique())
          .addColumn('study_date', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('study_time', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('accession_number', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('study_id', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('referring_physician', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('attrs', 'text', (c) => c.notNull())
          .addColumn('num_series', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('num_instances', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('study_patient_fk_idx').on('study').column('patient_fk').execute();
        await db.schema.createIndex('study_date_idx').on('study').column('study_date').execute();
        await db.schema.createIndex('study_accession_idx').on('study').column('accession_number').execute();

        await db.schema
          .createTable('series')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('study_fk', 'integer', (c) => c.notNull().references('study.id'))
          .addColumn('series_uid', 'text', (c) => c.notNull().unique())
          .addColumn('modality', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('series_number', 'integer')
          .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('attrs', 'text', (c) => c.notNull())
          .addColumn('num_instances', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('series_study_fk_idx').on('series').column('study_fk').execute();
        await db.schema.createIndex('series_modality_idx').on('series').column('modality').execute();

        await db.schema
          .createTable('instance')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('series_fk', 'integer', (c) => c.notNull().references('series.id'))
          .addColumn('sop_instance_uid', 'text', (c) => c.notNull().unique())
          .addColumn('sop_class_uid', 'text', (c) => c.notNull())
          .addColumn('instance_number', 'integer')
          .addColumn('transfer_syntax_uid', 'text', (c) => c.notNull())
          .addColumn('blob_key', 'text', (c) => c.notNull().unique())
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('attrs', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('source_aet', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema.createIndex('instance_series_fk_idx').on('instance').column('series_fk').execute();
        await db.schema
          .createIndex('instance_sop_class_idx')
          .on('instance')
          .column('sop_class_uid')
          .execute();

        await db.schema
          .createTable('quarantine')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('blob_key', 'text', (c) => c.notNull().unique())
          .addColumn('reason_code', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('sop_instance_uid', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('study_uid', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('patient_id', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('source_aet', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .createIndex('quarantine_sop_idx')
          .on('quarantine')
          .column('sop_instance_uid')
          .execute();
      },
    },
    '0002_ae_registry': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('ae')
          .addColumn('ae_title', 'text', (c) => c.primaryKey())
          .addColumn('host', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('port', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('tls', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('permissions', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_security': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('account')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('login', 'text', (c) => c.notNull().unique())
          .addColumn('display_name', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('roles', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('password_hash', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('must_change', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('session')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('account_fk', id, (c) => c.notNull().references('account.id').onDelete('cascade'))
          .addColumn('generation', 'integer', (c) => c.notNull())
          .addColumn('csrf', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('user_agent', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema.createIndex('session_account_idx').on('session').column('account_fk').execute();
        await db.schema
          .createTable('api_token')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('account_fk', id, (c) => c.notNull().references('account.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();
        await db.schema
          .createTable('login_throttle')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('window_start', 'text', (c) => c.notNull())
          .addColumn('locked_until', 'text')
          .execute();
      },
    },
    '0004_audit': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('audit_record')
          .addColumn('id', bigint, (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('outcome', 'integer', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('patient_ids', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('study_uids', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_at_idx').on('audit_record').column('at').execute();
        await db.schema.createIndex('audit_user_idx').on('audit_record').column('user_id').execute();
        await db.schema
          .createTable('audit_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('last_id', bigint, (c) => c.notNull())
          .addColumn('last_hash', 'text', (c) => c.notNull())
          .execute();
        // The head exists from the start, so that appenders always find a row to lock (two first appends
        // racing to create it deadlock on PostgreSQL).
        await sql`insert into audit_head (id, last_id, last_hash) values (1, 0, ${GENESIS})`.execute(db);
        // Append-only: the database itself refuses to change or remove a record.
        if (dialect === 'postgres') {
          await sql`create function audit_append_only() returns trigger language plpgsql as $$
            begin raise exception 'audit records are append-only'; end $$`.execute(db);
          await sql`create trigger audit_record_append_only before update or delete on audit_record
            for each row execute function audit_append_only()`.execute(db);
        } else {
          await sql`create trigger audit_record_no_update before update on audit_record
            begin select raise(abort, 'audit records are append-only'); end`.execute(db);
          await sql`create trigger audit_record_no_delete before delete on audit_record
            begin select raise(abort, 'audit records are append-only'); end`.execute(db);
        }
      },
    },
    '0005_person_name_keys': {
      async up(db: Kysely<unknown>) {
        // Byte order (collation "C" on PostgreSQL, SQLite's default), so that a prefix is a key range.
        const keyType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
        await db.schema
          .createTable('patient_name_key')
          .addColumn('patient_fk', 'integer', (c) => c.notNull().references('patient.id'))
          .addColumn('key', keyType, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('patient_name_key_key_idx')
          .on('patient_name_key')
          .columns(['key', 'patient_fk'])
          .execute();
        await db.schema
          .createIndex('patient_name_key_patient_idx')
          .on('patient_name_key')
          .column('patient_fk')
          .execute();
        // The names already held get their keys.
        const typed = db as unknown as Kysely<Database>;
        for (let after = 0; ;) {
          const rows = await typed
            .selectFrom('patient')
            .select(['id', 'name'])
            .where('id', '>', after)
            .orderBy('id')
            .limit(1000)
            .execute();
          if (!rows.length) break;
          const keys = rows.flatMap((r) =>
            nameKeys(r.name).map((key) => ({ patient_fk: Number(r.id), key })),
          );
          for (let i = 0; i < keys.length; i += 500)
            await typed
              .insertInto('patient_name_key')
              .values(keys.slice(i, i + 500))
              .execute();
          after = Number(rows[rows.length - 1].id);
        }
      },
    },
    '0006_login_attempts_in_progress': {
      async up(db: Kysely<unknown>) {
        // Failures and attempts still being checked are counted apart (a success takes back only its own).
        await db.schema
          .alterTable('login_throttle')
          .addColumn('in_progress', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0007_jobs': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('job')
          .addColumn('id', id, (c) => pk(c))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) =>
            c.notNull().check(sql`state in ('queued', 'running', 'done', 'failed')`),
          )
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('run_at', 'text', (c) => c.notNull())
          .addColumn('dedupe_key', 'text')
          .addColumn('worker', 'text')
          .addColumn('lease_until', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .execute();
        // Claiming: due queued jobs by run time, and running jobs whose lease has run out.
        await db.schema.createIndex('job_claim_idx').on('job').columns(['state', 'run_at']).execute();
        await db.schema.createIndex('job_lease_idx').on('job').columns(['state', 'lease_until']).execute();
        // One pending job per kind and dedupe key; finished jobs free the key.
        await db.schema
          .createIndex('job_dedupe_idx')
          .on('job')
          .columns(['kind', 'dedupe_key'])
          .unique()
          .where(sql<boolean>`dedupe_key is not null and state in ('queued', 'running')`)
          .execute();
      },
    },
    '0008_study_list_order': {
      async up(db: Kysely<unknown>) {
        // The study list's default order (newest first) read from an index, not sorted per page.
        await db.schema
          .createIndex('study_date_time_idx')
          .on('study')
          .columns(['study_date', 'study_time', 'id'])
          .execute();
      },
    },
    '0009_study_transfer_state': {
      async up(db: Kysely<unknown>) {
        // How the last transfer into a study ended, and its quarantined objects, for the study list's state.
        await db.schema
          .alterTable('study')
          .addColumn('transfer_problem', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .alterTable('study')
          .addColumn('transfer_problem_at', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema.createIndex('quarantine_study_idx').on('quarantine').column('study_uid').execute();
      },
    },
    '0010_modalities_in_study': {
      async up(db: Kysely<unknown>) {
        // Study queries by Modalities in Study find the studies through their series' modality (the index
        // holds the study too, so the lookup needs no series row); it serves series queries by modality too.
        await db.schema
          .createIndex('series_modality_study_idx')
          .on('series')
          .columns(['modality', 'study_fk'])
          .execute();
        await db.schema.dropIndex('series_modality_idx').execute();
      },
    },
    '0011_ingest_session': {
      async up(db: Kysely<unknown>) {
        // One row per process that ingests: the rows it recorded after its confirmed ids may not have
        // durable files yet; after a power loss the start-up recovery checks them (docs/architecture.md).
        await db.schema
          .createTable('ingest_session')
          .addColumn('id', id, pk)
          .addColumn('node_id', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('confirmed_instance_id', bigint, (c) => c.notNull())
          .addColumn('confirmed_quarantine_id', bigint, (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('ingest_session_node_idx')
          .on('ingest_session')
          .column('node_id')
          .execute();
      },
    },
    '0012_service_accounts': {
      async up(db: Kysely<unknown>) {
        // Accounts are people or services (services have no password and act through tokens only); a
        // token records who made it, so that a token made for a service names its maker in the trail.
        await db.schema
          .alterTable('account')
          .addColumn('kind', 'text', (c) =>
            c
              .notNull()
              .defaultTo('person')
              .check(sql`kind in ('person', 'service')`),
          )
          .execute();
        await db.schema
          .alterTable('api_token')
          .addColumn('created_by', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '0013_mfa': {
      async up(db: Kysely<unknown>) {
        // A person's second factor (TOTP, RFC 6238): the secret (pending until a first code confirms it),
        // the last time step used (a code is good once), and the SHA-256 of the unused recovery codes.
        await db.schema
          .createTable('account_mfa')
          .addColumn('account_fk', 'integer', (c) =>
            c.primaryKey().references('account.id').onDelete('cascade'),
          )
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('enabled_at', 'text')
          .addColumn('last_step', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('recovery', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '0014_ae_mode': {
      async up(db: Kysely<unknown>) {
        // Who is behind an AE title: a device (its grants stand: what every peer was before) or people
        // (user identity required); and a TLS client certificate bound to the title.
        await db.schema
          .alterTable('ae')
          .addColumn('mode', 'text', (c) =>
            c
              .notNull()
              .defaultTo('device')
              .check(sql`mode in ('device', 'people')`),
          )
          .execute();
        await db.schema
          .alterTable('ae')
          .addColumn('cert_sha256', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '0015_received_instance': {
      async up(db: Kysely<unknown>) {
        // Each object a transfer received and acknowledged, written with the object's own rows, until its
        // transfer's audit record is written (then removed): a crash leaves no acknowledged object that the
        // trail does not name (docs/audit.md). Rows are few at any time (a transfer's are removed at least
        // every 1,000 objects): the recovery's reads scan them, and no index costs each object a page.
        await db.schema
          .createTable('received_instance')
          .addColumn('id', id, pk)
          .addColumn('session_id', bigint, (c) => c.notNull())
          .addColumn('transfer', 'text', (c) => c.notNull())
          .addColumn('party', 'text', (c) => c.notNull())
          .addColumn('study_uid', 'text', (c) => c.notNull())
          .addColumn('sop_class_uid', 'text', (c) => c.notNull())
          .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
          .addColumn('patient_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .execute();
        // A session's process is told from a later one with the same pid (a restarted container).
        await db.schema
          .alterTable('ingest_session')
          .addColumn('process_token', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '0016_integrity': {
      async up(db: Kysely<unknown>) {
        // Each object's last integrity check (re-hashed against its recorded SHA-256) and what it found:
        // '' whole (or not checked yet), 'mismatch', 'missing'. Damaged objects are few: a partial index
        // finds them and costs an ordinary insert nothing.
        await db.schema
          .alterTable('instance')
          .addColumn('verified_at', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .alterTable('instance')
          .addColumn('integrity', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await sql`create index instance_damaged_idx on instance (id) where integrity <> ''`.execute(db);
      },
    },
    '0017_changes': {
      async up(db: Kysely<unknown>) {
        // Operations on a patient's records (edit, merge, move a study): one row each with its plan, one
        // row per instance rewritten (its new file once written), and the files replaced, kept as versions
        // until their retention ends. Patients under an operation are marked, so that ingest holds back
        // objects for them meanwhile (docs/patients.md).
        await db.schema
          .createTable('change')
          .addColumn('id', id, pk)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('plan', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('error', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .createTable('change_item')
          .addColumn('change_fk', bigint, (c) => c.notNull())
          .addColumn('instance_fk', bigint, (c) => c.notNull())
          .addColumn('blob_key', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('size', bigint, (c) => c.notNull().defaultTo(0))
          .addColumn('sha256', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('attrs', 'text', (c) => c.notNull().defaultTo(''))
          .addPrimaryKeyConstraint('change_item_pk', ['change_fk', 'instance_fk'])
          .execute();
        await db.schema
          .createTable('instance_version')
          .addColumn('id', id, pk)
          .addColumn('instance_fk', bigint, (c) => c.notNull())
          .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
          .addColumn('blob_key', 'text', (c) => c.notNull())
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('change_fk', bigint, (c) => c.notNull())
          .addColumn('replaced_at', 'text', (c) => c.notNull())
          .addColumn('keep_until', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('instance_version_keep_idx')
          .on('instance_version')
          .column('keep_until')
          .execute();
        await db.schema
          .alterTable('patient')
          .addColumn('changing', bigint, (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
  };
}

export function migrationProvider(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
