import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppServices } from '../system/services.ts';

/**
 * The interactive API reference at /docs/api: Swagger UI rendering /api/openapi.json,
 * served entirely from this server (the swagger-ui-dist package), no CDN. The page
 * runs under a Content-Security-Policy that allows only this origin.
 */
export const API_REFERENCE_PATH = '/docs/api';
const ASSETS_PATH = `${API_REFERENCE_PATH}/assets`;

const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Starts Swagger UI once the bundle has loaded (a file, not an inline script, so the CSP needs no 'unsafe-inline'). */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    deepLinking: true,
    docExpansion: 'none',
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    displayRequestDuration: true,
    filter: true,
    persistAuthorization: false,
    validatorUrl: null
  });
});
`;

interface AssetSource {
  contentType: string;
  load(): Promise<Buffer>;
}

const fromPackage = (file: string, contentType: string): AssetSource => ({ contentType, load: () => readFile(join(swaggerUiDir, file)) });

/** The only files served under /docs/api/assets: nothing else of node_modules is reachable. */
const ASSET_SOURCES: Record<string, AssetSource> = {
  'swagger-ui.css': fromPackage('swagger-ui.css', 'text/css; charset=utf-8'),
  'swagger-ui-bundle.js': fromPackage('swagger-ui-bundle.js', 'text/javascript; charset=utf-8'),
  'favicon-32x32.png': fromPackage('favicon-32x32.png', 'image/png'),
  'init.js': { contentType: 'text/javascript; charset=utf-8', load: async () => Buffer.from(INIT_SCRIPT) },
};

interface LoadedAsset {
  contentType: string;
  body: Buffer;
  gzipped: Buffer | null;
  etag: string;
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Swagger UI's stylesheet draws its icons as data: SVGs.
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function pageHtml(assetsBase: string, version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coalition Exchange API reference</title>
<link rel="icon" type="image/png" href="${assetsBase}/favicon-32x32.png">
<link rel="stylesheet" href="${assetsBase}/swagger-ui.css">
</head>
<body>
<noscript>This reference needs JavaScript. The OpenAPI document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
<div id="swagger-ui" data-api-version="${escapeHtml(version)}"></div>
<script src="${assetsBase}/swagger-ui-bundle.js"></script>
<script src="${assetsBase}/init.js"></script>
</body>
</html>
`;
}

/**
 * GET /docs/api (the page) and GET /docs/api/assets/<version>/<file> (its scripts and
 * styles). Asset URLs carry the server and Swagger UI versions, so they are cached as
 * immutable; the page itself is revalidated on every load. Every request counts
 * against the caller's IP like the other public routes.
 */
export function apiReferenceRoutes(services: AppServices, serverVersion: string): express.Router {
  const router = express.Router();
  const swaggerUiVersion = (createRequire(import.meta.url)('swagger-ui-dist/package.json') as { version: string }).version;
  const assetsVersion = `${serverVersion}-${swaggerUiVersion}`.replace(/[^0-9A-Za-z.-]/g, '-');
  const assetsBase = `${ASSETS_PATH}/${assetsVersion}`;
  const page = Buffer.from(pageHtml(assetsBase, serverVersion));
  const loaded = new Map<string, Promise<LoadedAsset>>();

  const rateLimited = async (req: Request, res: Response, next: NextFunction) => {
    try {
      await services.rateLimits.consumeForIp(req.ip ?? 'unknown', { set: (name, value) => void res.setHeader(name, value) });
      next();
    } catch (error) {
      next(error);
    }
  };

  router.get(API_REFERENCE_PATH, rateLimited, (_req, res) => {
    securityHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(page);
  });

  router.get(`${ASSETS_PATH}/:version/:file`, rateLimited, async (req, res, next) => {
    try {
      const file = String(req.params.file);
      const source = Object.hasOwn(ASSET_SOURCES, file) ? ASSET_SOURCES[file] : undefined;
      if (!source || req.params.version !== assetsVersion) return next();
      let asset = loaded.get(file);
      if (!asset) {
        asset = source.load().then((body) => ({
          contentType: source.contentType,
          body,
          gzipped: source.contentType.startsWith('image/') ? null : gzipSync(body),
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        }));
        asset.catch(() => loaded.delete(file));
        loaded.set(file, asset);
      }
      const { contentType, body, gzipped, etag } = await asset;
      securityHeaders(res);
      res.setHeader('Content-Type', contentType);
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('Vary', 'Accept-Encoding');
      const gzip = gzipped !== null && req.acceptsEncodings('gzip', 'identity') === 'gzip';
      if (gzip) res.setHeader('Content-Encoding', 'gzip');
      // One ETag per encoding; res.send answers 304 to a matching If-None-Match.
      res.setHeader('ETag', gzip ? `${etag.slice(0, -1)}-gz"` : etag);
      res.send(gzip ? gzipped : body);
    } catch (error) {
      next(error);
    }
  });

  return router;
}
