import type { FastifyRequest } from 'fastify';
import type { Party } from '../../../services/clinical-audit.js';

/** The requester of an HTTP request as the audit trail names it: the actor and its address. */
export function partyOf(req: FastifyRequest): Party {
  return { kind: 'actor', actor: req.actor, address: req.ip };
}

/** QIDO-RS queries are recorded under the Study Root information model. */
export const QIDO_MODEL = '1.2.840.10008.5.1.4.1.2.2.1';
