import { startWorkerHost, type WorkerHost } from '../../server/src/jobs/worker-host.ts';
import { importCodeBatchJob } from '../../server/src/pools/import-batch.ts';
import type { AppServices } from '../../server/src/system/services.ts';
import { request, type ApiResponse } from './http-client.ts';

/** A fixed-value offer taking codes as partners usually write them. */
export function offerBody(overrides: Record<string, unknown> = {}) {
  return {
    title: '500 RUB off orders over 3,000 RUB',
    description: 'Electronics and accessories.',
    value: { type: 'fixed', amountMinor: 50_000 },
    minOrderMinor: 300_000,
    termsUrl: 'https://shop.example/terms',
    status: 'active',
    lowStockThreshold: 10,
    ...overrides,
  };
}

export async function createOffer(baseUrl: string, key: string, overrides: Record<string, unknown> = {}): Promise<{ id: string }> {
  const res = await request(baseUrl, 'POST', '/api/v1/offers', { key, body: offerBody(overrides) });
  if (res.status !== 200) throw new Error(`offer not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Sends a code file the way curl -T does: the raw body, text/csv. */
export async function uploadCsv(
  baseUrl: string,
  key: string,
  offerId: string,
  body: string | Buffer | ReadableStream<Uint8Array>,
  options: { query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const query = new URLSearchParams(options.query ?? {}).toString();
  const response = await fetch(`${baseUrl}/api/v1/offers/${offerId}/code-batches/upload${query ? `?${query}` : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', ...options.headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Polls a batch the way the portal does, until its import has finished. */
export async function waitForBatch(baseUrl: string, key: string, batchId: string, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(baseUrl, 'GET', `/api/v1/code-batches/${batchId}`, { key });
    if (res.status !== 200) throw new Error(`batch ${batchId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (['ready', 'failed', 'voided'].includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Exports an offer's codes (audited) and returns them, in pool order. */
export async function exportCodes(baseUrl: string, key: string, offerId: string, body: Record<string, unknown> = {}): Promise<{ status: number; codes: string[]; rows: string[][]; text: string }> {
  const response = await fetch(`${baseUrl}/api/v1/offers/${offerId}/codes/export`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'test export', ...body }),
  });
  const text = await response.text();
  const rows = text
    .split('\r\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.split(','));
  return { status: response.status, rows, codes: rows.map((row) => row[0]!), text };
}

export async function rejectReport(baseUrl: string, key: string, batchId: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}/api/v1/code-batches/${batchId}/rejects.csv`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, text: await response.text() };
}

/** The import worker, in-process, on the test's Redis and database. */
export function startImportWorkers(services: AppServices): Promise<WorkerHost> {
  return startWorkerHost({ services, definitions: [importCodeBatchJob], concurrency: 2 });
}
