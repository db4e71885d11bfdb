import { randomUUID } from 'node:crypto';
import { coalitionDb, tenantDb } from '../../server/src/db/database.ts';
import { tenantSchemaName } from '../../server/src/db/schema-names.ts';
import { CodeVault } from '../../server/src/pools/code-vault.ts';
import { requireTenantRow } from '../../server/src/tenants/get-tenant.ts';
import { customersWithStickers, exchange, type ExchangeWorld } from './exchange.ts';
import { tenantWithKey, uniqueSlug, type TenantWithKey } from './factories.ts';
import { request, type ApiResponse } from './http-client.ts';

/** The same world (system, clock, issuer, campaign) with another partner shop in it. */
export function withPartner(world: ExchangeWorld, partner: TenantWithKey): ExchangeWorld {
  return { ...world, partner, partnerDb: () => tenantDb(world.system.services.db, tenantSchemaName(partner.tenant.slug)) };
}

/** A fresh partner tenant (admin key) in the world, for tests that need a partner of their own. */
export async function newPartnerWorld(world: ExchangeWorld, prefix = 'shop'): Promise<ExchangeWorld> {
  const partner = await tenantWithKey(world.system.services, { slug: uniqueSlug(prefix), roles: ['partner'], scopes: ['admin'] });
  return withPartner(world, partner);
}

/** A customer exchanges stickers for the reward: the voucher as the exchange answers it (plain code, token, QR text). */
export async function issuedVoucher(world: ExchangeWorld, rewardId: string, stickers = 10): Promise<any> {
  const [customerId] = await customersWithStickers(world, 1, stickers);
  const res = await exchange(world, { customer: { customerId }, rewardId });
  if (res.status !== 200) throw new Error(`exchange refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export function validate(world: ExchangeWorld, body: Record<string, unknown>, key = world.partner.key): Promise<ApiResponse> {
  return request(world.system.baseUrl, 'POST', '/api/v1/codes/validate', { key, body });
}

/** POST /api/v1/redemptions; `idempotencyKey: null` sends none. */
export function redeem(world: ExchangeWorld, body: Record<string, unknown>, options: { key?: string; idempotencyKey?: string | null } = {}): Promise<ApiResponse> {
  const idempotencyKey = options.idempotencyKey === undefined ? randomUUID() : options.idempotencyKey;
  return request(world.system.baseUrl, 'POST', '/api/v1/redemptions', {
    key: options.key ?? world.partner.key,
    body,
    headers: idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey },
  });
}

export function reverse(world: ExchangeWorld, redemptionId: string, reason = 'Order cancelled', key = world.partner.key): Promise<ApiResponse> {
  return request(world.system.baseUrl, 'POST', `/api/v1/redemptions/${redemptionId}/reverse`, { key, body: { reason } });
}

export async function tenantIdOf(world: ExchangeWorld, slug: string): Promise<string> {
  return (await requireTenantRow(world.system.services.db, slug)).id;
}

/** The partner's code row, found the way the application finds it (keyed lookup hash). */
export async function codeRowOf(world: ExchangeWorld, code: string) {
  const hash = new CodeVault(world.system.services.secrets, await tenantIdOf(world, world.partner.tenant.slug)).lookupHash(code);
  return world.partnerDb().selectFrom('codes').select(['id', 'status', 'holder_ref', 'redeemed_at']).where('lookup_hash', '=', hash).executeTakeFirstOrThrow();
}

export const coalitionOf = (world: ExchangeWorld) => coalitionDb(world.system.services.db);

/** Everything a redemption or reversal writes, counted: a refused request must leave it unchanged. */
export async function redemptionFootprint(world: ExchangeWorld) {
  const count = async (query: { execute(): Promise<unknown[]> }) => (await query.execute()).length;
  const coalition = coalitionOf(world);
  return {
    partnerIdempotencyKeys: await count(world.partnerDb().selectFrom('idempotency_keys').select('key')),
    issuerOutbox: await count(world.issuerDb().selectFrom('outbox_events').select('id')),
    partnerOutbox: await count(world.partnerDb().selectFrom('outbox_events').select('id')),
    settlement: await count(coalition.selectFrom('settlement_entries').select('id')),
    redemptions: await count(coalition.selectFrom('redemptions').select(['id', 'status'])),
    reversed: await count(coalition.selectFrom('redemptions').select('id').where('status', '=', 'reversed')),
    vouchersRedeemed: await count(coalition.selectFrom('vouchers').select('id').where('status', '=', 'redeemed')),
    vouchersCancelled: await count(coalition.selectFrom('vouchers').select('id').where('status', '=', 'cancelled')),
    codesRedeemed: await count(world.partnerDb().selectFrom('codes').select('id').where('status', '=', 'redeemed')),
  };
}
