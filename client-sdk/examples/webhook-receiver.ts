/**
 * A webhook receiver on node:http: verifies each delivery (signature, timestamp),
 * answers at once, and hands the typed event to a handler. Run it:
 * WEBHOOK_SECRET=whsec_… PORT=8080 node --import tsx client-sdk/examples/webhook-receiver.ts
 *
 * In your app, import from '@coalition-exchange/client'.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebhookVerificationError, verifyWebhook, type WebhookEvent } from '../src/index.ts';

export interface ReceiverOptions {
  /** The endpoint's secret; during a rotation, the new and the previous one. */
  secrets: string | string[];
  onEvent: (event: WebhookEvent) => void | Promise<void>;
  port?: number;
  host?: string;
}

/** One line per event, from its typed data: what a handler branches on. */
export function describeEvent(event: WebhookEvent): string {
  switch (event.type) {
    case 'voucher.redeemed':
      return `voucher ${event.data.voucherId} redeemed at ${event.data.partner} for order ${event.data.orderRef}: ${event.data.discountMinor} ${event.data.currency} off`;
    case 'voucher.redemption_reversed':
      return `redemption ${event.data.redemptionId} reversed: ${event.data.reason}`;
    case 'voucher.issued':
      return `voucher ${event.data.voucherId} issued (${event.data.codeMask})`;
    case 'stickers.credited':
      return `customer ${event.data.customerId} got ${event.data.credited.reduce((sum, entry) => sum + entry.stickers, 0)} stickers for receipt ${event.data.receiptId}`;
    case 'pool.low':
    case 'pool.empty':
      return `offer ${event.data.offerId} is ${event.data.state}: ${event.data.available} codes left`;
    case 'settlement.statement_finalized':
      return `statement ${event.data.statementId} for ${event.data.period} finalized`;
    case 'webhook.test':
      return `test event: ${event.data.message}`;
    default:
      // Types added later arrive here too: ignore what you do not know.
      return `${event.type} (not handled)`;
  }
}

export async function startWebhookReceiver(options: ReceiverOptions): Promise<{ url: string; close(): Promise<void> }> {
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      let event: WebhookEvent;
      try {
        // The raw bytes: a body parsed and serialised again would not match the signature.
        event = await verifyWebhook(req.headers, Buffer.concat(chunks), options.secrets);
      } catch (error) {
        res.writeHead(error instanceof WebhookVerificationError ? 400 : 500).end();
        return;
      }
      // Delivery is at least once: the same webhook-id can come again.
      const duplicate = seen.has(event.id);
      seen.add(event.id);
      res.writeHead(204).end();
      if (!duplicate) await options.onEvent(event);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/hooks/coalition`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) throw new Error('set WEBHOOK_SECRET to the endpoint secret (whsec_…)');
  const receiver = await startWebhookReceiver({ secrets: secret, port: Number(process.env.PORT ?? 8080), host: '0.0.0.0', onEvent: (event) => console.log(describeEvent(event)) });
  console.log(`listening on ${receiver.url}`);
}
