import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';

/**
 * Patients under /api/patients: what an operation's dialog needs to confirm who the patient is (docs/patients.md).
 * Each route names its permission; the services check it again.
 */
export async function patientsApi(server: FastifyInstance, app: App): Promise<void> {
  // The kinds of identifier the archive holds for a patient (no values): what the dialog asks for.
  server.get<{ Params: { patientId: string }; Querystring: { issuer?: string } }>(
    '/api/patients/:patientId/identifiers',
    { config: { access: 'study.read' } },
    async (req) => ({
      kinds: await app.identification.kinds(
        { patientId: req.params.patientId, issuer: req.query.issuer ?? '' },
        req.actor,
      ),
    }),
  );
}
