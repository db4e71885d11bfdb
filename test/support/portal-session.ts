import { request, type ApiResponse } from './http-client.ts';

/** The name of the portal's session cookie (server/src/auth/credentials.ts). */
export const SESSION_COOKIE = 'cx_session';

/** What POST /auth/sign-in, POST /auth/invitations/accept and GET /auth/session answer. */
export interface SessionBody {
  user: { id: string; email: string; displayName: string; roles: string[] };
  operator: boolean;
  tenant: { slug: string; roles: string[]; currency: string; timezone: string; status: string } | null;
  scopes: string[];
  csrfToken: string;
  expiresAt: string;
}

/**
 * A signed-in browser, reduced to what matters: the session cookie (kept up to date as
 * the server renews or clears it, like a cookie jar) and the CSRF token the portal
 * echoes in X-CSRF-Token on every change.
 */
export interface PortalSession {
  /** `cx_session=<token>`, ready for a Cookie header; empty once the server cleared it. */
  cookie: string;
  csrfToken: string;
  session: SessionBody;
}

export interface PortalUserInput {
  /** The user's tenant; omit (with an operator key) to create a coalition operator. */
  tenantSlug?: string;
  email: string;
  /** Tenant roles (admin, pool_manager, marketer, finance, fraud_reviewer); ignored for operators. */
  roles?: string[];
  password: string;
  displayName?: string;
}

/** Who invites: an operator key (cx_op_…), a tenant admin key (cx_live_…), or a signed-in admin/operator. */
export type Inviter = string | PortalSession;

export interface CreatedInvitation {
  token: string;
  path: string;
  invitation: { id: string; email: string; roles: string[]; status: string; createdAt: string; createdBy: string; expiresAt: string };
}

/** The `cx_session` cookie a response sets, as `cx_session=<value>` (empty value when cleared); undefined if none. */
export function sessionCookieFrom(headers: Headers): string | undefined {
  for (const line of headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === SESSION_COOKIE) return `${SESSION_COOKIE}=${pair.slice(eq + 1).trim()}`;
  }
  return undefined;
}

/** The raw Set-Cookie line for `cx_session`, for asserting its attributes. */
export function sessionSetCookieLine(headers: Headers): string | undefined {
  return headers.getSetCookie().find((line) => line.trimStart().startsWith(`${SESSION_COOKIE}=`));
}

/** Invites a portal user and returns the one-time token; throws unless the invitation was created. */
export async function invitePortalUser(baseUrl: string, inviter: Inviter, input: Omit<PortalUserInput, 'password' | 'displayName'>): Promise<CreatedInvitation> {
  const res = await invitePortalUserRaw(baseUrl, inviter, input);
  if (res.status !== 200) throw new Error(`invitation for ${input.email} not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The invitation request itself, whatever it answers. */
export function invitePortalUserRaw(baseUrl: string, inviter: Inviter, input: Omit<PortalUserInput, 'password' | 'displayName'>): Promise<ApiResponse> {
  const asOperator = typeof inviter === 'string' ? inviter.startsWith('cx_op_') : inviter.session.operator;
  const path = asOperator ? '/api/v1/operator/users/invitations' : '/api/v1/users/invitations';
  const body = asOperator
    ? { email: input.email, ...(input.tenantSlug !== undefined && { tenantSlug: input.tenantSlug, roles: input.roles }) }
    : { email: input.email, roles: input.roles };
  if (typeof inviter === 'string') return request(baseUrl, 'POST', path, { key: inviter, body });
  return portalFetch(baseUrl, inviter, 'POST', path, { body });
}

/** POST /auth/invitations/accept, whatever it answers. */
export function acceptInvitationRaw(baseUrl: string, body: { token: string; displayName: string; password: string }, headers: Record<string, string> = {}): Promise<ApiResponse<any>> {
  return request(baseUrl, 'POST', '/auth/invitations/accept', { body, headers });
}

/** POST /auth/sign-in, whatever it answers. */
export function signInRaw(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<ApiResponse<any>> {
  return request(baseUrl, 'POST', '/auth/sign-in', { body: { email, password }, headers });
}

/** The session a successful accept or sign-in answered with, or an error naming what came back. */
export function sessionFrom(res: ApiResponse, what: string): PortalSession {
  const cookie = sessionCookieFrom(res.headers);
  if (res.status !== 200 || !cookie) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const session = res.body as SessionBody;
  return { cookie, csrfToken: session.csrfToken, session };
}

/** Signs in over HTTP as the portal does; throws unless a session started. */
export async function signInPortal(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<PortalSession> {
  return sessionFrom(await signInRaw(baseUrl, email, password, headers), `sign-in of ${email}`);
}

/**
 * A portal user, the way a person becomes one: invited (by an operator key, a tenant
 * admin key or a signed-in admin), then accepting the link with a password. Returns
 * the signed-in session that accepting starts, plus the user's id.
 */
export async function createPortalUser(baseUrl: string, inviter: Inviter, input: PortalUserInput): Promise<PortalSession & { userId: string }> {
  const { token } = await invitePortalUser(baseUrl, inviter, input);
  const accepted = await acceptInvitationRaw(baseUrl, { token, displayName: input.displayName ?? input.email.split('@')[0]!, password: input.password });
  const session = sessionFrom(accepted, `accepting the invitation of ${input.email}`);
  return { ...session, userId: session.session.user.id };
}

export interface PortalFetchOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send X-CSRF-Token (default true): false sends the cookie alone. */
  csrf?: boolean;
}

/**
 * A request as the portal sends it: the session cookie, and X-CSRF-Token on every
 * request. Like a browser, it keeps the cookie the server renews (or clears).
 */
export async function portalFetch<T = any>(baseUrl: string, session: PortalSession, method: string, path: string, options: PortalFetchOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(session.cookie && { cookie: session.cookie }), ...(options.csrf !== false && { 'x-csrf-token': session.csrfToken }), ...options.headers };
  const res = await request<T>(baseUrl, method, path, { headers, ...(options.body !== undefined && { body: options.body }) });
  const renewed = sessionCookieFrom(res.headers);
  if (renewed !== undefined) session.cookie = renewed === `${SESSION_COOKIE}=` ? '' : renewed;
  return res;
}

/** A tRPC call (queries GET, mutations POST) with the session cookie and its CSRF token. */
export function portalTrpc<T = any>(baseUrl: string, session: PortalSession, type: 'query' | 'mutation', path: string, input?: unknown, options: Omit<PortalFetchOptions, 'body'> = {}): Promise<ApiResponse<T>> {
  if (type === 'query') {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return portalFetch<T>(baseUrl, session, 'GET', `/trpc/${path}${query}`, options);
  }
  return portalFetch<T>(baseUrl, session, 'POST', `/trpc/${path}`, { ...options, body: input ?? {} });
}
