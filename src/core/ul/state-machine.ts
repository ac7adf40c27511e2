/**
 * The DICOM upper layer state machine (PS3.8 9.2), as data: states Sta1..Sta13, events Evt1..Evt19, the
 * actions of Tables 9-6 to 9-9 and the state transition table 9-10. `transition()` is pure; the association
 * code performs the action's side effects. An event a state does not expect has no entry: the caller aborts.
 */

export type State =
  | 'Sta1' // Idle
  | 'Sta2' // Transport connection open (awaiting A-ASSOCIATE-RQ PDU)
  | 'Sta3' // Awaiting local A-ASSOCIATE response primitive
  | 'Sta4' // Awaiting transport connection opening to complete
  | 'Sta5' // Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU
  | 'Sta6' // Association established and ready for data transfer
  | 'Sta7' // Awaiting A-RELEASE-RP PDU
  | 'Sta8' // Awaiting local A-RELEASE response primitive
  | 'Sta9' // Release collision requestor side: awaiting A-RELEASE response
  | 'Sta10' // Release collision acceptor side: awaiting A-RELEASE-RP PDU
  | 'Sta11' // Release collision requestor side: awaiting A-RELEASE-RP PDU
  | 'Sta12' // Release collision acceptor side: awaiting A-RELEASE response primitive
  | 'Sta13'; // Awaiting transport connection close indication

export type Event =
  | 'Evt1' // A-ASSOCIATE request (local user)
  | 'Evt2' // Transport connection confirm
  | 'Evt3' // A-ASSOCIATE-AC PDU received
  | 'Evt4' // A-ASSOCIATE-RJ PDU received
  | 'Evt5' // Transport connection indication
  | 'Evt6' // A-ASSOCIATE-RQ PDU received
  | 'Evt7' // A-ASSOCIATE response primitive (accept)
  | 'Evt8' // A-ASSOCIATE response primitive (reject)
  | 'Evt9' // P-DATA request primitive
  | 'Evt10' // P-DATA-TF PDU received
  | 'Evt11' // A-RELEASE request primitive
  | 'Evt12' // A-RELEASE-RQ PDU received
  | 'Evt13' // A-RELEASE-RP PDU received
  | 'Evt14' // A-RELEASE response primitive
  | 'Evt15' // A-ABORT request primitive
  | 'Evt16' // A-ABORT PDU received
  | 'Evt17' // Transport connection closed indication
  | 'Evt18' // ARTIM timer expired
  | 'Evt19'; // Unrecognized or invalid PDU received

export type Action =
  | 'AE-1'
  | 'AE-2'
  | 'AE-3'
  | 'AE-4'
  | 'AE-5'
  | 'AE-6'
  | 'AE-7'
  | 'AE-8'
  | 'DT-1'
  | 'DT-2'
  | 'AR-1'
  | 'AR-2'
  | 'AR-3'
  | 'AR-4'
  | 'AR-5'
  | 'AR-6'
  | 'AR-7'
  | 'AR-8'
  | 'AR-9'
  | 'AR-10'
  | 'AA-1'
  | 'AA-2'
  | 'AA-3'
  | 'AA-4'
  | 'AA-5'
  | 'AA-6'
  | 'AA-7'
  | 'AA-8';

/** What each action does (PS3.8 Tables 9-6 to 9-9) and the state it leads to. */
export const ACTIONS: Record<Action, { readonly does: string; readonly next: State | readonly State[] }> = {
  'AE-1': { does: 'issue TRANSPORT CONNECT request', next: 'Sta4' },
  'AE-2': { does: 'send A-ASSOCIATE-RQ PDU', next: 'Sta5' },
  'AE-3': { does: 'issue A-ASSOCIATE confirmation (accept)', next: 'Sta6' },
  'AE-4': { does: 'issue A-ASSOCIATE confirmation (reject), close transport', next: 'Sta1' },
  'AE-5': { does: 'issue transport connection response, start ARTIM', next: 'Sta2' },
  'AE-6': {
    does: 'stop ARTIM; if acceptable issue A-ASSOCIATE indication, else send A-ASSOCIATE-RJ and start ARTIM',
    next: ['Sta3', 'Sta13'],
  },
  'AE-7': { does: 'send A-ASSOCIATE-AC PDU', next: 'Sta6' },
  'AE-8': { does: 'send A-ASSOCIATE-RJ PDU, start ARTIM', next: 'Sta13' },
  'DT-1': { does: 'send P-DATA-TF PDU', next: 'Sta6' },
  'DT-2': { does: 'issue P-DATA indication', next: 'Sta6' },
  'AR-1': { does: 'send A-RELEASE-RQ PDU', next: 'Sta7' },
  'AR-2': { does: 'issue A-RELEASE indication', next: 'Sta8' },
  'AR-3': { does: 'issue A-RELEASE confirmation, close transport', next: 'Sta1' },
  'AR-4': { does: 'send A-RELEASE-RP PDU, start ARTIM', next: 'Sta13' },
  'AR-5': { does: 'stop ARTIM', next: 'Sta1' },
  'AR-6': { does: 'issue P-DATA indication', next: 'Sta7' },
  'AR-7': { does: 'send P-DATA-TF PDU', next: 'Sta8' },
  'AR-8': { does: 'issue A-RELEASE indication (release collision)', next: ['Sta9', 'Sta10'] },
  'AR-9': { does: 'send A-RELEASE-RP PDU', next: 'Sta11' },
  'AR-10': { does: 'issue A-RELEASE confirmation', next: 'Sta12' },
  'AA-1': { does: 'send A-ABORT PDU (service user), start ARTIM', next: 'Sta13' },
  'AA-2': { does: 'stop ARTIM if running, close transport', next: 'Sta1' },
  'AA-3': { does: 'issue A-ABORT or A-P-ABORT indication, close transport', next: 'Sta1' },
  'AA-4': { does: 'issue A-P-ABORT indication', next: 'Sta1' },
  'AA-5': { does: 'stop ARTIM', next: 'Sta1' },
  'AA-6': { does: 'ignore PDU', next: 'Sta13' },
  'AA-7': { does: 'send A-ABORT PDU', next: 'Sta13' },
  'AA-8': {
    does: 'send A-ABORT PDU (service provider), issue A-P-ABORT indication, start ARTIM',
    next: 'Sta13',
  },
};

const S = (from: number, to: number): State[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `Sta${from + i}` as State);

/** PS3.8 Table 9-10. */
const TABLE: ReadonlyMap<string, Action> = (() => {
  const t = new Map<string, Action>();
  const set = (evt: Event, states: readonly State[], action: Action) => {
    for (const s of states) t.set(`${evt}/${s}`, action);
  };
  set('Evt1', ['Sta1'], 'AE-1');
  set('Evt2', ['Sta4'], 'AE-2');
  // Received PDUs outside the states that expect them: Sta2 aborts, Sta3..Sta12 abort as provider, Sta13 ignores.
  for (const evt of ['Evt3', 'Evt4', 'Evt10', 'Evt12', 'Evt13'] as Event[]) {
    set(evt, ['Sta2'], 'AA-1');
    set(evt, [...S(3, 3), ...S(5, 12)], 'AA-8');
    set(evt, ['Sta13'], 'AA-6');
  }
  set('Evt3', ['Sta5'], 'AE-3');
  set('Evt4', ['Sta5'], 'AE-4');
  set('Evt5', ['Sta1'], 'AE-5');
  set('Evt6', ['Sta2'], 'AE-6');
  set('Evt6', [...S(3, 3), ...S(5, 12)], 'AA-8');
  set('Evt6', ['Sta13'], 'AA-7');
  set('Evt7', ['Sta3'], 'AE-7');
  set('Evt8', ['Sta3'], 'AE-8');
  set('Evt9', ['Sta6'], 'DT-1');
  set('Evt9', ['Sta8'], 'AR-7');
  set('Evt10', ['Sta6'], 'DT-2');
  set('Evt10', ['Sta7'], 'AR-6');
  set('Evt11', ['Sta6'], 'AR-1');
  set('Evt12', ['Sta6'], 'AR-2');
  set('Evt12', ['Sta7'], 'AR-8');
  set('Evt13', ['Sta7', 'Sta11'], 'AR-3');
  set('Evt13', ['Sta10'], 'AR-10');
  set('Evt14', ['Sta8', 'Sta12'], 'AR-4');
  set('Evt14', ['Sta9'], 'AR-9');
  set('Evt15', ['Sta3', ...S(5, 12)], 'AA-1');
  set('Evt15', ['Sta4'], 'AA-2');
  set('Evt16', ['Sta2', 'Sta13'], 'AA-2');
  set('Evt16', ['Sta3', ...S(5, 12)], 'AA-3');
  set('Evt17', ['Sta2'], 'AA-5');
  set('Evt17', S(3, 12), 'AA-4');
  set('Evt17', ['Sta13'], 'AR-5');
  set('Evt18', ['Sta2', 'Sta13'], 'AA-2');
  set('Evt19', ['Sta2'], 'AA-1');
  set('Evt19', ['Sta3', ...S(5, 12)], 'AA-8');
  set('Evt19', ['Sta13'], 'AA-7');
  return t;
})();

/** The action for an event in a state, or undefined when the table has none (the caller aborts). */
export function transition(state: State, event: Event): Action | undefined {
  return TABLE.get(`${event}/${state}`);
}

/**
 * The state after an action. AE-6 depends on whether the association is acceptable, AR-8 on whether we
 * requested the association.
 */
export function nextState(action: Action, choice?: { acceptable?: boolean; requestor?: boolean }): State {
  const n = ACTIONS[action].next;
  if (typeof n === 'string') return n;
  if (action === 'AE-6') return choice?.acceptable ? 'Sta3' : 'Sta13';
  return choice?.requestor ? 'Sta9' : 'Sta10';
}

/** Every (event, state) pair the table defines, for tests and documentation. */
export function definedTransitions(): [Event, State, Action][] {
  return [...TABLE.entries()].map(([k, a]) => {
    const [e, s] = k.split('/') as [Event, State];
    return [e, s, a];
  });
}
