import { existsSync } from 'node:fs';
import express, { Router } from 'express';
import { AppError, toErrorBody } from '../errors/app-error.ts';
import { PORTAL_DIST } from './portal-build.ts';

// The portal's own code only: no inline scripts, no third-party origins. Styles allow
// inline attributes (the chart library positions with them).
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The partner portal's single-page app at /portal (built into partner-portal/dist). */
export function portalRoutes(): Router {
  const routes = Router();
  routes.get('/', (_req, res) => res.redirect(302, '/portal/'));
  routes.use('/portal', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  // Hashed file names: cache for a year.
  routes.use('/portal/assets', express.static(`${PORTAL_DIST}assets`, { immutable: true, maxAge: '365d' }));
  // An asset of an older build (a tab left open across a deploy) or a bad path: 404.
  routes.use('/portal/assets', (req, res) => {
    res.status(404).json(toErrorBody(new AppError('ROUTE_NOT_FOUND', 'No such portal asset: reload the page to get the current portal.'), req.requestId));
  });
  routes.use('/portal', express.static(PORTAL_DIST, { index: false, maxAge: 0 }));
  routes.get(/^\/portal(\/.*)?$/, (_req, res) => {
    const index = `${PORTAL_DIST}index.html`;
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The portal has not been built. Run "npm run build" (npm start builds it when Vite is installed).\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(index);
  });
  return routes;
}
