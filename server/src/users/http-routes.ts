import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { parse as parseCookie } from 'cookie';
import { credentialsOf, SESSION_COOKIE } from '../auth/credentials.ts';
import type { Principal } from '../auth/principal.ts';
import { hasScopes, TENANT_SCOPES } from '../auth/scopes.ts';
import { parseInput } from '../errors/validation.ts';
import type { AppServices } from '../system/services.ts';
import { authenticateSession } from './authenticate-session.ts';
import { acceptInvitation, describeInvitation, endSessions } from './manage-users.ts';
import { clearedSessionCookie, issueSessionToken, readSessionToken, sessionCookie } from './sessions.ts';
import { signIn } from './sign-in.ts';
import { SignInLimits } from './sign-in-limits.ts';
import { displayNameSchema, emailSchema, passwordSchema } from './user.ts';
import { AppError } from '../errors/app-error.ts';

const signInBody = z.strictObject({ email: emailSchema, password: z.string().min(1, 'enter your password').max(256) });
const acceptBody = z.strictObject({
  token: z.string().min(1).max(100),
  displayName: displayNameSchema.optional().describe('Required when joining; a password reset keeps the name.'),
  password: passwordSchema,
});

/**
 * The portal's session endpoints (cookie based, for the browser; integrations use API
 * keys): sign in, the current session, sign out, and invitation links.
 */
export function portalAuthRoutes(services: AppServices): Router {
  const routes = Router();
  const limits = new SignInLimits(services.redis, { keyPrefix: services.config.queuePrefix, attemptsPerIp: services.config.portal.signInAttemptsPerIp });
  const json = express.json({ limit: 16 * 1024, type: ['application/json'] });
  const headersOf = (res: Response) => ({ set: (name: string, value: string) => void res.setHeader(name, value) });
  routes.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const startSession = async (req: Request, res: Response, user: { id: string; session_version: number }) => {
    const { token, claims } = await issueSessionToken(services.secrets, { id: user.id, sessionVersion: user.session_version }, services.clock.now());
    res.setHeader('Set-Cookie', sessionCookie(token, claims, credentialsOf(req, services.config.portal.secureCookies).secureCookies));
    const principal = await authenticateSession(services, { ...credentialsOf(req, services.config.portal.secureCookies), method: 'GET' }, token, headersOf(res));
    res.json(describeSession(principal, claims.csrf, claims.expiresAt));
  };

  routes.post('/sign-in', json, async (req, res, next) => {
    try {
      const input = parseInput(signInBody, req.body ?? {});
      const user = await signIn(services.db, limits, { ...input, clientIp: req.ip ?? 'unknown' }, headersOf(res), services.clock.now());
      req.log.info({ userId: user.id }, 'portal sign-in');
      await startSession(req, res, user);
    } catch (error) {
      next(error);
    }
  });

  routes.get('/session', async (req, res, next) => {
    try {
      const credentials = credentialsOf(req, services.config.portal.secureCookies);
      if (!credentials.sessionToken) throw new AppError('UNAUTHENTICATED', 'Not signed in.', { reason: 'missing' });
      let token = credentials.sessionToken;
      // A renewed session answers with the renewed token's expiry, not the one it replaced.
      const headers = {
        set: (name: string, value: string) => {
          res.setHeader(name, value);
          if (name === 'Set-Cookie') token = parseCookie(value)[SESSION_COOKIE] ?? token;
        },
      };
      const principal = await authenticateSession(services, credentials, token, headers);
      const claims = await readSessionToken(services.secrets, token, services.clock.now());
      res.json(describeSession(principal, claims!.csrf, claims!.expiresAt));
    } catch (error) {
      next(error);
    }
  });

  // Signing out ends every session of the user (a token cannot be revoked alone: it is
  // not stored), so a copied cookie stops working too.
  routes.post('/sign-out', async (req, res, next) => {
    try {
      const credentials = credentialsOf(req, services.config.portal.secureCookies);
      // Another site cannot sign people out (everywhere, since sign-out ends every session).
      if (credentials.origin && credentials.origin !== credentials.ownOrigin) {
        throw new AppError('CSRF_REJECTED', 'This sign-out came from another site and was refused.', { reason: 'cross_origin' });
      }
      const claims = credentials.sessionToken ? await readSessionToken(services.secrets, credentials.sessionToken, services.clock.now()) : null;
      if (claims) await endSessions(services.db, claims.userId, claims.version);
      res.setHeader('Set-Cookie', clearedSessionCookie(credentials.secureCookies));
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  });

  routes.get('/invitations/:token', async (req, res, next) => {
    try {
      await services.rateLimits.consumeForIp(req.ip ?? 'unknown', headersOf(res));
      res.json(await describeInvitation(services.db, req.params.token, services.clock.now()));
    } catch (error) {
      next(error);
    }
  });

  routes.post('/invitations/accept', json, async (req, res, next) => {
    try {
      await services.rateLimits.consumeForIp(req.ip ?? 'unknown', headersOf(res));
      const input = parseInput(acceptBody, req.body ?? {});
      const user = await acceptInvitation(services.db, input, services.clock.now());
      req.log.info({ userId: user.id }, 'portal invitation accepted');
      await startSession(req, res, user);
    } catch (error) {
      next(error);
    }
  });

  return routes;
}

/** What the portal needs to know about who is signed in: it hides what the scopes do not allow. */
function describeSession(principal: Principal, csrfToken: string, expiresAt: number) {
  const user = principal.user!;
  const scopes = principal.kind === 'tenant' ? (hasScopes(principal.scopes, ['admin']) ? [...TENANT_SCOPES] : principal.scopes) : [];
  return {
    user: { id: user.id, email: user.email, displayName: user.displayName, roles: user.roles },
    operator: principal.kind === 'operator',
    tenant:
      principal.kind === 'tenant'
        ? { slug: principal.tenant.slug, displayName: user.tenantName ?? principal.tenant.slug, roles: principal.tenant.roles, currency: principal.tenant.currency, timezone: principal.tenant.timezone, status: principal.tenant.status }
        : null,
    scopes,
    csrfToken,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}
