import { once } from 'node:events';
import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../errors/app-error.ts';
import { validationError } from '../errors/validation.ts';
import { tenantRoute } from '../http/tenant-request.ts';
import { requireIdempotencyKey } from '../idempotency/run-idempotent.ts';
import type { AppServices } from '../system/services.ts';
import { exportCodes } from './codes.ts';
import { receiveUpload, rejectReportLines } from './manage-batches.ts';

/** Content types a CSV arrives with: browsers on Windows label .csv files application/vnd.ms-excel. */
export const CSV_TYPES = new Set(['text/csv', 'text/plain', 'application/octet-stream', 'application/vnd.ms-excel']);

/** Query parameters as single strings; a repeated one is an error, not an array. */
export function singleValues(query: Request['query'], names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (!names.includes(name)) throw validationError([{ path: [name], message: `unknown query parameter; known: ${names.join(', ')}` }]);
    if (typeof value !== 'string') throw validationError([{ path: [name], message: 'must be given once' }]);
    out[name] = value;
  }
  return out;
}

/**
 * Answering before the whole body arrived (a refusal, a replayed upload) leaves the
 * rest of it on the connection: close the connection then, rather than read a file
 * nobody will use.
 */
async function bodyOrClose<T>(req: Request, res: Response, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    if (req.complete) res.removeHeader('Connection');
  }
}

export async function streamOut(res: Response, lines: AsyncGenerator<string>, headers: Record<string, string>): Promise<void> {
  // The first step runs the checks (and the audit entry): its errors still get a proper error response.
  const first = await lines.next();
  res.status(200).set({ 'Cache-Control': 'no-store', ...headers });
  if (!first.done) res.write(first.value);
  for await (const chunk of lines) {
    if (!res.write(chunk)) await once(res, 'drain');
  }
  res.end();
}

/**
 * The three partner operations that move files rather than JSON: the code upload, the
 * reject report and the audited export (docs/partner-guide.md). Mounted before the
 * JSON parser, so the upload body reaches the handler as a stream.
 */
export function poolFileRoutes(services: AppServices): Router {
  const router = express.Router();

  router.post(
    '/v1/offers/:offerId/code-batches/upload',
    tenantRoute(services, { scopes: ['pools:write'], role: 'partner' }, async (req, res, caller) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!req.complete) res.setHeader('Connection', 'close');
      if (!CSV_TYPES.has(type)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the code file as the raw request body with Content-Type: text/csv.', { accepted: [...CSV_TYPES] });
      }
      const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (encoding !== 'identity' && encoding !== 'gzip') {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding must be gzip or absent.', { accepted: ['identity', 'gzip'] });
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > services.config.uploadLimitBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `The file is larger than this server accepts (${services.config.uploadLimitBytes} bytes, UPLOAD_LIMIT_BYTES). Split it into several uploads.`, {
          limitBytes: services.config.uploadLimitBytes,
        });
      }
      const key = req.header('idempotency-key');
      const query = singleValues(req.query, ['name', 'expiresAt', 'delimiter', 'filename']);
      const result = await bodyOrClose(req, res, () => receiveUpload(
        { services, tenant: caller.tenant, actor: caller.keyId },
        String(req.params.offerId),
        query,
        req,
        { contentEncoding: encoding, uploadKey: key === undefined ? undefined : requireIdempotencyKey(key), limitBytes: services.config.uploadLimitBytes },
      ));
      res
        .status(result.created ? 202 : 200)
        .location(`/api/v1/code-batches/${result.batch.id}`)
        .json(result.batch);
    }),
  );

  router.get(
    '/v1/code-batches/:batchId/rejects.csv',
    tenantRoute(services, { scopes: ['pools:write'], role: 'partner' }, async (req, res, caller) => {
      singleValues(req.query, []);
      const batchId = String(req.params.batchId);
      await streamOut(res, rejectReportLines({ services, tenant: caller.tenant, actor: caller.keyId }, batchId), {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${batchId}-rejects.csv"`,
      });
    }),
  );

  router.post(
    '/v1/offers/:offerId/codes/export',
    express.json({ limit: '16kb', type: ['application/json', 'application/*+json'] }),
    tenantRoute(services, { scopes: ['codes:export'], role: 'partner' }, async (req, res, caller) => {
      if (!req.is('application/json') && !req.is('application/*+json')) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the export request as JSON: {"reason": "…"}.', {});
      }
      const offerId = String(req.params.offerId);
      await streamOut(res, exportCodes({ tenant: caller.tenant, actor: caller.keyId, secrets: services.secrets, now: services.clock.now() }, offerId, req.body as never), {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${offerId}-codes.csv"`,
      });
    }),
  );

  return router;
}
