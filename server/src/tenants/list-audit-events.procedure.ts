import { z } from 'zod';
import { coalitionDb } from '../db/database.ts';
import { operatorProcedure, tenantProcedure } from '../trpc/trpc.ts';
import { listAuditEvents, listOperatorAuditEvents } from './list-audit-events.ts';

const auditEventOutput = z.object({
  id: z.string(),
  occurredAt: z.string(),
  actor: z.string(),
  action: z.string(),
  subjectType: z.string(),
  subjectId: z.string(),
  details: z.record(z.string(), z.unknown()),
});

const pageInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^\d{1,18}$/, 'must be the nextCursor of a previous page').optional(),
});
const pageOutput = z.object({ events: z.array(auditEventOutput), nextCursor: z.string().nullable() });

export const listAuditEventsProcedure = tenantProcedure
  .meta({
    scopes: ['admin'],
    openapi: { method: 'GET', path: '/v1/audit-events', tags: ['audit'], summary: "Your tenant's audit trail, newest first", protect: true },
  })
  .input(pageInput)
  .output(pageOutput)
  .query(({ ctx, input }) => listAuditEvents(ctx.tenant.db, input));

export const listOperatorAuditEventsProcedure = operatorProcedure
  .meta({
    openapi: { method: 'GET', path: '/v1/operator/audit-events', tags: ['operator'], summary: "The operators' audit trail (operator accounts, sign-ins, operators' portal changes), newest first", protect: true },
  })
  .input(pageInput)
  .output(pageOutput)
  .query(({ ctx, input }) => listOperatorAuditEvents(coalitionDb(ctx.services.db), input));
