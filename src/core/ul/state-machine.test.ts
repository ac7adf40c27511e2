import { describe, expect, it } from 'vitest';
import { definedTransitions, nextState, transition } from './state-machine.js';

describe('upper layer state machine (PS3.8 Table 9-10)', () => {
  it('walks an acceptor through association, data transfer and release', () => {
    let s = nextState(transition('Sta1', 'Evt5')!); // transport connection indication
    expect(s).toBe('Sta2');
    expect(transition(s, 'Evt6')).toBe('AE-6'); // A-ASSOCIATE-RQ
    s = nextState('AE-6', { acceptable: true });
    expect(s).toBe('Sta3');
    s = nextState(transition(s, 'Evt7')!); // accept
    expect(s).toBe('Sta6');
    expect(transition(s, 'Evt10')).toBe('DT-2');
    expect(transition(s, 'Evt9')).toBe('DT-1');
    s = nextState(transition(s, 'Evt12')!); // A-RELEASE-RQ
    expect(s).toBe('Sta8');
    s = nextState(transition(s, 'Evt14')!); // release response: A-RELEASE-RP, ARTIM
    expect(s).toBe('Sta13');
    expect(nextState(transition(s, 'Evt17')!)).toBe('Sta1');
  });

  it('walks a requestor through association and release', () => {
    let s = nextState(transition('Sta1', 'Evt1')!);
    s = nextState(transition(s, 'Evt2')!);
    expect(s).toBe('Sta5');
    s = nextState(transition(s, 'Evt3')!);
    expect(s).toBe('Sta6');
    s = nextState(transition(s, 'Evt11')!);
    expect(s).toBe('Sta7');
    expect(transition(s, 'Evt10')).toBe('AR-6'); // data may still arrive
    expect(transition(s, 'Evt13')).toBe('AR-3');
  });

  it('aborts on PDUs a state does not expect', () => {
    expect(transition('Sta2', 'Evt10')).toBe('AA-1'); // P-DATA before association
    expect(transition('Sta6', 'Evt6')).toBe('AA-8'); // a second A-ASSOCIATE-RQ
    expect(transition('Sta6', 'Evt19')).toBe('AA-8'); // an invalid PDU
    expect(transition('Sta13', 'Evt10')).toBe('AA-6'); // ignored while closing
    expect(transition('Sta2', 'Evt18')).toBe('AA-2'); // ARTIM expiry
    expect(transition('Sta6', 'Evt1')).toBeUndefined(); // not in the table: the caller aborts
  });

  it('has the entries of Table 9-10', () => {
    // Evt3, 4, 6, 10, 12, 13, 16 and 19: 11 states each; Evt15: 10; Evt17: 12; the rest as listed.
    expect(definedTransitions().length).toBe(123);
    expect(
      definedTransitions()
        .filter(([e]) => e === 'Evt17')
        .map(([, s]) => s),
    ).toHaveLength(12);
  });
});
