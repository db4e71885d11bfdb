import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../server/src/tenants/create-tenant.ts';
import { createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { keyFor, uniqueSlug } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createOffer } from './support/partner.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';
import { startReceiver, startWebhookWorkers, type Receiver } from './support/webhooks.ts';

let system: TestSystem;
let browser: Browser;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;
let grocer: { slug: string; key: string };
let shop: { slug: string; key: string };
let admin: { id: string; email: string; password: string };
let adminPage: Page;
const proposals: string[] = [];

async function tenant(displayName: string, prefix: string, roles: ('issuer' | 'partner')[]) {
  const created = await createTenant(system.services.db, { slug: uniqueSlug(prefix), displayName, roles, timezone: 'Europe/Moscow', currency: 'RUB' }, 'test');
  return { slug: created.slug, key: (await keyFor(system.services, created.slug, ['admin'])).secret };
}

beforeAll(async () => {
  system = await startTestSystem({ WEBHOOK_ALLOW_LOOPBACK: 'true' });
  [browser, receiver, delivery] = await Promise.all([launchBrowser(), startReceiver(), startWebhookWorkers(system.services)]);
  [grocer, shop] = await Promise.all([tenant('Green Grocer', 'grocer', ['issuer']), tenant('Kitchen Shop', 'kitchen', ['partner'])]);
  admin = await createPortalUser(system.services, { tenantSlug: grocer.slug, email: `ana-${uniqueSlug('a')}@grocer.example`, roles: ['admin'], displayName: 'Ana Admin' });
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

  it("lists these actions in the audit log with the admin's email", async () => {
    const page = adminPage;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    const table = page.getByRole('table', { name: 'Audit log' });
    await table.waitFor();
    for (const action of ['Invited user', 'Disabled user', 'Created API key', 'Revoked API key', 'Created webhook endpoint', 'Sent webhook test event', 'Agreement accepted']) {
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
