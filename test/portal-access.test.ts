import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { tenantWithKey, uniqueSlug } from './support/factories.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let browser: Browser;
let tenantSlug: string;

beforeAll(async () => {
  system = await startTestSystem();
  browser = await launchBrowser();
  tenantSlug = (await tenantWithKey(system.services, { slug: uniqueSlug('grocer'), roles: ['issuer'] })).tenant.slug;
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

describe('portal access', () => {
  it('sends a visitor without a session to the sign-in page, and refuses a wrong password there', async () => {
    const context = await newContext(browser, system.baseUrl);
    const page = await context.newPage();
    await page.goto('/portal/settlement');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/portal/sign-in');
    const user = await createPortalUser(system.services, { tenantSlug, email: `ana-${uniqueSlug('x')}@grocer.example`, roles: ['admin'] });
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('The email address or password is wrong.');
    await screenshot(page, 'sign-in');
    await context.close();
  });

  it('shows a marketer only their pages; the settlement page and its API are refused', async () => {
    const marketer = await createPortalUser(system.services, { tenantSlug, email: `mia-${uniqueSlug('x')}@grocer.example`, roles: ['marketer'] });
    const context = await newContext(browser, system.baseUrl);
    const page = await context.newPage();
    await signIn(page, marketer);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link').allTextContents()).toEqual(['Dashboard', 'Campaigns', 'Reward catalog', 'Customers', 'Agreements']);

    await page.goto('/portal/settlement');
    await page.getByRole('heading', { name: 'This page is not available for your role' }).waitFor();
    const api = await page.evaluate(async () => {
      const res = await fetch('/trpc/settlement.list', { credentials: 'same-origin' });
      return { status: res.status, body: (await res.json()) as { error: { data: { code: string } } } };
    });
    expect(api.status).toBe(403);
    expect(api.body.error.data.code).toBe('FORBIDDEN');
    await context.close();
  });
});
