import express, { type Request, type Router } from 'express';
import { AppError } from '../errors/app-error.ts';
import { validationError } from '../errors/validation.ts';
import { tenantRoute, type TenantRequest } from '../http/tenant-request.ts';
import { CSV_TYPES, singleValues, streamOut } from '../pools/http-routes.ts';
import type { AppServices } from '../system/services.ts';
import { statementOfParty, type SettlementContext, type StatementRow } from './manage-statements.ts';
import { reconciliationReport, uploadReconciliation } from './reconcile-statement.ts';
import { entriesCsv, statementHtml, summaryCsv } from './statement-exports.ts';
import { reconciliationIdSchema, statementIdSchema } from './statement.ts';

/** Reconciliation files are read whole (one agreement's month): at most this many bytes. */
export const RECONCILIATION_LIMIT_BYTES = 32 * 1024 * 1024;

function param(req: Request, name: string, schema: typeof statementIdSchema): string {
  const parsed = schema.safeParse(req.params[name]);
  if (!parsed.success) throw validationError([{ path: [name], message: parsed.error.issues[0]!.message }]);
  return parsed.data;
}

function contextOf(services: AppServices, caller: TenantRequest): SettlementContext {
  return { services, tenant: caller.tenant, actor: caller.keyId, now: services.clock.now() };
}

async function readText(req: Request, limitBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = () =>
    new AppError('PAYLOAD_TOO_LARGE', `A reconciliation file may have at most ${limitBytes} bytes; split the month into several files by agreement.`, { limitBytes });
  if (declared > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new AppError('INVALID_RECONCILIATION_FILE', 'The file is not UTF-8 text: export it from your spreadsheet as "CSV UTF-8".', { reason: 'NOT_UTF8' });
  }
}

/**
 * Settlement's files: the statement exports (summary and per-entry CSV, printable
 * HTML), the reconciliation upload and its report. Either party of the agreement may
 * use them; nobody else sees the statement exists.
 */
export function settlementFileRoutes(services: AppServices): Router {
  const router = express.Router();
  const read = { scopes: ['settlement:read' as const] };

  const csvExport = (name: string, lines: (row: StatementRow, caller: TenantRequest) => AsyncGenerator<string>) =>
    router.get(
      `/v1/settlement/statements/:statementId/${name}.csv`,
      tenantRoute(services, read, async (req, res, caller) => {
        singleValues(req.query, []);
        const row = await statementOfParty(services.db, caller.tenant.id, param(req, 'statementId', statementIdSchema));
        await streamOut(res, lines(row, caller), { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${row.id}-${name}.csv"` });
      }),
    );
  csvExport('summary', (row, caller) => summaryCsv(services.db, row, caller.tenant.id));
  csvExport('entries', (row) => entriesCsv(services.db, row));

  router.get(
    '/v1/settlement/statements/:statementId/statement.html',
    tenantRoute(services, read, async (req, res, caller) => {
      singleValues(req.query, []);
      const row = await statementOfParty(services.db, caller.tenant.id, param(req, 'statementId', statementIdSchema));
      const html = await statementHtml(services.db, row, caller.tenant.id);
      res
        .status(200)
        .set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'" })
        .send(html);
    }),
  );

  router.post(
    '/v1/settlement/statements/:statementId/reconciliations',
    tenantRoute(services, { scopes: ['settlement:write'] }, async (req, res, caller) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!req.complete) res.setHeader('Connection', 'close');
      if (!CSV_TYPES.has(type)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send your list as the raw request body with Content-Type: text/csv.', { accepted: [...CSV_TYPES] });
      }
      const query = singleValues(req.query, ['filename']);
      if (query.filename !== undefined && (query.filename.length > 255 || /[\u0000-\u001f\u007f]/.test(query.filename))) {
        throw validationError([{ path: ['filename'], message: 'must be at most 255 printable characters' }]);
      }
      const statementId = param(req, 'statementId', statementIdSchema);
      // The statement is checked before the body is read: a stranger learns nothing by sending a file.
      await statementOfParty(services.db, caller.tenant.id, statementId);
      const text = await readText(req, Math.min(services.config.uploadLimitBytes, RECONCILIATION_LIMIT_BYTES));
      res.removeHeader('Connection');
      const result = await uploadReconciliation(contextOf(services, caller), statementId, { text, filename: query.filename ?? null });
      res.status(201).location(`/api/v1/settlement/reconciliations/${result.id}`).json(result);
    }),
  );

  router.get(
    '/v1/settlement/reconciliations/:reconciliationId/report.csv',
    tenantRoute(services, read, async (req, res, caller) => {
      singleValues(req.query, []);
      const id = param(req, 'reconciliationId', reconciliationIdSchema);
      const report = await reconciliationReport(contextOf(services, caller), id);
      res
        .status(200)
        .set({ 'Content-Type': 'text/csv; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="${id}-report.csv"` })
        .send(report);
    }),
  );

  return router;
}
