import { randomUUID } from 'node:crypto';
import { findAgreement } from '../../server/src/agreements/agreement.queries.ts';
import { coalitionDb } from '../../server/src/db/database.ts';
import type { SettlementEvent } from '../../server/src/db/tables.ts';
import { appendSettlementEntry } from '../../server/src/settlement/settlement-entries.ts';
import type { ExchangeWorld } from './exchange.ts';
import { request, type ApiResponse } from './http-client.ts';

/** The settlement API as a finance team calls it, with a given key. */
export function settlementApi(world: ExchangeWorld, key: string) {
  const base = world.system.baseUrl;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> =>
    request(base, method, `/api/v1/settlement${path}`, { key, headers, ...(body === undefined ? {} : { body }) });
  return {
    build: (agreementId: string, period: string) => call('POST', '/statements', { agreementId, period }),
    list: (query = '') => call('GET', `/statements${query}`),
    get: (id: string) => call('GET', `/statements/${id}`),
    verify: (id: string) => call('GET', `/statements/${id}/verify`),
    finalize: (id: string, expectedContentHash: string) => call('POST', `/statements/${id}/finalize`, { expectedContentHash }),
    pay: (id: string, paymentReference: string) => call('POST', `/statements/${id}/pay`, { paymentReference }),
    dispute: (id: string, reason: string) => call('POST', `/statements/${id}/dispute`, { reason }),
    resolve: (id: string, resolution: string) => call('POST', `/statements/${id}/resolve`, { resolution }),
    /** `idempotencyKey: null` sends none. */
    adjust: (id: string, body: { amountMinor: number; currency: string; reason: string }, idempotencyKey: string | null = randomUUID()) =>
      call('POST', `/statements/${id}/adjustments`, body, idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey }),
    startRun: (period?: string) => call('POST', '/runs', period === undefined ? {} : { period }),
    getRun: (id: string) => call('GET', `/runs/${id}`),
    netting: (period: string) => call('GET', `/netting?period=${period}`),
    file: async (id: string, name: 'summary.csv' | 'entries.csv' | 'statement.html') => {
      const response = await fetch(`${base}/api/v1/settlement/statements/${id}/${name}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
    },
    reconcile: async (id: string, csv: string, filename?: string) => {
      const response = await fetch(`${base}/api/v1/settlement/statements/${id}/reconciliations${filename ? `?filename=${encodeURIComponent(filename)}` : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
        body: csv,
      });
      return { status: response.status, body: (await response.json()) as any };
    },
    report: async (reconciliationId: string) => {
      const response = await fetch(`${base}/api/v1/settlement/reconciliations/${reconciliationId}/report.csv`, { headers: { authorization: `Bearer ${key}` } });
      return { status: response.status, text: await response.text() };
    },
  };
}

/**
 * Settlement entries written the way the exchange, redemption and reversal write them
 * (the domain function), at chosen instants: seeding months of activity without
 * driving every purchase through the API.
 */
export async function seedEntry(
  world: ExchangeWorld,
  agreementId: string,
  entry: { voucherId: string; offerId: string; event: SettlementEvent; amountMinor: number; occurredAt: Date; redemptionId?: string; relatesToPeriod?: string; currency?: string },
): Promise<void> {
  const db = coalitionDb(world.system.services.db);
  const agreement = (await findAgreement(db, agreementId))!;
  await appendSettlementEntry(db, agreement, entry);
}
