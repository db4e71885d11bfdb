import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withIdempotencyKey } from '../client-sdk/src/index.ts';
import { DEFAULT_RETRY, backoffMs, retryAfterMs, retryDelay } from '../client-sdk/src/retry-policy.ts';
import { codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { tenantWithKey } from './support/factories.ts';
import { issuedVoucher, redemptionFootprint } from './support/redemption.ts';
import { faultyFetch, rejectionOf, sdkClient } from './support/sdk.ts';

let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld();
});
afterAll(() => world.stop());

async function redeemableCode(prefix: string): Promise<string> {
  const { reward } = await rewardWithCodes(world, codeList(prefix, 2));
  return (await issuedVoucher(world, reward.id)).code;
}

const order = (code: string, orderRef: string) => ({ code, orderRef, orderAmountMinor: 400_000, currency: 'RUB' });

describe('Idempotency-Key', () => {
  it('is added to a mutation that needs one, unique per call, and not to other calls', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch });
    const first = await client.redemptions.redeem.mutate(order(await redeemableCode('KEY-A-'), 'KEY-1'));
    const second = await client.redemptions.redeem.mutate(order(await redeemableCode('KEY-B-'), 'KEY-2'));
    expect(second.id).not.toBe(first.id);
    const keys = wire.to('redemptions.redeem').map((request) => request.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).not.toBe(keys[0]);

    await client.redemptions.validate.mutate({ code: 'ANY-00000' });
    await client.me.query();
    expect(wire.to('redemptions.validate')[0]!.headers['idempotency-key']).toBeUndefined();
    expect(wire.to('me')[0]!.headers['idempotency-key']).toBeUndefined();
    expect(wire.sent.every((request) => request.headers.authorization === `Bearer ${world.partner.key}`)).toBe(true);
  });

  it('is the caller\'s own when given one: a second call with it gets the first answer, nothing is redeemed twice', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch });
    const code = await redeemableCode('OWN-');
    const first = await client.redemptions.redeem.mutate(order(code, 'OWN-1'), withIdempotencyKey('order-OWN-1'));
    const before = await redemptionFootprint(world);
    const again = await client.redemptions.redeem.mutate(order(code, 'OWN-1'), withIdempotencyKey('order-OWN-1'));
    expect(again).toEqual(first);
    expect(wire.to('redemptions.redeem').map((request) => [request.headers['idempotency-key'], request.replayed])).toEqual([
      ['order-OWN-1', false],
      ['order-OWN-1', true],
    ]);
    expect(await redemptionFootprint(world)).toEqual(before);
  });
});

describe('retries', () => {
  it('an answer lost after the server redeemed: the retry sends the same key and gets the replay; exactly one redemption', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch });
    const code = await redeemableCode('LOST-');
    const before = await redemptionFootprint(world);

    wire.inject('lose-answer');
    const redemption = await client.redemptions.redeem.mutate(order(code, 'LOST-1'));

    const attempts = wire.to('redemptions.redeem');
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.headers['idempotency-key']).toBe(attempts[0]!.headers['idempotency-key']);
    expect(attempts[1]!.body).toBe(attempts[0]!.body);
    // The server ran the first request (its answer was lost) and replayed it for the second.
    expect(attempts.map((request) => [request.status, request.replayed])).toEqual([
      [200, false],
      [200, true],
    ]);
    expect(redemption).toMatchObject({ status: 'redeemed', orderRef: 'LOST-1' });
    const after = await redemptionFootprint(world);
    expect(after.redemptions - before.redemptions).toBe(1);
    expect(after.codesRedeemed - before.codesRedeemed).toBe(1);
    expect(after.partnerIdempotencyKeys - before.partnerIdempotencyKeys).toBe(1);
  });

  it('a gateway 503 and a refused connection are retried with the same key until the server answers', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch });
    const code = await redeemableCode('BUSY-');
    const before = await redemptionFootprint(world);

    wire.inject('answer-503', 'refuse');
    const redemption = await client.redemptions.redeem.mutate(order(code, 'BUSY-1'));

    const attempts = wire.to('redemptions.redeem');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((request) => request.headers['idempotency-key'])).size).toBe(1);
    expect(attempts.map((request) => request.status)).toEqual([undefined, undefined, 200]);
    expect(redemption.orderRef).toBe('BUSY-1');
    expect((await redemptionFootprint(world)).redemptions - before.redemptions).toBe(1);
  });

  it('gives up after the configured attempts with SERVICE_UNAVAILABLE or NETWORK_ERROR', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch, retry: { attempts: 3, baseDelayMs: 1 } });
    wire.inject('answer-503', 'answer-503', 'answer-503');
    const busy = await rejectionOf(client.me.query());
    expect(busy).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503, attempts: 3 });

    wire.inject('refuse', 'refuse', 'refuse');
    const down = await rejectionOf(client.me.query());
    expect(down).toMatchObject({ code: 'NETWORK_ERROR', httpStatus: null, attempts: 3 });
    expect(down.message).toMatch(/ECONNREFUSED/);
    expect(wire.sent).toHaveLength(6);
  });

  it('stops waiting for a retry when the caller aborts: ABORTED', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    wire.inject('answer-503');
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const started = Date.now();
    const error = await rejectionOf(client.me.query(undefined, { signal: abort.signal }));
    expect(error).toMatchObject({ code: 'ABORTED', httpStatus: null, attempts: 1 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a mutation without an Idempotency-Key is not repeated after a 503 or a lost answer: it may have run', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.issuer.key, { fetch: wire.fetch });
    wire.inject('answer-503');
    const busy = await rejectionOf(client.webhooks.createEndpoint.mutate({ url: 'https://hooks.example.com/one' }));
    expect(busy).toMatchObject({ code: 'SERVICE_UNAVAILABLE', attempts: 1 });

    wire.inject('lose-answer');
    const lost = await rejectionOf(client.webhooks.createEndpoint.mutate({ url: 'https://hooks.example.com/two' }));
    expect(lost).toMatchObject({ code: 'NETWORK_ERROR', attempts: 1 });
    expect(wire.to('webhooks.createEndpoint')).toHaveLength(2);
    // The lost one did run: exactly one endpoint, no duplicate from a retry.
    const { endpoints } = await client.webhooks.listEndpoints.query();
    expect(endpoints.filter((endpoint) => endpoint.url.startsWith('https://hooks.example.com/')).map((endpoint) => endpoint.url)).toEqual(['https://hooks.example.com/two']);
  });

  it('never retries an answer: 409 ALREADY_REDEEMED and 422 MIN_ORDER_NOT_MET are thrown after one request', async () => {
    const wire = faultyFetch();
    const client = sdkClient(world, world.partner.key, { fetch: wire.fetch });
    const code = await redeemableCode('ONCE-');
    await client.redemptions.redeem.mutate(order(code, 'ONCE-1'));

    const conflict = await rejectionOf(client.redemptions.redeem.mutate(order(code, 'ONCE-2')));
    expect(conflict).toMatchObject({ code: 'ALREADY_REDEEMED', httpStatus: 409, attempts: 1 });

    const small = await rejectionOf(client.redemptions.redeem.mutate({ ...order(await redeemableCode('SMALL-'), 'SMALL-1'), orderAmountMinor: 1_000 }));
    expect(small).toMatchObject({ code: 'MIN_ORDER_NOT_MET', httpStatus: 422, attempts: 1 });
    expect(wire.to('redemptions.redeem')).toHaveLength(3);
  });

  it('429: waits as long as Retry-After says, then succeeds; a longer wait than maxDelayMs is thrown at once', async () => {
    const limited = await tenantWithKey(world.system.services, { rateLimitPerMinute: 1 });
    const wire = faultyFetch();
    const client = sdkClient(world, limited.key, { fetch: wire.fetch, retry: { baseDelayMs: 1, maxDelayMs: 10_000 } });
    await client.me.query(); // the minute's one request
    // The window would last a minute; shorten it so the test waits a few seconds (long
    // enough that the next request surely falls inside it on a busy machine).
    await world.system.services.redis.pexpire(`${world.system.config.queuePrefix}:rl:key:${limited.keyId}`, 4_000);

    const me = await client.me.query();
    expect(me).toMatchObject({ kind: 'tenant', tenant: { slug: limited.tenant.slug } });
    const [, refused, retried] = wire.sent;
    expect(refused!.status).toBe(429);
    const retryAfterSeconds = Number(refused!.retryAfter);
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(retried!.status).toBe(200);
    // As long as Retry-After said (a second or two), not the 1 ms backoff.
    expect(retried!.sentAt - refused!.sentAt).toBeGreaterThanOrEqual(retryAfterSeconds * 1_000 - 20);

    // The next window is a full minute away: more than this client may wait.
    const impatient = sdkClient(world, limited.key, { fetch: wire.fetch, retry: { maxDelayMs: 10_000 } });
    const error = await rejectionOf(impatient.me.query());
    expect(error).toMatchObject({ code: 'RATE_LIMITED', httpStatus: 429, attempts: 1, details: { limitPerMinute: 1, scope: 'api_key' } });
    expect(Number(error.details.retryAfterSeconds)).toBeGreaterThan(10);
  });
});

describe('the retry policy', () => {
  const policy = { ...DEFAULT_RETRY, attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };
  const network = { kind: 'network-error' } as const;
  const status = (code: number, retryAfter: string | null = null) => ({ kind: 'response', status: code, retryAfter }) as const;

  it('backs off exponentially with jitter, capped', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(policy, attempt, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(policy, attempt, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('retries 429 always, network errors and 502/503/504 only when repeatable, nothing else, and stops at the attempt limit', () => {
    const delay = (outcome: Parameters<typeof retryDelay>[1]['outcome'], repeatable: boolean, attempt = 1) => retryDelay(policy, { attempt, outcome, repeatable, random: () => 1 });
    expect(delay(status(429), false)).toBe(100);
    for (const code of [502, 503, 504]) {
      expect(delay(status(code), true)).toBe(100);
      expect(delay(status(code), false)).toBeNull();
    }
    expect(delay(network, true)).toBe(100);
    expect(delay(network, false)).toBeNull();
    for (const code of [200, 400, 401, 403, 404, 409, 422, 500]) expect(delay(status(code), true)).toBeNull();
    expect(delay(status(503), true, 3)).toBe(400);
    expect(delay(status(503), true, 4)).toBeNull();
  });

  it('reads Retry-After as seconds or an HTTP date, and gives up when it asks for more than maxDelayMs', () => {
    const now = Date.parse('2026-11-02T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3_000);
    expect(retryAfterMs('Mon, 02 Nov 2026 10:00:01 GMT', now)).toBe(1_000);
    expect(retryAfterMs('Mon, 02 Nov 2026 09:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    // Not delta-seconds, not an HTTP date: ignored rather than read as a date long past.
    expect(retryAfterMs('1.5', now)).toBeNull();
    expect(retryAfterMs('-1', now)).toBeNull();
    expect(retryAfterMs('2026-11-02', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
    expect(retryDelay(policy, { attempt: 1, outcome: status(503, 'Mon, 02 Nov 2026 10:00:01 GMT'), repeatable: true, now })).toBe(1_000);
    expect(retryDelay(policy, { attempt: 1, outcome: status(429, '2'), repeatable: false, now })).toBeNull();
  });
});
