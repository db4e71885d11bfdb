import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../server/src/tenants/create-tenant.ts';
import { createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { keyFor, uniqueSlug } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createOffer } from './support/partner.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';
import { startReceiver, startWebhookWorkers, type ReceivedWebhook, type Receiver } from './support/webhooks.ts';

let system: TestSystem;
let browser: Browser;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;
let grocer: { slug: string; key: string };
let shop: { slug: string; key: string };
let admin: { id: string; email: string; password: string };
let adminPage: Page;
const proposals: string[] = [];
/** The signing secret shown when the admin added the endpoint, and the one a rotation made. */
let firstSecret: string;
let rotatedSecret: string;
/** A marketer of the grocer whose roles the admin changes. */
let milo: { id: string; email: string };

async function tenant(displayName: string, prefix: string, roles: ('issuer' | 'partner')[]) {
  const created = await createTenant(system.services.db, { slug: uniqueSlug(prefix), displayName, roles, timezone: 'Europe/Moscow', currency: 'RUB' }, 'test');
  return { slug: created.slug, key: (await keyFor(system.services, created.slug, ['admin'])).secret };
}

beforeAll(async () => {
  system = await startTestSystem({ WEBHOOK_ALLOW_LOOPBACK: 'true' });
  [browser, receiver, delivery] = await Promise.all([launchBrowser(), startReceiver(), startWebhookWorkers(system.services)]);
  [grocer, shop] = await Promise.all([tenant('Green Grocer', 'grocer', ['issuer']), tenant('Kitchen Shop', 'kitchen', ['partner'])]);
  [admin, milo] = await Promise.all([
    createPortalUser(system.services, { tenantSlug: grocer.slug, email: `ana-${uniqueSlug('a')}@grocer.example`, roles: ['admin'], displayName: 'Ana Admin' }),
    createPortalUser(system.services, { tenantSlug: grocer.slug, email: `milo-${uniqueSlug('m')}@grocer.example`, roles: ['marketer'], displayName: 'Milo Stone' }),
  ]);
  // The shop proposes two agreements to the grocer: the admin answers one in the portal.
  const offer = await createOffer(system.baseUrl, shop.key, { title: '500 RUB off kitchenware' });
  for (const [name, model] of [
    ['Autumn kitchenware', { type: 'issuer_pays_per_redeemed', amountMinor: 5_000 }],
    ['New customers for Kitchen Shop', { type: 'partner_pays_percent_of_order', percent: 2.5 }],
  ] as const) {
    const res = await request(system.baseUrl, 'POST', '/api/v1/agreements', { key: shop.key, body: { issuer: grocer.slug, name, offerIds: [offer.id], model, currency: 'RUB', monthlyCap: 1_000 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    proposals.push(res.body.id);
  }
  const context = await newContext(browser, system.baseUrl);
  adminPage = await context.newPage();
  await signIn(adminPage, admin);
}, 90_000);

afterAll(async () => {
  await delivery?.stop();
  await receiver?.close();
  await browser?.close();
  await system?.stop();
});

const dialog = (page: Page) => page.getByRole('dialog');

/** A screenshot without the passing toasts of earlier steps (they are hidden for the shot only). */
async function shot(page: Page, name: string) {
  await page.evaluate(`document.querySelector('.toasts').style.visibility = 'hidden'`);
  await screenshot(page, name);
  await page.evaluate(`document.querySelector('.toasts').style.visibility = ''`);
}
const me = (key: string) => fetch(`${system.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });

/** The first webhook the receiver got (after the first `from`) that matches. */
async function receivedAfter(from: number, match: (hook: ReceivedWebhook) => boolean): Promise<ReceivedWebhook> {
  await expect.poll(() => receiver.received.slice(from).some(match), { timeout: 15_000, message: 'webhook at the receiver' }).toBe(true);
  return receiver.received.slice(from).find(match)!;
}
const withId = (id: string) => (hook: ReceivedWebhook) => hook.headers['webhook-id'] === id;
const delivery$ = (id: string) => request(system.baseUrl, 'GET', `/api/v1/webhooks/deliveries/${id}`, { key: grocer.key });

describe('tenant admin pages', () => {
  it('invites a finance user with a link shown once; the admin disables them and their session ends', async () => {
    const page = adminPage;
    const email = `fin-${uniqueSlug('f')}@grocer.example`;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'Invite user' }).click();
    await dialog(page).getByLabel('Email').fill(email);
    await dialog(page).getByRole('checkbox', { name: /^Finance/ }).check();
    await dialog(page).getByRole('button', { name: 'Create invitation' }).click();
    const link = (await dialog(page).getByTestId('secret-value').textContent())!;
    expect(link).toMatch(new RegExp(`^${system.baseUrl}/portal/invite/[A-Za-z0-9_-]{43}$`));
    await dialog(page).getByRole('button', { name: 'Done' }).click();
    // Shown once: gone from the page once the dialog is closed.
    await expect.poll(() => page.getByText(link).count()).toBe(0);
    await expect.poll(() => page.getByRole('table', { name: 'Invitations' }).textContent()).toContain(email);

    // The invitee opens the link in their own browser, sets a password, and sees only finance pages.
    const theirs = await newContext(browser, system.baseUrl);
    const invitee = await theirs.newPage();
    await invitee.goto(link);
    await invitee.getByLabel('Your name').fill('Fiona Finance');
    await invitee.getByLabel('Password', { exact: true }).fill('a long enough finance passphrase');
    await invitee.getByLabel('Repeat the password').fill('a long enough finance passphrase');
    await invitee.getByRole('button', { name: 'Create account and sign in' }).click();
    const nav = invitee.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link').allTextContents()).toEqual(['Dashboard', 'Agreements', 'Settlement']);

    // The admin sees the new user and disables them.
    await page.reload();
    const users = page.getByRole('table', { name: 'Users' });
    await expect.poll(() => users.textContent()).toContain('Fiona Finance');
    // Forgotten passwords: a one-time reset link, shown once.
    await page.getByRole('button', { name: `Reset the password of ${email}` }).click();
    await dialog(page).getByRole('button', { name: 'Make reset link' }).click();
    expect(await dialog(page).getByTestId('secret-value').textContent()).toMatch(new RegExp(`^${system.baseUrl}/portal/invite/[A-Za-z0-9_-]{43}$`));
    await dialog(page).getByRole('button', { name: 'Done' }).click();

    await page.getByRole('button', { name: `Disable ${email}` }).click();
    await dialog(page).getByRole('button', { name: 'Disable user' }).click();
    await expect.poll(() => users.getByRole('row', { name: new RegExp(email) }).textContent()).toContain('Disabled');
    await shot(page, 'admin-users');

    // The invitee's next navigation finds the session revoked: back to sign-in.
    await nav.getByRole('link', { name: 'Agreements' }).click();
    await expect.poll(() => new URL(invitee.url()).pathname).toBe('/portal/sign-in');
    await invitee.getByRole('button', { name: 'Sign in' }).waitFor();
    await theirs.close();
  });

  it('creates an API key shown once that works against the API, then revokes it', async () => {
    const page = adminPage;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    await dialog(page).getByLabel('Name').fill('Till system, store 12');
    await dialog(page).getByRole('checkbox', { name: /^customers:read/ }).check();
    await dialog(page).getByRole('checkbox', { name: /^pos:write/ }).check();
    await dialog(page).getByRole('button', { name: 'Create key' }).click();
    const secret = (await dialog(page).getByTestId('secret-value').textContent())!;
    expect(secret).toMatch(/^cx_live_/);
    await shot(page, 'admin-api-keys');

    const before = await me(secret);
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({ kind: 'tenant', tenant: { slug: grocer.slug }, scopes: ['customers:read', 'pos:write'] });

    await dialog(page).getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByText(secret).count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke Till system, store 12' }).click();
    await dialog(page).getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => page.getByRole('row', { name: /Till system, store 12/ }).textContent()).toContain('Revoked');
    expect((await me(secret)).status).toBe(401);
  });

  it('adds a webhook endpoint, sends a test event and sees it delivered in the log with its attempt', async () => {
    const page = adminPage;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: 'Add endpoint' }).first().click();
    await dialog(page).getByLabel('URL').fill(receiver.url);
    await dialog(page).getByLabel('Description').fill('Order system');
    await dialog(page).getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await dialog(page).getByTestId('secret-value').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    firstSecret = secret;
    await dialog(page).getByRole('button', { name: 'Done' }).click();

    await page.getByRole('button', { name: `Send test event to ${receiver.url}` }).click();
    const [hook] = await receiver.waitFor(1);
    expect(hook!.json).toMatchObject({ type: 'webhook.test', tenant: grocer.slug });

    await page.getByRole('tab', { name: 'Delivery log' }).click();
    const row = page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('row', { name: /webhook\.test/ });
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Succeeded');
    expect(await row.textContent()).toContain('HTTP 200');
    await shot(page, 'admin-webhooks-deliveries');
    await row.click();
    const attempts = dialog(page).getByRole('table', { name: 'Attempts' });
    await expect.poll(() => attempts.textContent()).toContain('HTTP 200');
    expect(await attempts.getByRole('row').count()).toBe(2);
    await shot(page, 'admin-webhooks-delivery');
    await dialog(page).getByRole('button', { name: 'Close', exact: true }).last().click();
  });

  it('rotates the signing secret, shown once; the next test event verifies with the new secret', async () => {
    const page = adminPage;
    await page.getByRole('tab', { name: 'Endpoints' }).click();
    await page.getByRole('button', { name: `Rotate the secret of ${receiver.url}` }).click();
    await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate secret' }).click();
    const reveal = page.getByRole('dialog', { name: 'New signing secret' });
    rotatedSecret = (await reveal.getByTestId('secret-value').textContent())!;
    expect(rotatedSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotatedSecret).not.toBe(firstSecret);
    expect(await reveal.textContent()).toContain('deliveries carry signatures by both the old and the new secret');
    await reveal.getByRole('button', { name: 'Done' }).click();
    // Shown once: gone with the dialog; the endpoint says the old secret still signs for a while.
    await expect.poll(() => page.getByText(rotatedSecret).count()).toBe(0);
    const endpoints = page.getByRole('table', { name: 'Webhook endpoints' });
    await expect.poll(() => endpoints.getByRole('row', { name: new RegExp(receiver.url) }).textContent()).toContain('old secret signs until');
    const listed = await request(system.baseUrl, 'GET', '/api/v1/webhooks/endpoints', { key: grocer.key });
    const endpoint = listed.body.endpoints.find((candidate: any) => candidate.url === receiver.url);
    expect(endpoint.secretRotation?.previousValidUntil).toBeTruthy();
    expect(JSON.stringify(listed.body)).not.toContain(rotatedSecret.slice(6));

    const from = receiver.received.length;
    await page.getByRole('button', { name: `Send test event to ${receiver.url}` }).click();
    const hook = await receivedAfter(from, (candidate) => candidate.json?.type === 'webhook.test');
    // The receiver switched to the new secret: the delivery verifies with it (and, during the overlap, with the old one).
    expect(new Webhook(rotatedSecret).verify(hook.body, hook.headers)).toMatchObject({ type: 'webhook.test', tenant: grocer.slug, data: { endpointId: endpoint.id } });
    expect(() => new Webhook(firstSecret).verify(hook.body, hook.headers)).not.toThrow();
    expect(hook.headers['webhook-signature']!.split(' ')).toHaveLength(2);
  });

  it('replays a delivery from its details: a second attempt, same webhook-id, at the receiver and in the log', async () => {
    const page = adminPage;
    const tested = receiver.received.filter((hook) => hook.json?.type === 'webhook.test').at(-1)!;
    const id = tested.headers['webhook-id']!;
    await page.getByRole('tab', { name: 'Delivery log' }).click();
    const row = page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('row', { name: new RegExp(id) });
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Succeeded');
    await row.click();
    const details = page.getByRole('dialog', { name: 'Delivery' });
    const attempts = details.getByRole('table', { name: 'Attempts' });
    await expect.poll(() => attempts.getByRole('row').count()).toBe(2);

    const from = receiver.received.length;
    await details.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Delivery queued again, with the same webhook-id' }).waitFor();
    const again = await receivedAfter(from, withId(id));
    expect(again.body).toBe(tested.body);
    expect(new Webhook(rotatedSecret).verify(again.body, again.headers)).toMatchObject({ id, type: 'webhook.test' });
    // Header row + two attempts, both answered 200.
    await expect.poll(() => attempts.getByRole('row').count(), { timeout: 15_000 }).toBe(3);
    expect((await attempts.getByRole('row').allTextContents()).slice(1).every((text) => text.includes('HTTP 200'))).toBe(true);
    await details.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/Succeeded\s*2/);

    const stored = await delivery$(id);
    expect(stored.body).toMatchObject({ id, status: 'succeeded', attempts: 2, lastStatusCode: 200 });
    expect(stored.body.attemptLog.map((attempt: any) => [attempt.attempt, attempt.statusCode])).toEqual([
      [1, 200],
      [2, 200],
    ]);
  });

  it('a 410 Gone fails a delivery and turns the endpoint off; enabled again, "Replay failed…" delivers it', async () => {
    const page = adminPage;
    const from = receiver.received.length;
    receiver.answer(() => ({ status: 410, body: 'gone' }));
    let id: string;
    try {
      await page.getByRole('tab', { name: 'Endpoints' }).click();
      await page.getByRole('button', { name: `Send test event to ${receiver.url}` }).click();
      id = (await receivedAfter(from, (hook) => hook.json?.type === 'webhook.test')).headers['webhook-id']!;
      await page.getByRole('tab', { name: 'Delivery log' }).click();
      const row = page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('row', { name: new RegExp(id) });
      await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Failed');
      expect(await row.textContent()).toContain('HTTP 410');
      // The only failed delivery (an endpoint is not sent the notice of its own turning off).
      const failed = await request(system.baseUrl, 'GET', '/api/v1/webhooks/deliveries?status=failed', { key: grocer.key });
      expect(failed.body.deliveries.map((candidate: any) => candidate.id)).toEqual([id]);
    } finally {
      receiver.answer(() => ({ status: 200, body: 'ok' }));
    }

    // The endpoint list shows why it is off; the admin enables it.
    await page.reload();
    const endpointRow = page.getByRole('table', { name: 'Webhook endpoints' }).getByRole('row', { name: new RegExp(receiver.url) });
    await expect.poll(() => endpointRow.textContent()).toContain('the receiver answered 410 Gone');
    await page.getByRole('button', { name: `Enable ${receiver.url}` }).click();
    await expect.poll(() => endpointRow.textContent()).toContain('Enabled');

    await page.getByRole('tab', { name: 'Delivery log' }).click();
    await page.getByRole('button', { name: 'Replay failed…' }).click();
    const replay = page.getByRole('dialog', { name: 'Replay failed deliveries' });
    await replay.getByLabel('Endpoint').selectOption({ label: 'Order system' });
    await replay.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('status').filter({ hasText: '1 failed delivery queued again' }).waitFor();
    await expect.poll(() => replay.count()).toBe(0);

    const again = await receivedAfter(from, withId(id!));
    expect(new Webhook(rotatedSecret).verify(again.body, again.headers)).toMatchObject({ id: id!, type: 'webhook.test' });
    const row = page.getByRole('table', { name: 'Webhook deliveries' }).getByRole('row', { name: new RegExp(id!) });
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Succeeded');
    expect(await row.textContent()).toContain('HTTP 200');
    const stored = await delivery$(id!);
    expect(stored.body).toMatchObject({ status: 'succeeded', attempts: 2, failedAt: null });
    expect(stored.body.attemptLog.map((attempt: any) => attempt.statusCode)).toEqual([410, 200]);
  });

  it('shows proposals in plain words and accepts one', async () => {
    const page = adminPage;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agreements' }).click();
    const table = page.getByRole('table', { name: 'Agreements' });
    await expect.poll(() => table.textContent()).toContain('Green Grocer pays Kitchen Shop');
    expect(await table.textContent()).toContain('Kitchen Shop pays Green Grocer 2.5% of the order value per code redeemed');
    expect(await table.getByText('Awaiting you').count()).toBe(2);

    await table.getByText('Autumn kitchenware').click();
    await dialog(page).getByRole('button', { name: 'Accept…' }).click();
    await dialog(page).getByRole('button', { name: 'Accept', exact: true }).click();
    const row = table.getByRole('row', { name: /Autumn kitchenware/ });
    await expect.poll(() => row.textContent()).toContain('In force');
    await page.keyboard.press('Escape');
    const stored = await request(system.baseUrl, 'GET', `/api/v1/agreements/${proposals[0]}`, { key: grocer.key });
    expect(stored.body).toMatchObject({ status: 'active', inForce: true });
    await shot(page, 'admin-agreements');

    // The proposal form says the terms back in plain words.
    await page.getByRole('button', { name: 'Propose agreement' }).click();
    await dialog(page).getByLabel('Partner (tenant id)').fill(shop.slug);
    await dialog(page).getByLabel('Amount per code (RUB)').fill('75.50');
    // formatMoney separates the currency with a no-break space.
    await expect.poll(async () => (await dialog(page).textContent())?.replace(/\s/g, ' ')).toContain(`${grocer.slug} pays ${shop.slug} RUB 75.50 per code redeemed`);
    await shot(page, 'admin-agreements-propose');
    await page.keyboard.press('Escape');
  });

  it('suspends the agreement in force after confirming, then resumes it', async () => {
    const page = adminPage;
    const table = page.getByRole('table', { name: 'Agreements' });
    const row = table.getByRole('row', { name: /Autumn kitchenware/ });
    await table.getByText('Autumn kitchenware').click();
    const details = page.getByRole('dialog', { name: 'Autumn kitchenware' });
    await details.getByRole('button', { name: 'Suspend…' }).click();
    expect(await details.textContent()).toContain('Suspend this agreement?');
    await details.getByLabel('Reason (optional)').fill('Stock count in October');
    await details.getByRole('button', { name: 'Suspend', exact: true }).click();
    await expect.poll(() => row.textContent()).toContain('Suspended');
    expect(await row.textContent()).not.toContain('In force');
    await expect.poll(() => details.textContent()).toContain('Suspended by the issuer: “Stock count in October”');
    await page.getByRole('status').filter({ hasText: 'Agreement suspended' }).waitFor();
    // Both sides see it suspended.
    for (const key of [grocer.key, shop.key]) {
      const stored = await request(system.baseUrl, 'GET', `/api/v1/agreements/${proposals[0]}`, { key });
      expect(stored.body).toMatchObject({ status: 'suspended', inForce: false, lastStatusChange: { status: 'suspended', side: 'issuer', reason: 'Stock count in October' } });
    }

    // The side that suspended it resumes it.
    await details.getByRole('button', { name: 'Resume…' }).click();
    await details.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(() => row.textContent()).toContain('In force');
    expect(await row.textContent()).not.toContain('Suspended');
    await page.getByRole('status').filter({ hasText: 'Agreement resumed' }).waitFor();
    const stored = await request(system.baseUrl, 'GET', `/api/v1/agreements/${proposals[0]}`, { key: grocer.key });
    expect(stored.body).toMatchObject({ status: 'active', inForce: true, lastStatusChange: { status: 'active', side: 'issuer' } });
    await page.keyboard.press('Escape');
    await expect.poll(() => details.count()).toBe(0);
  });

  it("changes a user's roles, and makes them a password reset link shown once", async () => {
    const page = adminPage;
    const { email } = milo;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    const row = page.getByRole('table', { name: 'Users' }).getByRole('row', { name: new RegExp(email) });
    await expect.poll(() => row.textContent()).toContain('Marketer');

    await page.getByRole('button', { name: `Change roles of ${email}` }).click();
    const roles = page.getByRole('dialog', { name: 'Roles of Milo Stone' });
    expect(await roles.getByRole('checkbox', { name: /^Marketer/ }).isChecked()).toBe(true);
    await roles.getByRole('checkbox', { name: /^Pool manager/ }).check();
    await roles.getByRole('checkbox', { name: /^Marketer/ }).uncheck();
    await roles.getByRole('button', { name: 'Save roles' }).click();
    await page.getByRole('status').filter({ hasText: `Roles of ${email} changed` }).waitFor();
    await expect.poll(() => roles.count()).toBe(0);
    await expect.poll(() => row.textContent()).toContain('Pool manager');
    expect(await row.textContent()).not.toContain('Marketer');
    const users = await request(system.baseUrl, 'GET', '/api/v1/users', { key: grocer.key });
    expect(users.status).toBe(200);
    expect(users.body.users.find((user: any) => user.id === milo.id)).toMatchObject({ email, roles: ['pool_manager'], status: 'active' });

    await page.getByRole('button', { name: `Reset the password of ${email}` }).click();
    await page.getByRole('dialog', { name: `Reset the password of ${email}?` }).getByRole('button', { name: 'Make reset link' }).click();
    const reveal = page.getByRole('dialog', { name: 'Password reset link' });
    const link = (await reveal.getByTestId('secret-value').textContent())!;
    expect(link).toMatch(new RegExp(`^${system.baseUrl}/portal/invite/[A-Za-z0-9_-]{43}$`));
    expect(await reveal.textContent()).toContain(email);
    const invitation = await request(system.baseUrl, 'GET', `/auth/invitations/${link.split('/').at(-1)}`);
    expect(invitation.status).toBe(200);
    expect(invitation.body).toMatchObject({ purpose: 'reset', email, roles: ['pool_manager'] });
    await reveal.getByRole('button', { name: 'Done' }).click();
    // Shown once: gone with the dialog, nowhere on the page.
    await expect.poll(() => page.getByText(link).count()).toBe(0);
    expect(await page.locator('main#main').textContent()).not.toContain(link.split('/').at(-1));
  });

  it("lists these actions in the audit log with the admin's email", async () => {
    const page = adminPage;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    const table = page.getByRole('table', { name: 'Audit log' });
    await table.waitFor();
    for (const action of [
      'Invited user',
      'Disabled user',
      'Created API key',
      'Revoked API key',
      'Created webhook endpoint',
      'Sent webhook test event',
      'Rotated webhook secret',
      'Replayed webhook delivery',
      'Enabled webhook endpoint',
      'Replayed failed webhook deliveries',
      'Agreement accepted',
      'Agreement suspended',
      'Agreement resumed',
      'Changed user',
      'Made a password reset link',
    ]) {
      const row = table.getByRole('row', { name: new RegExp(action) }).first();
      await expect.poll(() => row.textContent(), { message: action }).toContain(admin.email);
    }
    await table.getByRole('row', { name: /Created API key/ }).first().getByText('Details').click();
    await shot(page, 'admin-audit-log');

    // The same portal at a tablet's width.
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('table', { name: 'Users' }).waitFor();
    await shot(page, 'admin-users-tablet');
  });
});

describe('operator pages', () => {
  it('creates a tenant and gets its first admin invitation link', async () => {
    const operator = await createPortalUser(system.services, { tenantSlug: null, email: `op-${uniqueSlug('o')}@coalition.example`, roles: ['operator'] });
    const context = await newContext(browser, system.baseUrl);
    const page = await context.newPage();
    await signIn(page, operator);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' }).click();
    await page.getByRole('button', { name: 'Create tenant' }).first().click();
    const slug = uniqueSlug('bakery');
    await dialog(page).getByLabel('Display name').fill('Corner Bakery');
    await dialog(page).getByLabel('Tenant id (slug)').fill(slug);
    await dialog(page).getByRole('checkbox', { name: /^Issuer/ }).check();
    await dialog(page).getByLabel('Currency').fill('EUR');
    await dialog(page).getByLabel('Time zone').fill('Europe/Berlin');
    await dialog(page).getByRole('button', { name: 'Create tenant' }).click();

    await dialog(page).getByLabel("Admin's email").fill(`owner@${slug}.example`);
    await dialog(page).getByRole('button', { name: 'Create invitation' }).click();
    const link = (await dialog(page).getByTestId('secret-value').textContent())!;
    expect(link).toMatch(new RegExp(`^${system.baseUrl}/portal/invite/[A-Za-z0-9_-]{43}$`));
    const invitation = await request(system.baseUrl, 'GET', `/auth/invitations/${link.split('/').at(-1)}`);
    expect(invitation.body).toMatchObject({ email: `owner@${slug}.example`, roles: ['admin'], tenant: 'Corner Bakery' });
    await dialog(page).getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Tenants' }).textContent()).toContain('Corner Bakery');
    await shot(page, 'operator-tenants');

    // The coalition's agreements and netting open for the operator.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agreements' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Agreements' }).textContent()).toContain('Green Grocer (issuer) · Kitchen Shop (partner)');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Netting' }).click();
    await page.getByText(/Nothing to settle for/).waitFor();
    await shot(page, 'operator-netting');

    // The operators' own trail: the tenant made here, by this operator.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Audit log' }).textContent()).toContain('Portal: Operator tenants create');
    await context.close();
  });
});
