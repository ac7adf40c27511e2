import { isStorageSopClass } from '../../core/dicom/dictionary.js';
import { allTransferSyntaxes, TransferSyntaxUid as TS } from '../../core/dicom/transfer-syntax.js';
import { CommandField } from '../../core/dimse/command.js';
import { ServiceSopClass } from '../../core/dimse/sop-classes.js';
import type { Logger } from 'pino';
import type { AeRecord } from '../../ports/ae-store.js';
import type { CommitmentService } from '../../services/commitment.js';
import type { IngestService } from '../../services/ingest.js';
import type { QueryService } from '../../services/query.js';
import type { RetrieveService } from '../../services/retrieve.js';
import type { SendService } from '../../services/send.js';
import { commit, commitmentReport } from './commit.js';
import { find } from './find.js';
import { get } from './get.js';
import { move } from './move.js';
import type { ServiceClass } from './registry.js';
import { store } from './storage.js';
import type { StoredPerAssociation } from './stored-log.js';
import { echo } from './verification.js';

/** What the DICOM services are made of. */
export interface ServiceDeps {
  readonly aeTitle: string;
  readonly ingest: IngestService;
  readonly query: QueryService;
  readonly retrieve: RetrieveService;
  readonly commitment: CommitmentService;
  readonly send: SendService;
  readonly storedLog: StoredPerAssociation;
  readonly findAe: (aeTitle: string) => Promise<AeRecord | undefined>;
  readonly permitsStore: (callingAeTitle: string) => Promise<boolean>;
  readonly permitsFind: (callingAeTitle: string, withUser: boolean) => Promise<boolean>;
  readonly permitsMove: (callingAeTitle: string, withUser: boolean) => Promise<boolean>;
  readonly permitsGet: (callingAeTitle: string, withUser: boolean) => Promise<boolean>;
  readonly log: Logger;
  readonly idleMs: number;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
}

/** The uncompressed syntaxes, for services whose messages are small. */
const UNCOMPRESSED: ReadonlySet<string> = new Set([
  TS.ImplicitVRLittleEndian,
  TS.ExplicitVRLittleEndian,
  TS.ExplicitVRBigEndian,
]);

const models = (kind: 'FIND' | 'MOVE' | 'GET') => {
  const word = kind === 'FIND' ? 'Find' : kind === 'MOVE' ? 'Move' : 'Get';
  return [
    { uid: ServiceSopClass[`PatientRoot${word}`], name: `Patient Root Q/R ${kind}` },
    { uid: ServiceSopClass[`StudyRoot${word}`], name: `Study Root Q/R ${kind}` },
    { uid: ServiceSopClass[`PatientStudyOnly${word}`], name: `Patient/Study Only Q/R ${kind}` },
  ];
};

/**
 * The service classes the DICOM listener offers, in the order of the conformance statement. Each new
 * service is one more entry.
 */
export const SERVICE_CLASSES: readonly ServiceClass<ServiceDeps>[] = [
  {
    name: 'Verification',
    sopClasses: [{ uid: ServiceSopClass.Verification, name: 'Verification' }],
    transferSyntaxes: UNCOMPRESSED,
    role: 'SCP',
    handlers: () => new Map([[CommandField.C_ECHO_RQ, echo]]),
  },
  {
    name: 'Storage',
    sopClasses: {
      matches: isStorageSopClass,
      description:
        'every storage SOP class of PS3.4 Annex B (each SOP class of the standard whose name ends in "Storage", generated from the standard\'s data)',
    },
    // Every syntax whose data set encoding the reader knows: objects are kept as received.
    transferSyntaxes: new Set(allTransferSyntaxes().map((t) => t.uid)),
    role: 'SCP',
    // C-GET: the requestor receives the instances as storage SCP on the same association.
    acceptsRequestorScpRole: true,
    handlers: (d) => new Map([[CommandField.C_STORE_RQ, store(d.ingest, d.permitsStore, d.storedLog)]]),
  },
  {
    name: 'Query/Retrieve FIND',
    sopClasses: models('FIND'),
    transferSyntaxes: UNCOMPRESSED,
    role: 'SCP',
    // PS3.4 C.5.1.1.1: relational queries yes, combined date-time matching no, fuzzy semantic matching of
    // person names yes, timezone adjustment no. Other bytes are answered 0.
    answerExtended: (_sopClassUid, requested) => {
      const out = new Uint8Array(Math.min(requested.length, 3));
      if (out.length > 0) out[0] = requested[0] === 1 ? 1 : 0;
      if (out.length > 2) out[2] = requested[2] === 1 ? 1 : 0;
      return out;
    },
    handlers: (d) => new Map([[CommandField.C_FIND_RQ, find(d.query, d.permitsFind, d.aeTitle)]]),
  },
  {
    name: 'Query/Retrieve MOVE',
    sopClasses: models('MOVE'),
    transferSyntaxes: UNCOMPRESSED,
    role: 'SCP',
    handlers: (d) =>
      new Map([
        [
          CommandField.C_MOVE_RQ,
          move({
            retrieve: d.retrieve,
            send: d.send,
            aeTitle: d.aeTitle,
            findAe: d.findAe,
            permitsMove: d.permitsMove,
            responseTimeoutMs: d.idleMs,
          }),
        ],
      ]),
  },
  {
    name: 'Query/Retrieve GET',
    sopClasses: models('GET'),
    transferSyntaxes: UNCOMPRESSED,
    role: 'SCP',
    handlers: (d) =>
      new Map([[CommandField.C_GET_RQ, get({ retrieve: d.retrieve, permitsGet: d.permitsGet })]]),
  },
  {
    name: 'Storage Commitment Push Model',
    sopClasses: [{ uid: ServiceSopClass.StorageCommitmentPushModel, name: 'Storage Commitment Push Model' }],
    transferSyntaxes: UNCOMPRESSED,
    role: 'SCP and SCU',
    // A peer that reports on a new association takes the SCP role of the SOP class there.
    acceptsRequestorScpRole: true,
    handlers: (d) =>
      new Map([
        [CommandField.N_EVENT_REPORT_RQ, commitmentReport(d.send, d.log)],
        [
          CommandField.N_ACTION_RQ,
          commit({
            commitment: d.commitment,
            aeTitle: d.aeTitle,
            findAe: d.findAe,
            permitsStore: d.permitsStore,
            log: d.log,
            implementationClassUid: d.implementationClassUid,
            implementationVersionName: d.implementationVersionName,
            responseTimeoutMs: d.idleMs,
          }),
        ],
      ]),
  },
];
