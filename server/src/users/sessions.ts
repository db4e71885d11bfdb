import { randomBytes, timingSafeEqual } from 'node:crypto';
import { serialize } from 'cookie';
import { jwtVerify, SignJWT } from 'jose';
import { SESSION_COOKIE } from '../auth/credentials.ts';
import type { Secrets } from '../secrets/secrets.ts';

/** A session ends after this long without a request (renewed as it is used). */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** ...and in any case this long after sign-in: then the user signs in again. */
export const SESSION_MAX_MS = 12 * 60 * 60 * 1000;
/** A session older than this is re-issued (with a fresh expiry) on its next request. */
const RENEW_AFTER_MS = 5 * 60 * 1000;

const ISSUER = 'coalition-exchange';
const AUDIENCE = 'portal';

export interface SessionClaims {
  userId: string;
  /** The user's session_version when it was issued: disabling or changing roles moves it. */
  version: number;
  /** Echoed in X-CSRF-Token by every mutation the portal sends. */
  csrf: string;
  authTime: number;
  issuedAt: number;
  expiresAt: number;
}

/**
 * The token is a JWS (HS256, a key derived from SECRET_KEY for this purpose only) kept
 * in an HttpOnly cookie: scripts cannot read it, and it carries nothing secret. The
 * server still looks the user up on every request, so a disabled user is out at once.
 */
export async function issueSessionToken(secrets: Secrets, user: { id: string; sessionVersion: number }, now: Date, previous?: SessionClaims): Promise<{ token: string; claims: SessionClaims }> {
  // JWT times are whole seconds; the claims returned are exactly what the token says.
  const issuedAt = Math.floor(now.getTime() / 1000) * 1000;
  const authTime = previous?.authTime ?? issuedAt;
  const claims: SessionClaims = {
    userId: user.id,
    version: user.sessionVersion,
    csrf: previous?.csrf ?? randomBytes(24).toString('base64url'),
    authTime,
    issuedAt,
    expiresAt: Math.min(issuedAt + SESSION_IDLE_MS, authTime + SESSION_MAX_MS),
  };
  const token = await new SignJWT({ ver: claims.version, csrf: claims.csrf, auth_time: authTime / 1000 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(user.id)
    .setIssuedAt(Math.floor(claims.issuedAt / 1000))
    .setExpirationTime(Math.floor(claims.expiresAt / 1000))
    .sign(sessionKey(secrets));
  return { token, claims };
}

/** The claims of a valid, unexpired token; null for anything else. */
export async function readSessionToken(secrets: Secrets, token: string, now: Date): Promise<SessionClaims | null> {
  try {
    const { payload } = await jwtVerify(token, sessionKey(secrets), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], currentDate: now });
    if (typeof payload.sub !== 'string' || typeof payload.ver !== 'number' || typeof payload.csrf !== 'string' || typeof payload.auth_time !== 'number') return null;
    if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number') return null;
    return { userId: payload.sub, version: payload.ver, csrf: payload.csrf, authTime: payload.auth_time * 1000, issuedAt: payload.iat * 1000, expiresAt: payload.exp * 1000 };
  } catch {
    return null;
  }
}

export function shouldRenew(claims: SessionClaims, now: Date): boolean {
  return now.getTime() - claims.issuedAt >= RENEW_AFTER_MS && claims.authTime + SESSION_MAX_MS > now.getTime() + RENEW_AFTER_MS;
}

export function csrfMatches(claims: SessionClaims, sent: string | undefined): boolean {
  if (!sent) return false;
  const a = Buffer.from(claims.csrf);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sessionCookie(token: string, claims: SessionClaims, secure: boolean): string {
  return serialize(SESSION_COOKIE, token, { httpOnly: true, secure, sameSite: 'strict', path: '/', expires: new Date(claims.expiresAt) });
}

export function clearedSessionCookie(secure: boolean): string {
  return serialize(SESSION_COOKIE, '', { httpOnly: true, secure, sameSite: 'strict', path: '/', expires: new Date(0) });
}

function sessionKey(secrets: Secrets): Uint8Array {
  return secrets.subkey('portal-session');
}
