/**
 * A TCP relay in front of a real service that can go away and come back on the same
 * address, as a stopped node does from a client's side: `down()` closes the listener and
 * resets every open connection (new ones are refused), `up()` listens again. Used where a
 * test needs an outage of Elasticsearch without the half minute its JVM takes to restart.
 */
import net from 'node:net';

export interface TcpOutage {
  /** `http://127.0.0.1:<port>`: what the client is given instead of the service's address. */
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpOutage(target: string): Promise<TcpOutage> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const service = net.connect(Number(upstream.port), upstream.hostname);
        for (const sock of [client, service]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {});
        }
        client.pipe(service).pipe(client);
        client.on('close', () => service.destroy());
        service.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const down = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.resetAndDestroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { url: `http://127.0.0.1:${port}`, down, up: listen, close: down };
}
