import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { keyFor, operatorKey, tenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { codeList, createReward, customersWithStickers, exchange, offerWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';

let world: ExchangeWorld;
let operator: string;

beforeAll(async () => {
  world = await startExchangeWorld();
  operator = await operatorKey(world.system.services);
});
afterAll(() => world.stop());

const api = (method: string, path: string, key: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });

function proposal(offerIds: string[], overrides: Record<string, unknown> = {}) {
  return { name: 'Kitchenware for stickers', issuer: world.issuer.tenant.slug, offerIds, model: { type: 'issuer_pays_per_redeemed', amountMinor: 7_500 }, currency: 'RUB', ...overrides };
}

async function agreementCount(): Promise<number> {
  return (await coalitionDb(world.system.services.db).selectFrom('agreements').select('id').execute()).length;
}

async function outboxTypes(db: ReturnType<ExchangeWorld['issuerDb']>, agreementId: string): Promise<string[]> {
  const rows = await db.selectFrom('outbox_events').select(['event_type', 'payload']).where('event_type', 'like', 'agreement.%').orderBy('id').execute();
  return rows.filter((row) => (row.payload as { agreementId: string }).agreementId === agreementId).map((row) => row.event_type);
}

describe('agreements between an issuer and a partner', () => {
  it('is proposed by one side and in force only once the other side accepts, both recorded with actor and time', async () => {
    const offer = await offerWithCodes(world, []);
    const proposed = await api('POST', '/agreements', world.partner.key, proposal([offer.id], { monthlyCap: 1_000 }));
    expect(proposed.status).toBe(200);
    expect(proposed.body).toMatchObject({
      status: 'proposed',
      inForce: false,
      issuer: { slug: world.issuer.tenant.slug },
      partner: { slug: world.partner.tenant.slug },
      model: { type: 'issuer_pays_per_redeemed', amountMinor: 7_500 },
      currency: 'RUB',
      timezone: 'Europe/Moscow',
      monthlyCap: 1_000,
      proposed: { side: 'partner', actor: world.partner.keyId, at: world.clock.now().toISOString() },
      accepted: null,
    });

    // The issuer sees the proposal and the offers it covers; the proposer cannot accept it itself.
    const seen = await api('GET', `/agreements/${proposed.body.id}`, world.issuer.key);
    expect(seen.body.offers).toEqual([expect.objectContaining({ id: offer.id, title: '500 RUB off orders over 3,000 RUB', value: { type: 'fixed', amountMinor: 50_000 } })]);
    const own = await api('POST', `/agreements/${proposed.body.id}/accept`, world.partner.key);
    expect(own.status).toBe(403);
    expect(own.body.code).toBe('AGREEMENT_ACTION_FORBIDDEN');

    world.clock.advance(60_000);
    const accepted = await api('POST', `/agreements/${proposed.body.id}/accept`, world.issuer.key);
    expect(accepted.body).toMatchObject({ status: 'active', inForce: true, accepted: { side: 'issuer', actor: world.issuer.keyId, at: world.clock.now().toISOString() } });
    const again = await api('POST', `/agreements/${proposed.body.id}/accept`, world.issuer.key);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'AGREEMENT_STATUS_TRANSITION', details: { status: 'active', allowed: ['suspended', 'ended'] } });

    // Both sides hear of it, in their outboxes and audit trails.
    expect(await outboxTypes(world.issuerDb(), proposed.body.id)).toEqual(['agreement.proposed', 'agreement.accepted']);
    expect(await outboxTypes(world.partnerDb(), proposed.body.id)).toEqual(['agreement.proposed', 'agreement.accepted']);
    const audit = await api('GET', '/audit-events', world.issuer.key);
    expect(audit.body.events.filter((event: { subjectId: string }) => event.subjectId === proposed.body.id).map((event: { action: string }) => event.action)).toEqual([
      'agreement.accepted',
      'agreement.proposed',
    ]);
  });

  it('can be declined by the other side or withdrawn by the proposer, and then nothing more', async () => {
    const offer = await offerWithCodes(world, []);
    const first = await api('POST', '/agreements', world.issuer.key, { ...proposal([offer.id]), issuer: undefined, partner: world.partner.tenant.slug });
    expect(first.body.proposed.side).toBe('issuer');
    const declined = await api('POST', `/agreements/${first.body.id}/decline`, world.partner.key, { reason: 'Fee too low' });
    expect(declined.body).toMatchObject({ status: 'declined', lastStatusChange: { side: 'partner', status: 'declined', reason: 'Fee too low' } });

    const second = await api('POST', '/agreements', world.issuer.key, { ...proposal([offer.id]), issuer: undefined, partner: world.partner.tenant.slug });
    expect((await api('POST', `/agreements/${second.body.id}/withdraw`, world.partner.key)).body.code).toBe('AGREEMENT_ACTION_FORBIDDEN');
    expect((await api('POST', `/agreements/${second.body.id}/withdraw`, world.issuer.key)).body.status).toBe('withdrawn');
    const late = await api('POST', `/agreements/${second.body.id}/accept`, world.partner.key);
    expect(late.body).toMatchObject({ code: 'AGREEMENT_STATUS_TRANSITION', details: { status: 'withdrawn', allowed: [] } });
  });

  it('refuses bad proposals with a typed error and writes nothing', async () => {
    const offer = await offerWithCodes(world, []);
    const before = await agreementCount();
    const cases: [Record<string, unknown>, number, string][] = [
      [proposal([offer.id], { issuer: 'nobody-here' }), 404, 'COUNTERPARTY_NOT_FOUND'],
      [{ ...proposal([offer.id]), issuer: undefined, partner: world.partner.tenant.slug }, 403, 'ROLE_REQUIRED'],
      [proposal(['off_AAAAAAAAAAAA']), 404, 'OFFER_NOT_FOUND'],
      [proposal([offer.id], { model: { type: 'partner_pays_percent_of_order', percent: 150 } }), 400, 'VALIDATION_FAILED'],
      [proposal([offer.id], { model: { type: 'issuer_pays_per_issued' } }), 400, 'VALIDATION_FAILED'],
      [proposal([offer.id, offer.id]), 400, 'VALIDATION_FAILED'],
      [proposal([offer.id], { partner: world.issuer.tenant.slug }), 400, 'VALIDATION_FAILED'],
      [proposal([offer.id], { currency: 'RUBLES' }), 400, 'VALIDATION_FAILED'],
      [proposal([offer.id], { validFrom: '2026-12-01T00:00:00Z', validUntil: '2026-11-30T00:00:00Z' }), 400, 'VALIDATION_FAILED'],
      [proposal([offer.id], { monthlyCap: 0 }), 400, 'VALIDATION_FAILED'],
      // A percentage of a RUB order cannot be owed in EUR.
      [proposal([offer.id], { model: { type: 'partner_pays_percent_of_order', percent: 3 }, currency: 'EUR' }), 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      // The partner proposing as the partner; one case proposes as the issuer, which it is not.
      const res = await api('POST', '/agreements', world.partner.key, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.code, JSON.stringify(body)).toBe(code);
    }
    const issuerOnly = await tenantWithKey(world.system.services, { roles: ['issuer'] });
    const wrongRole = await api('POST', '/agreements', world.partner.key, proposal([offer.id], { issuer: undefined, partner: issuerOnly.tenant.slug }));
    expect(wrongRole.body.code).toBe('ROLE_REQUIRED');
    const notAPartner = await api('POST', '/agreements', world.issuer.key, { ...proposal([offer.id]), issuer: undefined, partner: issuerOnly.tenant.slug });
    expect(notAPartner.body).toMatchObject({ code: 'COUNTERPARTY_NOT_FOUND', details: { requiredRole: 'partner' } });
    const readOnly = (await keyFor(world.system.services, world.partner.tenant.slug, ['agreements:read'])).secret;
    expect((await api('POST', '/agreements', readOnly, proposal([offer.id]))).body).toMatchObject({ code: 'FORBIDDEN', details: { requiredScopes: ['agreements:write'] } });
    expect(await agreementCount()).toBe(before);
  });

  it("locks an offer's currency while an agreement takes a percentage of its orders, and frees it when that agreement ends", async () => {
    const offer = await offerWithCodes(world, []);
    const proposed = await api('POST', '/agreements', world.partner.key, proposal([offer.id], { model: { type: 'partner_pays_percent_of_order', percent: 4 } }));
    expect(proposed.status).toBe(200);
    const refused = await api('PATCH', `/offers/${offer.id}`, world.partner.key, { currency: 'EUR' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'OFFER_CURRENCY_LOCKED', details: { offerId: offer.id, agreementId: proposed.body.id, currency: 'RUB' } });
    expect((await api('GET', `/offers/${offer.id}`, world.partner.key)).body.currency).toBe('RUB');
    // Other changes go through; so does the currency once the proposal is withdrawn.
    expect((await api('PATCH', `/offers/${offer.id}`, world.partner.key, { title: 'Renamed' })).status).toBe(200);
    expect((await api('POST', `/agreements/${proposed.body.id}/withdraw`, world.partner.key, {})).status).toBe(200);
    expect((await api('PATCH', `/offers/${offer.id}`, world.partner.key, { currency: 'EUR' })).body.currency).toBe('EUR');
  });

  it('when suspended or ended stops new exchanges and leaves issued vouchers valid; only the side that suspended resumes', async () => {
    const offer = await offerWithCodes(world, codeList('SUSP-', 5));
    const agreement = (await api('POST', '/agreements', world.partner.key, proposal([offer.id]))).body;
    await api('POST', `/agreements/${agreement.id}/accept`, world.issuer.key);
    const reward = await createReward(world, { agreementId: agreement.id, offerId: offer.id });
    const [customerId] = await customersWithStickers(world, 1, 100);
    const issued = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(issued.status).toBe(200);

    const suspended = await api('POST', `/agreements/${agreement.id}/status`, world.partner.key, { status: 'suspended', reason: 'Stock count' });
    expect(suspended.body).toMatchObject({ status: 'suspended', inForce: false, lastStatusChange: { side: 'partner', actor: world.partner.keyId, reason: 'Stock count' } });
    const refused = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'AGREEMENT_INACTIVE', details: { agreementId: agreement.id, reason: 'suspended' } });
    const voucher = await api('GET', `/vouchers/${issued.body.id}`, world.issuer.key);
    expect(voucher.body).toMatchObject({ status: 'issued', code: issued.body.code, token: issued.body.token });

    const byIssuer = await api('POST', `/agreements/${agreement.id}/status`, world.issuer.key, { status: 'active' });
    expect(byIssuer.status).toBe(403);
    expect(byIssuer.body).toMatchObject({ code: 'AGREEMENT_ACTION_FORBIDDEN', details: { suspendedBy: 'partner' } });
    expect((await api('POST', `/agreements/${agreement.id}/status`, world.partner.key, { status: 'active' })).body.status).toBe('active');
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);

    const ended = await api('POST', `/agreements/${agreement.id}/status`, world.issuer.key, { status: 'ended', reason: 'Season over' });
    expect(ended.body.status).toBe('ended');
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).body).toMatchObject({ code: 'AGREEMENT_INACTIVE', details: { reason: 'ended' } });
    expect((await api('POST', `/agreements/${agreement.id}/status`, world.issuer.key, { status: 'active' })).body.code).toBe('AGREEMENT_STATUS_TRANSITION');
    expect((await api('GET', `/vouchers/${issued.body.id}`, world.issuer.key)).body.status).toBe('issued');
    expect(await outboxTypes(world.partnerDb(), agreement.id)).toEqual(['agreement.proposed', 'agreement.accepted', 'agreement.suspended', 'agreement.resumed', 'agreement.ended']);
  });

  it('is set up by the operator in force at once, and only the operator resumes what it suspended', async () => {
    const offer = await offerWithCodes(world, codeList('OPER-', 3));
    const created = await api('POST', '/operator/agreements', operator, { name: 'Onboarding deal', issuer: world.issuer.tenant.slug, partner: world.partner.tenant.slug, offerIds: [offer.id], model: { type: 'partner_pays_percent_of_order', percent: 2.5 }, currency: 'RUB', timezone: 'UTC' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ status: 'active', inForce: true, timezone: 'UTC', model: { type: 'partner_pays_percent_of_order', percent: 2.5 }, proposed: { side: 'operator' }, accepted: { side: 'operator' } });
    expect((await api('POST', '/operator/agreements', world.issuer.key, {})).body.code).toBe('FORBIDDEN');

    await api('POST', `/operator/agreements/${created.body.id}/status`, operator, { status: 'suspended', reason: 'Compliance review' });
    expect((await api('POST', `/agreements/${created.body.id}/status`, world.partner.key, { status: 'active' })).body.code).toBe('AGREEMENT_ACTION_FORBIDDEN');
    expect((await api('POST', `/operator/agreements/${created.body.id}/status`, operator, { status: 'active' })).body.status).toBe('active');
    const listed = await api('GET', `/operator/agreements?tenant=${world.partner.tenant.slug}`, operator);
    expect(listed.body.agreements.map((agreement: { id: string }) => agreement.id)).toContain(created.body.id);
  });

  it('allows exchanges only inside its validity period', async () => {
    const offer = await offerWithCodes(world, codeList('WIN-', 3));
    const starts = new Date(world.clock.now().getTime() + 2 * 86_400_000).toISOString();
    const ends = new Date(world.clock.now().getTime() + 5 * 86_400_000).toISOString();
    const agreement = (await api('POST', '/agreements', world.partner.key, proposal([offer.id], { validFrom: starts, validUntil: ends }))).body;
    await api('POST', `/agreements/${agreement.id}/accept`, world.issuer.key);
    const reward = await createReward(world, { agreementId: agreement.id, offerId: offer.id });
    const [customerId] = await customersWithStickers(world, 1, 100);
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).body.details).toMatchObject({ reason: 'not_yet_valid' });
    world.clock.advanceDays(3);
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    world.clock.advanceDays(3);
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).body.details).toMatchObject({ reason: 'expired' });
  });

  it("shows an issuer a partner's offers only once the partner has named or accepted them", async () => {
    const offer = await offerWithCodes(world, []);
    const closed = await offerWithCodes(world, []);
    await api('POST', `/offers/${closed.id}/status`, world.partner.key, { status: 'closed' });
    const asIssuer = (offerIds: string[]) => api('POST', '/agreements', world.issuer.key, { ...proposal(offerIds), issuer: undefined, partner: world.partner.tenant.slug });

    // A closed offer and a missing one look the same to an issuer guessing ids.
    const guessed = await asIssuer([closed.id]);
    expect(guessed.body).toMatchObject({ code: 'OFFER_NOT_FOUND', details: { offerIds: [closed.id] } });
    expect((await asIssuer(['off_AAAAAAAAAAAA'])).body.code).toBe('OFFER_NOT_FOUND');

    const proposed = await asIssuer([offer.id]);
    expect((await api('GET', `/agreements/${proposed.body.id}`, world.issuer.key)).body.offers).toEqual([]);
    expect((await api('GET', `/agreements/${proposed.body.id}`, world.partner.key)).body.offers.map((entry: { id: string }) => entry.id)).toEqual([offer.id]);

    // Accepting checks the offers again: one closed meanwhile cannot be agreed to.
    await api('POST', `/offers/${offer.id}/status`, world.partner.key, { status: 'paused' });
    expect((await api('POST', `/agreements/${proposed.body.id}/accept`, world.partner.key)).body.status).toBe('active');
    expect((await api('GET', `/agreements/${proposed.body.id}`, world.issuer.key)).body.offers).toEqual([expect.objectContaining({ id: offer.id, status: 'paused' })]);
    const later = await asIssuer([offer.id]);
    await api('POST', `/offers/${offer.id}/status`, world.partner.key, { status: 'closed' });
    expect((await api('POST', `/agreements/${later.body.id}/accept`, world.partner.key)).body).toMatchObject({ code: 'OFFER_CLOSED', details: { offerIds: [offer.id] } });
  });
});
