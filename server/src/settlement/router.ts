import { z } from 'zod';
import { operatorProcedure, router, tenantProcedure } from '../trpc/trpc.ts';
import {
  buildStatementFor,
  disputeStatement,
  finalizeStatement,
  getStatement,
  listStatements,
  payStatement,
  recordAdjustment,
  resolveDispute,
  verifyStatement,
  type SettlementContext,
} from './manage-statements.ts';
import { netting, nettingOutputSchema } from './netting-view.ts';
import { getReconciliation, reconciliationOutputSchema } from './reconcile-statement.ts';
import { getRun, startRun } from './settlement-runs.ts';
import {
  adjustmentInputSchema,
  buildStatementInputSchema,
  createRunInputSchema,
  disputeInputSchema,
  finalizeInputSchema,
  listStatementsInputSchema,
  nettingInputSchema,
  payInputSchema,
  reconciliationIdSchema,
  resolveInputSchema,
  runIdSchema,
  runOutputSchema,
  STATEMENT_STATUSES,
  statementIdSchema,
  statementOutputSchema,
} from './statement.ts';

const reader = { scopes: ['settlement:read' as const] };
const writer = { scopes: ['settlement:write' as const] };
const tags = ['settlement'];

function contextOf(ctx: { services: SettlementContext['services']; tenant: SettlementContext['tenant']; keyId: string }): SettlementContext {
  return { services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() };
}

const byId = z.strictObject({ statementId: statementIdSchema });

export const settlementRouter = router({
  startRun: tenantProcedure
    .meta({
      ...writer,
      openapi: {
        method: 'POST',
        path: '/v1/settlement/runs',
        tags,
        summary: 'Build the draft statements of all your agreements for a month, in the background',
        description: "Answers with the queued run; poll GET /v1/settlement/runs/{runId}. Without a period, each agreement's last closed month. Finalized statements are never touched.",
        protect: true,
      },
    })
    .input(createRunInputSchema)
    .output(runOutputSchema)
    .mutation(({ ctx, input }) => startRun(contextOf(ctx), input)),
  getRun: tenantProcedure
    .meta({ ...reader, openapi: { method: 'GET', path: '/v1/settlement/runs/{runId}', tags, summary: 'A settlement run you started', protect: true } })
    .input(z.strictObject({ runId: runIdSchema }))
    .output(runOutputSchema)
    .query(({ ctx, input }) => getRun(contextOf(ctx), input.runId)),
  build: tenantProcedure
    .meta({
      ...writer,
      openapi: {
        method: 'POST',
        path: '/v1/settlement/statements',
        tags,
        summary: "Build (or rebuild) an agreement's draft statement for a month, now",
        description: 'Idempotent: rebuilding without new entries changes nothing. A finalized statement is returned as it is.',
        protect: true,
      },
    })
    .input(buildStatementInputSchema)
    .output(statementOutputSchema)
    .mutation(({ ctx, input }) => buildStatementFor(contextOf(ctx), input)),
  list: tenantProcedure
    .meta({ ...reader, openapi: { method: 'GET', path: '/v1/settlement/statements', tags, summary: 'Statements of your agreements, newest month first', protect: true } })
    .input(listStatementsInputSchema)
    .output(z.object({ statements: z.array(statementOutputSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listStatements(contextOf(ctx), input)),
  get: tenantProcedure
    .meta({ ...reader, openapi: { method: 'GET', path: '/v1/settlement/statements/{statementId}', tags, summary: 'One statement: lines, totals, lifecycle and reconciliation', protect: true } })
    .input(byId)
    .output(statementOutputSchema)
    .query(({ ctx, input }) => getStatement(contextOf(ctx), input.statementId)),
  verify: tenantProcedure
    .meta({
      ...reader,
      openapi: {
        method: 'GET',
        path: '/v1/settlement/statements/{statementId}/verify',
        tags,
        summary: 'Rebuild the statement from its entries and compare byte for byte (changes nothing)',
        description: 'For a finalized statement `identical` must be true whatever happened since; for a draft, false means new entries arrived since it was built.',
        protect: true,
      },
    })
    .input(byId)
    .output(z.object({ statementId: z.string(), status: z.enum(STATEMENT_STATUSES), identical: z.boolean(), contentHash: z.string(), rebuiltContentHash: z.string() }))
    .query(({ ctx, input }) => verifyStatement(contextOf(ctx), input.statementId)),
  finalize: tenantProcedure
    .meta({
      ...writer,
      openapi: {
        method: 'POST',
        path: '/v1/settlement/statements/{statementId}/finalize',
        tags,
        summary: 'Finalize a draft after its month has ended: it never changes again',
        description: 'Send the contentHash of the draft you reviewed as expectedContentHash: if entries arrived since, finalizing is refused (STATEMENT_CHANGED). Months are finalized in order.',
        protect: true,
      },
    })
    .input(z.strictObject({ ...byId.shape, ...finalizeInputSchema.shape }))
    .output(statementOutputSchema)
    .mutation(({ ctx, input }) => finalizeStatement(contextOf(ctx), input.statementId, { expectedContentHash: input.expectedContentHash })),
  pay: tenantProcedure
    .meta({ ...writer, openapi: { method: 'POST', path: '/v1/settlement/statements/{statementId}/pay', tags, summary: 'Record the payment that settles a finalized statement', protect: true } })
    .input(z.strictObject({ ...byId.shape, ...payInputSchema.shape }))
    .output(statementOutputSchema)
    .mutation(({ ctx, input }) => payStatement(contextOf(ctx), input.statementId, { paymentReference: input.paymentReference })),
  dispute: tenantProcedure
    .meta({ ...writer, openapi: { method: 'POST', path: '/v1/settlement/statements/{statementId}/dispute', tags, summary: 'Dispute a finalized or paid statement (either party)', protect: true } })
    .input(z.strictObject({ ...byId.shape, ...disputeInputSchema.shape }))
    .output(statementOutputSchema)
    .mutation(({ ctx, input }) => disputeStatement(contextOf(ctx), input.statementId, { reason: input.reason })),
  resolve: tenantProcedure
    .meta({ ...writer, openapi: { method: 'POST', path: '/v1/settlement/statements/{statementId}/resolve', tags, summary: 'End your dispute (the party that raised it)', protect: true } })
    .input(z.strictObject({ ...byId.shape, ...resolveInputSchema.shape }))
    .output(statementOutputSchema)
    .mutation(({ ctx, input }) => resolveDispute(contextOf(ctx), input.statementId, { resolution: input.resolution })),
  adjust: tenantProcedure
    .meta({
      ...writer,
      openapi: {
        method: 'POST',
        path: '/v1/settlement/statements/{statementId}/adjustments',
        tags,
        summary: 'Concede an amount to the other party on a finalized statement: an adjustment in the open month (idempotent)',
        description:
          'The payer pays more, or the payee claims less: nobody can charge the other party. The adjustment is an entry dated now, shown on the next statement with a reference to this one. A retry with the same Idempotency-Key returns the first answer (Idempotent-Replayed: true) and records nothing more.',
        requestHeaders: z.object({ 'Idempotency-Key': z.string().describe('Required. A unique value per concession; send the same value when retrying.') }),
        protect: true,
      },
    })
    .input(z.strictObject({ ...byId.shape, ...adjustmentInputSchema.shape }))
    .output(z.object({ statement: statementOutputSchema, adjustment: z.object({ amountMinor: z.number().int(), currency: z.string(), period: z.string(), reason: z.string() }) }))
    .mutation(async ({ ctx, input }) => {
      const { result, replayed } = await recordAdjustment(contextOf(ctx), input.statementId, ctx.idempotencyKey, { amountMinor: input.amountMinor, currency: input.currency, reason: input.reason });
      if (replayed) ctx.responseHeaders.set('Idempotent-Replayed', 'true');
      return result;
    }),
  getReconciliation: tenantProcedure
    .meta({ ...reader, openapi: { method: 'GET', path: '/v1/settlement/reconciliations/{reconciliationId}', tags, summary: 'The result of a reconciliation file you uploaded', protect: true } })
    .input(z.strictObject({ reconciliationId: reconciliationIdSchema }))
    .output(reconciliationOutputSchema)
    .query(({ ctx, input }) => getReconciliation(contextOf(ctx), input.reconciliationId)),
  netting: tenantProcedure
    .meta({
      ...reader,
      openapi: {
        method: 'GET',
        path: '/v1/settlement/netting',
        tags,
        summary: 'Your netted position for a month across all your agreements, and the transfers you make or receive',
        protect: true,
      },
    })
    .input(nettingInputSchema)
    .output(nettingOutputSchema)
    .query(({ ctx, input }) => netting(ctx.services.db, input, ctx.tenant.id)),
});

export const operatorSettlementRouter = router({
  netting: operatorProcedure
    .meta({
      openapi: { method: 'GET', path: '/v1/operator/settlement/netting', tags: ['operator'], summary: "The coalition's netting for a month: every tenant's balance and the fewest transfers per currency", protect: true },
    })
    .input(nettingInputSchema)
    .output(nettingOutputSchema)
    .query(({ ctx, input }) => netting(ctx.services.db, input, null)),
});
