import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server for one client at a time: it passes the server's bytes back untouched and
 * the client's bytes on until `limit` have gone through; then it stops reading from the client (the client's
 * writes block, as on a congested network) and `held` resolves. When the client's connection ends, the
 * server's side ends the same way (a reset for a reset), so the server sees what the client did.
 */
export interface HoldingProxy {
  readonly port: number;
  /** Resolves once `limit` bytes of the client's went to the server. */
  readonly held: Promise<void>;
  close(): Promise<void>;
}

export async function holdingProxy(targetPort: number, limit: number): Promise<HoldingProxy> {
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    let passed = 0;
    let holding = false;
    client.on('data', (chunk: Buffer) => {
      if (holding) return; // after the hold, what the client still sends is dropped
      const room = limit - passed;
      upstream.write(chunk.length <= room ? chunk : chunk.subarray(0, room));
      passed += Math.min(chunk.length, room);
      if (passed >= limit) {
        holding = true;
        client.pause();
        onHeld();
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    let reset = false;
    client.on('error', () => (reset = true));
    client.on('close', () => {
      if (reset) upstream.resetAndDestroy();
      else upstream.end();
    });
    upstream.on('error', () => undefined);
    upstream.on('close', () => client.destroy());
    // A paused client is still watched for its end: resume reading once held, only to drop its bytes.
    void held.then(() => setTimeout(() => client.resume(), 50));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
