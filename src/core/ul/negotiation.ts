import type { AAssociateRq, PresentationContextAc, RoleSelection } from './pdu.js';

/** What an acceptor supports: for each abstract syntax, the transfer syntaxes it takes. */
export interface AcceptorCapabilities {
  /** Transfer syntaxes accepted for an abstract syntax, or undefined when the abstract syntax is not supported. */
  transferSyntaxesFor(abstractSyntax: string): ReadonlySet<string> | undefined;
  /** SOP classes for which we accept the SCP role proposed by the requestor (we act as SCU: C-GET storage). */
  acceptScpRole?(sopClassUid: string): boolean;
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
  return { contexts, accepted, roles };
}
