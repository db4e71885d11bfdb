import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { customAlphabet } from 'nanoid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANT_SCOPES } from '../server/src/auth/scopes.ts';
import { coalitionDb } from '../server/src/db/database.ts';
import { ManualClock } from '../server/src/system/clock.ts';
import { runCli } from './support/cli.ts';
import { operatorKey, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request, type ApiResponse } from './support/http-client.ts';
import { campaignBody } from './support/issuer.ts';
import { offerBody } from './support/partner.ts';
import {
  acceptInvitationRaw,
  createPortalUser,
  invitePortalUser,
  invitePortalUserRaw,
  portalFetch,
  portalTrpc,
  sessionCookieFrom,
  sessionFrom,
  sessionSetCookieLine,
  signInPortal,
  signInRaw,
  type PortalSession,
} from './support/portal-session.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

const MINUTE = 60_000;
const PASSWORD = 'correct horse battery staple';
const unique = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 8);
const emailFor = (who: string) => `${who}-${unique()}@shop.example`;

let system: TestSystem;
let operator: string;
/** An issuer and partner at once, with an admin API key and a portal admin. */
let shop: TenantWithKey;
let shopAdmin: PortalSession & { userId: string };

beforeAll(async () => {
  system = await startTestSystem();
  operator = await operatorKey(system.services);
  shop = await tenantWithKey(system.services, { roles: ['issuer', 'partner'], scopes: ['admin'] });
  shopAdmin = await createPortalUser(system.baseUrl, operator, { tenantSlug: shop.tenant.slug, email: emailFor('admin'), roles: ['admin'], password: PASSWORD });
});
afterAll(() => system.stop());

const api = (method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) => request(system.baseUrl, method, path, options);
const call = (session: PortalSession, method: string, path: string, options: Parameters<typeof portalFetch>[4] = {}) => portalFetch(system.baseUrl, session, method, path, options);
const currentSession = (session: PortalSession) => call(session, 'GET', '/auth/session');
const users = () => coalitionDb(system.services.db).selectFrom('portal_users');
const invitationRow = (token: string) =>
  coalitionDb(system.services.db)
    .selectFrom('portal_invitations')
    .selectAll()
    .where('token_hash', '=', createHash('sha256').update(token).digest('hex'))
    .executeTakeFirstOrThrow();

async function auditEvents(key: string): Promise<Array<{ actor: string; action: string; subjectType: string; subjectId: string; details: Record<string, unknown> }>> {
  const res = await api('GET', '/api/v1/audit-events?limit=500', { key });
  expect(res.status).toBe(200);
  return res.body.events;
}

/** A fresh user of `shop` with the given roles, invited by the shop's admin key; signed in. */
function shopUser(who: string, roles: string[]) {
  return createPortalUser(system.baseUrl, shop.key, { email: emailFor(who), roles, password: PASSWORD, displayName: `Test ${who}` });
}

function expectError(res: ApiResponse, status: number, code: string, details?: Record<string, unknown>) {
  const body = res.body?.error?.data ?? res.body;
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(body.code).toBe(code);
  if (details) expect(body.details).toMatchObject(details);
}

function cookieAttributes(line: string): Map<string, string> {
  const [, ...attributes] = line.split(';');
  return new Map(attributes.map((attribute) => {
    const [name = '', ...value] = attribute.trim().split('=');
    return [name.toLowerCase(), value.join('=')] as const;
  }));
}

describe('invitations', () => {
  it('lets an operator invite a tenant admin; the link describes the invitation', async () => {
    const first = await tenantWithKey(system.services, { roles: ['issuer'] });
    const email = emailFor('first-admin');
    const invited = await api('POST', '/api/v1/operator/users/invitations', { key: operator, body: { tenantSlug: first.tenant.slug, email: email.toUpperCase(), roles: ['admin'] } });
    expect(invited.status).toBe(200);
    expect(invited.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(invited.body.path).toBe(`/portal/invite/${invited.body.token}`);
    expect(invited.body.invitation).toMatchObject({ email, roles: ['admin'], status: 'pending' });
    const validFor = Date.parse(invited.body.invitation.expiresAt) - Date.parse(invited.body.invitation.createdAt);
    expect(validFor).toBe(7 * 24 * 60 * MINUTE);

    const described = await api('GET', `/auth/invitations/${invited.body.token}`);
    expect(described.status).toBe(200);
    expect(described.headers.get('cache-control')).toBe('no-store');
    expect(described.body).toEqual({ purpose: 'join', email, roles: ['admin'], tenant: 'Test Retailer', expiresAt: invited.body.invitation.expiresAt });

    const listed = await api('GET', `/api/v1/operator/users?tenantSlug=${first.tenant.slug}`, { key: operator });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ users: [], invitations: [{ id: invited.body.invitation.id, email, status: 'pending' }] });
    expect(JSON.stringify(listed.body)).not.toContain(invited.body.token);
  });

  it('refuses a password under 12 characters, creates no user, and leaves the link usable', async () => {
    const email = emailFor('weak');
    const { token } = await invitePortalUser(system.baseUrl, operator, { tenantSlug: shop.tenant.slug, email, roles: ['admin'] });
    const res = await acceptInvitationRaw(system.baseUrl, { token, displayName: 'Weak Password', password: 'elevenchars' });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.details.issues).toContainEqual(expect.objectContaining({ path: 'password', message: expect.stringContaining('12') }));
    expect(sessionCookieFrom(res.headers)).toBeUndefined();
    expect(await users().select('id').where('email', '=', email).execute()).toEqual([]);
    expect((await invitationRow(token)).accepted_at).toBeNull();
    expect((await api('GET', `/auth/invitations/${token}`)).status).toBe(200);
  });

  it('accepting starts a session: an HttpOnly, SameSite=Strict cookie (not Secure on 127.0.0.1) and the session with its CSRF token and scopes', async () => {
    const email = emailFor('accepting');
    const { token } = await invitePortalUser(system.baseUrl, operator, { tenantSlug: shop.tenant.slug, email, roles: ['admin'] });
    const res = await acceptInvitationRaw(system.baseUrl, { token, displayName: 'Ana Admin', password: PASSWORD });
    expect(res.status).toBe(200);

    const line = sessionSetCookieLine(res.headers)!;
    expect(line).toMatch(/^cx_session=[\w-]+\.[\w-]+\.[\w-]+;/);
    const attributes = cookieAttributes(line);
    expect(attributes.has('httponly')).toBe(true);
    expect(attributes.get('samesite')).toBe('Strict');
    expect(attributes.get('path')).toBe('/');
    expect(attributes.has('secure')).toBe(false);
    expect(Date.parse(attributes.get('expires')!)).toBe(Date.parse(res.body.expiresAt));
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(29 * MINUTE);
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeLessThanOrEqual(30 * MINUTE);
    expect(res.headers.get('cache-control')).toBe('no-store');

    expect(res.body).toMatchObject({
      user: { id: expect.stringMatching(/^usr_[0-9A-Za-z]{12}$/), email, displayName: 'Ana Admin', roles: ['admin'] },
      operator: false,
      tenant: { slug: shop.tenant.slug, roles: ['issuer', 'partner'], currency: 'RUB', timezone: 'Europe/Moscow', status: 'active' },
      csrfToken: expect.stringMatching(/^[\w-]{32}$/),
    });
    expect([...res.body.scopes].sort()).toEqual([...TENANT_SCOPES].sort());

    // The cookie alone is the session: GET /auth/session answers the same user and token.
    const session = await api('GET', '/auth/session', { headers: { cookie: sessionCookieFrom(res.headers)! } });
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ user: res.body.user, csrfToken: res.body.csrfToken, tenant: { slug: shop.tenant.slug } });
  });

  it('works once: a used link is refused with reason "used"', async () => {
    const email = emailFor('once');
    const { token } = await invitePortalUser(system.baseUrl, operator, { tenantSlug: shop.tenant.slug, email, roles: ['marketer'] });
    expect((await acceptInvitationRaw(system.baseUrl, { token, displayName: 'First', password: PASSWORD })).status).toBe(200);

    const again = await acceptInvitationRaw(system.baseUrl, { token, displayName: 'Second', password: 'another long password' });
    expectError(again, 404, 'INVITATION_INVALID', { reason: 'used' });
    expect(again.body.message).toMatch(/already been used/);
    expect(sessionCookieFrom(again.headers)).toBeUndefined();
    expectError(await api('GET', `/auth/invitations/${token}`), 404, 'INVITATION_INVALID', { reason: 'used' });

    // The first password stands; the second never became one.
    expect((await signInRaw(system.baseUrl, email, 'another long password')).status).toBe(401);
    expect((await signInRaw(system.baseUrl, email, PASSWORD)).status).toBe(200);
    const row = await users().select(['display_name']).where('email', '=', email).executeTakeFirstOrThrow();
    expect(row.display_name).toBe('First');
  });

  it('gives two tabs accepting one link at the same moment exactly one account', async () => {
    const email = emailFor('race');
    const { token } = await invitePortalUser(system.baseUrl, operator, { tenantSlug: shop.tenant.slug, email, roles: ['finance'] });
    const attempts = await Promise.all(
      Array.from({ length: 4 }, (_, i) => acceptInvitationRaw(system.baseUrl, { token, displayName: `Tab ${i}`, password: `${PASSWORD} ${i}` })),
    );
    const accepted = attempts.filter((res) => res.status === 200);
    expect(accepted).toHaveLength(1);
    for (const refused of attempts.filter((res) => res.status !== 200)) expectError(refused, 404, 'INVITATION_INVALID', { reason: 'used' });
    const rows = await users().select(['id', 'display_name']).where('email', '=', email).execute();
    expect(rows).toEqual([{ id: accepted[0]!.body.user.id, display_name: accepted[0]!.body.user.displayName }]);
    expect((await invitationRow(token)).accepted_user_id).toBe(rows[0]!.id);
  });

  it('refuses unknown, malformed, withdrawn and replaced links, each with its reason', async () => {
    expectError(await api('GET', `/auth/invitations/${randomBytes(32).toString('base64url')}`), 404, 'INVITATION_INVALID', { reason: 'unknown' });
    expectError(await api('GET', '/auth/invitations/not-a-token'), 404, 'INVITATION_INVALID', { reason: 'unknown' });

    const email = emailFor('withdrawn');
    const first = await invitePortalUser(system.baseUrl, shop.key, { email, roles: ['marketer'] });
    const revoked = await api('POST', `/api/v1/users/invitations/${first.invitation.id}/revoke`, { key: shop.key });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    expectError(await acceptInvitationRaw(system.baseUrl, { token: first.token, displayName: 'Late', password: PASSWORD }), 404, 'INVITATION_INVALID', { reason: 'revoked' });

    // Inviting the same address again replaces its pending link.
    const second = await invitePortalUser(system.baseUrl, shop.key, { email, roles: ['marketer'] });
    const third = await invitePortalUser(system.baseUrl, shop.key, { email, roles: ['finance'] });
    expectError(await api('GET', `/auth/invitations/${second.token}`), 404, 'INVITATION_INVALID', { reason: 'revoked' });
    const described = await api('GET', `/auth/invitations/${third.token}`);
    expect(described.body.roles).toEqual(['finance']);
    const pending = (await api('GET', '/api/v1/users', { key: shop.key })).body.invitations.filter((i: { email: string }) => i.email === email);
    expect(pending).toEqual([expect.objectContaining({ id: third.invitation.id, status: 'pending', roles: ['finance'] })]);
  });

  it('refuses to invite an address that already has an account', async () => {
    const res = await invitePortalUserRaw(system.baseUrl, shop.key, { email: shopAdmin.session.user.email.toUpperCase(), roles: ['marketer'] });
    expectError(res, 409, 'EMAIL_TAKEN');
  });

  it('lets an operator sign in to the portal as a coalition operator', async () => {
    const email = emailFor('operator');
    const op = await createPortalUser(system.baseUrl, operator, { email, password: PASSWORD });
    expect(op.session).toMatchObject({ operator: true, tenant: null, scopes: [], user: { email, roles: ['operator'] } });
    expect((await call(op, 'GET', '/api/v1/operator/tenants')).status).toBe(200);
    expectError(await call(op, 'GET', '/api/v1/campaigns'), 403, 'FORBIDDEN');
    // An operator session invites a tenant's admin, with its CSRF token like any change.
    const invited = await invitePortalUserRaw(system.baseUrl, op, { tenantSlug: shop.tenant.slug, email: emailFor('by-operator'), roles: ['finance'] });
    expect(invited.status).toBe(200);
    expect(invited.body.invitation.createdBy).toBe(op.userId);
  });

  it('`coalition invite` prints a one-time link that creates the account', async () => {
    const email = emailFor('cli');
    const cli = await runCli(['invite', '--email', email, '--tenant', shop.tenant.slug, '--roles', 'marketer,finance', '--url', system.baseUrl, '--json'], system.env);
    expect(cli.code, cli.stderr).toBe(0);
    const printed = JSON.parse(cli.stdout);
    expect(printed.link).toBe(`${system.baseUrl}/portal/invite/${printed.token}`);
    expect(cli.stderr).not.toContain(printed.token);
    const accepted = await acceptInvitationRaw(system.baseUrl, { token: printed.token, displayName: 'From CLI', password: PASSWORD });
    expect(accepted.status).toBe(200);
    expect(accepted.body.user.roles).toEqual(['marketer', 'finance']);
  });
});

describe('stored secrets', () => {
  it('stores the password only as an argon2id PHC string', async () => {
    const email = emailFor('hash');
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const created = await createPortalUser(system.baseUrl, shop.key, { email, roles: ['marketer'], password });
    const row = await users().selectAll().where('id', '=', created.userId).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(JSON.stringify(row)).not.toContain(password);
    // Nothing the API answers carries the hash.
    const listed = await api('GET', '/api/v1/users', { key: shop.key });
    expect(JSON.stringify(listed.body)).not.toContain('argon2');
    expect(listed.body.users).toContainEqual(expect.objectContaining({ id: created.userId, email, status: 'active' }));
  });

  it('stores the invitation token only as its SHA-256', async () => {
    const { token, invitation } = await invitePortalUser(system.baseUrl, shop.key, { email: emailFor('token'), roles: ['finance'] });
    const row = await coalitionDb(system.services.db).selectFrom('portal_invitations').selectAll().where('id', '=', invitation.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);
  });
});

describe('sign-in', () => {
  it('signs in with the address in any case and records the time', async () => {
    const user = await shopUser('signin', ['finance']);
    const res = await signInRaw(system.baseUrl, `  ${user.session.user.email.toUpperCase()} `, PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user: { id: user.userId }, tenant: { slug: shop.tenant.slug } });
    expect([...res.body.scopes].sort()).toEqual(['agreements:read', 'agreements:write', 'settlement:read', 'settlement:write']);
    expect(res.body.csrfToken).not.toBe(user.csrfToken);
    const attributes = cookieAttributes(sessionSetCookieLine(res.headers)!);
    expect(attributes.has('httponly') && attributes.get('samesite') === 'Strict').toBe(true);
    const listed = await api('GET', '/api/v1/users', { key: shop.key });
    expect(listed.body.users.find((u: { id: string }) => u.id === user.userId).lastSignInAt).toEqual(expect.any(String));
  });

  it('answers a wrong password and an unknown address alike: 401 SIGN_IN_FAILED, no cookie', async () => {
    const user = await shopUser('wrong', ['marketer']);
    const wrong = await signInRaw(system.baseUrl, user.session.user.email, 'not the password at all');
    const unknown = await signInRaw(system.baseUrl, emailFor('nobody'), PASSWORD);
    for (const res of [wrong, unknown]) {
      expectError(res, 401, 'SIGN_IN_FAILED');
      expect(sessionCookieFrom(res.headers)).toBeUndefined();
    }
    expect(unknown.body.message).toBe(wrong.body.message);
    expect(unknown.body.details).toEqual(wrong.body.details);
    expect(wrong.body.message).toBe('The email address or password is wrong.');
  });

  it('locks an account after 10 failed passwords, even against the right one; other accounts still sign in', async () => {
    const victim = await shopUser('locked', ['marketer']);
    const bystander = await shopUser('bystander', ['marketer']);
    for (let attempt = 1; attempt <= 10; attempt++) {
      expectError(await signInRaw(system.baseUrl, victim.session.user.email, `wrong guess ${attempt}`), 401, 'SIGN_IN_FAILED');
    }
    const locked = await signInRaw(system.baseUrl, victim.session.user.email, PASSWORD);
    expectError(locked, 429, 'RATE_LIMITED', { scope: 'account' });
    expect(sessionCookieFrom(locked.headers)).toBeUndefined();
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(locked.body.details.retryAfterSeconds).toBe(retryAfter);
    // Whatever the case of the address: it is one account.
    expectError(await signInRaw(system.baseUrl, victim.session.user.email.toUpperCase(), PASSWORD), 429, 'RATE_LIMITED', { scope: 'account' });

    expect((await signInRaw(system.baseUrl, bystander.session.user.email, PASSWORD)).status).toBe(200);
    // The victim's existing session is untouched: locking stops guessing, not work.
    expect((await currentSession(victim)).status).toBe(200);
  });
});

describe('CSRF', () => {
  it('refuses a change sent with the cookie but without X-CSRF-Token, and writes nothing', async () => {
    const email = emailFor('csrf');
    const rest = await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email, roles: ['marketer'] }, csrf: false });
    expectError(rest, 403, 'CSRF_REJECTED', { reason: 'missing_or_wrong_token' });
    expect(rest.body.message).toMatch(/X-CSRF-Token/);
    const trpc = await portalTrpc(system.baseUrl, shopAdmin, 'mutation', 'users.invite', { email, roles: ['marketer'] }, { csrf: false });
    expectError(trpc, 403, 'CSRF_REJECTED');
    const wrongToken = await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email, roles: ['marketer'] }, csrf: false, headers: { 'x-csrf-token': randomBytes(24).toString('base64url') } });
    expectError(wrongToken, 403, 'CSRF_REJECTED');
    // Another user's token does not fit this session either.
    const other = await shopUser('csrf-other', ['admin']);
    expectError(await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email, roles: ['marketer'] }, csrf: false, headers: { 'x-csrf-token': other.csrfToken } }), 403, 'CSRF_REJECTED');

    const listed = await api('GET', '/api/v1/users', { key: shop.key });
    expect(listed.body.invitations.map((i: { email: string }) => i.email)).not.toContain(email);
    const events = await auditEvents(shop.key);
    expect(events.filter((event) => event.details.email === email)).toEqual([]);
  });

  it('refuses a change from another origin even with the token; our own origin and the token pass', async () => {
    const email = emailFor('origin');
    const foreign = await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email, roles: ['marketer'] }, headers: { origin: 'https://evil.example' } });
    expectError(foreign, 403, 'CSRF_REJECTED', { reason: 'cross_origin' });
    expectError(await portalTrpc(system.baseUrl, shopAdmin, 'mutation', 'users.invite', { email, roles: ['marketer'] }, { headers: { origin: 'null' } }), 403, 'CSRF_REJECTED', { reason: 'cross_origin' });

    const own = await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email, roles: ['marketer'] }, headers: { origin: system.baseUrl } });
    expect(own.status).toBe(200);
    const viaTrpc = await portalTrpc(system.baseUrl, shopAdmin, 'mutation', 'users.invite', { email: emailFor('origin-trpc'), roles: ['finance'] });
    expect(viaTrpc.status).toBe(200);
    expect(viaTrpc.body.result.data.invitation.createdBy).toBe(shopAdmin.userId);
  });

  it('needs no token for reads', async () => {
    const rest = await call(shopAdmin, 'GET', '/api/v1/users', { csrf: false, headers: { origin: 'https://evil.example' } });
    expect(rest.status).toBe(200);
    expect(rest.body.users.map((u: { id: string }) => u.id)).toContain(shopAdmin.userId);
    expect((await portalTrpc(system.baseUrl, shopAdmin, 'query', 'users.list', undefined, { csrf: false })).status).toBe(200);
    expect((await call(shopAdmin, 'GET', '/auth/session', { csrf: false })).status).toBe(200);
  });

  it('needs no token with an API key, even if a session cookie rides along; the key wins', async () => {
    const email = emailFor('keyed');
    const res = await api('POST', '/api/v1/users/invitations', { key: shop.key, body: { email, roles: ['marketer'] }, headers: { cookie: shopAdmin.cookie } });
    expect(res.status).toBe(200);
    expect(res.body.invitation.createdBy).toBe(shop.keyId);
    // A bad key is not rescued by a good cookie.
    const badKey = await api('GET', '/api/v1/users', { key: 'cx_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', headers: { cookie: shopAdmin.cookie } });
    expectError(badKey, 401, 'UNAUTHENTICATED', { reason: 'invalid_key' });
  });

  it('guards file routes the same way', async () => {
    const manager = await shopUser('csrf-files', ['pool_manager']);
    const offer = await call(manager, 'POST', '/api/v1/offers', { body: offerBody() });
    expect(offer.status).toBe(200);
    const upload = await fetch(`${system.baseUrl}/api/v1/offers/${offer.body.id}/code-batches/upload`, {
      method: 'POST',
      headers: { cookie: manager.cookie, 'content-type': 'text/csv' },
      body: 'code\nAAAA-BBBB-0001\n',
    });
    expect(upload.status).toBe(403);
    expect(((await upload.json()) as { code: string }).code).toBe('CSRF_REJECTED');
    const batches = await call(manager, 'GET', `/api/v1/offers/${offer.body.id}/code-batches`);
    expect(batches.status).toBe(200);
    expect(batches.body.batches).toEqual([]);
  });
});

describe('roles', () => {
  it('lets a marketer work on campaigns but not settlement or users, naming the role', async () => {
    const marketer = await shopUser('marketer', ['marketer']);
    expect([...marketer.session.scopes].sort()).toEqual(['agreements:read', 'campaigns:write', 'customers:read', 'exchange:write']);
    expect((await call(marketer, 'GET', '/api/v1/campaigns')).status).toBe(200);
    expect((await call(marketer, 'POST', '/api/v1/campaigns', { body: campaignBody(new Date()) })).status).toBe(200);

    const settlement = await call(marketer, 'GET', '/api/v1/settlement/statements');
    expectError(settlement, 403, 'FORBIDDEN', { requiredScopes: ['settlement:read'] });
    expect(settlement.body.message).toBe('Your role (marketer) does not allow this; ask a tenant admin.');
    const viaTrpc = await portalTrpc(system.baseUrl, marketer, 'query', 'settlement.list', {});
    expectError(viaTrpc, 403, 'FORBIDDEN');
    expect(viaTrpc.body.error.message).toContain('marketer');

    const userList = await call(marketer, 'GET', '/api/v1/users');
    expectError(userList, 403, 'FORBIDDEN', { requiredScopes: ['admin'] });
    expect(userList.body.message).toContain('(marketer)');
    expectError(await call(marketer, 'POST', '/api/v1/users/invitations', { body: { email: emailFor('escalate'), roles: ['admin'] } }), 403, 'FORBIDDEN');
    expectError(await call(marketer, 'GET', '/api/v1/audit-events'), 403, 'FORBIDDEN');
  });

  it('lets a pool manager of a partner tenant list and create offers, but not see campaigns', async () => {
    const partner = await tenantWithKey(system.services, { roles: ['partner'], scopes: ['admin'] });
    const manager = await createPortalUser(system.baseUrl, partner.key, { email: emailFor('pm'), roles: ['pool_manager'], password: PASSWORD });
    expect((await call(manager, 'POST', '/api/v1/offers', { body: offerBody() })).status).toBe(200);
    const offers = await call(manager, 'GET', '/api/v1/offers');
    expect(offers.status).toBe(200);
    expect(offers.body.offers).toHaveLength(1);
    expectError(await call(manager, 'GET', '/api/v1/campaigns'), 403, 'ROLE_REQUIRED', { requiredRole: 'issuer' });
    // On a tenant that is also an issuer, the role still does not write campaigns.
    const shopManager = await shopUser('pm-shop', ['pool_manager']);
    const campaign = await call(shopManager, 'POST', '/api/v1/campaigns', { body: campaignBody(new Date()) });
    expectError(campaign, 403, 'FORBIDDEN', { requiredScopes: ['campaigns:write'] });
    expect(campaign.body.message).toContain('pool_manager');
  });

  it('combines the scopes of several roles and names them all when refusing', async () => {
    const both = await shopUser('two-roles', ['marketer', 'finance']);
    expect((await call(both, 'GET', '/api/v1/settlement/statements')).status).toBe(200);
    expect((await call(both, 'GET', '/api/v1/campaigns')).status).toBe(200);
    const refused = await call(both, 'GET', '/api/v1/users');
    expectError(refused, 403, 'FORBIDDEN');
    expect(refused.body.message).toBe('Your roles (marketer, finance) do not allow this; ask a tenant admin.');
  });

  it('lets an admin do everything', async () => {
    for (const path of ['/api/v1/users', '/api/v1/campaigns', '/api/v1/offers', '/api/v1/settlement/statements', '/api/v1/audit-events', '/api/v1/api-keys', '/api/v1/me']) {
      expect((await call(shopAdmin, 'GET', path)).status, path).toBe(200);
    }
    expect((await call(shopAdmin, 'POST', '/api/v1/customers', { body: { cardNumber: `ADM-${unique()}` } })).status).toBe(200);
    expect((await call(shopAdmin, 'POST', '/api/v1/offers', { body: offerBody() })).status).toBe(200);
  });

  it('keeps tenant users out of operator routes and the operator role', async () => {
    expectError(await call(shopAdmin, 'GET', '/api/v1/operator/tenants'), 403, 'FORBIDDEN');
    expectError(await call(shopAdmin, 'POST', '/api/v1/operator/users/invitations', { body: { email: emailFor('op') } }), 403, 'FORBIDDEN');
    // ...and a tenant admin cannot hand out the operator role.
    const invite = await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email: emailFor('would-be-op'), roles: ['operator'] } });
    expectError(invite, 400, 'VALIDATION_FAILED');
    expect(invite.body.details.issues[0]).toMatchObject({ path: 'roles.0' });
    const finance = await shopUser('not-op', ['finance']);
    expectError(await call(shopAdmin, 'PATCH', `/api/v1/users/${finance.userId}`, { body: { roles: ['operator'] } }), 400, 'VALIDATION_FAILED');
    expect((await currentSession(finance)).body.user.roles).toEqual(['finance']);
  });
});

describe('disabling users and changing roles', () => {
  it('signs a disabled user out at once and keeps them out until enabled', async () => {
    const marketer = await shopUser('disabled', ['marketer']);
    expect((await currentSession(marketer)).status).toBe(200);

    const disabled = await call(shopAdmin, 'POST', `/api/v1/users/${marketer.userId}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ id: marketer.userId, status: 'disabled' });

    for (const res of [await currentSession(marketer), await call(marketer, 'GET', '/api/v1/campaigns'), await call(marketer, 'POST', '/api/v1/campaigns', { body: campaignBody(new Date()) })]) {
      expectError(res, 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
    }
    const signIn = await signInRaw(system.baseUrl, marketer.session.user.email, PASSWORD);
    expectError(signIn, 401, 'SIGN_IN_FAILED');
    expect(signIn.body.message).toBe('The email address or password is wrong.');

    const enabled = await call(shopAdmin, 'POST', `/api/v1/users/${marketer.userId}/enable`);
    expect(enabled.body.status).toBe('active');
    // The old session stays ended; a new sign-in works.
    expectError(await currentSession(marketer), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
    const again = await signInPortal(system.baseUrl, marketer.session.user.email, PASSWORD);
    expect((await call(again, 'GET', '/api/v1/campaigns')).status).toBe(200);
  });

  it('ends the sessions of a user whose roles change, not of one whose name changes', async () => {
    const user = await shopUser('regraded', ['marketer']);
    const renamed = await call(shopAdmin, 'PATCH', `/api/v1/users/${user.userId}`, { body: { displayName: 'Renamed Person' } });
    expect(renamed.status).toBe(200);
    expect((await currentSession(user)).body.user.displayName).toBe('Renamed Person');

    const regraded = await call(shopAdmin, 'PATCH', `/api/v1/users/${user.userId}`, { body: { roles: ['finance'] } });
    expect(regraded.status).toBe(200);
    expect(regraded.body.roles).toEqual(['finance']);
    expectError(await call(user, 'GET', '/api/v1/campaigns'), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });

    const fresh = await signInPortal(system.baseUrl, user.session.user.email, PASSWORD);
    expect(fresh.session.user.roles).toEqual(['finance']);
    expect((await call(fresh, 'GET', '/api/v1/settlement/statements')).status).toBe(200);
    expectError(await call(fresh, 'POST', '/api/v1/campaigns', { body: campaignBody(new Date()) }), 403, 'FORBIDDEN');
  });

  it('keeps an admin from disabling or demoting themselves, and a tenant from losing its last admin', async () => {
    const tenant = await tenantWithKey(system.services, { roles: ['issuer'], scopes: ['admin'] });
    const only = await createPortalUser(system.baseUrl, tenant.key, { email: emailFor('only-admin'), roles: ['admin'], password: PASSWORD });

    const selfDisable = await call(only, 'POST', `/api/v1/users/${only.userId}/disable`);
    expectError(selfDisable, 409, 'LAST_ADMIN');
    expect(selfDisable.body.message).toMatch(/yourself/);
    expectError(await call(only, 'PATCH', `/api/v1/users/${only.userId}`, { body: { roles: ['marketer'] } }), 409, 'LAST_ADMIN');
    // Nobody else may remove the last admin either (here: the tenant's admin key).
    const demoted = await api('PATCH', `/api/v1/users/${only.userId}`, { key: tenant.key, body: { roles: ['finance'] } });
    expectError(demoted, 409, 'LAST_ADMIN');
    expect(demoted.body.message).toMatch(/no active admin/);
    expectError(await api('POST', `/api/v1/users/${only.userId}/disable`, { key: tenant.key }), 409, 'LAST_ADMIN');
    expect((await currentSession(only)).status).toBe(200);

    // With a second admin, the first can be demoted (by the second).
    const second = await createPortalUser(system.baseUrl, only, { email: emailFor('second-admin'), roles: ['admin'], password: PASSWORD });
    expectError(await call(second, 'POST', `/api/v1/users/${second.userId}/disable`), 409, 'LAST_ADMIN');
    const demote = await call(second, 'PATCH', `/api/v1/users/${only.userId}`, { body: { roles: ['admin', 'finance'] } });
    expect(demote.status).toBe(200);
    expect((await call(second, 'PATCH', `/api/v1/users/${only.userId}`, { body: { roles: ['finance'] } })).status).toBe(200);
    expectError(await api('PATCH', `/api/v1/users/${second.userId}`, { key: tenant.key, body: { roles: ['marketer'] } }), 409, 'LAST_ADMIN');
  });

  it('lets only one of two admins disabling each other at the same moment win', async () => {
    const tenant = await tenantWithKey(system.services, { roles: ['issuer'], scopes: ['admin'] });
    const a = await createPortalUser(system.baseUrl, tenant.key, { email: emailFor('duel-a'), roles: ['admin'], password: PASSWORD });
    const b = await createPortalUser(system.baseUrl, tenant.key, { email: emailFor('duel-b'), roles: ['admin'], password: PASSWORD });
    const [aDisablesB, bDisablesA] = await Promise.all([call(a, 'POST', `/api/v1/users/${b.userId}/disable`), call(b, 'POST', `/api/v1/users/${a.userId}/disable`)]);
    const statuses = [aDisablesB.status, bDisablesA.status].sort();
    expect(statuses).toEqual([200, 409]);
    const listed = await api('GET', '/api/v1/users', { key: tenant.key });
    const activeAdmins = listed.body.users.filter((u: { status: string; roles: string[] }) => u.status === 'active' && u.roles.includes('admin'));
    expect(activeAdmins).toHaveLength(1);
  });

  it('lets an operator disable any tenant user', async () => {
    const user = await shopUser('op-disabled', ['fraud_reviewer']);
    const res = await api('POST', `/api/v1/operator/users/${user.userId}/disable`, { key: operator });
    expect(res.status).toBe(200);
    expectError(await currentSession(user), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
  });
});

describe('audit trail', () => {
  it('records portal changes with the user as actor: domain entries, and portal.<procedure> for the rest', async () => {
    const campaign = await call(shopAdmin, 'POST', '/api/v1/campaigns', { body: campaignBody(new Date(), { name: 'Audited campaign' }) });
    expect(campaign.status).toBe(200);
    const customer = await call(shopAdmin, 'POST', '/api/v1/customers', { body: { cardNumber: `AUD-${unique()}` } });
    expect(customer.status).toBe(200);
    const invited = await call(shopAdmin, 'POST', '/api/v1/users/invitations', { body: { email: emailFor('audited'), roles: ['marketer'] } });
    expect(invited.status).toBe(200);

    const events = await auditEvents(shop.key);
    expect(events).toContainEqual(expect.objectContaining({ action: 'campaign.created', actor: shopAdmin.userId, subjectId: campaign.body.id }));
    expect(events).toContainEqual(expect.objectContaining({ action: 'user.invited', actor: shopAdmin.userId, subjectId: invited.body.invitation.id }));
    expect(events).toContainEqual(expect.objectContaining({ action: 'portal.customers.enrol', actor: shopAdmin.userId, subjectType: 'procedure', subjectId: 'customers.enrol' }));
    // Changes with their own entry get no second, generic one.
    expect(events.filter((event) => event.action === 'portal.campaigns.create' || event.action === 'portal.users.invite')).toEqual([]);
  });

  it('names the ids a generic portal entry acted on', async () => {
    const customer = await call(shopAdmin, 'POST', '/api/v1/customers', { body: { cardNumber: `IDS-${unique()}` } });
    const attached = await call(shopAdmin, 'POST', `/api/v1/customers/${customer.body.id}/identities`, { body: { cardNumber: `IDS-${unique()}` } });
    expect(attached.status).toBe(200);
    const events = await auditEvents(shop.key);
    expect(events).toContainEqual(expect.objectContaining({ action: 'portal.customers.attachIdentity', actor: shopAdmin.userId, details: { customerId: customer.body.id } }));
  });

  it("records a pool manager's offer under their id in the partner's trail", async () => {
    const partner = await tenantWithKey(system.services, { roles: ['partner'], scopes: ['admin'] });
    const manager = await createPortalUser(system.baseUrl, partner.key, { email: emailFor('pm-audit'), roles: ['pool_manager'], password: PASSWORD });
    const offer = await call(manager, 'POST', '/api/v1/offers', { body: offerBody() });
    const events = await auditEvents(partner.key);
    expect(events).toContainEqual(expect.objectContaining({ action: 'offer.created', actor: manager.userId, subjectId: offer.body.id }));
    expect(events).toContainEqual(expect.objectContaining({ action: 'user.joined', actor: manager.userId, subjectId: manager.userId }));
  });

  it('writes no generic entry for reads, for refused changes, or for API-key changes', async () => {
    const before = (await auditEvents(shop.key)).length;
    await call(shopAdmin, 'GET', '/api/v1/campaigns');
    await call(shopAdmin, 'POST', '/api/v1/customers', { body: { cardNumber: '!' } });
    await api('POST', '/api/v1/customers', { key: shop.key, body: { cardNumber: `KEY-${unique()}` } });
    expect(await auditEvents(shop.key)).toHaveLength(before);
  });

  it('records each sign-in', async () => {
    const user = await shopUser('audited-signin', ['finance']);
    await signInPortal(system.baseUrl, user.session.user.email, PASSWORD);
    const events = await auditEvents(shop.key);
    expect(events).toContainEqual(expect.objectContaining({ action: 'user.signed_in', actor: user.userId, subjectType: 'user', subjectId: user.userId, details: { clientIp: expect.any(String) } }));
  });
});

describe('sign-out and bad cookies', () => {
  it('refuses a sign-out sent from another site, which would sign the user out everywhere', async () => {
    const user = await shopUser('signout-csrf', ['marketer']);
    expectError(await call(user, 'POST', '/auth/sign-out', { headers: { origin: 'https://evil.example' } }), 403, 'CSRF_REJECTED', { reason: 'cross_origin' });
    expect((await currentSession(user)).status).toBe(200);
  });

  it('clears the cookie on sign-out and ends the session everywhere, copies of the cookie included', async () => {
    const user = await shopUser('signout', ['marketer']);
    const copied = user.cookie;
    const otherDevice = await signInPortal(system.baseUrl, user.session.user.email, PASSWORD);
    const res = await call(user, 'POST', '/auth/sign-out');
    expect(res.status).toBe(204);
    const line = sessionSetCookieLine(res.headers)!;
    expect(line).toMatch(/^cx_session=;/);
    const attributes = cookieAttributes(line);
    expect(Date.parse(attributes.get('expires')!)).toBe(0);
    expect(attributes.has('httponly')).toBe(true);
    expect(attributes.get('samesite')).toBe('Strict');
    expect(user.cookie).toBe('');
    expectError(await currentSession(user), 401, 'UNAUTHENTICATED', { reason: 'missing' });
    expectError(await call(user, 'GET', '/api/v1/campaigns'), 401, 'UNAUTHENTICATED', { reason: 'missing' });
    expectError(await api('GET', '/api/v1/campaigns', { headers: { cookie: copied } }), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
    expectError(await currentSession(otherDevice), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
    // Signing in again works, and signing out without a session is harmless.
    const again = await signInPortal(system.baseUrl, user.session.user.email, PASSWORD);
    expect((await currentSession(again)).status).toBe(200);
    expect((await api('POST', '/auth/sign-out')).status).toBe(204);
    expect((await currentSession(again)).status).toBe(200);
  });

  it('answers an expired, forged or garbage cookie with 401 session_expired', async () => {
    const claims = { ver: 1, csrf: 'x'.repeat(32), auth_time: Math.floor(Date.now() / 1000) };
    const signed = (key: Uint8Array, expiresAt: number) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('coalition-exchange').setAudience('portal').setSubject(shopAdmin.userId).setIssuedAt().setExpirationTime(expiresAt).sign(key);
    const [, payload] = shopAdmin.cookie.split('=')[1]!.split('.');
    const cookies = {
      garbage: 'cx_session=garbage',
      'another key': `cx_session=${await signed(randomBytes(32), Math.floor(Date.now() / 1000) + 600)}`,
      'no signature': `cx_session=${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`,
      tampered: `cx_session=${shopAdmin.cookie.split('=')[1]!.slice(0, -2)}AA`,
    };
    for (const [label, cookie] of Object.entries(cookies)) {
      for (const res of [await api('GET', '/auth/session', { headers: { cookie } }), await api('GET', '/api/v1/campaigns', { headers: { cookie } })]) {
        expect(res.status, label).toBe(401);
        expect(res.body, label).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'session_expired' } });
      }
    }
  });
});

describe('tenant isolation', () => {
  let other: TenantWithKey;
  let otherUser: PortalSession & { userId: string };

  beforeAll(async () => {
    other = await tenantWithKey(system.services, { roles: ['issuer', 'partner'], scopes: ['admin'] });
    otherUser = await createPortalUser(system.baseUrl, operator, { tenantSlug: other.tenant.slug, email: emailFor('other-admin'), roles: ['admin'], password: PASSWORD });
  });

  it("shows an admin only their own tenant's users and invitations", async () => {
    const pending = await invitePortalUser(system.baseUrl, other.key, { email: emailFor('other-invite'), roles: ['marketer'] });
    const listed = await call(shopAdmin, 'GET', '/api/v1/users');
    const text = JSON.stringify(listed.body);
    expect(text).not.toContain(otherUser.userId);
    expect(text).not.toContain(pending.invitation.id);
    expect(listed.body.users.map((u: { id: string }) => u.id)).toContain(shopAdmin.userId);
  });

  it("answers USER_NOT_FOUND for another tenant's user and changes nothing", async () => {
    expectError(await call(shopAdmin, 'POST', `/api/v1/users/${otherUser.userId}/disable`), 404, 'USER_NOT_FOUND');
    expectError(await call(shopAdmin, 'PATCH', `/api/v1/users/${otherUser.userId}`, { body: { roles: ['marketer'] } }), 404, 'USER_NOT_FOUND');
    expectError(await portalTrpc(system.baseUrl, shopAdmin, 'mutation', 'users.disable', { userId: otherUser.userId }), 404, 'USER_NOT_FOUND');
    const pending = await invitePortalUser(system.baseUrl, other.key, { email: emailFor('other-pending'), roles: ['marketer'] });
    expectError(await call(shopAdmin, 'POST', `/api/v1/users/invitations/${pending.invitation.id}/revoke`), 404, 'INVITATION_NOT_FOUND');
    expect((await api('GET', `/auth/invitations/${pending.token}`)).status).toBe(200);

    const session = await currentSession(otherUser);
    expect(session.status).toBe(200);
    expect(session.body.user.roles).toEqual(['admin']);
    const row = await users().select(['status', 'roles']).where('id', '=', otherUser.userId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'active', roles: ['admin'] });
  });

  it("acts for the user's own tenant only", async () => {
    const campaign = await call(otherUser, 'POST', '/api/v1/campaigns', { body: campaignBody(new Date(), { name: 'Other tenant only' }) });
    expect(campaign.status).toBe(200);
    const mine = await call(shopAdmin, 'GET', '/api/v1/campaigns');
    expect(mine.body.campaigns.map((c: { id: string }) => c.id)).not.toContain(campaign.body.id);
    expectError(await call(shopAdmin, 'GET', `/api/v1/campaigns/${campaign.body.id}`), 404, 'CAMPAIGN_NOT_FOUND');
    expect((await auditEvents(shop.key)).map((event) => event.actor)).not.toContain(otherUser.userId);
  });
});

describe('session lifetime and sign-in limits per address', () => {
  let clock: ManualClock;
  let timed: TestSystem;
  let timedOperator: string;
  let timedShop: TenantWithKey;

  beforeAll(async () => {
    clock = new ManualClock(new Date());
    timed = await startTestSystem({ SIGN_IN_ATTEMPTS_PER_IP: '5', TRUST_PROXY: 'loopback' }, { clock });
    timedOperator = await operatorKey(timed.services);
    timedShop = await tenantWithKey(timed.services, { roles: ['issuer'], scopes: ['admin'] });
  });
  afterAll(() => timed?.stop());

  const timedUser = (who: string) => createPortalUser(timed.baseUrl, timedShop.key, { email: emailFor(who), roles: ['marketer'], password: PASSWORD });
  const session = (user: PortalSession) => portalFetch(timed.baseUrl, user, 'GET', '/auth/session');

  it('ends a session after 30 minutes without a request', async () => {
    const user = await timedUser('idle');
    clock.advance(29 * MINUTE);
    expect((await session(user)).status).toBe(200);
    clock.advance(30 * MINUTE + 1_000);
    const expired = await session(user);
    expectError(expired, 401, 'UNAUTHENTICATED', { reason: 'session_expired' });
    expect(expired.body.message).toMatch(/Sign in again/);
    expectError(await portalFetch(timed.baseUrl, user, 'GET', '/api/v1/campaigns'), 401, 'UNAUTHENTICATED', { reason: 'session_expired' });
  });

  it('renews a session in use, keeping its CSRF token, and reports the renewed expiry', async () => {
    const user = await timedUser('renewed');
    const original = user.cookie;
    const firstExpiry = Date.parse(user.session.expiresAt);

    clock.advance(2 * MINUTE);
    const early = await session(user);
    expect(sessionCookieFrom(early.headers)).toBeUndefined();

    clock.advance(4 * MINUTE);
    const renewed = await session(user);
    expect(renewed.status).toBe(200);
    const line = sessionSetCookieLine(renewed.headers)!;
    expect(line).toBeDefined();
    const attributes = cookieAttributes(line);
    expect(attributes.has('httponly')).toBe(true);
    expect(attributes.get('samesite')).toBe('Strict');
    const renewedExpiry = Date.parse(attributes.get('expires')!);
    expect(renewedExpiry - firstExpiry).toBeGreaterThanOrEqual(6 * MINUTE - 1_000);
    expect(Date.parse(renewed.body.expiresAt)).toBe(renewedExpiry);
    expect(renewed.body.csrfToken).toBe(user.csrfToken);
    expect(user.cookie).not.toBe(original);

    // The renewed cookie outlives the original one, and changes still take the same token.
    clock.advance(25 * MINUTE);
    expectError(await portalFetch(timed.baseUrl, { ...user, cookie: original }, 'GET', '/auth/session'), 401, 'UNAUTHENTICATED', { reason: 'session_expired' });
    expect((await portalFetch(timed.baseUrl, user, 'POST', '/api/v1/campaigns', { body: campaignBody(clock.now()) })).status).toBe(200);
  });

  it('ends a session 12 hours after sign-in, however busy', async () => {
    const user = await timedUser('long-day');
    const signedInAt = clock.now().getTime();
    while (clock.now().getTime() + 20 * MINUTE < signedInAt + 12 * 60 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect((await session(user)).status, clock.now().toISOString()).toBe(200);
    }
    expect(Date.parse(user.session.expiresAt)).toBeLessThanOrEqual(signedInAt + 12 * 60 * MINUTE);
    clock.set(new Date(signedInAt + 12 * 60 * MINUTE + 1_000));
    expectError(await session(user), 401, 'UNAUTHENTICATED', { reason: 'session_expired' });
    // Signing in again starts a new day.
    const again = await signInPortal(timed.baseUrl, user.session.user.email, PASSWORD, { 'x-forwarded-for': '198.51.100.20' });
    expect((await session(again)).status).toBe(200);
  });

  it('expires invitation links after 7 days', async () => {
    const { token, invitation } = await invitePortalUser(timed.baseUrl, timedOperator, { tenantSlug: timedShop.tenant.slug, email: emailFor('late'), roles: ['admin'] });
    clock.advance(7 * 24 * 60 * MINUTE + 1_000);
    expectError(await request(timed.baseUrl, 'GET', `/auth/invitations/${token}`), 404, 'INVITATION_INVALID', { reason: 'expired' });
    expectError(await acceptInvitationRaw(timed.baseUrl, { token, displayName: 'Too Late', password: PASSWORD }), 404, 'INVITATION_INVALID', { reason: 'expired' });
    const listed = await request(timed.baseUrl, 'GET', `/api/v1/operator/users?tenantSlug=${timedShop.tenant.slug}`, { key: timedOperator });
    expect(listed.body.invitations).toContainEqual(expect.objectContaining({ id: invitation.id, status: 'expired' }));
  });

  it('behind a proxy, secures the cookie and takes only the public origin for changes', async () => {
    const publicSite = { 'x-forwarded-host': 'portal.coalition.example', 'x-forwarded-proto': 'https' };
    const { token } = await invitePortalUser(timed.baseUrl, timedShop.key, { email: emailFor('proxied'), roles: ['admin'] });
    const accepted = await acceptInvitationRaw(timed.baseUrl, { token, displayName: 'Behind Proxy', password: PASSWORD }, publicSite);
    expect(accepted.status).toBe(200);
    const attributes = cookieAttributes(sessionSetCookieLine(accepted.headers)!);
    expect(attributes.has('secure')).toBe(true);
    expect(attributes.has('httponly')).toBe(true);
    const user = sessionFrom(accepted, 'accept');

    const invite = (origin: string) => portalFetch(timed.baseUrl, user, 'POST', '/api/v1/users/invitations', { body: { email: emailFor('proxied-invitee'), roles: ['marketer'] }, headers: { ...publicSite, origin } });
    expectError(await invite(timed.baseUrl), 403, 'CSRF_REJECTED', { reason: 'cross_origin' });
    expect((await invite('https://portal.coalition.example')).status).toBe(200);
  });

  it('limits sign-in attempts per client address (SIGN_IN_ATTEMPTS_PER_IP), counting successes too', async () => {
    const user = await timedUser('per-ip');
    const from = { 'x-forwarded-for': '203.0.113.7' };
    expect((await signInRaw(timed.baseUrl, user.session.user.email, PASSWORD, from)).status).toBe(200);
    expect((await signInRaw(timed.baseUrl, user.session.user.email, 'wrong password one', from)).status).toBe(401);
    expect((await signInRaw(timed.baseUrl, emailFor('ghost'), PASSWORD, from)).status).toBe(401);
    expect((await signInRaw(timed.baseUrl, user.session.user.email, PASSWORD, from)).status).toBe(200);
    expect((await signInRaw(timed.baseUrl, emailFor('ghost'), 'anything at all', from)).status).toBe(401);

    const limited = await signInRaw(timed.baseUrl, user.session.user.email, PASSWORD, from);
    expectError(limited, 429, 'RATE_LIMITED', { scope: 'client_ip' });
    expect(sessionCookieFrom(limited.headers)).toBeUndefined();
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);

    // Another address is not affected, and neither is the account.
    expect((await signInRaw(timed.baseUrl, user.session.user.email, PASSWORD, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(200);
  });

  it('checks at most 10 passwords of an account in a burst of 40 simultaneous guesses from 40 addresses', async () => {
    const user = await timedUser('burst');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => signInRaw(timed.baseUrl, user.session.user.email, `wrong guess number ${i}`, { 'x-forwarded-for': `192.0.2.${i + 1}` })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(30);
    for (const answer of answers.filter((a) => a.status === 429)) expect(answer.body.details.scope).toBe('account');
    expectError(await signInRaw(timed.baseUrl, user.session.user.email, PASSWORD, { 'x-forwarded-for': '192.0.2.200' }), 429, 'RATE_LIMITED', { scope: 'account' });
  });
});

describe('links of people who leave, operator powers and the operators\' trail', () => {
  it('withdraws a disabled user\'s reset link, and the invitations an admin sent, when they are disabled', async () => {
    const leaving = await shopUser('leaving-admin', ['admin']);
    const sent = await call(leaving, 'POST', '/api/v1/users/invitations', { body: { email: emailFor('planted'), roles: ['admin'] } });
    expect(sent.status).toBe(200);
    const reset = await call(shopAdmin, 'POST', `/api/v1/users/${leaving.userId}/password-reset`);
    expect((await call(shopAdmin, 'POST', `/api/v1/users/${leaving.userId}/disable`)).status).toBe(200);

    expectError(await api('GET', `/auth/invitations/${sent.body.token}`), 404, 'INVITATION_INVALID', { reason: 'revoked' });
    expectError(await api('POST', '/auth/invitations/accept', { body: { token: sent.body.token, displayName: 'Planted', password: PASSWORD } }), 404, 'INVITATION_INVALID');
    expectError(await api('POST', '/auth/invitations/accept', { body: { token: reset.body.token, password: 'a password for later' } }), 404, 'INVITATION_INVALID', { reason: 'revoked' });
    // Enabled again, the old password still works and the withdrawn reset did nothing.
    expect((await call(shopAdmin, 'POST', `/api/v1/users/${leaving.userId}/enable`)).status).toBe(200);
    expect((await api('POST', '/auth/sign-in', { body: { email: leaving.session.user.email, password: PASSWORD } })).status).toBe(200);
    expectError(await api('POST', '/auth/sign-in', { body: { email: leaving.session.user.email, password: 'a password for later' } }), 401, 'SIGN_IN_FAILED');
  });

  it('lets the operator lock out a tenant\'s only admin, which the tenant itself cannot', async () => {
    const lonely = await tenantWithKey(system.services, { roles: ['issuer'] });
    const admin = await createPortalUser(system.baseUrl, operator, { tenantSlug: lonely.tenant.slug, email: emailFor('only-admin'), roles: ['admin'], password: PASSWORD });
    expectError(await api('POST', `/api/v1/users/${admin.userId}/disable`, { key: lonely.key }), 409, 'LAST_ADMIN');
    const disabled = await api('POST', `/api/v1/operator/users/${admin.userId}/disable`, { key: operator });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    expectError(await currentSession(admin), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
  });

  it('records operator accounts, their sign-ins and their portal changes in the operators\' trail', async () => {
    const email = emailFor('op-person');
    const person = await createPortalUser(system.baseUrl, operator, { email, password: PASSWORD });
    const signedIn = await signInPortal(system.baseUrl, email, PASSWORD);
    const slug = `audited-${unique()}`;
    const created = await portalFetch(system.baseUrl, signedIn, 'POST', '/api/v1/operator/tenants', { body: { slug, displayName: 'Audited', roles: ['partner'], timezone: 'UTC', currency: 'EUR' } });
    expect(created.status).toBe(200);
    const trail = await api('GET', '/api/v1/operator/audit-events?limit=50', { key: operator });
    expect(trail.status).toBe(200);
    const mine = trail.body.events.filter((event: { actor: string; subjectId: string }) => event.actor === person.userId || event.subjectId === person.userId);
    expect(mine.map((event: { action: string }) => event.action)).toEqual(expect.arrayContaining(['user.joined', 'user.signed_in', 'portal.operator.tenants.create']));
    expect(mine.find((event: { action: string }) => event.action === 'portal.operator.tenants.create').details).toEqual({ slug });
    // A tenant key cannot read it.
    expectError(await api('GET', '/api/v1/operator/audit-events', { key: shop.key }), 403, 'FORBIDDEN');
  });

  it('answers a stale portal asset with 404 and a malformed link token with 400, not 500', async () => {
    const asset = await api('GET', '/portal/assets/index-0ld8uild.js');
    expect(asset.status).toBe(404);
    expect(asset.body.code).toBe('ROUTE_NOT_FOUND');
    expect((await api('GET', '/portal/assets/..%2f..%2fpackage.json')).status).toBe(404);
    expectError(await api('GET', '/auth/invitations/%E0%A4%A'), 400, 'VALIDATION_FAILED');
    expect(system.logLines.filter((line) => line.includes('unhandled error') && line.includes('/portal/assets'))).toEqual([]);
  });
});

describe('password reset', () => {
  it('gives an admin a one-time link that sets a new password, ends the old sessions and keeps the account', async () => {
    const user = await shopUser('forgetful', ['finance']);
    const other = await shopUser('bystander', ['finance']);
    const reset = await call(shopAdmin, 'POST', `/api/v1/users/${user.userId}/password-reset`);
    expect(reset.status).toBe(200);
    expect(reset.body.path).toBe(`/portal/invite/${reset.body.token}`);
    // The link describes itself as a reset of that account; it is not a pending invitation.
    const described = await api('GET', `/auth/invitations/${reset.body.token}`);
    expect(described.body).toMatchObject({ purpose: 'reset', email: user.session.user.email, roles: ['finance'] });
    expect((await call(shopAdmin, 'GET', '/api/v1/users')).body.invitations.map((i: { email: string }) => i.email)).not.toContain(user.session.user.email);

    const newPassword = 'a brand new passphrase';
    const accepted = await api('POST', '/auth/invitations/accept', { body: { token: reset.body.token, password: newPassword } });
    expect(accepted.status).toBe(200);
    expect(accepted.body.user).toMatchObject({ id: user.userId, displayName: user.session.user.displayName, roles: ['finance'] });
    expectError(await currentSession(user), 401, 'UNAUTHENTICATED', { reason: 'session_revoked' });
    expect((await currentSession(other)).status).toBe(200);
    expectError(await api('POST', '/auth/sign-in', { body: { email: user.session.user.email, password: PASSWORD } }), 401, 'SIGN_IN_FAILED');
    expect((await api('POST', '/auth/sign-in', { body: { email: user.session.user.email, password: newPassword } })).status).toBe(200);
    expectError(await api('POST', '/auth/invitations/accept', { body: { token: reset.body.token, password: 'yet another passphrase' } }), 404, 'INVITATION_INVALID', { reason: 'used' });

    const actions = (await auditEvents(shop.key)).filter((event) => event.subjectId === user.userId).map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['user.password_reset_requested', 'user.password_reset']));
  });

  it('makes an earlier reset link stop working, and refuses another tenant\'s user', async () => {
    const user = await shopUser('twice-reset', ['marketer']);
    const first = await call(shopAdmin, 'POST', `/api/v1/users/${user.userId}/password-reset`);
    const second = await call(shopAdmin, 'POST', `/api/v1/users/${user.userId}/password-reset`);
    expectError(await api('GET', `/auth/invitations/${first.body.token}`), 404, 'INVITATION_INVALID', { reason: 'revoked' });
    expect((await api('GET', `/auth/invitations/${second.body.token}`)).status).toBe(200);

    const elsewhere = await tenantWithKey(system.services);
    expectError(await api('POST', `/api/v1/users/${user.userId}/password-reset`, { key: elsewhere.key }), 404, 'USER_NOT_FOUND');
  });

  it('still asks a new user for their name when joining', async () => {
    const { token } = await invitePortalUser(system.baseUrl, operator, { tenantSlug: shop.tenant.slug, email: emailFor('nameless'), roles: ['marketer'] });
    const res = await api('POST', '/auth/invitations/accept', { body: { token, password: PASSWORD } });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.details.issues[0].path).toBe('displayName');
    expect((await api('GET', `/auth/invitations/${token}`)).body.purpose).toBe('join');
  });
});
