import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from '../logging/logger.ts';
import type { HttpAppState } from './app.ts';

export interface RunningHttpServer {
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to timeoutMs), then closes. */
  close(): Promise<void>;
}

export async function startHttpServer(
  app: Express,
  options: { host: string; port: number; shutdownTimeoutMs: number; logger: Logger; state: HttpAppState },
): Promise<RunningHttpServer> {
  const server = http.createServer(app);
  const inFlight = new Set<http.ServerResponse>();
  let onDrained: (() => void) | undefined;
  server.on('request', (_req, res: http.ServerResponse) => {
    inFlight.add(res);
    if (options.state.shuttingDown) res.shouldKeepAlive = false;
    res.on('close', () => {
      inFlight.delete(res);
      if (inFlight.size === 0) onDrained?.();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      options.state.shuttingDown = true;
      // close() stops listening at once; its callback does not wait for requests in
      // progress, so draining is tracked separately with the in-flight count.
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      // Responses still to be written tell their clients not to reuse the connection.
      for (const res of inFlight) {
        res.shouldKeepAlive = false;
        if (!res.headersSent) res.setHeader('Connection', 'close');
      }
      const drained = new Promise<void>((done) => {
        if (inFlight.size === 0) done();
        else onDrained = done;
      });
      const timer = setTimeout(() => {
        options.logger.warn({ inFlight: inFlight.size }, 'shutdown timeout: closing connections with requests still in flight');
        server.closeAllConnections();
        onDrained?.();
      }, options.shutdownTimeoutMs);
      await drained;
      clearTimeout(timer);
      // Keep-alive connections that served the last requests are idle now.
      server.closeAllConnections();
      await closed;
    })());

  return { url: `http://${host}:${address.port}`, close };
}
