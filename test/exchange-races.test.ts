import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { monthOf } from '../server/src/system/calendar.ts';
import { request } from './support/http-client.ts';
import { codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';

/**
 * What happens when a partner, an issuer or an operator acts while an exchange is in
 * the middle of its transaction. A second connection holds a row the exchange needs, so
 * the exchange stops at a known point; the other action runs; the row is released.
 */
let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld();
});
afterAll(() => world.stop());

const api = (method: string, path: string, key: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });

/** A connection holding one row lock until released. */
async function holdRow(sql: string, params: unknown[]): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: world.system.env.DATABASE_URL });
  await client.connect();
  await client.query('begin');
  const { rowCount } = await client.query(sql, params);
  if (rowCount !== 1) throw new Error(`expected to lock one row, locked ${rowCount}`);
  return {
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

/** Resolves once a statement of another session waits on a lock for `relation`. */
async function waitsOn(relation: string): Promise<void> {
  const client = new pg.Client({ connectionString: world.system.env.DATABASE_URL });
  await client.connect();
  try {
    await expect
      .poll(
        async () =>
          (
            await client.query(`select count(*)::integer as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`, [`%${relation}%`])
          ).rows[0].n,
        { timeout: 15_000, interval: 50 },
      )
      .toBeGreaterThan(0);
  } finally {
    await client.end();
  }
}

describe('an exchange in flight', () => {
  it("keeps the offer's value: an edit waits for the claim and is then refused, and the voucher says what the customer was promised", async () => {
    const { reward, offer, agreement } = await rewardWithCodes(world, codeList('VAL-', 3), { agreement: { monthlyCap: 100 } });
    const [customerId] = await customersWithStickers(world, 1, 10);
    // The exchange stops at the cap counter, after it has claimed its code.
    await coalitionDb(world.system.services.db).insertInto('agreement_usage').values({ agreement_id: agreement.id, period: monthOf(world.clock.now(), 'Europe/Moscow'), issued: 0 }).execute();
    const counter = await holdRow('select 1 from coalition.agreement_usage where agreement_id = $1 for update', [agreement.id]);
    const inFlight = exchange(world, { customer: { customerId }, rewardId: reward.id });
    await waitsOn('agreement_usage');

    const edit = api('PATCH', `/offers/${offer.id}`, world.partner.key, { value: { type: 'fixed', amountMinor: 100 } });
    await waitsOn(`${tenantSchemaName(world.partner.tenant.slug)}"."offers`);
    await counter.release();

    const [voucher, edited] = await Promise.all([inFlight, edit]);
    expect(voucher.status).toBe(200);
    expect(voucher.body.offer.value).toEqual({ type: 'fixed', amountMinor: 50_000 });
    expect(edited.status).toBe(409);
    expect(edited.body.code).toBe('OFFER_VALUE_LOCKED');
    expect((await api('GET', `/offers/${offer.id}`, world.partner.key)).body.value).toEqual({ type: 'fixed', amountMinor: 50_000 });
  });

  it('never hands the customer a token of a key revoked meanwhile', async () => {
    const { reward } = await rewardWithCodes(world, codeList('REV-', 3));
    const [customerId] = await customersWithStickers(world, 1, 10);
    const [signing] = (await api('GET', '/signing-keys', world.issuer.key)).body.keys.filter((key: { state: string }) => key.state === 'signing');
    // The exchange has read the signing key and now waits for the customer's row.
    const customer = await holdRow(`select 1 from "${tenantSchemaName(world.issuer.tenant.slug)}".customers where id = $1 for update`, [customerId]);
    const inFlight = exchange(world, { customer: { customerId }, rewardId: reward.id });
    await waitsOn('customers');

    const revoked = await api('POST', `/signing-keys/${signing.kid}/revoke`, world.issuer.key, { reason: 'Leaked in a log file' });
    expect(revoked.status).toBe(200);
    await customer.release();

    const voucher = await inFlight;
    expect(voucher.status).toBe(200);
    expect(decodeProtectedHeader(voucher.body.token).kid).not.toBe(signing.kid);
    const jwks = (await request(world.system.baseUrl, 'GET', `/api/v1/issuers/${world.issuer.tenant.slug}/jwks`)).body;
    const { payload } = await jwtVerify(voucher.body.token, createLocalJWKSet(jwks), { audience: world.partner.tenant.slug, algorithms: ['EdDSA'], currentDate: world.clock.now() });
    expect(payload.code).toBe(voucher.body.code);
    expect((await api('GET', `/vouchers/${voucher.body.id}`, world.issuer.key)).body.token).toBe(voucher.body.token);
  });

  it('does not hold up a suspension: the agreement is suspended at once, and exchanges after it are refused', async () => {
    const { reward, agreement } = await rewardWithCodes(world, codeList('SUS-', 3));
    const [first, second] = await customersWithStickers(world, 2, 10);
    const customer = await holdRow(`select 1 from "${tenantSchemaName(world.issuer.tenant.slug)}".customers where id = $1 for update`, [first]);
    const inFlight = exchange(world, { customer: { customerId: first }, rewardId: reward.id });
    await waitsOn('customers');

    const suspended = await api('POST', `/agreements/${agreement.id}/status`, world.partner.key, { status: 'suspended', reason: 'Audit' });
    expect(suspended.body.status).toBe('suspended');
    expect((await exchange(world, { customer: { customerId: second }, rewardId: reward.id })).body.code).toBe('AGREEMENT_INACTIVE');
    await customer.release();
    // The one already past its agreement check finishes.
    expect((await inFlight).status).toBe(200);
  });
});
