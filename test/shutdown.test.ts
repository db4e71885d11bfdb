import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorKey } from './support/factories.ts';
import { startCoalition } from './support/process.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

function readResponse(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk) => (data += String(chunk)));
    socket.on('close', () => resolve(data));
  });
}

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting, completes the request in flight, then exits 0', async () => {
    const key = await operatorKey(system.services);
    const server = startCoalition(['serve'], { ...process.env, ...system.env, SHUTDOWN_TIMEOUT_MS: '30000' });
    const [, port] = await server.waitFor(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/);

    // An idle keep-alive client must not hold the shutdown open.
    const idle = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'keep-alive' } });
    expect(idle.status).toBe(200);

    // A request whose body is still arriving when the signal comes.
    const body = JSON.stringify({ slug: 'late-arrival', displayName: 'Late Arrival', roles: ['partner'], timezone: 'UTC', currency: 'EUR' });
    const socket = await connect(Number(port));
    const response = readResponse(socket);
    socket.write(
      `POST /api/v1/operator/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.child.kill('SIGTERM');
    await server.waitFor(/shutting down/);

    // No new connections once shutdown began.
    await expect.poll(() => connect(Number(port)).then((s) => (s.destroy(), 'accepted'), (e: NodeJS.ErrnoException) => e.code)).toBe('ECONNREFUSED');

    socket.write(body.slice(20));
    const raw = await response;
    expect(raw, server.output()).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toContain('"slug":"late-arrival"');
    // A keep-alive client is told not to reuse a connection that is about to close.
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
  });
});
