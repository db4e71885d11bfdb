import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the demo receiver got, with the outcome of its signature check. */
export interface ReceivedWebhook {
  receivedAt: string;
  headers: Record<string, string>;
  rawBody: string;
  /** webhook-id */
  id: string | null;
  type: string | null;
  /** The Standard Webhooks signature matched the endpoint secret and the timestamp is within 5 minutes. */
  verified: boolean;
  event: { id: string; type: string; timestamp: string; sequence: number; tenant: string; data: Record<string, unknown> } | null;
}

const TOLERANCE_SECONDS = 5 * 60;
const MAX_BODY = 1024 * 1024;

/**
 * Verifies a delivery the way docs/webhooks.md tells integrators to, without a library:
 * HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" with the secret's bytes,
 * any one of the space-separated `v1,` signatures matching, the timestamp within 5 minutes.
 */
export function verifyWebhookSignature(secret: string, headers: Record<string, string | undefined>, rawBody: string, nowSeconds = Date.now() / 1000): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  return signatures.split(' ').some((signature) => {
    if (!signature.startsWith('v1,')) return false;
    const given = Buffer.from(signature.slice(3), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * The demo's webhook receiver: an HTTP server on 127.0.0.1, on a port the system picks,
 * under a path with a random token. It verifies every delivery with the endpoint secret
 * and answers 204 (verified) or 400 (not), as a real receiver would.
 */
export class DemoReceiver {
  readonly received: ReceivedWebhook[] = [];
  private secret: string | undefined;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly onWebhook: ((webhook: ReceivedWebhook) => void) | undefined,
  ) {}

  static async start(options: { onWebhook?: (webhook: ReceivedWebhook) => void } = {}): Promise<DemoReceiver> {
    const path = `/demo-webhooks/${randomBytes(9).toString('base64url')}`;
    let receiver: DemoReceiver | undefined;
    const server = http.createServer((req, res) => {
      if (req.method !== 'POST' || req.url !== path) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
      });
      req.on('end', () => {
        const accepted = receiver!.record(req.headers, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(accepted ? 204 : 400).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    receiver = new DemoReceiver(server, `http://127.0.0.1:${port}${path}`, options.onWebhook);
    return receiver;
  }

  /** The endpoint's secret, known once the endpoint is registered. */
  setSecret(secret: string): void {
    this.secret = secret;
  }

  private record(rawHeaders: http.IncomingHttpHeaders, rawBody: string): boolean {
    const headers = Object.fromEntries(Object.entries(rawHeaders).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
    let event: ReceivedWebhook['event'] = null;
    try {
      event = JSON.parse(rawBody);
    } catch {
      // not JSON: unverifiable anyway
    }
    const verified = this.secret !== undefined && verifyWebhookSignature(this.secret, headers, rawBody);
    const webhook: ReceivedWebhook = {
      receivedAt: new Date().toISOString(),
      headers,
      rawBody,
      id: headers['webhook-id'] ?? null,
      type: typeof event?.type === 'string' ? event.type : null,
      verified,
      event,
    };
    this.received.push(webhook);
    this.onWebhook?.(webhook);
    for (const wake of this.waiters.splice(0)) wake();
    return verified;
  }

  /** The first delivery matching `match`, or null after `timeoutMs`. */
  async waitFor(match: (webhook: ReceivedWebhook) => boolean, timeoutMs: number): Promise<ReceivedWebhook | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
