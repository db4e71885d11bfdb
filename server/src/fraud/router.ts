import { z } from 'zod';
import type { TenantScope } from '../auth/scopes.ts';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { decideCase, decideCaseInputSchema, fraudCaseDetailSchema, fraudCaseIdSchema, fraudCaseOutputSchema, getCase, listCases, listCasesInputSchema } from './review-cases.ts';
import { fraudRuleOutputSchema, listRules, updateRule, updateRuleInputSchema } from './rules.ts';

const reviewer: { scopes: TenantScope[]; role: 'issuer' } = { scopes: ['fraud:review'], role: 'issuer' };

export const fraudRouter = router({
  rules: router({
    list: tenantProcedure
      .meta({ ...reviewer, openapi: { method: 'GET', path: '/v1/fraud/rules', tags: ['fraud'], summary: 'The anti-fraud rules with your thresholds and actions', protect: true } })
      .input(z.void())
      .output(z.object({ rules: z.array(fraudRuleOutputSchema) }))
      .query(async ({ ctx }) => ({ rules: await listRules(ctx.tenant.db) })),
    update: tenantProcedure
      .meta({
        scopes: ['fraud:rules'],
        role: 'issuer',
        openapi: { method: 'PATCH', path: '/v1/fraud/rules/{ruleId}', tags: ['fraud'], summary: "Change a rule's action or thresholds, or reset it to the defaults", protect: true },
      })
      .input(updateRuleInputSchema)
      .output(fraudRuleOutputSchema)
      .mutation(({ ctx, input }) => updateRule(ctx.tenant.db, input, { actor: ctx.keyId, now: ctx.services.clock.now() })),
  }),
  cases: router({
    list: tenantProcedure
      .meta({ ...reviewer, openapi: { method: 'GET', path: '/v1/fraud/cases', tags: ['fraud'], summary: 'The review queue: cases the rules opened, newest first', protect: true } })
      .input(listCasesInputSchema)
      .output(z.object({ cases: z.array(fraudCaseOutputSchema), nextCursor: z.string().nullable(), openCount: z.number().int().describe('Open cases in all, whatever the filters.') }))
      .query(({ ctx, input }) => listCases(ctx.tenant.db, input)),
    get: tenantProcedure
      .meta({ ...reviewer, openapi: { method: 'GET', path: '/v1/fraud/cases/{caseId}', tags: ['fraud'], summary: 'One case with its evidence and what it still holds', protect: true } })
      .input(z.strictObject({ caseId: fraudCaseIdSchema }))
      .output(fraudCaseDetailSchema)
      .query(({ ctx, input }) => getCase(ctx.tenant.db, input.caseId, ctx.services.clock.now())),
    decide: tenantProcedure
      .meta({
        ...reviewer,
        openapi: { method: 'POST', path: '/v1/fraud/cases/{caseId}/decision', tags: ['fraud'], summary: 'Decide a case: release or reverse held stickers, block the card, or dismiss',
          description: 'Once per case: a decided case answers FRAUD_CASE_CLOSED; a decision that does not fit the case (release or reverse without held stickers, block_card without one card) answers FRAUD_DECISION_NOT_APPLICABLE.',
          protect: true,
        },
      })
      .input(decideCaseInputSchema)
      .output(fraudCaseOutputSchema)
      .mutation(({ ctx, input }) =>
        decideCase(ctx.tenant.db, input, { actor: ctx.keyId, actorName: ctx.principal.user ? `${ctx.principal.user.displayName} <${ctx.principal.user.email}>` : null, now: ctx.services.clock.now() }),
      ),
  }),
});
