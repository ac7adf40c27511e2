import type { AAssociateRq, ExtendedNegotiation, PresentationContextAc, RoleSelection } from './pdu.js';

/** What an acceptor supports: for each abstract syntax, the transfer syntaxes it takes. */
export interface AcceptorCapabilities {
  /** Transfer syntaxes accepted for an abstract syntax, or undefined when the abstract syntax is not supported. */
  transferSyntaxesFor(abstractSyntax: string): ReadonlySet<string> | undefined;
  /** SOP classes for which we accept the SCP role proposed by the requestor (we act as SCU: C-GET storage). */
  acceptScpRole?(sopClassUid: string): boolean;
  /**
   * SOP class extended negotiation (PS3.7 D.3.3.5): our answer to the requestor's application information for
   * a SOP class, or undefined to leave the item unanswered.
   */
  answerExtended?(sopClassUid: string, requested: Uint8Array): Uint8Array | undefined;
}

export interface NegotiatedContext {
  readonly id: number;
  readonly abstractSyntax: string;
  readonly transferSyntax: string;
}

export interface Negotiation {
  readonly contexts: readonly PresentationContextAc[];
  /** Accepted contexts by ID. */
  readonly accepted: ReadonlyMap<number, NegotiatedContext>;
  readonly roles: readonly RoleSelection[];
  /** The extended negotiation items of our answer, by SOP class. */
  readonly extended: readonly ExtendedNegotiation[];
}

/**
 * Presentation context negotiation (PS3.8 9.3.3.2, PS3.7 D.3.3.4): each proposed context is accepted with
 * the first of its transfer syntaxes we support (the requestor's order is its preference), or rejected with
 * reason 3 (abstract syntax not supported) or 4 (no transfer syntax supported).
 */
export function negotiate(rq: AAssociateRq, caps: AcceptorCapabilities): Negotiation {
  const contexts: PresentationContextAc[] = [];
  const accepted = new Map<number, NegotiatedContext>();
  for (const pc of rq.presentationContexts) {
    const supported = caps.transferSyntaxesFor(pc.abstractSyntax);
    if (!supported) {
      contexts.push({ id: pc.id, result: 3, transferSyntax: pc.transferSyntaxes[0] });
      continue;
    }
    const ts = pc.transferSyntaxes.find((t) => supported.has(t));
    if (!ts) {
      contexts.push({ id: pc.id, result: 4, transferSyntax: pc.transferSyntaxes[0] });
      continue;
    }
    contexts.push({ id: pc.id, result: 0, transferSyntax: ts });
    accepted.set(pc.id, { id: pc.id, abstractSyntax: pc.abstractSyntax, transferSyntax: ts });
  }
  const roles = (rq.userInformation.roles ?? []).map((r) => ({
    sopClassUid: r.sopClassUid,
    scu: r.scu,
    scp: r.scp && !!caps.acceptScpRole?.(r.sopClassUid),
  }));
  const extended: ExtendedNegotiation[] = [];
  for (const x of rq.userInformation.extended ?? []) {
    if (![...accepted.values()].some((c) => c.abstractSyntax === x.sopClassUid)) continue;
    const info = caps.answerExtended?.(x.sopClassUid, x.info);
    if (info) extended.push({ sopClassUid: x.sopClassUid, info });
  }
  return { contexts, accepted, roles, extended };
}
