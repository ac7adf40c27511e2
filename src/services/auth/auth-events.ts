import { EVENT, EVENT_TYPE, OBJECT_ID } from '../../core/audit/events.js';
import type { Actor } from '../../core/security/actor.js';
import type { AuditService } from '../audit.js';

/** The audit events of authentication and of account changes (nothing recorded without an audit service). */
export class AuthEvents {
  constructor(private readonly audit?: AuditService) {}

  /** A User Authentication event (login, logout; success or failure) for `login` from `address`. */
  async authEvent(
    type: 'login' | 'logout',
    login: string,
    address: string,
    outcome: 0 | 4,
    description?: string,
  ): Promise<void> {
    await this.audit?.record({
      eventId: EVENT.userAuthentication,
      action: 'E',
      outcome,
      outcomeDescription: description,
      types: [type === 'login' ? EVENT_TYPE.login : EVENT_TYPE.logout],
      participants: [
        {
          userId: `${login}@${this.audit.settings.site}`,
          userName: login,
          requestor: true,
          networkAccessPoint: address,
        },
        this.audit.self(),
      ],
    });
  }

  /** A Security Alert for a change to an account's security attributes or roles, made by `by`. */
  async accountEvent(by: Actor | undefined, login: string, what: string, roles = false): Promise<void> {
    await this.audit?.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: 0,
      outcomeDescription: what,
      types: [roles ? EVENT_TYPE.securityRolesChanged : EVENT_TYPE.userSecurityAttributesChanged],
      participants: [this.audit.participant(by, true), this.audit.self()],
      objects: [
        {
          typeCode: 2,
          role: 13,
          idType: OBJECT_ID.userIdentifier,
          id: `${login}@${this.audit.settings.site}`,
        },
      ],
    });
  }
}
