import { sql, type Selectable } from 'kysely';
import { z } from 'zod';
import { coalitionDb, type Database } from '../db/database.ts';
import type { SettlementRunsTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput } from '../errors/validation.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';
import type { Logger } from '../logging/logger.ts';
import { localHour, monthOf } from '../system/calendar.ts';
import type { AppServices } from '../system/services.ts';
import { buildStatement, type SettlementContext } from './manage-statements.ts';
import { createRunInputSchema, newRunId, periodBounds, periodDate, periodLabel, previousPeriod, refuseFuturePeriod, runIdSchema, type SettlementRun } from './statement.ts';

type RunRow = Selectable<SettlementRunsTable>;

const MINUTE_MS = 60_000;
/** The local hour of the 1st at which the month before is settled. */
export const SETTLE_AT_LOCAL_HOUR = 3;
/** A run is attempted this many times (a crash or an error each) before it is marked failed. */
const RUN_ATTEMPTS = 3;
/** A queued run whose job never arrived (Redis away), or a running one silent this long, is queued again. */
const REQUEUE_QUEUED_AFTER_MS = MINUTE_MS;
const REQUEUE_RUNNING_AFTER_MS = 15 * MINUTE_MS;


/** When a period is settled automatically: the 1st of the next month at 03:00 in the agreement's zone. */
export function settlementDueAt(period: string, timeZone: string): Date {
  const year = Number(period.slice(0, 4));
  const month = Number(period.slice(5, 7));
  return localHour(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1, SETTLE_AT_LOCAL_HOUR, timeZone);
}

interface Target {
  agreementId: string;
  period: string;
  timezone: string;
}

/** A scheduled run builds a month only once its 1st-of-the-next-month 03:00 has come in the agreement's own zone. */
const isDue = (target: Target, now: Date) => now >= settlementDueAt(target.period, target.timezone);

/**
 * What the schedule builds now: each agreement's last closed month once it is due, if
 * it has no statement yet or only a draft built before it was due (a preview from
 * during the month, which would miss the month's last days).
 */
async function scheduledTargets(db: Database, now: Date): Promise<Target[]> {
  const targets = (await targetsOf(db, { tenant_id: null, period: null }, now)).filter((target) => isDue(target, now));
  if (targets.length === 0) return [];
  const statements = await coalitionDb(db)
    .selectFrom('settlement_statements')
    .select(['agreement_id', 'period', 'status', 'built_at'])
    .where('agreement_id', 'in', targets.map((target) => target.agreementId))
    .where('period', 'in', [...new Set(targets.map((target) => target.period))])
    .execute();
  const byKey = new Map(statements.map((row) => [`${row.agreement_id}/${row.period}`, row]));
  return targets.filter((target) => {
    const statement = byKey.get(`${target.agreementId}/${target.period}`);
    return !statement || (statement.status === 'draft' && statement.built_at < settlementDueAt(target.period, target.timezone));
  });
}

/**
 * The (agreement, month) pairs a run builds. An agreement is settled for a month if it
 * was accepted before the month ended and was in force during it, or has entries in
 * it (an ended agreement's late reversals still settle). `period` null: each
 * agreement's last closed month in its own time zone.
 */
async function targetsOf(db: Database, run: Pick<RunRow, 'tenant_id' | 'period'>, now: Date): Promise<Target[]> {
  let query = coalitionDb(db)
    .selectFrom('agreements')
    .select(['id', 'timezone', 'accepted_at', 'status', 'status_changed_at'])
    .where('accepted_at', 'is not', null)
    .orderBy('id');
  if (run.tenant_id !== null) {
    const tenantId = run.tenant_id;
    query = query.where((eb) => eb.or([eb('issuer_tenant_id', '=', tenantId), eb('partner_tenant_id', '=', tenantId)]));
  }
  const agreements = await query.execute();
  const candidates = agreements.map((agreement) => {
    const period = run.period ?? previousPeriod(monthOf(now, agreement.timezone));
    return { agreement, period, bounds: periodBounds(period, agreement.timezone) };
  });
  const withEntries = new Set<string>();
  const quiet = candidates.filter(({ agreement, bounds }) => agreement.status !== 'active' && agreement.status !== 'suspended' && (agreement.status_changed_at ?? now) < bounds.start);
  if (quiet.length) {
    const { rows } = await sql<{ agreement_id: string }>`
      select distinct agreement_id from coalition.settlement_entries e
      join unnest(${quiet.map((candidate) => candidate.agreement.id)}::text[], ${quiet.map((candidate) => candidate.period)}::date[]) as wanted(agreement_id, period)
        using (agreement_id)
      where e.period = wanted.period`.execute(db);
    for (const row of rows) withEntries.add(row.agreement_id);
  }
  return candidates
    .filter(({ agreement, period, bounds }) => agreement.accepted_at! < bounds.end && period <= monthOf(now, agreement.timezone))
    .filter(({ agreement, bounds }) => agreement.status === 'active' || agreement.status === 'suspended' || (agreement.status_changed_at ?? now) >= bounds.start || withEntries.has(agreement.id))
    .map(({ agreement, period }) => ({ agreementId: agreement.id, period, timezone: agreement.timezone }));
}

function toRun(row: RunRow): SettlementRun {
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return {
    id: row.id,
    period: row.period === null ? null : periodLabel(row.period),
    trigger: row.trigger,
    status: row.status,
    attempts: row.attempts,
    statementsBuilt: row.statements_built,
    statementsUnchanged: row.statements_unchanged,
    error: row.error,
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

async function enqueueRuns(services: AppServices, logger: Logger, runIds: readonly string[]): Promise<void> {
  try {
    await services.jobs.enqueueMany(settlementRunJob, runIds.map((runId) => ({ payload: { runId }, jobId: runId })), { attempts: RUN_ATTEMPTS, backoff: { type: 'exponential', delay: 5_000 } });
  } catch (error) {
    // The run is in PostgreSQL: the next close-periods sweep queues it again.
    logger.warn({ err: error, runIds }, 'settlement run not queued; the sweep will queue it');
  }
}

/**
 * Executes a run: each statement is built in its own transaction, so a run killed
 * halfway leaves whole statements (and the drafts before it) and its retry rebuilds
 * them all, changing nothing that is already right. Finalized statements are never
 * touched.
 */
export async function executeRun(services: AppServices, runId: string, logger: Logger): Promise<RunRow | undefined> {
  const coalition = coalitionDb(services.db);
  const run = await coalition
    .updateTable('settlement_runs')
    .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), started_at: services.clock.now() }))
    .where('id', '=', runId)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
  if (!run) return undefined;
  const fail = async (error: string) => {
    await coalition.updateTable('settlement_runs').set({ status: 'failed', error, finished_at: services.clock.now() }).where('id', '=', runId).execute();
    logger.error({ runId, error }, 'settlement run failed for good');
  };
  // A run that keeps dying with its worker (out of memory, say) is not tried forever.
  if (run.attempts > RUN_ATTEMPTS) {
    await fail(`gave up after ${RUN_ATTEMPTS} attempts${run.error ? `; last error: ${run.error}` : ' (the worker stopped each time)'}`);
    return undefined;
  }
  let built = 0;
  let unchanged = 0;
  const failures: string[] = [];
  const now = services.clock.now();
  const targets = run.trigger === 'schedule' ? await scheduledTargets(services.db, now) : await targetsOf(services.db, run, now);
  // One agreement's failure does not keep the others from being settled.
  for (const target of targets) {
    try {
      const result = await buildStatement(services.db, target.agreementId, target.period, { actor: `run:${run.id}`, now: services.clock.now() });
      if (result.changed) built++;
      else unchanged++;
    } catch (error) {
      if (error instanceof AppError && error.code === 'SETTLEMENT_PERIOD_NOT_COVERED') continue;
      logger.error({ err: error, runId, agreementId: target.agreementId, period: target.period }, 'settlement statement not built');
      failures.push(`${target.agreementId} ${periodLabel(target.period)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length) {
    const error = `${failures.length} of ${targets.length} statements not built: ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? '; …' : ''}`;
    await coalition.updateTable('settlement_runs').set({ statements_built: built, statements_unchanged: unchanged, error }).where('id', '=', runId).execute();
    if (run.attempts >= RUN_ATTEMPTS) {
      await fail(error);
      return undefined;
    }
    // BullMQ retries the job with backoff; the retry rebuilds every statement (unchanged ones stay as they are).
    throw new Error(error);
  }
  const finished = await coalition
    .updateTable('settlement_runs')
    .set({ status: 'succeeded', statements_built: built, statements_unchanged: unchanged, error: null, finished_at: services.clock.now() })
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirst();
  logger.info({ runId, built, unchanged }, 'settlement run finished');
  return finished;
}

export const settlementRunJob: JobDefinition<{ runId: string }> = {
  queue: 'settlement',
  name: 'settlement-run',
  payload: z.object({ runId: runIdSchema }),
  async handle(payload, { services, logger }) {
    await executeRun(services, payload.runId, logger);
  },
};

/**
 * The schedule: every quarter of an hour, any agreement whose last month has closed
 * and whose 1st-of-the-month 03:00 (in its own zone) has passed without a statement
 * gets one, through a scheduled run. Missed schedules (workers down over the 1st) are
 * caught up by the next sweep. Runs whose job was lost are queued again.
 */
export async function closeSettlementPeriods(services: AppServices, logger: Logger): Promise<string | null> {
  const coalition = coalitionDb(services.db);
  const now = services.clock.now();
  const due = await scheduledTargets(services.db, now);

  let created: string | null = null;
  if (due.length) {
    const open = await coalition.selectFrom('settlement_runs').select('id').where('trigger', '=', 'schedule').where('status', 'in', ['queued', 'running']).executeTakeFirst();
    if (!open) {
      created = newRunId();
      await coalition.insertInto('settlement_runs').values({ id: created, tenant_id: null, period: null, trigger: 'schedule', requested_by: 'scheduler', status: 'queued', created_at: now }).execute();
      logger.info({ runId: created, due: due.length }, 'settlement periods closed: run queued');
    }
  }
  const stale = await coalition
    .selectFrom('settlement_runs')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('created_at', '<', new Date(now.getTime() - REQUEUE_QUEUED_AFTER_MS))]),
        eb.and([eb('status', '=', 'running'), eb('started_at', '<', new Date(now.getTime() - REQUEUE_RUNNING_AFTER_MS))]),
      ]),
    )
    .execute();
  const runIds = [...(created ? [created] : []), ...stale.map((row) => row.id)];
  if (runIds.length) await enqueueRuns(services, logger, runIds);
  return created;
}

export const closeSettlementPeriodsJob: JobDefinition<Record<string, never>> = {
  queue: 'settlement',
  name: 'close-settlement-periods',
  payload: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
  repeatEveryMs: 15 * MINUTE_MS,
  async handle(_payload, { services, logger }) {
    await closeSettlementPeriods(services, logger);
  },
};

/** A run on demand for the caller's agreements: queued now, built by a worker. */
export async function startRun(context: SettlementContext, rawInput: z.input<typeof createRunInputSchema>): Promise<SettlementRun> {
  const input = parseInput(createRunInputSchema, rawInput);
  const { services, tenant, now } = context;
  const period = input.period === undefined ? null : periodDate(input.period);
  // The latest month anywhere on earth: agreements in other zones may already be in it.
  if (period !== null) refuseFuturePeriod(period, monthOf(new Date(now.getTime() + 14 * 60 * MINUTE_MS), 'UTC'), 'period');
  const row = await coalitionDb(services.db)
    .insertInto('settlement_runs')
    .values({ id: newRunId(), tenant_id: tenant.id, period, trigger: 'api', requested_by: context.actor, status: 'queued', created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  await enqueueRuns(services, services.logger, [row.id]);
  return toRun(row);
}

export async function getRun(context: Pick<SettlementContext, 'services' | 'tenant'>, id: string): Promise<SettlementRun> {
  const row = await coalitionDb(context.services.db).selectFrom('settlement_runs').selectAll().where('id', '=', id).where('tenant_id', '=', context.tenant.id).executeTakeFirst();
  if (!row) throw new AppError('SETTLEMENT_RUN_NOT_FOUND', `No settlement run ${id} of yours.`, { runId: id });
  return toRun(row);
}
