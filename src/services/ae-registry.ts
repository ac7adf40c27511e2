import { EVENT, EVENT_TYPE } from '../core/audit/events.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { AuditService } from './audit.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { AePermission, AeRecord, AeStore } from '../ports/ae-store.js';

export const PERMISSIONS: readonly AePermission[] = ['store', 'find', 'get', 'move', 'destination'];

/**
 * What a peer may do when its registration does not say: store, find, get and move, and, when it has a
 * host and port to be reached at, be a C-MOVE destination (as Orthanc and dcm4chee treat every configured
 * peer).
 */
export function defaultPermissions(host: string, port: number): AePermission[] {
  return ['store', 'find', 'get', 'move', ...(host && port > 0 ? (['destination'] as const) : [])];
}

/** Who is behind a title when the registration does not say: people when it may query or retrieve. */
export function defaultMode(permissions: readonly string[]): 'device' | 'people' {
  return permissions.some((p) => p === 'find' || p === 'get' || p === 'move') ? 'people' : 'device';
}

/** AE titles: 1-16 characters of the default repertoire without backslash (PS3.5 Table 6.2-1, AE). */
export function checkAeTitle(title: string): string {
  const t = title.trim();
  if (!t || title.length > 16 || !/^[\x20-\x5b\x5d-\x7e]+$/.test(title)) {
    throw new ConfigError(
      `AE title must be 1-16 printable ASCII characters without backslash, got ${JSON.stringify(title)}`,
    );
  }
  return t;
}

export interface RegistryOptions {
  /** Accept C-STORE from callers the registry does not know (a site's explicit choice). */
  readonly acceptUnknownCallers: boolean;
}

/**
 * The AE registry: every known peer with its address and what it may do. Lookups go to the index each time,
 * so `lantern ae add/remove` take effect in a running server at once.
 */
export class AeRegistry {
  constructor(
    private readonly store: AeStore,
    private readonly clock: Clock,
    private readonly options: RegistryOptions,
    private readonly audit?: AuditService,
    private readonly clinical?: ClinicalAudit,
  ) {}

  list(): Promise<AeRecord[]> {
    return this.store.listAes();
  }

  find(aeTitle: string): Promise<AeRecord | undefined> {
    return this.store.findAe(aeTitle);
  }

  async add(
    input: {
      aeTitle: string;
      host: string;
      port: number;
      tls?: boolean;
      /** Unset: defaultPermissions(port). */
      permissions?: readonly string[];
      /** Unset: `people` when it may query or retrieve (find, get, move), else `device`. */
      mode?: string;
      /** The SHA-256 of its TLS client certificate (hex, colons allowed), to bind it to the title. */
      certSha256?: string;
    },
    by?: Actor | null,
  ): Promise<AeRecord> {
    if (by) requirePermission(by, 'ae.manage');
    const aeTitle = checkAeTitle(input.aeTitle);
    if (!Number.isInteger(input.port) || input.port < 0 || input.port > 65535) {
      throw new ConfigError(`port must be 0-65535, got ${input.port}`);
    }
    if (input.host && !/^[A-Za-z0-9.:-]+$/.test(input.host))
      throw new ConfigError(`host ${JSON.stringify(input.host)} is not a host name or address`);
    const permissions = input.permissions ?? defaultPermissions(input.host, input.port);
    const unknown = permissions.filter((p) => !PERMISSIONS.includes(p as AePermission));
    if (unknown.length)
      throw new ConfigError(`unknown permission ${unknown.join(', ')}; use ${PERMISSIONS.join(', ')}`);
    const mode = input.mode ?? defaultMode(permissions);
    if (mode !== 'device' && mode !== 'people')
      throw new ConfigError(`mode is device or people, got ${JSON.stringify(mode)}`);
    const certSha256 = (input.certSha256 ?? '').replace(/:/g, '').toLowerCase();
    if (certSha256 && !/^[0-9a-f]{64}$/.test(certSha256))
      throw new ConfigError('a certificate fingerprint is 64 hexadecimal digits (SHA-256)');
    const ae: AeRecord = {
      aeTitle,
      host: input.host,
      port: input.port,
      tls: !!input.tls,
      permissions: [...new Set(permissions as AePermission[])],
      mode,
      certSha256,
    };
    await this.store.putAe(ae, this.clock.now().toISOString());
    await this.changed(
      by,
      `AE ${aeTitle} registered: host ${ae.host || '(any)'} port ${ae.port} allow ${ae.permissions.join(',')} mode ${mode}${certSha256 ? ` certificate ${certSha256.slice(0, 16)}` : ''}`,
    );
    return ae;
  }

  async remove(aeTitle: string, by?: Actor): Promise<boolean> {
    if (by) requirePermission(by, 'ae.manage');
    const removed = await this.store.removeAe(aeTitle.trim());
    if (removed) await this.changed(by, `AE ${aeTitle.trim()} removed`);
    return removed;
  }

  /** A Security Alert (Network Configuration) for a change to who may associate. */
  private async changed(by: Actor | null | undefined, what: string): Promise<void> {
    if (by === null || !this.audit) return;
    await this.audit.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: 0,
      outcomeDescription: what,
      types: [EVENT_TYPE.networkConfiguration],
      participants: [this.audit.participant(by, true), this.audit.self()],
    });
  }

  /** Records a DICOM peer admitted or refused (Security Alert, node authentication). */
  async recordAdmission(peer: Party, accepted: boolean, reason?: string): Promise<void> {
    await this.clinical?.association(peer, accepted, reason);
  }

  /**
   * May this caller associate, and must it carry a user identity? A registered AE calling from its
   * registered host (any host when none is set), with the TLS client certificate bound to it when one is (and
   * never with a certificate bound to another title), or anyone when the site accepts unknown callers.
   */
  async admit(
    callingAeTitle: string,
    address: string,
    peer: { readonly certSha256?: string } = {},
  ): Promise<{ readonly admitted: boolean; readonly why?: string }> {
    const refuse = (why: string) => ({ admitted: false, why });
    const cert = peer.certSha256?.replace(/:/g, '').toLowerCase();
    if (cert) {
      const owner = (await this.store.listAes()).find((a) => a.certSha256 === cert);
      if (owner && owner.aeTitle !== callingAeTitle)
        return refuse(`its certificate is bound to another AE title (${owner.aeTitle})`);
    }
    const ae = await this.store.findAe(callingAeTitle);
    if (!ae) {
      return this.options.acceptUnknownCallers
        ? { admitted: true }
        : refuse('calling AE title not recognized');
    }
    if (ae.host && !(await sameHost(ae.host, address))) return refuse('calling from another address');
    if (ae.certSha256 && ae.certSha256 !== cert)
      return refuse(
        cert ? 'another TLS certificate than the one bound to it' : 'without the TLS certificate bound to it',
      );
    return { admitted: true };
  }

  /**
   * Whether a caller may use a service; unknown callers may only store, and only when the site allows it. An
   * AE of people queries and retrieves only for a person: with a user identity on the association
   * (`withUser`), whose role then narrows the grants; its stores need none (a modality registered with the
   * default grants keeps storing).
   */
  async permits(callingAeTitle: string, permission: AePermission, withUser = false): Promise<boolean> {
    const ae = await this.store.findAe(callingAeTitle);
    if (!ae) return permission === 'store' && this.options.acceptUnknownCallers;
    if (
      ae.mode === 'people' &&
      !withUser &&
      (permission === 'find' || permission === 'get' || permission === 'move')
    )
      return false;
    return ae.permissions.includes(permission);
  }
}

function normalise(address: string): string {
  return address.replace(/^::ffff:/, '');
}

async function sameHost(host: string, address: string): Promise<boolean> {
  const a = normalise(address);
  if (isIP(host)) return normalise(host) === a;
  try {
    const addrs = await lookup(host, { all: true });
    return addrs.some((x) => normalise(x.address) === a);
  } catch {
    return false;
  }
}
