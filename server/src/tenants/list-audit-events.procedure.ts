import { z } from 'zod';
import { tenantProcedure } from '../trpc/trpc.ts';
import { listAuditEvents } from './list-audit-events.ts';

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
    z.strictObject({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: z.string().regex(/^\d{1,18}$/, 'must be the nextCursor of a previous page').optional(),
    }),
  )
  .output(z.object({ events: z.array(auditEventOutput), nextCursor: z.string().nullable() }))
  .query(({ ctx, input }) => listAuditEvents(ctx.tenant.db, input));
