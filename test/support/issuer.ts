import { randomUUID } from 'node:crypto';
import { tenantDb, type TenantDb } from '../../server/src/db/database.ts';
import { tenantSchemaName } from '../../server/src/db/schema-names.ts';
import { ManualClock } from '../../server/src/system/clock.ts';
import { tenantWithKey, type TenantWithKey } from './factories.ts';
import { request, type ApiResponse } from './http-client.ts';
import { startTestSystem, type TestSystem } from './test-system.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export function isoAfter(base: Date, days: number): string {
  return new Date(base.getTime() + days * DAY_MS).toISOString();
}

/** A running campaign: 1 sticker per 500.00, 14-day hold, goals at 10 and 30 stickers. */
export function campaignBody(now: Date, overrides: Record<string, unknown> = {}) {
  return {
    name: 'Autumn stickers',
    description: 'Collect stickers, swap them for kitchenware.',
    terms: 'One sticker per 500 RUB.',
    startsAt: isoAfter(now, 0),
    endsAt: isoAfter(now, 30),
    burnAt: isoAfter(now, 60),
    milestones: [
      { stickers: 10, label: 'Frying pan' },
      { stickers: 30, label: 'Knife set' },
    ],
    rules: { perAmountMinor: 50_000, stickersPerStep: 1, holdDays: 14 },
    ...overrides,
  };
}

export async function createCampaign(baseUrl: string, key: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await request(baseUrl, 'POST', '/api/v1/campaigns', { key, body });
  if (res.status !== 200) throw new Error(`campaign not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

let receiptCounter = 0;

export function purchaseBody(now: Date, overrides: Record<string, unknown> = {}) {
  receiptCounter += 1;
  return {
    storeCode: 'MSK-001',
    terminalId: 'till-1',
    receiptId: `R-${Date.now()}-${receiptCounter}`,
    occurredAt: now.toISOString(),
    customer: { cardNumber: '7000-0001' },
    totalMinor: 120_000,
    lines: [
      { sku: 'MILK-1L', quantity: 2, amountMinor: 20_000 },
      { sku: 'BEEF-1KG', quantity: 1, amountMinor: 100_000 },
    ],
    ...overrides,
  };
}

export function recordPurchase(baseUrl: string, key: string, body: Record<string, unknown>, idempotencyKey: string = randomUUID()): Promise<ApiResponse> {
  return request(baseUrl, 'POST', '/api/v1/pos/purchases', { key, body, headers: { 'idempotency-key': idempotencyKey } });
}

export function recordReturn(baseUrl: string, key: string, body: Record<string, unknown>, idempotencyKey: string = randomUUID()): Promise<ApiResponse> {
  return request(baseUrl, 'POST', '/api/v1/pos/returns', { key, body, headers: { 'idempotency-key': idempotencyKey } });
}

export interface IssuerWorld {
  system: TestSystem;
  issuer: TenantWithKey;
  clock: ManualClock;
  /** The issuer's schema, for asserting what was (not) written. */
  db: () => TenantDb;
}

/** A test system on a controlled clock with one issuer tenant and its admin key. */
export async function startIssuerWorld(start = '2026-11-01T10:00:00Z'): Promise<IssuerWorld> {
  const clock = new ManualClock(start);
  const system = await startTestSystem({}, { clock });
  const issuer = await tenantWithKey(system.services, { roles: ['issuer'], scopes: ['admin'] });
  return { system, issuer, clock, db: () => tenantDb(system.services.db, tenantSchemaName(issuer.tenant.slug)) };
}
