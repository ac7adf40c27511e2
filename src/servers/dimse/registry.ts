import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import type { AcceptorCapabilities, NegotiatedContext } from '../../core/ul/negotiation.js';
import type { DimseHandler } from '../../net/dimse/association.js';

/**
 * One DICOM service class as the listener offers it: its SOP classes, the transfer syntaxes it accepts
 * them in, the requestor roles and extended negotiation it answers, and a handler per DIMSE command. New
 * services (Modality Worklist, MPPS, Instance Availability Notification, UPS) are new registrations.
 */
export interface ServiceClass<D> {
  /** As the conformance statement names it (e.g. "Query/Retrieve FIND"). */
  readonly name: string;
  /** The SOP classes: a list, or a rule with the words the conformance statement uses for it. */
  readonly sopClasses: readonly { readonly uid: string; readonly name: string }[] | SopClassRule;
  readonly transferSyntaxes: ReadonlySet<string>;
  /**
   * The roles Lantern takes: SCP, or SCP and SCU (it also requests the service of peers, and its listener
   * takes what the service sends back to a requester, such as Storage Commitment reports).
   */
  readonly role: 'SCP' | 'SCP and SCU';
  /** The requestor's SCP role is accepted for these SOP classes (C-GET: it receives the instances). */
  readonly acceptsRequestorScpRole?: boolean;
  /** SOP class extended negotiation (PS3.7 D.3.3.5): our answer to the requestor's bytes. */
  readonly answerExtended?: (sopClassUid: string, requested: Uint8Array) => Uint8Array;
  /** The services of the class, by command field (C-ECHO-RQ, C-STORE-RQ, N-ACTION-RQ, ...), made from `D`. */
  readonly handlers: (deps: D) => ReadonlyMap<number, DimseHandler>;
}

export interface SopClassRule {
  readonly matches: (uid: string) => boolean;
  readonly description: string;
}

/** The registered service classes with their handlers, and what the association needs of them. */
export class ServiceRegistry<D> {
  private readonly bound: {
    readonly c: ServiceClass<D>;
    readonly handlers: ReadonlyMap<number, DimseHandler>;
  }[];

  constructor(classes: readonly ServiceClass<D>[], deps: D) {
    this.bound = classes.map((c) => ({ c, handlers: c.handlers(deps) }));
  }

  /** The service class that offers an abstract syntax, if any (the first registered wins). */
  private find(abstractSyntax: string) {
    return this.bound.find(({ c }) => offers(c, abstractSyntax));
  }

  /** What presentation context negotiation asks of the services. */
  capabilities(): AcceptorCapabilities {
    return {
      transferSyntaxesFor: (abstractSyntax) => this.find(abstractSyntax)?.c.transferSyntaxes,
      acceptScpRole: (sopClassUid) => !!this.find(sopClassUid)?.c.acceptsRequestorScpRole,
      answerExtended: (sopClassUid, requested) =>
        this.find(sopClassUid)?.c.answerExtended?.(sopClassUid, requested),
    };
  }

  /** The handler for a command on a context: by its abstract syntax's service class, then the command. */
  route(context: NegotiatedContext, commandField: number): DimseHandler | undefined {
    return this.find(context.abstractSyntax)?.handlers.get(commandField);
  }
}

function offers<D>(c: ServiceClass<D>, abstractSyntax: string): boolean {
  return Array.isArray(c.sopClasses)
    ? c.sopClasses.some((s) => s.uid === abstractSyntax)
    : (c.sopClasses as SopClassRule).matches(abstractSyntax);
}

/**
 * The conformance statement's table of presentation contexts accepted (docs/conformance.md holds it,
 * generated from the registrations by `npm run gen:docs`): one row per service class.
 */
export function conformanceTable(classes: readonly ServiceClass<never>[]): string {
  const rows = classes.map((c) => {
    const sops = Array.isArray(c.sopClasses)
      ? c.sopClasses.map((s) => `${s.name} \`${s.uid}\``).join(', ')
      : (c.sopClasses as SopClassRule).description;
    const syntaxes = [...c.transferSyntaxes].map((uid) => lookupTransferSyntax(uid)?.name ?? uid);
    const role = `${c.role}${c.acceptsRequestorScpRole ? ' (the requestor may take the SCP role)' : ''}`;
    return `| ${c.name} | ${sops} | ${role} | ${syntaxes.join(', ')} |`;
  });
  return ['| Service | SOP classes | Role | Transfer syntaxes |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}
