import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWorkerHost, type WorkerHost } from '../../server/src/jobs/worker-host.ts';
import type { AppServices } from '../../server/src/system/services.ts';
import { deliverWebhookJob } from '../../server/src/webhooks/deliver-webhook.ts';
import { WebhookRelay, type RelayOptions } from '../../server/src/webhooks/relay.ts';
import { request } from './http-client.ts';

export interface ReceivedWebhook {
  at: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A real HTTP receiver on 127.0.0.1 that records every request and answers as told (200 by default). */
export interface Receiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  answer(next: (request: ReceivedWebhook) => Answer): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let decide: (request: ReceivedWebhook) => Answer = () => ({ status: 200, body: 'ok' });
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {}
      const entry: ReceivedWebhook = { at: Date.now(), headers: req.headers as Record<string, string>, body, json };
      received.push(entry);
      const answer = decide(entry);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}/hooks`,
    port: actualPort,
    received,
    answer: (next) => (decide = next),
    waitFor: async (count, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${count} webhooks in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received.slice(0, count);
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The delivery side as `coalition worker` runs it: the webhook worker and the relay (polling fast, for tests). */
export async function startWebhookWorkers(services: AppServices, options: RelayOptions = {}): Promise<{ workers: WorkerHost; relay: WebhookRelay; stop(): Promise<void> }> {
  const workers = await startWorkerHost({ services, definitions: [deliverWebhookJob] });
  const relay = new WebhookRelay(services, { pollMs: 100, fullScanMs: 1_000, ...options });
  await relay.start();
  return {
    workers,
    relay,
    stop: async () => {
      await relay.stop();
      await workers.close();
    },
  };
}

export async function createEndpoint(baseUrl: string, key: string, body: Record<string, unknown>): Promise<{ id: string; secret: string } & Record<string, any>> {
  const res = await request(baseUrl, 'POST', '/api/v1/webhooks/endpoints', { key, body });
  if (res.status !== 200) throw new Error(`endpoint not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function waitUntil<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
