import { type Command, InvalidArgumentError } from 'commander';
import { type GivenIdentifier, IDENTIFIER_KINDS, isIdentifierKind } from '../core/patient/identity.js';
import type { Party } from '../services/clinical-audit.js';
import type { ChangeOutcome, PatientEdits } from '../services/patient-changes.js';
import { appOptions, type Common, withApp } from './options.js';

/** `--id kind=value`, repeatable: an identifier of the patient (docs/patients.md). */
function identifier(v: string, prev: GivenIdentifier[]): GivenIdentifier[] {
  const at = v.indexOf('=');
  const kind = v.slice(0, at);
  if (at < 1 || !isIdentifierKind(kind))
    throw new InvalidArgumentError(`kind=value, kind one of ${IDENTIFIER_KINDS.join(', ')}`);
  return [...prev, { kind, value: v.slice(at + 1) }];
}

const EDITABLE = ['name', 'birthDate', 'sex', 'phone', 'address', 'hkid', 'birthCertificate'] as const;

/** `--set field=value`, repeatable: a demographic to change ('' clears it). */
function edit(v: string, prev: Record<string, string>): Record<string, string> {
  const at = v.indexOf('=');
  const field = v.slice(0, at);
  if (at < 1 || !(EDITABLE as readonly string[]).includes(field))
    throw new InvalidArgumentError(`field=value, field one of ${EDITABLE.join(', ')}`);
  return { ...prev, [field]: v.slice(at + 1) };
}

const me = (): Party => ({ kind: 'os-user', user: process.env.USER ?? 'lantern' });
const done = (r: ChangeOutcome): void => {
  process.stdout.write(`${r.kind}: done (operation ${r.id}, ${r.instances} objects rewritten)\n`);
};

/**
 * `lantern patient`: operations on a patient's records from the command line, each confirmed by two
 * identifiers of every patient it touches, as in the API and the web app.
 */
export function patientCommands(program: Command): void {
  const patient = program
    .command('patient')
    .description("operations on a patient's records, each confirmed by two identifiers (docs/patients.md)");
  appOptions(
    patient
      .command('edit')
      .description("change a patient's demographics in the index and in every stored object")
      .argument('<patientId>', 'the Patient ID')
      .option('--issuer <issuer>', 'the issuer of the Patient ID', '')
      .requiredOption(
        '--id <kind=value>',
        `an identifier of the patient (${IDENTIFIER_KINDS.join(', ')}); twice at least`,
        identifier,
        [],
      )
      .requiredOption(
        '--set <field=value>',
        `a demographic to change (${EDITABLE.join(', ')}); '' clears it`,
        edit,
        {},
      ),
  ).action(
    async (
      patientId: string,
      opts: Common & { issuer: string; id: GivenIdentifier[]; set: Record<string, string> },
    ) =>
      withApp(opts, async (app) =>
        done(
          await app.changes.editPatient(
            { patientId, issuer: opts.issuer },
            opts.id,
            opts.set as PatientEdits,
            me(),
          ),
        ),
      ),
  );
  appOptions(
    patient
      .command('merge')
      .description(
        "merge a patient into another: its studies become the other's, its objects carry the other's demographics",
      )
      .argument('<patientId>', 'the Patient ID of the patient merged away')
      .option('--issuer <issuer>', 'its issuer', '')
      .requiredOption('--id <kind=value>', 'an identifier of that patient; twice at least', identifier, [])
      .requiredOption('--into <patientId>', 'the Patient ID of the patient kept')
      .option('--into-issuer <issuer>', 'its issuer', '')
      .requiredOption(
        '--into-id <kind=value>',
        'an identifier of the patient kept; twice at least',
        identifier,
        [],
      ),
  ).action(
    async (
      patientId: string,
      opts: Common & {
        issuer: string;
        id: GivenIdentifier[];
        into: string;
        intoIssuer: string;
        intoId: GivenIdentifier[];
      },
    ) =>
      withApp(opts, async (app) =>
        done(
          await app.changes.merge(
            { patientId, issuer: opts.issuer },
            opts.id,
            { patientId: opts.into, issuer: opts.intoIssuer },
            opts.intoId,
            me(),
          ),
        ),
      ),
  );
  appOptions(
    patient
      .command('split')
      .description('move a study to another patient (filed under the wrong one)')
      .requiredOption('--study <uid>', 'the Study Instance UID')
      .requiredOption('--id <kind=value>', 'an identifier of its patient now; twice at least', identifier, [])
      .requiredOption('--to <patientId>', 'the Patient ID of the patient it belongs to')
      .option('--to-issuer <issuer>', 'its issuer', '')
      .requiredOption(
        '--to-id <kind=value>',
        'an identifier of that patient; twice at least',
        identifier,
        [],
      ),
  ).action(
    async (
      opts: Common & {
        study: string;
        id: GivenIdentifier[];
        to: string;
        toIssuer: string;
        toId: GivenIdentifier[];
      },
    ) =>
      withApp(opts, async (app) =>
        done(
          await app.changes.moveStudy(
            opts.study,
            opts.id,
            { patientId: opts.to, issuer: opts.toIssuer },
            opts.toId,
            me(),
          ),
        ),
      ),
  );
}
