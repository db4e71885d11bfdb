import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { coalitionDb } from '../../server/src/db/database.ts';
import type { PortalRole } from '../../server/src/db/tables.ts';
import { requireTenantRow } from '../../server/src/tenants/get-tenant.ts';
import { acceptInvitation, inviteUser } from '../../server/src/users/manage-users.ts';
import type { AppServices } from '../../server/src/system/services.ts';

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
export const DEFAULT_PASSWORD = 'correct horse battery staple';

/**
 * Debian's Chromium, headless, kept off the network: no background services, no
 * component updates, no sync (the machine's closed network refuses them anyway).
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions'],
  });
}

/** A fresh browser profile at a laptop width (1280 px) or a tablet's (820 px). */
export async function newContext(browser: Browser, baseUrl: string, width: 1280 | 820 = 1280): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width, height: width === 1280 ? 800 : 1180 }, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  return context;
}

/** A portal user made the way people are: invited, then accepting the link with a password. */
export async function createPortalUser(
  services: AppServices,
  options: { tenantSlug: string | null; email: string; roles: PortalRole[]; password?: string; displayName?: string },
): Promise<{ id: string; email: string; password: string }> {
  const now = new Date();
  const tenant = options.tenantSlug ? await requireTenantRow(services.db, options.tenantSlug) : null;
  const scope = tenant ? { tenantId: tenant.id, tenantSlug: tenant.slug } : { tenantId: null };
  const invited = await inviteUser(services.db, scope, { email: options.email, roles: options.roles, actor: 'test' }, now);
  const password = options.password ?? DEFAULT_PASSWORD;
  const user = await acceptInvitation(services.db, { token: invited.token, displayName: options.displayName ?? options.email.split('@')[0]!, password }, now);
  return { id: user.id, email: user.email, password };
}

/** Signs in through the sign-in page, as a person would, and waits for the portal's page (at any width). */
export async function signIn(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.goto('/portal/sign-in');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('main#main').waitFor();
}

/** A screenshot kept as a test artifact (test-artifacts/ is git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
}

export async function userCount(services: AppServices): Promise<number> {
  const row = await coalitionDb(services.db).selectFrom('portal_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
