import { sql, type Selectable } from 'kysely';
import { z } from 'zod';
import type { TenantDb } from '../db/database.ts';
import type { FraudAction, FraudRuleSettingsTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { validationError } from '../errors/validation.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';

/** Where a rule is evaluated: each stage runs inside the transaction it judges. */
export type FraudStage = 'purchase' | 'return' | 'exchange' | 'redemption';

export const FRAUD_ACTIONS = ['allow', 'flag', 'hold', 'block'] as const satisfies readonly FraudAction[];
export const fraudActionSchema = z.enum(FRAUD_ACTIONS);

interface ParamDefinition {
  description: string;
  default: number;
  min: number;
  max: number;
  /** Whole numbers only (counts, minutes); percentages too. */
  integer: boolean;
}

export interface FraudRuleDefinition {
  id: string;
  stage: FraudStage;
  title: string;
  description: string;
  /** What the rule may do at its stage (docs/fraud.md says why the others do not apply). */
  actions: readonly FraudAction[];
  defaultAction: FraudAction;
  params: Record<string, ParamDefinition>;
}

const count = (description: string, value: number, max = 10_000): ParamDefinition => ({ description, default: value, min: 1, max, integer: true });

/**
 * The rule catalog. Ids are stable: issuers store them and cases carry them. Defaults
 * are starting points measured against a synthetic week of honest shoppers
 * (test/fraud-scenarios.test.ts); docs/fraud.md explains how to tune each one.
 */
export const FRAUD_RULES = [
  {
    id: 'cashier.own_card_shift',
    stage: 'purchase',
    title: "Cashier's own card: many receipts in one shift",
    description: 'One card collects more than `maxReceipts` receipts rung up by the same cashier (a cashierId at one store) within `shiftHours` hours: the cashier scanning their own card for customers who have none.',
    actions: ['allow', 'flag', 'hold', 'block'],
    defaultAction: 'hold',
    params: {
      maxReceipts: count('Receipts by one cashier on one card allowed within the shift window.', 4, 1_000),
      shiftHours: count('Length of the shift window, in hours, looking back from the receipt.', 12, 72),
    },
  },
  {
    id: 'cashier.own_card_share',
    stage: 'purchase',
    title: "Cashier's own card: one cashier rings up most of a card's receipts",
    description: "Over the last 30 days more than `maxSharePercent`% of a card's receipts (at least `minReceipts` of them) were rung up by the cashier of this receipt, at this store.",
    actions: ['allow', 'flag', 'hold', 'block'],
    defaultAction: 'flag',
    params: {
      maxSharePercent: { description: "Highest share of a card's receipts one cashier may ring up, in percent.", default: 60, min: 1, max: 100, integer: true },
      minReceipts: count('Receipts a card needs in 30 days before the share counts (small numbers say nothing).', 12, 1_000),
    },
  },
  {
    id: 'velocity.daily_purchases',
    stage: 'purchase',
    title: 'Many purchases on one card in a day',
    description: "More than `maxPurchases` receipts on one card in one day (the issuer's time zone).",
    actions: ['allow', 'flag', 'hold', 'block'],
    defaultAction: 'hold',
    params: { maxPurchases: count('Receipts per card per day.', 6, 1_000) },
  },
  {
    id: 'velocity.stickers_30d',
    stage: 'purchase',
    title: 'Many stickers on one card in 30 days',
    description: 'More than `maxStickers` stickers credited to one card in the 30 days up to this receipt.',
    actions: ['allow', 'flag', 'hold', 'block'],
    defaultAction: 'flag',
    params: { maxStickers: count('Stickers per card in a rolling 30 days.', 300, 1_000_000) },
  },
  {
    id: 'velocity.store_hop',
    stage: 'purchase',
    title: 'One card in two stores at once',
    description: 'The card was used at a different store less than `withinMinutes` minutes before or after this receipt: two people share it, or it was copied.',
    actions: ['allow', 'flag', 'hold', 'block'],
    defaultAction: 'flag',
    params: { withinMinutes: count('Minutes within which receipts at two stores count as "at once".', 20, 1_440) },
  },
  {
    id: 'returns.spent_stickers',
    stage: 'return',
    title: 'Returns after the stickers were exchanged',
    description: 'In 90 days, returns of more than `maxReturns` receipts took back stickers the customer had already exchanged, leaving the card owing: buy, exchange, return.',
    actions: ['allow', 'flag'],
    defaultAction: 'flag',
    params: { maxReturns: count('Receipts returned after their stickers were exchanged, allowed in 90 days.', 1, 1_000) },
  },
  {
    id: 'returns.ratio',
    stage: 'return',
    title: 'High return ratio',
    description: 'Of the card\'s receipts from the last 90 days, more than `maxPercent`% of the amount came back, in at least `minReturns` returns.',
    actions: ['allow', 'flag'],
    defaultAction: 'flag',
    params: {
      maxPercent: { description: 'Highest share of the amount bought that may be returned, in percent.', default: 50, min: 1, max: 100, integer: true },
      minReturns: count('Returns needed in 90 days before the ratio counts.', 3, 1_000),
    },
  },
  {
    id: 'exchange.daily_cap',
    stage: 'exchange',
    title: 'Exchanges per customer per day',
    description: "More than `maxExchanges` exchanges by one customer in one day (the issuer's time zone), cancelled vouchers included.",
    actions: ['allow', 'flag', 'block'],
    defaultAction: 'block',
    params: { maxExchanges: count('Exchanges per customer per day.', 5, 1_000) },
  },
  {
    id: 'exchange.new_card_cooldown',
    stage: 'exchange',
    title: 'Cool-down for new cards',
    description: 'An exchange less than `hours` hours after the card was enrolled. Off by default: stickers on hold for the returns window already keep a new card from exchanging at once; turn it on with welcome bonuses or campaigns without a hold.',
    actions: ['allow', 'flag', 'block'],
    defaultAction: 'allow',
    params: { hours: count('Hours after enrolment before a card may exchange.', 24, 24 * 90) },
  },
  {
    id: 'exchange.shared_phone',
    stage: 'exchange',
    title: 'Vouchers to cards that share a phone',
    description: 'Cards that have held the same phone number received more than `maxVouchers` vouchers together in 30 days: one person running several cards.',
    actions: ['allow', 'flag', 'block'],
    defaultAction: 'flag',
    params: { maxVouchers: count('Vouchers in 30 days to all cards linked by a phone.', 6, 10_000) },
  },
  {
    id: 'redemption.shared_shopper',
    stage: 'redemption',
    title: "One shop account redeems many customers' codes",
    description: "A partner redeemed codes of more than `maxCustomers` different customers of yours on one shop account (the redemption's shopperRef) or one order within 30 days: codes being collected or resold. A signal: the partner's redemption stands.",
    actions: ['allow', 'flag'],
    defaultAction: 'flag',
    params: { maxCustomers: count("Different customers' codes on one shop account or order in 30 days.", 3, 10_000) },
  },
] as const satisfies readonly FraudRuleDefinition[];

export type FraudRuleId = (typeof FRAUD_RULES)[number]['id'];
export const FRAUD_RULE_IDS = FRAUD_RULES.map((rule) => rule.id) as [FraudRuleId, ...FraudRuleId[]];
export const fraudRuleIdSchema = z.enum(FRAUD_RULE_IDS, {
  error: (issue) => `unknown rule ${JSON.stringify(issue.input)}; rules: ${FRAUD_RULE_IDS.join(', ')}`,
});

const ACTION_RANK: Record<FraudAction, number> = { allow: 0, flag: 1, hold: 2, block: 3 };
export function strongerAction(a: FraudAction, b: FraudAction): FraudAction {
  return ACTION_RANK[b] > ACTION_RANK[a] ? b : a;
}

export function ruleDefinition(id: string): FraudRuleDefinition {
  const rule = FRAUD_RULES.find((candidate) => candidate.id === id);
  if (!rule) throw new AppError('FRAUD_RULE_NOT_FOUND', `There is no anti-fraud rule ${id}.`, { ruleId: id, rules: FRAUD_RULE_IDS });
  return rule;
}

/** A rule as one issuer has it set. */
export interface EffectiveRule {
  id: FraudRuleId;
  stage: FraudStage;
  action: FraudAction;
  params: Record<string, number>;
}

export type RuleSet = Map<FraudRuleId, EffectiveRule>;

type RuleSettingsRow = Selectable<FraudRuleSettingsTable>;

/** The issuer's own settings, by rule id: one small read. */
async function readSettings(db: TenantDb): Promise<Map<string, RuleSettingsRow>> {
  const rows = await db.selectFrom('fraud_rule_settings').selectAll().execute();
  return new Map(rows.map((row) => [row.rule_id, row]));
}

/** A catalog rule with the issuer's settings on top: its action and every threshold. */
function effectiveRule(rule: FraudRuleDefinition, own: RuleSettingsRow | undefined): EffectiveRule {
  const params = Object.fromEntries(Object.entries(rule.params).map(([name, param]) => [name, param.default]));
  Object.assign(params, (own?.params as Record<string, number> | undefined) ?? {});
  return { id: rule.id as FraudRuleId, stage: rule.stage, action: own?.action ?? rule.defaultAction, params };
}

/** The issuer's rules of a stage (or all), as the evaluators read them. */
export async function loadRules(db: TenantDb, stage?: FraudStage): Promise<RuleSet> {
  const settings = await readSettings(db);
  const rules: RuleSet = new Map();
  for (const rule of FRAUD_RULES) {
    if (!stage || rule.stage === stage) rules.set(rule.id, effectiveRule(rule, settings.get(rule.id)));
  }
  return rules;
}

/** The rule if it is on (its action is not allow). */
export function activeRule(rules: RuleSet, id: FraudRuleId): EffectiveRule | undefined {
  const rule = rules.get(id);
  return rule && rule.action !== 'allow' ? rule : undefined;
}

// ---- the API face -----------------------------------------------------------------

const paramOutputSchema = z.object({ name: z.string(), description: z.string(), value: z.number(), default: z.number(), min: z.number(), max: z.number() });

export const fraudRuleOutputSchema = z.object({
  id: fraudRuleIdSchema,
  stage: z.enum(['purchase', 'return', 'exchange', 'redemption']),
  title: z.string(),
  description: z.string(),
  action: fraudActionSchema,
  defaultAction: fraudActionSchema,
  actions: z.array(fraudActionSchema).describe('The actions this rule can take at its stage.'),
  params: z.array(paramOutputSchema),
  customized: z.boolean().describe('False while the rule runs on its defaults.'),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type FraudRule = z.infer<typeof fraudRuleOutputSchema>;

export async function listRules(db: TenantDb): Promise<FraudRule[]> {
  const settings = await readSettings(db);
  return FRAUD_RULES.map((rule) => {
    const own = settings.get(rule.id);
    const effective = effectiveRule(rule, own);
    return {
      id: rule.id,
      stage: rule.stage,
      title: rule.title,
      description: rule.description,
      action: effective.action,
      defaultAction: rule.defaultAction,
      actions: [...rule.actions],
      params: Object.entries(rule.params as Record<string, ParamDefinition>).map(([name, param]) => ({
        name,
        description: param.description,
        value: effective.params[name]!,
        default: param.default,
        min: param.min,
        max: param.max,
      })),
      customized: own !== undefined,
      updatedAt: own?.updated_at.toISOString() ?? null,
      updatedBy: own?.updated_by ?? null,
    };
  });
}

export const updateRuleInputSchema = z.strictObject({
  ruleId: z.string().regex(/^[a-z]+\.[a-z0-9_]+$/, 'must be a rule id such as velocity.daily_purchases'),
  action: fraudActionSchema.optional().describe('allow turns the rule off; flag, hold and block as the rule allows.'),
  params: z.record(z.string(), z.number()).optional().describe('Thresholds to change, by name; the others keep their values.'),
  reset: z.boolean().optional().describe('Back to the defaults (action and every threshold); nothing else may be sent with it.'),
});
export type UpdateRuleInput = z.input<typeof updateRuleInputSchema>;

/** Changes one rule's action or thresholds. Checked against the rule's own limits; audited. */
export async function updateRule(db: TenantDb, input: z.output<typeof updateRuleInputSchema>, context: { actor: string; now: Date }): Promise<FraudRule> {
  const rule = ruleDefinition(input.ruleId);
  if (input.reset && (input.action !== undefined || input.params !== undefined)) {
    throw validationError([{ path: ['reset'], message: 'send reset alone, without action or params' }]);
  }
  if (!input.reset && input.action === undefined && input.params === undefined) {
    throw validationError([{ path: [], message: 'send an action, params, or reset' }]);
  }
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (input.action !== undefined && !rule.actions.includes(input.action)) {
    issues.push({ path: ['action'], message: `${rule.id} can ${rule.actions.join(', ')}; not ${input.action}` });
  }
  const definitions = rule.params as Record<string, ParamDefinition>;
  for (const [name, value] of Object.entries(input.params ?? {})) {
    const param = definitions[name];
    if (!param) {
      issues.push({ path: ['params', name], message: `is not a threshold of ${rule.id}; it has ${Object.keys(definitions).join(', ')}` });
      continue;
    }
    if (!Number.isFinite(value) || (param.integer && !Number.isInteger(value))) issues.push({ path: ['params', name], message: 'must be a whole number' });
    else if (value < param.min || value > param.max) issues.push({ path: ['params', name], message: `must be between ${param.min} and ${param.max}` });
  }
  if (issues.length) throw validationError(issues);

  await db.transaction().execute(async (trx) => {
    if (input.reset) {
      await trx.deleteFrom('fraud_rule_settings').where('rule_id', '=', rule.id).execute();
    } else {
      // One statement, so two changes at once (an action, a threshold) both land.
      const params = JSON.stringify(input.params ?? {});
      await trx
        .insertInto('fraud_rule_settings')
        .values({ rule_id: rule.id, action: input.action ?? rule.defaultAction, params, updated_by: context.actor, updated_at: context.now })
        .onConflict((oc) =>
          oc.column('rule_id').doUpdateSet((eb) => ({
            action: input.action !== undefined ? eb.ref('excluded.action') : eb.ref('fraud_rule_settings.action'),
            params: sql<string>`fraud_rule_settings.params || excluded.params`,
            updated_by: eb.ref('excluded.updated_by'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
    await insertAuditEvent(trx, {
      actor: context.actor,
      action: input.reset ? 'fraud.rule_reset' : 'fraud.rule_updated',
      subjectType: 'fraud_rule',
      subjectId: rule.id,
      details: input.reset ? {} : { ...(input.action !== undefined && { action: input.action }), ...(input.params && { params: input.params }) },
    });
  });
  return (await listRules(db)).find((candidate) => candidate.id === rule.id)!;
}
