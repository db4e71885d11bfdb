// Child process started by webhooks.ts: the issuer's webhook receiver (a plain node:http
// server on 127.0.0.1 answering 200) and, for the latency phase, the shop that redeems
// codes at a steady pace. Both in one process outside the server's, so the moment a
// redemption is answered and the moment its webhook arrives are read from one clock.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PacedRedemption, ReceivedWebhook, ReceiverReply, ReceiverRequest } from './webhooks.ts';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of this machine. */
const wallNow = () => performance.timeOrigin + performance.now();

const received: ReceivedWebhook[] = [];

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const receivedAtMs = wallNow();
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(',') : (value ?? '');
    };
    received.push({
      receivedAtMs,
      method: req.method ?? '',
      path: req.url ?? '',
      webhookId: header('webhook-id'),
      webhookTimestamp: header('webhook-timestamp'),
      webhookSignature: header('webhook-signature'),
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * One redemption per code, started every 1000 / ratePerSecond ms whatever the earlier
 * ones are doing (an open loop, as independent tills would), each with its own
 * Idempotency-Key and order reference.
 */
async function redeemAtPace(job: Extract<ReceiverRequest, { type: 'redeem' }>['job']): Promise<PacedRedemption[]> {
  const intervalMs = 1000 / job.ratePerSecond;
  const started = performance.now();
  const pending: Promise<PacedRedemption>[] = [];
  for (const [index, code] of job.codes.entries()) {
    await sleep(started + index * intervalMs - performance.now());
    const sentAtMs = wallNow();
    pending.push(
      (async (): Promise<PacedRedemption> => {
        try {
          const response = await fetch(job.url, {
            method: 'POST',
            headers: { authorization: `Bearer ${job.key}`, 'content-type': 'application/json', 'idempotency-key': `${job.orderTag}-${index}-${crypto.randomUUID()}` },
            body: JSON.stringify({ code, orderRef: `${job.orderTag}-${index}`, orderAmountMinor: job.orderAmountMinor, currency: job.currency }),
          });
          const text = await response.text();
          const answeredAtMs = wallNow();
          let redemptionId: string | null = null;
          try {
            const body = JSON.parse(text) as { id?: unknown; status?: unknown };
            if (response.status === 200 && typeof body.id === 'string' && body.status === 'redeemed') redemptionId = body.id;
          } catch {
            redemptionId = null;
          }
          return { code, status: response.status, redemptionId, sentAtMs, answeredAtMs, ...(redemptionId === null && { answer: text.slice(0, 300) }) };
        } catch (error) {
          return { code, status: 0, redemptionId: null, sentAtMs, answeredAtMs: wallNow(), answer: error instanceof Error ? error.message : String(error) };
        }
      })(),
    );
  }
  return Promise.all(pending);
}

function reply(message: ReceiverReply): void {
  if (process.connected) process.send?.(message);
}

process.on('message', (message: ReceiverRequest) => {
  switch (message.type) {
    case 'count':
      reply({ type: 'count', id: message.id, count: received.length });
      return;
    case 'received':
      reply({ type: 'received', id: message.id, received });
      return;
    case 'redeem':
      redeemAtPace(message.job).then(
        (results) => reply({ type: 'redeemed', id: message.id, results }),
        (error: unknown) => reply({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
      );
      return;
  }
});

// The parent disconnects to stop us. fetch's idle keep-alive sockets could keep the
// event loop alive for seconds, and nothing here needs flushing: exit.
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

server.listen(0, '127.0.0.1', () => {
  reply({ type: 'listening', port: (server.address() as AddressInfo).port });
});
