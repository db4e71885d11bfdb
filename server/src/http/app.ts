import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createOpenApiExpressMiddleware } from 'trpc-to-openapi';
import { AppError, toErrorBody } from '../errors/app-error.ts';
import { checkReadiness } from '../health/readiness.ts';
import type { AppServices } from '../system/services.ts';
import { appRouter } from '../trpc/app-router.ts';
import { createContextFactory, type RequestContext } from '../trpc/context.ts';
import { toAppError } from '../trpc/to-app-error.ts';
import { apiReferenceRoutes } from './api-reference.ts';
import { buildOpenApiDocument, restRouteTable } from './openapi.ts';
import { requestLogging } from './request-logging.ts';
import { emptyBodyIsEmptyJson, restErrorBodies } from './rest-errors.ts';
import { packageVersion } from '../system/package-info.ts';
import { poolFileRoutes } from '../pools/http-routes.ts';
import { settlementFileRoutes } from '../settlement/http-routes.ts';
import { portalRoutes } from '../portal/serve-portal.ts';
import { portalAuthRoutes } from '../users/http-routes.ts';

/** Calls one tRPC batch request may carry; each still counts against the rate limit. */
export const MAX_BATCH_SIZE = 20;

function headersOf(ctx: RequestContext | undefined): Record<string, string> {
  return ctx ? Object.fromEntries(ctx.responseHeaders) : {};
}

export interface HttpAppState {
  /** Flipped at the start of shutdown: /readyz answers 503 so load balancers drain us. */
  shuttingDown: boolean;
}

export function createHttpApp(services: AppServices, state: HttpAppState = { shuttingDown: false }): express.Express {
  const { config, logger } = services;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  app.use(requestLogging(logger));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });

  app.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(services.db, services.redis);
    const ready = readiness.ready && !state.shuttingDown;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : state.shuttingDown ? 'shutting_down' : 'unavailable', checks: readiness.checks });
  });

  const createContext = createContextFactory(services);
  const onError = ({ error, path, ctx }: { error: unknown; path?: string | undefined; ctx?: { log: typeof logger } | undefined }) => {
    const appError = toAppError(error);
    const log = ctx?.log ?? logger;
    if (appError.code === 'INTERNAL_ERROR') log.error({ err: appError.cause ?? error, procedure: path }, 'unhandled error');
    if (appError.code === 'SERVICE_UNAVAILABLE') log.warn({ err: appError.cause ?? error, procedure: path }, 'backing service unavailable');
  };

  app.use(
    '/trpc',
    createExpressMiddleware({
      router: appRouter,
      createContext,
      onError,
      maxBodySize: config.http.bodyLimitBytes,
      maxBatchSize: MAX_BATCH_SIZE,
      responseMeta: ({ ctx }) => ({ headers: headersOf(ctx) }),
    }),
  );

  let openApiDocument: ReturnType<typeof buildOpenApiDocument> | undefined;
  app.get('/api/openapi.json', async (req, res, next) => {
    try {
      // Unauthenticated: counted against the caller's IP like every public route.
      await services.rateLimits.consumeForIp(req.ip ?? 'unknown', { set: (name, value) => void res.setHeader(name, value) });
      openApiDocument ??= buildOpenApiDocument(appRouter, packageVersion);
      res.json(openApiDocument);
    } catch (error) {
      next(error);
    }
  });

  app.use(apiReferenceRoutes(services, packageVersion));
  app.use(portalRoutes());
  app.use('/auth', portalAuthRoutes(services));

  // File uploads and downloads: before the JSON body parser, which must not touch them.
  app.use('/api', poolFileRoutes(services));
  app.use('/api', settlementFileRoutes(services));

  const restRoutes = restRouteTable(appRouter);
  app.use('/api', (req, res, next) => {
    if (req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const routes = restRoutes.filter((route) => route.pattern.test(req.path));
    if (routes.length === 0 || routes.some((route) => route.method === req.method)) return next();
    const allowed = routes.map((route) => route.method);
    res.setHeader('Allow', allowed.join(', '));
    res.status(405).json(toErrorBody(new AppError('METHOD_NOT_ALLOWED', `${req.method} is not supported here; use ${allowed.join(' or ')}.`, { allowed }), req.requestId));
  });

  app.use(
    '/api',
    restErrorBodies,
    emptyBodyIsEmptyJson,
    // Parsed here, not by the adapter: its own parser ignores bodies whose Content-Type
    // carries a charset ("application/json; charset=utf-8", common in Java and .NET).
    express.json({ limit: config.http.bodyLimitBytes, type: ['application/json', 'application/*+json'], strict: false }),
    createOpenApiExpressMiddleware({
      router: appRouter,
      createContext,
      onError,
      maxBodySize: config.http.bodyLimitBytes,
      responseMeta: ({ ctx, errors }) => ({
        headers: headersOf(ctx),
        ...(errors[0] && { status: toAppError(errors[0]).httpStatus }),
      }),
    }),
  );

  app.use((req: Request, res: Response) => {
    res.status(404).json(toErrorBody(new AppError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.path}. The REST API lives under /api, tRPC under /trpc, the portal under /portal.`), req.requestId));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appError = toAppError(error);
    if (appError.code === 'INTERNAL_ERROR') req.log.error({ err: error }, 'unhandled error');
    res.status(appError.httpStatus).json(toErrorBody(appError, req.requestId));
  });

  return app;
}
