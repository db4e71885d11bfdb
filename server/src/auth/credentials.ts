import type { Request } from 'express';
import { parse as parseCookies } from 'cookie';

export const SESSION_COOKIE = 'cx_session';
export const CSRF_HEADER = 'x-csrf-token';

/** What a request offers to prove who sent it: an API key, or a portal session cookie. */
export interface RequestCredentials {
  authorization: string | undefined;
  sessionToken: string | undefined;
  /** Mutations on a cookie session must echo the session's CSRF token and come from our own origin. */
  method: string;
  csrfToken: string | undefined;
  origin: string | undefined;
  /** scheme://host the request was addressed to (behind TRUST_PROXY: as the proxy saw it). */
  ownOrigin: string;
  /** Whether the session cookie should be Secure (the page is not on a loopback host). */
  secureCookies: boolean;
}

export function credentialsOf(req: Request, secureCookies: 'auto' | boolean): RequestCredentials {
  const cookieHeader = req.headers.cookie;
  // req.host, not the Host header: behind TRUST_PROXY the browser's origin is the proxy's (X-Forwarded-Host).
  const host = req.host ?? '';
  return {
    authorization: req.headers.authorization,
    sessionToken: cookieHeader ? parseCookies(cookieHeader)[SESSION_COOKIE] : undefined,
    method: req.method,
    csrfToken: req.header(CSRF_HEADER),
    origin: req.header('origin'),
    ownOrigin: `${req.protocol}://${host}`,
    secureCookies: secureCookies === 'auto' ? !isLoopbackHost(req.hostname) : secureCookies,
  };
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
