import { z } from 'zod';
import { tenantProcedure } from '../trpc/trpc.ts';
import { listAuditEventsPage } from './audit.queries.ts';

const auditEventOutput = z.object({
  id: z.string(),
  occurredAt: z.string(),
  actor: z.string(),
  action: z.string(),
  subjectType: z.string(),
  subjectId: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export const listAuditEventsProcedure = tenantProcedure
  .meta({
    scopes: ['admin'],
    openapi: { method: 'GET', path: '/v1/audit-events', tags: ['audit'], summary: "Your tenant's audit trail, newest first", protect: true },
  })
  .input(
    z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: z.string().regex(/^\d{1,19}$/, 'must be the nextCursor of a previous page').optional(),
    }),
  )
  .output(z.object({ events: z.array(auditEventOutput), nextCursor: z.string().nullable() }))
  .query(async ({ ctx, input }) => {
    const rows = await listAuditEventsPage(ctx.tenant.db, { limit: input.limit + 1, beforeId: input.cursor });
    const page = rows.slice(0, input.limit);
    return {
      events: page.map((row) => ({
        id: row.id,
        occurredAt: row.occurred_at.toISOString(),
        actor: row.actor,
        action: row.action,
        subjectType: row.subject_type,
        subjectId: row.subject_id,
        details: row.details,
      })),
      nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
    };
  });
