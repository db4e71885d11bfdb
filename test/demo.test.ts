import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOperatorKeys } from '../server/src/auth/list-api-keys.ts';
import type { WorkerHost } from '../server/src/jobs/worker-host.ts';
import { verifyWebhookSignature, type ReceivedWebhook } from '../server/src/demo/receiver.ts';
import { clientUrl } from '../server/src/demo/command.ts';
import { formatDemoReport } from '../server/src/demo/report.ts';
import { periodOf, runDemo, type DemoResult, type DemoStep } from '../server/src/demo/scenario.ts';
import { runCli } from './support/cli.ts';
import { operatorKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { startImportWorkers } from './support/partner.ts';
import { startCoalition } from './support/process.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';
import { startWebhookWorkers, waitUntil } from './support/webhooks.ts';

// The demo (`coalition demo`, `coalition start --demo`) as a test: the same scenario, on
// a real server with the import and webhook workers running, each step's outcome
// checked through the API, as the demo itself only ever uses the API.

let system: TestSystem;
let importWorkers: WorkerHost;
let webhookWorkers: Awaited<ReturnType<typeof startWebhookWorkers>>;
let opKey: string;

beforeAll(async () => {
  system = await startTestSystem({ WEBHOOK_ALLOW_LOOPBACK: 'true' });
  importWorkers = await startImportWorkers(system.services);
  webhookWorkers = await startWebhookWorkers(system.services);
  opKey = await operatorKey(system.services);
});
afterAll(async () => {
  await webhookWorkers?.stop();
  await importWorkers?.close();
  await system?.stop();
});

const keyOf = (tenant: DemoResult['issuer'], scope: string) => tenant.keys.find((key) => key.scopes.includes(scope))!.secret;

describe('the demo scenario', () => {
  let result: DemoResult;
  const webhooks: ReceivedWebhook[] = [];
  const steps: DemoStep[] = [];

  beforeAll(async () => {
    result = await runDemo({ baseUrl: system.baseUrl, operatorKey: opKey, onWebhook: (w) => webhooks.push(w), onStep: (s) => steps.push(s) });
  }, 90_000);

  it('creates the issuer and the partner, with working keys of the narrowest scopes', async () => {
    expect(result.ok).toBe(true);
    expect(result.run).toBe(1);
    expect(result.issuer).toMatchObject({ slug: 'demo-grocer', displayName: 'Demo Grocer', roles: ['issuer'] });
    expect(result.partner).toMatchObject({ slug: 'demo-volt', displayName: 'Demo Volt Electronics', roles: ['partner'] });
    const tenant = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants/demo-grocer', { key: opKey });
    expect(tenant.body).toMatchObject({ status: 'active', timezone: 'Europe/Moscow', currency: 'RUB' });
    for (const [side, slug] of [
      [result.issuer, 'demo-grocer'],
      [result.partner, 'demo-volt'],
    ] as const) {
      for (const key of side.keys) {
        const me = await request(system.baseUrl, 'GET', '/api/v1/me', { key: key.secret });
        expect(me.body, key.name).toMatchObject({ kind: 'tenant', tenant: { slug } });
        expect([...me.body.scopes].sort()).toEqual([...key.scopes].sort());
      }
    }
    expect(result.issuer.keys.map((k) => k.scopes)).toEqual([['admin'], ['pos:write'], ['customers:read', 'exchange:write']]);
    expect(result.partner.keys.map((k) => k.scopes)).toEqual([['admin'], ['codes:redeem']]);
  });

  it('sets up the campaign (no hold), the offer with its uploaded pool, the agreement and the reward', async () => {
    const issuerAdmin = keyOf(result.issuer, 'admin');
    const partnerAdmin = keyOf(result.partner, 'admin');
    const campaign = await request(system.baseUrl, 'GET', `/api/v1/campaigns/${result.campaign.id}`, { key: issuerAdmin });
    expect(campaign.body).toMatchObject({ status: 'running', ruleVersions: [{ rules: { perAmountMinor: 50_000, stickersPerStep: 1, holdDays: 0 } }] });

    expect(result.pool).toMatchObject({ status: 'ready', accepted: 25, rejected: 0 });
    const batch = await request(system.baseUrl, 'GET', `/api/v1/code-batches/${result.pool.batchId}`, { key: partnerAdmin });
    expect(batch.body).toMatchObject({ offerId: result.offer.id, kind: 'upload', status: 'ready', source: { filename: 'demo-codes.csv' } });
    const offer = await request(system.baseUrl, 'GET', `/api/v1/offers/${result.offer.id}`, { key: partnerAdmin });
    expect(offer.body).toMatchObject({ title: '500 RUB off orders over 3,000 RUB', value: { type: 'fixed', amountMinor: 50_000 }, minOrderMinor: 300_000, status: 'active' });

    const agreement = await request(system.baseUrl, 'GET', `/api/v1/agreements/${result.agreement.id}`, { key: issuerAdmin });
    expect(agreement.body).toMatchObject({
      status: 'active',
      inForce: true,
      proposed: { side: 'partner' },
      accepted: { side: 'issuer' },
      offerIds: [result.offer.id],
      model: { type: 'partner_pays_per_redeemed', amountMinor: 5_000 },
    });
    const reward = await request(system.baseUrl, 'GET', `/api/v1/rewards/${result.reward.id}`, { key: issuerAdmin });
    expect(reward.body).toMatchObject({ agreementId: result.agreement.id, offerId: result.offer.id, campaignId: result.campaign.id, stickerCost: 10, status: 'active' });
  });

  it('credits the customers’ purchases at once, and one of them exchanges stickers for a signed voucher', async () => {
    expect(result.customers.map((c) => [c.receipts, c.stickersCredited, c.available])).toEqual([
      [2, 11, 11],
      [1, 3, 3],
      [2, 9, 9],
    ]);
    expect(result.voucher).toMatchObject({ customerId: result.customers[0]!.id, stickersSpent: 10, stickersLeft: 1, signature: { verified: true, algorithm: 'EdDSA' } });
    expect(result.voucher.signature.kid).toMatch(/^sk_/);
    const balance = await request(system.baseUrl, 'GET', `/api/v1/customers/${result.customers[0]!.id}/balance`, { key: keyOf(result.issuer, 'customers:read') });
    expect(balance.body).toMatchObject({ available: 1, pending: 0 });
    const voucher = await request(system.baseUrl, 'GET', `/api/v1/vouchers/${result.voucher.id}`, { key: keyOf(result.issuer, 'customers:read') });
    expect(voucher.body).toMatchObject({ status: 'redeemed', codeMask: result.voucher.codeMask });
  });

  it('validates and redeems the code at the shop', async () => {
    expect(result.validation).toEqual({ valid: true, reason: null, discountMinor: 50_000 });
    const redemption = await request(system.baseUrl, 'GET', `/api/v1/redemptions/${result.redemption.id}`, { key: keyOf(result.partner, 'codes:redeem') });
    expect(redemption.body).toMatchObject({
      status: 'redeemed',
      voucherId: result.voucher.id,
      issuer: 'demo-grocer',
      orderRef: result.redemption.orderRef,
      orderAmountMinor: 459_000,
      discountMinor: 50_000,
    });
  });

  it('delivers voucher.redeemed to the demo receiver, signed with the endpoint secret', async () => {
    expect(result.webhook).toMatchObject({ status: 'received', type: 'voucher.redeemed', verified: true, redemptionId: result.redemption.id, sequence: 1 });
    const webhook = result.webhook;
    if (webhook.status !== 'received') throw new Error('not received');
    const delivery = webhooks.find((w) => w.id === webhook.id)!;
    expect(delivery.event).toMatchObject({ type: 'voucher.redeemed', tenant: 'demo-grocer', data: { voucherId: result.voucher.id, partner: 'demo-volt', orderRef: result.redemption.orderRef } });
    // Verified independently, with the Standard Webhooks reference library.
    const verified = new Webhook(webhook.secret).verify(delivery.rawBody, delivery.headers) as { id: string };
    expect(verified.id).toBe(webhook.id);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(delivery.rawBody, delivery.headers)).toThrow();
    // The demo's own check refuses a tampered body.
    expect(verifyWebhookSignature(webhook.secret, delivery.headers, delivery.rawBody.replace('459000', '459001'))).toBe(false);

    // The delivery log agrees; the endpoint is disabled once the demo's receiver is gone.
    const issuerAdmin = keyOf(result.issuer, 'admin');
    const logged = await waitUntil(async () => {
      const res = await request(system.baseUrl, 'GET', `/api/v1/webhooks/deliveries/${webhook.id}`, { key: issuerAdmin });
      return res.body.status === 'succeeded' ? res.body : null;
    }, 10_000, 'the delivery to be logged as succeeded');
    expect(logged).toMatchObject({ endpointId: webhook.endpointId, eventType: 'voucher.redeemed', attempts: 1, lastStatusCode: 204 });
    const endpoint = await request(system.baseUrl, 'GET', `/api/v1/webhooks/endpoints/${webhook.endpointId}`, { key: issuerAdmin });
    expect(endpoint.body).toMatchObject({ status: 'disabled', disabled: { reason: 'manual' } });
  });

  it("builds the month's statement, a preview showing the redemption", async () => {
    expect(result.statement).toMatchObject({
      period: periodOf(new Date(), 'Europe/Moscow'),
      status: 'draft',
      preview: true,
      entryCount: 1,
      lines: [{ section: 'period', event: 'code_redeemed', currency: 'RUB', count: 1, amountMinor: 5_000 }],
      totals: [{ currency: 'RUB', netMinor: 5_000, owedBy: 'demo-volt', owedTo: 'demo-grocer', amountMinor: 5_000 }],
    });
    const partnerView = await request(system.baseUrl, 'GET', `/api/v1/settlement/statements/${result.statement.id}`, { key: keyOf(result.partner, 'admin') });
    expect(partnerView.body).toMatchObject({ yourSide: 'partner', yourNet: [{ currency: 'RUB', amountMinor: -5_000 }] });
  });

  it('prints every step and a summary with the keys, the ids, the URLs and the portal logins', () => {
    expect(steps.map((s) => s.title)).toEqual([
      'Tenants',
      'Sticker campaign',
      'Partner offer and code pool',
      'Agreement and reward',
      'Purchases at the tills',
      'Exchange',
      'Webhook endpoint',
      'Redemption at the shop',
      'Webhook delivery',
      'Settlement statement',
      'Anti-fraud',
    ]);
    const report = formatDemoReport(result);
    for (const id of [result.voucher.id, result.voucher.codeMask, result.redemption.id, result.statement.id, result.agreement.id, result.webhook.status === 'received' ? result.webhook.id : 'x']) {
      expect(report).toContain(id);
    }
    for (const key of [...result.issuer.keys, ...result.partner.keys]) expect(report).toContain(key.secret);
    expect(report).toContain('Signature (Standard Webhooks, HMAC-SHA256 with the endpoint secret): verified');
    expect(report).toContain('demo-volt owes demo-grocer 50.00 RUB');
    expect(report).toContain(`${system.baseUrl}/api/openapi.json`);
    expect(report).toContain(`${system.baseUrl}/docs/api`);
    expect(report).toContain(`${system.baseUrl}/portal`);
    for (const login of result.portal.logins) expect(report).toContain(login.email);
    expect(report).toContain(result.portal.password);
  });

  /** Signs in as the demo's user of this role with the printed password: the session and its cookie. */
  async function signInAs(role: string): Promise<{ session: unknown; cookie: string }> {
    const login = result.portal.logins.find((candidate) => candidate.roles.includes(role))!;
    const signedIn = await fetch(`${system.baseUrl}/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: login.email, password: result.portal.password }),
    });
    expect(signedIn.status).toBe(200);
    return { session: await signedIn.json(), cookie: signedIn.headers.get('set-cookie')!.split(';')[0]! };
  }

  it('gives each demo tenant portal users, one per role, who can sign in with the printed password', async () => {
    expect(result.portal.logins.map((login) => `${login.tenant}:${login.roles.join(',')}`)).toEqual([
      `${result.issuer.slug}:admin`,
      `${result.issuer.slug}:marketer`,
      `${result.issuer.slug}:finance`,
      `${result.issuer.slug}:fraud_reviewer`,
      `${result.partner.slug}:admin`,
      `${result.partner.slug}:pool_manager`,
      `${result.partner.slug}:finance`,
    ]);
    const { session, cookie } = await signInAs('pool_manager');
    expect((session as { tenant: { slug: string } }).tenant.slug).toBe(result.partner.slug);
    expect((session as { scopes: string[] }).scopes).toContain('pools:write');
    const offers = await fetch(`${system.baseUrl}/api/v1/offers`, { headers: { cookie } });
    expect(offers.status).toBe(200);
    expect(((await offers.json()) as { offers: unknown[] }).offers).toHaveLength(1);
  });

  it("holds a cashier's own card for review, and the demo fraud reviewer can see the case", async () => {
    expect(result.fraudCase).toMatchObject({ ruleId: 'cashier.own_card_shift' });
    expect(result.fraudCase!.heldStickers).toBeGreaterThan(0);
    const { cookie } = await signInAs('fraud_reviewer');
    const queue = await fetch(`${system.baseUrl}/api/v1/fraud/cases?status=open`, { headers: { cookie } });
    expect(queue.status).toBe(200);
    const cases = ((await queue.json()) as { cases: Array<{ id: string; customer: { cardNumber: string } }> }).cases;
    expect(cases).toContainEqual(expect.objectContaining({ id: result.fraudCase!.id, customer: expect.objectContaining({ cardNumber: result.fraudCase!.cardNumber }) }));
  });
});

describe('running the demo again', () => {
  it('creates the next pair of tenants and tells the same story', async () => {
    const again = await runDemo({ baseUrl: system.baseUrl, operatorKey: opKey });
    expect(again.ok).toBe(true);
    expect(again.run).toBeGreaterThan(1);
    expect(again.issuer.slug).toBe(`demo-grocer-${again.run}`);
    expect(again.partner.slug).toBe(`demo-volt-${again.run}`);
    expect(again.webhook).toMatchObject({ status: 'received', verified: true, redemptionId: again.redemption.id });
    expect(again.statement.totals).toEqual([{ currency: 'RUB', netMinor: 5_000, owedBy: again.partner.slug, owedTo: again.issuer.slug, amountMinor: 5_000 }]);
  }, 90_000);

  it('refuses a tenant key as the operator key, and says why', async () => {
    const first = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants/demo-grocer', { key: opKey });
    expect(first.status).toBe(200);
    const tenantKey = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants/demo-grocer/api-keys', { key: opKey, body: { name: 'not an operator', scopes: ['admin'] } });
    await expect(runDemo({ baseUrl: system.baseUrl, operatorKey: tenantKey.body.secret })).rejects.toThrow(/tenant key: pass an operator key/);
    await expect(runDemo({ baseUrl: system.baseUrl, operatorKey: 'cx_op_AAAAAAAAAAAAAAAA_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' })).rejects.toThrow(/operator key was refused/);
  });
});

describe('a server that refuses loopback webhook URLs (the default)', () => {
  it('runs everything else and reports the webhook step as skipped, with the variable that allows it', async () => {
    const strict = await startTestSystem();
    const workers = await startImportWorkers(strict.services);
    try {
      const result = await runDemo({ baseUrl: strict.baseUrl, operatorKey: await operatorKey(strict.services) });
      expect(result.ok).toBe(true);
      expect(result.webhook).toMatchObject({ status: 'skipped', endpointId: null });
      if (result.webhook.status === 'skipped') expect(result.webhook.reason).toContain('WEBHOOK_ALLOW_LOOPBACK=true');
      expect(result.redemption.id).toMatch(/^red_/);
      expect(result.statement.totals[0]).toMatchObject({ amountMinor: 5_000 });
      expect(formatDemoReport(result)).toMatch(/Webhook +skipped: the server refuses webhook URLs on this machine/);
    } finally {
      await workers.close();
      await strict.stop();
    }
  }, 90_000);
});

describe('the command line', () => {
  it('coalition demo --url --operator-key prints the steps and the summary', async () => {
    const cli = await runCli(['demo', '--url', system.baseUrl, '--operator-key', opKey], system.env);
    expect(cli.code, cli.stderr + cli.stdout).toBe(0);
    expect(cli.stdout).toContain(`Seeding a demo coalition on ${system.baseUrl}`);
    expect(cli.stdout).toMatch(/^1\. Tenants$/m);
    expect(cli.stdout).toMatch(/^10\. Settlement statement$/m);
    expect(cli.stdout).toContain('Demo coalition ready.');
    const redemptionId = /Redemption +(red_\w+)/.exec(cli.stdout)?.[1];
    const slug = /\((demo-volt-\d+)\), partner/.exec(cli.stdout)?.[1];
    const checkoutKey = /Demo: web shop checkout +(cx_live_\w+)/.exec(cli.stdout)?.[1];
    expect(cli.stdout).toMatch(/Webhook +voucher\.redeemed msg_\w+, signature verified/);
    const redemption = await request(system.baseUrl, 'GET', `/api/v1/redemptions/${redemptionId}`, { key: checkoutKey });
    expect(redemption.body).toMatchObject({ id: redemptionId, status: 'redeemed' });
    const me = await request(system.baseUrl, 'GET', '/api/v1/me', { key: checkoutKey });
    expect(me.body.tenant.slug).toBe(slug);
  }, 60_000);

  it('coalition demo --json without an operator key uses a temporary one from the database, and revokes it', async () => {
    const cli = await runCli(['demo', '--url', system.baseUrl, '--json'], system.env);
    expect(cli.code, cli.stderr + cli.stdout).toBe(0);
    const result = JSON.parse(cli.stdout) as DemoResult;
    expect(result).toMatchObject({ ok: true, webhook: { status: 'received', verified: true }, statement: { status: 'draft', preview: true } });
    const temporary = (await listOperatorKeys(system.services.db)).filter((key) => key.name.startsWith('coalition demo (temporary'));
    expect(temporary).toHaveLength(1);
    expect(temporary[0]!.revokedAt).not.toBeNull();
  }, 60_000);

  it('reaches a server listening on every address through loopback', () => {
    expect(clientUrl('http://0.0.0.0:3000')).toBe('http://127.0.0.1:3000');
    expect(clientUrl('http://:::3000')).toBe('http://127.0.0.1:3000');
    expect(clientUrl('http://[::1]:3000/')).toBe('http://[::1]:3000');
    expect(clientUrl('https://exchange.example.com/')).toBe('https://exchange.example.com');
  });

  it('coalition demo explains what to do when no system answers', async () => {
    const cli = await runCli(['demo', '--url', 'http://127.0.0.1:9', '--operator-key', opKey], system.env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/Coalition Exchange at http:\/\/127\.0\.0\.1:9 is not ready .*Start it with "npm start", or pass --url/);
  });

  it('coalition start --demo seeds the demo once the system is up, and keeps running', async () => {
    const started = startCoalition(['start', '--demo'], {
      ...process.env,
      ...system.env,
      QUEUE_PREFIX: `${system.env.QUEUE_PREFIX}s`,
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      LOG_LEVEL: 'warn',
    });
    await started.waitFor(/Operator key \(shown once[^)]*\): cx_op_\w+/, 60_000);
    await started.waitFor(/Demo coalition ready\./, 60_000);
    const output = started.output();
    expect(output).toContain('Seeding a demo coalition through the HTTP API (--demo)');
    expect(output).toMatch(/Webhook +voucher\.redeemed msg_\w+, signature verified/);
    const api = /API \(REST\) +(http:\/\/\S+)\/api/.exec(output)![1]!;
    expect((await request(api, 'GET', '/readyz')).status).toBe(200);
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  }, 90_000);
});
