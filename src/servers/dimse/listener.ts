import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * The DICOM port. DIMSE services are not part of this version: every association request is answered with
 * A-ASSOCIATE-RJ (rejected-permanent, service-user, no reason given; PS3.8 9.3.4), so that peers get a clear
 * answer instead of a silent connection. The networking issue replaces this with the upper layer.
 */
export function startDimseListener(opts: { host: string; port: number; log: Logger }): Promise<Server> {
  const reject = Buffer.from([0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x01]);
  const server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once('data', () => socket.end(reject));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject2) => {
    server.once('error', reject2);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject2);
      resolve(server);
    });
  });
}
