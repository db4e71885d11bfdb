import os from 'node:os';
import type { CodeImportFigures, MemoryFigures } from './code-import.ts';
import type { SettlementFigures } from './settlement.ts';
import { SETTLE_MS, type CpuWindow } from './cpu.ts';
import type { LoadSummary } from './load-generator.ts';
import { EXCHANGE_CONNECTIONS, EXCHANGE_CUSTOMER_COUNT, EXCHANGE_PGBENCH_TARGET } from './exchanges.ts';
import { pgbenchRunAt, type PgbenchFigures, type PgbenchOutcome, type PgbenchRun } from './pgbench.ts';
import { ORDER_AMOUNT_MINOR, REDEMPTION_CONNECTIONS, VOUCHER_SECONDS_PER_REDEEM_SECOND } from './redemptions.ts';
import { BENCH_CARD_COUNT } from './purchases.ts';
import { BARE_PG_QUERY } from './stack.ts';
import type { Percentiles, WebhookFigures } from './webhooks.ts';

export interface ScenarioResult {
  id: string;
  title: string;
  request: string;
  /** Concurrent connections of its load. */
  connections: number;
  summary: LoadSummary;
  /** This scenario's average req/s divided by the bare baseline's, same run. */
  ratioToBare: number;
  /**
   * Write scenarios only (purchase, exchange): average req/s divided by pgbench's tps
   * on the same PostgreSQL with as many clients as this scenario's connections, same
   * run; null when pgbench was unavailable.
   */
  ratioToPgbench?: number | null;
  /** Write scenarios only: CPU time around the measured run. */
  cpu?: ScenarioCpu;
}

/** A scenario's CPU window and the transactions committed in it (the measured run's 2xx and the requests it left in flight). */
export type ScenarioCpu = CpuWindow & { transactions: number };

export interface MachineFacts {
  date: string;
  node: string;
  platform: string;
  cpuCount: number;
  cpuModel: string;
  totalMemoryGiB: number;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverageAtStart: number;
}

export interface RunSettings {
  warmupSeconds: number;
  durationSeconds: number;
  connections: number;
  exchangeConnections: number;
  /** The bare pg lookup's, validate's and redeem's. */
  redemptionConnections: number;
  postgres: string;
  redis: string;
}

export function machineFacts(loadAverageAtStart: number): MachineFacts {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: Math.round(loadAverageAtStart * 100) / 100,
  };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1);
const ratio = (value: number) => value.toFixed(2);

function rows(results: ScenarioResult[]): string[][] {
  return results.map((r) => [
    r.title,
    String(r.connections),
    integer.format(r.summary.requestsPerSecondAverage),
    ms(r.summary.latencyP50Ms),
    ms(r.summary.latencyP99Ms),
    ratio(r.ratioToBare),
    integer.format(r.summary.requestsTotal),
  ]);
}

const HEADERS = ['Scenario', 'Connections', 'Req/s (avg)', 'p50 ms', 'p99 ms', 'vs bare', 'Requests'];

export function consoleTable(results: ScenarioResult[]): string {
  const body = rows(results);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// ---- CPU time ---------------------------------------------------------------------

/** CPU milliseconds per transaction; undefined without the CPU figure or without transactions. */
function perTransactionMs(seconds: number | undefined, transactions: number | undefined): number | undefined {
  return seconds === undefined || !transactions ? undefined : (seconds * 1000) / transactions;
}

/**
 * Two significant figures: /proc counts whole ticks of 10 ms (USER_HZ 100) per process,
 * so each live process's delta is off by under one tick (exited ones are exact), and a
 * window of a few hundred ticks over a dozen or two busy processes is typically good to
 * about a per cent, a few per cent at worst.
 */
const cpuMs = (value: number | undefined) => (value === undefined ? 'unavailable' : `${value >= 10 ? value.toFixed(0) : value.toPrecision(2)} ms`);

/** A window's CPU per transaction. */
interface CpuPerTransaction {
  postgresMs: number | undefined;
  /** Absent for pgbench: no app. */
  appMs: number | undefined;
  machineMs: number | undefined;
}

const scenarioCpuMs = (cpu: ScenarioCpu): CpuPerTransaction => ({
  postgresMs: perTransactionMs(cpu.postgresSeconds, cpu.transactions),
  appMs: perTransactionMs(cpu.appSeconds, cpu.transactions),
  machineMs: perTransactionMs(cpu.machineSeconds, cpu.transactions),
});

const pgbenchCpuMs = (run: PgbenchRun): CpuPerTransaction => ({
  postgresMs: perTransactionMs(run.cpu.postgresSeconds, run.transactions),
  appMs: undefined,
  machineMs: perTransactionMs(run.cpu.machineSeconds, run.transactions),
});

/** Printed under a write scenario's figures. */
export function cpuLine(cpu: ScenarioCpu, summary: LoadSummary): string {
  const per = scenarioCpuMs(cpu);
  return (
    `CPU over ${secondsText(cpu.wallSeconds)} s (the run, then ${SETTLE_MS / 1000} s for requests in flight): ${integer.format(cpu.transactions)} transactions committed ` +
    `(${integer.format(summary.count2xx)} answered in time); per transaction: PostgreSQL ${cpuMs(per.postgresMs)}, app (this Node process) ${cpuMs(per.appMs)}, whole machine ${cpuMs(per.machineMs)}`
  );
}

/** pgbench's CPU per transaction ÷ the scenario's: the scenario's ratio to pgbench tps if that CPU were all that limited either. */
interface Ceiling {
  pgbenchMs: number;
  scenarioMs: number;
  value: number;
}

function ceiling(pgbenchMs: number | undefined, scenarioMs: number | undefined): Ceiling | undefined {
  return pgbenchMs === undefined || !scenarioMs ? undefined : { pgbenchMs, scenarioMs, value: pgbenchMs / scenarioMs };
}

/** Against PostgreSQL's CPU alone (the app costing nothing), and against every process's on the machine. */
function ceilings({ cpu }: ScenarioResult, run: PgbenchRun | undefined): { database: Ceiling | undefined; machine: Ceiling | undefined } {
  if (!cpu || !run) return { database: undefined, machine: undefined };
  const [scenario, pgbench] = [scenarioCpuMs(cpu), pgbenchCpuMs(run)];
  return { database: ceiling(pgbench.postgresMs, scenario.postgresMs), machine: ceiling(pgbench.machineMs, scenario.machineMs) };
}

/** The ceilings in words, for the console or (bold figures) Markdown. */
function ceilingTexts(result: ScenarioResult, comparison: PgbenchComparison, run: PgbenchRun | undefined, markdown: boolean): string[] {
  const bold = (text: string) => (markdown ? `**${text}**` : text);
  const { database, machine } = ceilings(result, run);
  if (!database) return ['Database-bound ceiling: unavailable (no PostgreSQL CPU figure for both).'];
  let text =
    `Database-bound ceiling: ${bold(ratio(database.value))} = pgbench's ${cpuMs(database.pgbenchMs)} ÷ ${cpuMs(database.scenarioMs)} of PostgreSQL CPU per transaction, ` +
    `the ${comparison.unit}/s ÷ pgbench tps reachable if the app cost nothing and PostgreSQL spent on ${comparison.unit} all the CPU it spends on pgbench.`;
  if (comparison.target !== undefined) {
    const verdict = comparison.target > database.value ? `${bold('above it')}: out of reach while PostgreSQL gets no more CPU than under pgbench` : bold('within it');
    text += ` The ${ratio(comparison.target)} target compares against this ceiling and is ${verdict}.`;
  }
  const texts = [text];
  if (machine && typeof result.ratioToPgbench === 'number') {
    texts.push(
      `Whole-machine ceiling: ${ratio(machine.value)} = ${cpuMs(machine.pgbenchMs)} ÷ ${cpuMs(machine.scenarioMs)} of CPU per transaction by every process on the machine ` +
        `(under pgbench: its client and PostgreSQL; under the API: the app, PostgreSQL, Redis and autocannon), the ratio CPU alone allows (other work on the machine counts too), beside the ${ratio(result.ratioToPgbench)} measured.`,
    );
  }
  return texts;
}

const PURCHASE_MEANING =
  'What the ratio compares: a purchase is one API transaction of 14 SQL statements between BEGIN and COMMIT ' +
  '(also 14 for a card seen for the first time, which it enrols and does not judge): it claims the Idempotency-Key (insert), locks the ' +
  "customer row, inserts the purchase, reads the issuer's anti-fraud rules and the card's last 30 days of receipts in one aggregate, " +
  'inserts a ledger row and a `stickers.credited` outbox event, reads the settings, ' +
  'campaigns, rules and the balance back, and stores the answer on the idempotency record (a rule that fires adds its evidence read and a case write) — after the API key ' +
  'lookup and the rate-limit counter in Redis. A TPC-B transaction is 5 statements (update an account, read its ' +
  'balance, update a teller and a branch, insert a history row). So the ratio is how many whole purchases the app ' +
  'completes per pgbench transaction on the same server, with the same connection count and duration: 1 would ' +
  'mean a purchase costs no more than one small TPC-B transaction; below that are the extra statements, the ' +
  'Node.js work (HTTP, authentication, validation, JSON) and the CPUs that the app, PostgreSQL, Redis and the load ' +
  'generator share. At scale 2 every TPC-B transaction updates one of only 2 branch rows, so pgbench clients ' +
  'queue on those rows — harsher contention than the purchases, spread over 1,000 cards.';

const EXCHANGE_MEANING =
  'What the ratio compares: an exchange is one API transaction of 17 SQL statements between BEGIN and COMMIT, ' +
  "across the issuer's, the partner's and the coalition's schemas: it claims the Idempotency-Key, reads the reward " +
  "and the agreement, locks the customer row, reads the issuer's anti-fraud rules, counts the customer's vouchers of the day and reads the cards linked by a phone, locks the campaign and reads the balance in one statement, appends a " +
  "spend to the sticker ledger, reads the offer FOR KEY SHARE, picks one available code FOR UPDATE SKIP LOCKED and " +
  "marks it issued in one statement, checks the pool's stock level, inserts the voucher and a settlement entry, " +
  'writes a `voucher.issued` outbox event for each tenant and stores the answer on the idempotency record — after ' +
  "the API key lookup, the rate-limit counter in Redis and a read of the issuer's signing keys, and before a check " +
  "that the voucher's key is not revoked; the code is decrypted in the transaction and the voucher signed (Ed25519 " +
  'JWS) for the answer. A TPC-B transaction is 5 statements. Both run with ' +
  `${EXCHANGE_CONNECTIONS} clients for the same duration on the same server, so the ratio is how many whole exchanges the ` +
  'app completes per pgbench transaction; below 1 are the extra statements, the Node.js work (HTTP, ' +
  'authentication, validation, decryption, signing, JSON) and the CPUs that the app, PostgreSQL, Redis and the ' +
  `load generator share. At scale 2, pgbench's ${EXCHANGE_CONNECTIONS} clients all update one of only 2 branch rows and queue on ` +
  `them (pgbench's documentation advises a scale of at least the client count); the exchanges spread over ${EXCHANGE_CUSTOMER_COUNT.toLocaleString('en-US')} customers and share only the campaign and offer rows, in share ` +
  'modes, and the pool, where SKIP LOCKED lets them pass over each other.';

const REDEEM_MEANING =
  'What the ratio compares: a redemption is one API transaction of 11 SQL statements between BEGIN and COMMIT, ' +
  "across the partner's and the coalition's schemas and the issuer's outbox: it claims the Idempotency-Key (insert), " +
  'finds the code by its keyed lookup hash and then its voucher (joined with both tenants), moves the voucher from ' +
  'issued to redeemed by one conditional update (the row every redemption, reversal and cancellation of that voucher ' +
  "locks first), marks the code redeemed, inserts the redemption, reads the agreement, reads the issuer's anti-fraud rules and counts the issuer's customers redeemed on the same order, writes a `voucher.redeemed` " +
  "event to the issuer's outbox (whose trigger notifies the webhook relay at commit) and stores the answer on the " +
  'idempotency record — after the API key lookup and the rate-limit counter in Redis. (An agreement paid per ' +
  "redemption would add a settlement entry; the bench's is paid per issued voucher.) A TPC-B transaction is 5 " +
  `statements. Both run with ${REDEMPTION_CONNECTIONS} clients for the same duration on the same server, so the ratio is how many whole ` +
  'redemptions the app completes per pgbench transaction; each redemption takes a voucher and code of its own, so ' +
  'unlike pgbench at scale 2 they never queue on a row (they only read the tenants and the agreement).';

/** How a write scenario is set beside pgbench: its unit, its section, what the ratio means, and a target if it has one. */
interface PgbenchComparison {
  heading: string;
  /** Plural, e.g. "purchases": what one request of the scenario achieves. */
  unit: string;
  meaning: string;
  target?: number;
}

const PGBENCH_COMPARISONS: Record<string, PgbenchComparison> = {
  purchase: { heading: 'Purchases against PostgreSQL itself', unit: 'purchases', meaning: PURCHASE_MEANING },
  exchange: { heading: 'Exchanges against PostgreSQL itself', unit: 'exchanges', meaning: EXCHANGE_MEANING, target: EXCHANGE_PGBENCH_TARGET },
  redeem: { heading: 'Redemptions against PostgreSQL itself', unit: 'redemptions', meaning: REDEEM_MEANING },
};

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function pgbenchRunLine(pgbench: PgbenchFigures, run: PgbenchRun): string {
  const latency = run.latencyAverageMs === undefined ? '' : `, latency average ${ms(run.latencyAverageMs)} ms`;
  const transactions = run.transactions === undefined ? '' : `, ${integer.format(run.transactions)} transactions`;
  const per = pgbenchCpuMs(run);
  return (
    `pgbench (TPC-B-like, scale ${pgbench.scale}, ${run.clients} clients, ${run.threads} threads, ${pgbench.durationSeconds} s; ` +
    `${pgbench.version} against PostgreSQL ${pgbench.serverVersion}): ${integer.format(run.tps)} tps${latency}${transactions}\n` +
    `  CPU over ${secondsText(run.cpu.wallSeconds)} s (its connections, and ${SETTLE_MS / 1000} s for its backends to exit, included): per transaction: ` +
    `PostgreSQL ${cpuMs(per.postgresMs)}, whole machine ${cpuMs(per.machineMs)}`
  );
}

/** The scenarios set beside pgbench, each with its comparison and the pgbench run at its connection count. */
function comparisons(results: ScenarioResult[], pgbench: PgbenchOutcome): { result: ScenarioResult; comparison: PgbenchComparison; run: PgbenchRun | undefined }[] {
  return results
    .filter((result) => result.ratioToPgbench !== undefined && PGBENCH_COMPARISONS[result.id])
    .map((result) => ({ result, comparison: PGBENCH_COMPARISONS[result.id]!, run: pgbenchRunAt(pgbench, result.connections) }));
}

/** Whether a ratio meets its target, in words; the verdict in bold for Markdown. */
function targetVerdict(value: number, target: number, markdown = false): string {
  const verdict = value >= target ? 'met' : 'not met';
  return `target at least ${ratio(target)}: ${markdown ? `**${verdict}**` : verdict}`;
}

/** Printed right below the console table. */
export function pgbenchLines(results: ScenarioResult[], pgbench: PgbenchOutcome): string[] {
  if (!pgbench.available) return [`pgbench: unavailable — ${pgbench.reason}`, ...comparisons(results, pgbench).map(({ result }) => `${result.title} ÷ pgbench: unavailable (no pgbench figure)`)];
  const lines = pgbench.runs.map((run) => pgbenchRunLine(pgbench, run));
  for (const { result, comparison, run } of comparisons(results, pgbench)) {
    if (!run || result.ratioToPgbench === null || result.ratioToPgbench === undefined) {
      lines.push(`${result.title} ÷ pgbench: unavailable (no pgbench run with ${result.connections} clients)`);
      continue;
    }
    const verdict = comparison.target === undefined ? '' : `; ${targetVerdict(result.ratioToPgbench, comparison.target)}`;
    lines.push(
      `${result.title} ÷ pgbench, ${result.connections} clients each: ${integer.format(result.summary.requestsPerSecondAverage)} ${comparison.unit}/s ÷ ${integer.format(run.tps)} tps = ${ratio(result.ratioToPgbench)}${verdict}`,
    );
    lines.push(...ceilingTexts(result, comparison, run, false).map((text) => `  ${text}`));
  }
  return lines;
}

function pgbenchSection(result: ScenarioResult, comparison: PgbenchComparison, run: PgbenchRun | undefined, pgbench: PgbenchOutcome): string {
  const { summary } = result;
  const header = ['Measured', 'Per second', 'Latency', 'Count'];
  const rowsOut: string[][] = [
    [
      `${result.title} (API, ${result.request.split(' ').slice(0, 2).join(' ')}, ${result.connections} connections)`,
      `${integer.format(summary.requestsPerSecondAverage)} ${comparison.unit}/s`,
      `p50 ${ms(summary.latencyP50Ms)} ms, p99 ${ms(summary.latencyP99Ms)} ms, average ${ms(summary.latencyAverageMs)} ms`,
      `${integer.format(summary.requestsTotal)} ${comparison.unit}`,
    ],
  ];
  if (pgbench.available && run) {
    rowsOut.push([
      `pgbench, TPC-B-like (scale ${pgbench.scale}, -c ${run.clients} -j ${run.threads} -T ${pgbench.durationSeconds})`,
      `${integer.format(run.tps)} tps`,
      run.latencyAverageMs === undefined ? '—' : `average ${ms(run.latencyAverageMs)} ms`,
      run.transactions === undefined ? '—' : `${integer.format(run.transactions)} transactions`,
    ]);
  } else {
    rowsOut.push(['pgbench, TPC-B-like', 'unavailable', '—', '—']);
  }
  const measuredRatio = run ? result.ratioToPgbench : null;
  let ratioText = 'unavailable (pgbench was not run)';
  if (run && measuredRatio !== null && measuredRatio !== undefined) {
    ratioText = `**${ratio(measuredRatio)}** (${integer.format(summary.requestsPerSecondAverage)} ÷ ${integer.format(run.tps)})`;
    if (comparison.target !== undefined) ratioText += ` — ${targetVerdict(measuredRatio, comparison.target, true)}`;
  }
  const table = [`| ${header.join(' | ')} |`, `| --- | ---: | ---: | ---: |`, ...rowsOut.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  const facts = pgbench.available
    ? `Client: ${pgbench.version}; server: PostgreSQL ${pgbench.serverVersion} (the one the app used; no HTTP load runs meanwhile)` +
      (run?.failedTransactions ? `; ${integer.format(run.failedTransactions)} failed transactions` : '') +
      '.'
    : `pgbench: unavailable — ${pgbench.reason}.`;
  return `
## ${comparison.heading}

${table}

${capitalized(comparison.unit)}/s ÷ pgbench tps at ${result.connections} clients: ${ratioText}

${cpuSection(result, comparison, run)}

${facts}

${comparison.meaning}
`;
}

/** The CPU table of a write scenario's section and its ceilings. */
function cpuSection(result: ScenarioResult, comparison: PgbenchComparison, run: PgbenchRun | undefined): string {
  const header = ['CPU time (user + system)', 'Window', 'Transactions', 'PostgreSQL per transaction', 'App per request', 'Whole machine per transaction'];
  const rowsOut: string[][] = [];
  if (result.cpu) {
    const per = scenarioCpuMs(result.cpu);
    rowsOut.push([
      `${result.title} (API, ${result.connections} connections)`,
      `${secondsText(result.cpu.wallSeconds)} s`,
      `${integer.format(result.cpu.transactions)} committed (${integer.format(result.summary.count2xx)} answered in time)`,
      cpuMs(per.postgresMs),
      cpuMs(per.appMs),
      cpuMs(per.machineMs),
    ]);
  }
  if (run) {
    const per = pgbenchCpuMs(run);
    rowsOut.push([
      `pgbench (-c ${run.clients})`,
      `${secondsText(run.cpu.wallSeconds)} s`,
      run.transactions === undefined ? '—' : integer.format(run.transactions),
      cpuMs(per.postgresMs),
      '—',
      cpuMs(per.machineMs),
    ]);
  }
  if (rowsOut.length === 0) return 'CPU time: unavailable.';
  const table = [`| ${header.join(' | ')} |`, `| --- | ${header.slice(1).map(() => '---:').join(' | ')} |`, ...rowsOut.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  return `${table}

${ceilingTexts(result, comparison, run, true).join('\n\n')}

CPU is user + system time over each window, per transaction committed in it; how it is measured is under [How to compare](#how-to-compare).`;
}

// ---- validate beside a bare lookup -------------------------------------------------

/** The validate scenario and its bare baseline, when both ran. */
function validatePair(results: ScenarioResult[]): { validate: ScenarioResult; bare: ScenarioResult; ratio: number } | undefined {
  const validate = results.find((r) => r.id === 'validate');
  const bare = results.find((r) => r.id === 'bare-pg');
  if (!validate || !bare) return undefined;
  const bareRps = bare.summary.requestsPerSecondAverage;
  return { validate, bare, ratio: bareRps > 0 ? validate.summary.requestsPerSecondAverage / bareRps : 0 };
}

export interface FraudFigures {
  hits: number;
  purchases: number;
  cases: number;
}

function fraudPair(results: ScenarioResult[]): { on: ScenarioResult; off: ScenarioResult } | undefined {
  const on = results.find((r) => r.id === 'purchase');
  const off = results.find((r) => r.id === 'purchase-rules-off');
  return on && off ? { on, off } : undefined;
}

const overhead = (on: number, off: number) => `${on >= off ? '+' : ''}${(((on - off) / off) * 100).toFixed(1)}%`;

/** The anti-fraud rules' cost on the purchase path: the same load with the rules on (defaults) and off. */
export function fraudLines(results: ScenarioResult[], fraud: FraudFigures): string[] {
  const pair = fraudPair(results);
  if (!pair) return [];
  const { on, off } = pair;
  return [
    `purchase with anti-fraud on ÷ off: ${integer.format(on.summary.requestsPerSecondAverage)} ÷ ${integer.format(off.summary.requestsPerSecondAverage)} req/s = ${ratio(on.summary.requestsPerSecondAverage / off.summary.requestsPerSecondAverage)}` +
      `; p50 ${ms(on.summary.latencyP50Ms)} vs ${ms(off.summary.latencyP50Ms)} ms (${overhead(on.summary.latencyP50Ms, off.summary.latencyP50Ms)}), p99 ${ms(on.summary.latencyP99Ms)} vs ${ms(off.summary.latencyP99Ms)} ms` +
      `; the rules hit ${integer.format(fraud.purchases)} receipts (${integer.format(fraud.cases)} cases)`,
  ];
}

function fraudSection(results: ScenarioResult[], fraud: FraudFigures): string {
  const pair = fraudPair(results);
  if (!pair) return '';
  const { on, off } = pair;
  const header = ['Purchase accrual', 'Req/s (avg)', 'p50 ms', 'p99 ms', 'Average ms', 'Requests'];
  const row = (label: string, r: ScenarioResult) =>
    `| ${label} | ${integer.format(r.summary.requestsPerSecondAverage)} | ${ms(r.summary.latencyP50Ms)} | ${ms(r.summary.latencyP99Ms)} | ${ms(r.summary.latencyAverageMs)} | ${integer.format(r.summary.requestsTotal)} |`;
  return `
## Anti-fraud rules on the purchase path

The same purchase load twice, one run after the other: first with every anti-fraud rule
set to \`allow\` (only the settings are read), then with the rules on their defaults (docs/fraud.md).
With the rules on, each receipt reads the card's last 30 days once and the rule settings
once; a rule that fires also reads its evidence and writes a case hit. The bench spreads
receipts over ${integer.format(BENCH_CARD_COUNT)} cards within seconds, far denser than real shoppers, so some rules fire:
this run they hit ${integer.format(fraud.purchases)} receipts and opened ${integer.format(fraud.cases)} cases.

| ${header.join(' | ')} |
| --- | ${header.slice(1).map(() => '---:').join(' | ')} |
${row('Rules off', off)}
${row('Rules on (defaults)', on)}

On ÷ off, req/s: **${ratio(on.summary.requestsPerSecondAverage / off.summary.requestsPerSecondAverage)}**; p50 latency ${overhead(on.summary.latencyP50Ms, off.summary.latencyP50Ms)}, average ${overhead(on.summary.latencyAverageMs, off.summary.latencyAverageMs)}.
`;
}

/** Printed right below the console table. */
export function validateLines(results: ScenarioResult[]): string[] {
  const pair = validatePair(results);
  if (!pair) return [];
  const { validate, bare } = pair;
  return [
    `validate ÷ bare Express + pg lookup, ${validate.connections} connections each: ${integer.format(validate.summary.requestsPerSecondAverage)} ÷ ${integer.format(bare.summary.requestsPerSecondAverage)} req/s = ${ratio(pair.ratio)}` +
      `; p50 ${ms(validate.summary.latencyP50Ms)} vs ${ms(bare.summary.latencyP50Ms)} ms, p99 ${ms(validate.summary.latencyP99Ms)} vs ${ms(bare.summary.latencyP99Ms)} ms`,
  ];
}

function validateSection(results: ScenarioResult[]): string {
  const pair = validatePair(results);
  if (!pair) return '';
  const header = ['Measured', 'Req/s (avg)', 'p50 ms', 'p99 ms', 'Average ms', 'Requests'];
  const row = (label: string, r: ScenarioResult) =>
    `| ${label} | ${integer.format(r.summary.requestsPerSecondAverage)} | ${ms(r.summary.latencyP50Ms)} | ${ms(r.summary.latencyP99Ms)} | ${ms(r.summary.latencyAverageMs)} | ${integer.format(r.summary.requestsTotal)} |`;
  return `
## Validate against a bare primary-key lookup

| ${header.join(' | ')} |
| --- | ${header.slice(1).map(() => '---:').join(' | ')} |
${row(`Validate (API, \`POST /api/v1/codes/validate\`, ${pair.validate.connections} connections)`, pair.validate)}
${row(`Bare Express + \`pg\` (\`POST /bare-pg\`, ${pair.bare.connections} connections)`, pair.bare)}

Validate ÷ bare lookup, req/s at ${pair.validate.connections} connections: **${ratio(pair.ratio)}** (${integer.format(pair.validate.summary.requestsPerSecondAverage)} ÷ ${integer.format(pair.bare.summary.requestsPerSecondAverage)})

What the ratio compares: the bare baseline is a plain Express 5 app with \`express.json()\` and one
handler that runs \`${BARE_PG_QUERY}\` through a \`pg.Pool\` as large as the app's own pool
(\`DB_POOL_MAX\`), on the same PostgreSQL and database, with the id from the body, and
answers the row as JSON: the least any request that reads PostgreSQL can cost here. Validate
is the partner's till asking about a code before payment (\`{"code", "orderAmountMinor": ${ORDER_AMOUNT_MINOR}, "currency": "RUB"}\`):
the API key lookup in PostgreSQL and its hash check, the rate-limit counter in Redis, input
validation, the code's keyed lookup hash (HMAC-SHA256), then 2 queries — the code by its hash
in the partner's pool, its voucher joined with both tenants — and the answer with the offer's
terms and the discount on the order, through the REST face. Both cycle through the same
issued vouchers (ids for one, codes for the other) from a random start, with the same
number of connections; every validate answer must say \`"valid":true\`.
`;
}

// ---- webhook deliveries -------------------------------------------------------------

const pct = (p: Percentiles) => `p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms`;

/** Printed after the pgbench lines. */
export function webhookLines(figures: WebhookFigures): string[] {
  const { burst, latency, checks } = figures;
  const cpu = burst.cpu;
  const per = (seconds: number | undefined) => cpuMs(perTransactionMs(seconds, cpu.deliveries));
  return [
    `webhook burst: ${integer.format(burst.deliveries)} deliveries (the redemptions' voucher.redeemed events waiting in the outbox) reached the receiver ${secondsText(burst.seconds)} s after relay and worker started: ` +
      `${integer.format(burst.perSecond)} deliveries/s; first after ${secondsText(burst.firstArrivalSeconds)} s; last fan-out batch began after ${secondsText(burst.fanOutSeconds)} s; delivery row → arrival ${pct(burst.rowToArrivalMs)}`,
    `  CPU over ${secondsText(cpu.wallSeconds)} s (until all recorded as succeeded, then ${SETTLE_MS / 1000} s): per delivery: PostgreSQL ${per(cpu.postgresSeconds)}, app (this Node process) ${per(cpu.appSeconds)}, whole machine ${per(cpu.machineSeconds)}`,
    `webhook latency, ${latency.ratePerSecond} redemptions/s with relay and worker running (${integer.format(latency.answered)} of ${integer.format(latency.redemptions)} answered): ` +
      `redemption answered → webhook received ${pct(latency.answerToArrivalMs)} (max ${ms(latency.answerToArrivalMs.max)} ms)`,
    `  event occurred_at (request start) → received ${pct(latency.occurredToArrivalMs)}; answered → delivery row ${pct(latency.answerToRowMs)}; delivery row → received ${pct(latency.rowToArrivalMs)}; the redemptions themselves ${pct(latency.redeemAnswerMs)}`,
    `webhook checks: ${integer.format(checks.events)} voucher.redeemed events of ${integer.format(checks.redemptions)} redemptions → ${integer.format(checks.deliveries)} deliveries; ` +
      `${integer.format(checks.received)} received (${integer.format(checks.distinctReceived)} distinct webhook-ids), ${checks.missing} missing, ${checks.unknown} unknown, ${checks.received - checks.distinctReceived} duplicates, ${checks.retried} retried; ` +
      `events of ${integer.format(checks.redemptionsArrived)} of ${integer.format(checks.redemptions)} redemptions arrived; signatures verified with standardwebhooks: ${integer.format(checks.signaturesVerified)} of ${integer.format(checks.received)}`,
  ];
}

function webhookSection(figures: WebhookFigures): string {
  const { burst, latency, checks } = figures;
  const cpu = burst.cpu;
  const per = (seconds: number | undefined) => cpuMs(perTransactionMs(seconds, cpu.deliveries));
  const p = (value: Percentiles) => `${ms(value.p50)} | ${ms(value.p99)} | ${ms(value.max)}`;
  return `
## Webhook deliveries

Burst: the redemptions' events waiting in the outbox when the relay and the worker start.

| Measured | Value |
| --- | ---: |
| Deliveries (one per \`voucher.redeemed\` event) | ${integer.format(burst.deliveries)} |
| **Deliveries/s** (deliveries ÷ time from start to the last arrival) | **${integer.format(burst.perSecond)}** |
| Start → last arrival | ${secondsText(burst.seconds)} s |
| Start → first arrival | ${secondsText(burst.firstArrivalSeconds)} s |
| Start → the relay's last fan-out batch (its delivery rows' \`created_at\`) | ${secondsText(burst.fanOutSeconds)} s |
| Delivery row (\`created_at\`) → arrival, p50 / p99 | ${ms(burst.rowToArrivalMs.p50)} / ${ms(burst.rowToArrivalMs.p99)} ms |
| CPU per delivery: PostgreSQL / app / whole machine | ${per(cpu.postgresSeconds)} / ${per(cpu.appSeconds)} / ${per(cpu.machineSeconds)} |

Latency: ${latency.ratePerSecond} redemptions/s for the measured duration (${integer.format(latency.redemptions)} redemptions, ${integer.format(latency.answered)} answered with a redemption), relay and worker running.

| From → to (ms) | p50 | p99 | max |
| --- | ---: | ---: | ---: |
| **Redemption answered → webhook received** | **${ms(latency.answerToArrivalMs.p50)}** | **${ms(latency.answerToArrivalMs.p99)}** | ${ms(latency.answerToArrivalMs.max)} |
| Event \`occurred_at\` (the redeem request's start) → received | ${p(latency.occurredToArrivalMs)} |
| Redemption answered → its delivery row's \`created_at\` (the relay's fan-out) | ${p(latency.answerToRowMs)} |
| Delivery row's \`created_at\` → received | ${p(latency.rowToArrivalMs)} |
| The redemption itself: sent → answered | ${p(latency.redeemAnswerMs)} |

Checks (the run fails otherwise): ${integer.format(checks.redemptions)} redemptions of the bench offer, ${integer.format(checks.events)} \`voucher.redeemed\` events in the issuer's outbox,
${integer.format(checks.deliveries)} deliveries to the endpoint, all recorded as succeeded (${checks.retried} needed a retry); the receiver got
${integer.format(checks.received)} requests with ${integer.format(checks.distinctReceived)} distinct \`webhook-id\`s: ${checks.missing} deliveries missing, ${checks.unknown} unknown ids,
${checks.received - checks.distinctReceived} duplicates; the events of ${integer.format(checks.redemptionsArrived)} of ${integer.format(checks.redemptions)} redemptions arrived (by \`data.redemptionId\`);
every body is a \`voucher.redeemed\` of the issuer for the bench offer; ${integer.format(checks.signaturesVerified)} of ${integer.format(checks.received)} signatures
verified with the \`standardwebhooks\` package (\`new Webhook(secret).verify(body, headers)\`, every one, with the secret the endpoint's registration answered).

What is measured: the issuer registers a receiver through the API (\`POST /api/v1/webhooks/endpoints\`,
\`{"url", "eventTypes": ["voucher.redeemed"]}\`; the app runs with \`WEBHOOK_ALLOW_LOOPBACK=true\`).
The receiver is a plain \`node:http\` server on 127.0.0.1 in a Node process of its own that
answers 200 at once and notes when each body has fully arrived. While the HTTP scenarios run no
relay or worker runs; just before the redeem scenario one relay pass (no worker) clears every
older outbox row, so the burst holds the redemptions' events alone (the redeem pre-check's was
already queued). Then the webhook job's worker host (BullMQ, ${figures.workerConcurrency} at a time) and the relay
(\`WebhookRelay\` with its defaults: woken by LISTEN/NOTIFY at commit, polling every second) start
in the app's process, as \`coalition start\` / \`coalition worker\` run them (the worker host without
the scheduled jobs, so no sweep or prune runs meanwhile). The relay turns outbox rows into
delivery rows in batches of 500, leases the due ones and queues them; the worker loads each,
decrypts the endpoint secret, signs, POSTs (keep-alive, at most 8 sockets per receiver) and
records the attempt in a transaction.

For the latency, the same process as the receiver plays the shop: it starts a redemption every
${ms(1000 / latency.ratePerSecond)} ms whatever the others are doing, and notes when each answer has fully arrived. The commit
is taken as **that answer's arrival**: the transaction commits before the server answers, so
this slightly understates the latency from the commit itself (by the answer's trip over loopback,
well under a millisecond here). The event's \`occurred_at\` (the body's \`timestamp\`) is the moment
the redeem request started, before its transaction, so the second row overstates it by the
redemption's own time; the true figure lies between the two. A delivery row's \`created_at\` is the
relay's clock when it began the fan-out batch that wrote it (after the redemption's NOTIFY woke it,
or after the pass it was busy with), so the last two rows split the latency into the relay's wake-up
and fan-out, and the rest: the dispatch into BullMQ, the worker, the signed POST. All are this machine's
wall clock (\`performance.timeOrigin + performance.now()\` in the receiver's process; the app's
\`Date\`, in milliseconds, for \`created_at\` and \`occurred_at\`), so the split can be a millisecond
off, and the relay can begin its fan-out before the answer reaches the shop (a negative figure).
`;
}

const CPU_MEANING =
  `Each CPU window opens just before the measured run (${SETTLE_MS / 1000} s after the warm-up, so its last requests are served) or pgbench, and closes ` +
  `${SETTLE_MS / 1000} s after it ends: autocannon stops waiting for answers when its time is up, but the server still serves those requests and ` +
  'their transactions commit, so they are counted, from the database just outside the window (pgbench: its own count, with its connections ' +
  "and the exit of its backends inside the window). PostgreSQL's CPU is that of every server process, read from /proc: the postmaster's own, " +
  "its exited and reaped children's (cutime + cstime, where the CPU of backends that came and went lands) and every live backend's and " +
  "helper's, in ticks of 10 ms per process (hence two significant figures). The app's is `process.cpuUsage()` of the one Node process " +
  "serving the API, which also runs the bench, idle meanwhile (autocannon runs in another); the whole machine's is every CPU's busy time from /proc/stat, whoever used it, so other work on the " +
  'machine (see the load average at start) inflates it and its ceiling, and not the two per-process figures.';

const COMMERCIAL_REFERENCE = 'a well-known commercial voucher engine takes about 60 s for 100,000 codes (~1,700 codes/s)';

const secondsText = (value: number) => value.toFixed(value < 10 ? 2 : 1);
const mib = (value: number) => integer.format(value);
/** Two significant digits below 0.1, where two decimals would round the import's ratio away. */
const copyRatio = (value: number) => (value < 0.1 ? value.toPrecision(2) : ratio(value));
const memoryText = (memory: MemoryFigures) => `${mib(memory.rssBeforeMiB)} MiB before, ${mib(memory.rssPeakMiB)} MiB peak (${memory.peakSource})`;

function importPhases(codes: CodeImportFigures): string {
  const { upload } = codes;
  const at = (value: number | null) => (value === null ? 'not seen' : `${secondsText(value)} s`);
  return (
    `upload answered (file stored, job queued) at ${secondsText(upload.receivedSeconds)} s; first seen importing at ${at(upload.importingSeconds)}; ` +
    `rows-read progress last moved at ${at(upload.stagedSeconds)} (file read, checked, hashed, encrypted and staged, ±0.5 s); ready at ${secondsText(upload.seconds)} s`
  );
}

/** Printed after the pgbench lines. */
export function codeImportLines(codes: CodeImportFigures): string[] {
  const n = integer.format(codes.codes);
  return [
    `code import (${n} codes of ${codes.codeLength} characters, ${(codes.fileBytes / 1024 ** 2).toFixed(1)} MiB CSV, upload to ready): ` +
      `${integer.format(codes.upload.codesPerSecond)} codes/s, ${secondsText(codes.upload.seconds)} s; ${integer.format(codes.upload.accepted)} accepted, ${integer.format(codes.upload.rejected)} rejected`,
    `  ${importPhases(codes)}`,
    `  server process RSS: ${memoryText(codes.upload)}`,
    `raw COPY of the same file into a bare table: ${integer.format(codes.rawCopy.codesPerSecond)} codes/s, ${secondsText(codes.rawCopy.seconds)} s; import ÷ raw COPY = ${copyRatio(codes.ratioToRawCopy)}`,
    `code generation by the job (${n} codes of ${codes.generation.length} characters, request to ready): ${integer.format(codes.generation.codesPerSecond)} codes/s, ${secondsText(codes.generation.seconds)} s; server process RSS: ${memoryText(codes.generation)}`,
    `codeGenerator alone, in memory: ${integer.format(codes.inMemoryGeneration.codesPerSecond)} codes/s, ${secondsText(codes.inMemoryGeneration.seconds)} s`,
    `reference: ${COMMERCIAL_REFERENCE}`,
  ];
}

function codeImportSection(codes: CodeImportFigures): string {
  const n = integer.format(codes.codes);
  const header = ['Measured', 'Codes/s', 'Seconds', 'Codes', 'vs raw COPY'];
  const rowsOut = [
    [
      `Upload and import, end to end (\`POST …/code-batches/upload\` until \`GET /api/v1/code-batches/{id}\` says ready)`,
      integer.format(codes.upload.codesPerSecond),
      secondsText(codes.upload.seconds),
      `${integer.format(codes.upload.accepted)} accepted, ${integer.format(codes.upload.rejected)} rejected`,
      `**${copyRatio(codes.ratioToRawCopy)}**`,
    ],
    [
      `Raw \`COPY … from stdin (format csv, header)\` of the same file into a bare \`(code text)\` table`,
      integer.format(codes.rawCopy.codesPerSecond),
      secondsText(codes.rawCopy.seconds),
      `${n} rows`,
      '1.00',
    ],
    [
      `Generation by the job (\`POST …/code-batches/generate\` with \`{"count": ${codes.codes}, "length": ${codes.generation.length}}\` until ready)`,
      integer.format(codes.generation.codesPerSecond),
      secondsText(codes.generation.seconds),
      `${integer.format(codes.generation.accepted)} accepted`,
      '—',
    ],
    [
      `\`codeGenerator\` alone, in memory (${codes.inMemoryGeneration.length} characters, no database)`,
      integer.format(codes.inMemoryGeneration.codesPerSecond),
      secondsText(codes.inMemoryGeneration.seconds),
      n,
      '—',
    ],
  ];
  const table = [`| ${header.join(' | ')} |`, `| --- | ---: | ---: | ---: | ---: |`, ...rowsOut.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  return `
## Promo codes: import and generation

${table}

- File: ${n} distinct codes of ${codes.codeLength} characters (upper case and digits) under a \`code\` header, ${(codes.fileBytes / 1024 ** 2).toFixed(1)} MiB, streamed from disk as the request body (\`Content-Type: text/csv\`, chunked).
- Import timeline: ${importPhases(codes)}.
- Server process RSS (API, worker host and the bench's own client are one process): import ${memoryText(codes.upload)}; generation ${memoryText(codes.generation)}.
- For comparison: ${COMMERCIAL_REFERENCE}.

What is measured: the bench's partner tenant (role \`partner\`) creates an offer through
the API and uploads the file; the clock runs from the first byte sent
until a poll (every ${codes.pollMs} ms) of the batch answers \`ready\`. The upload is stored in sealed
1 MiB chunks and queued; the BullMQ import job, in a worker host running every job
definition in the same process as the API (as \`coalition start\` does), reads the
chunks back, checks every code against the offer's rules, computes its keyed lookup
hash and ciphertext, streams them into a staging table with COPY, then moves them into
the pool (duplicates in the file and codes the partner already has are rejected) in
one transaction. The raw COPY loads the same file into a bare one-column table on the
same PostgreSQL, in the same run, with no index, hashing or encryption: **vs raw
COPY** is our codes/s divided by its codes/s, the figure to compare across machines.
Generation runs the same job on a fresh offer with codes drawn from the default
31-character alphabet; \`codeGenerator\` alone shows what drawing the codes costs
without the database.
`;
}

export function machineLines(machine: MachineFacts, settings: RunSettings): string[] {
  return [
    `Date: ${machine.date}`,
    `Node: ${machine.node} on ${machine.platform}`,
    `CPU: ${machine.cpuCount} × ${machine.cpuModel}`,
    `Memory: ${machine.totalMemoryGiB} GiB; 1-minute load average at start: ${machine.loadAverageAtStart}`,
    `Load: ${settings.connections} connections (${settings.exchangeConnections} for the exchange, ${settings.redemptionConnections} for the bare pg lookup, validate and redeem), pipelining 1, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per scenario, 127.0.0.1 only`,
    `PostgreSQL: ${settings.postgres}; Redis: ${settings.redis}`,
  ];
}

/** How the redemption scenarios got their vouchers. */
export interface RedemptionSetUp {
  vouchers: number;
  exchanges: number;
  seconds: number;
  poolCodes: number;
}

export function markdownReport(
  results: ScenarioResult[],
  machine: MachineFacts,
  settings: RunSettings,
  pgbench: PgbenchOutcome,
  codes: CodeImportFigures,
  webhooks: WebhookFigures,
  redemptions: RedemptionSetUp,
  settlement: SettlementFigures,
  fraud: FraudFigures,
): string {
  const table = [
    `| ${HEADERS.join(' | ')} |`,
    `| ${HEADERS.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows(results).map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const scenarios = results.map((r) => `- **${r.title}** — \`${r.request}\`. ${SCENARIO_NOTES[r.id] ?? ''}`.trimEnd()).join('\n');
  return `# Benchmarks

HTTP throughput and latency of the API's request path, measured with
[autocannon](https://github.com/mcollina/autocannon) against a real server on
127.0.0.1. Regenerate this file with:

\`\`\`sh
npm run bench
\`\`\`

The run starts its own throwaway PostgreSQL and Redis (or uses \`BENCH_DATABASE_URL\` /
\`BENCH_REDIS_URL\`), creates a fresh migrated database with two tenants, an issuer and a
partner, and an API key each, and serves the real app (logging at \`warn\`, rate limits
set out of reach) next to a bare Express app. Before the load it creates a running
campaign through the API (1 sticker per 500.00 RUB, 14-day hold, a bonus SKU), so every
measured purchase credits stickers. For the exchange it then sets up, also through the
API, the partner's active offer with a pool of generated codes larger than the run can
use (generated by the import job in a worker of its own, stopped before any load), an
agreement the partner proposes and the issuer accepts, and a reward of 1 sticker; and it
writes ${EXCHANGE_CUSTOMER_COUNT.toLocaleString('en-US')} customers straight into the issuer's tables, each with as many stickers as the
pool has codes. For the partner's side it sets up a second offer with a pool of
${integer.format(redemptions.poolCodes)} generated codes, an agreement, a reward of 1 sticker and 1,000 customers of its own, and
makes vouchers by exchanging through the API at ${settings.redemptionConnections} connections for ${VOUCHER_SECONDS_PER_REDEEM_SECOND} s per second of
redeem load (warm-up and measured run), plus the measured duration again for the webhook latency phase (this
run: ${integer.format(redemptions.exchanges)} exchanges in ${redemptions.seconds} s, ${integer.format(redemptions.vouchers)} issued vouchers),
whose codes it reads back from the partner's pool and decrypts, as the customers would show
them at the till; the issuer registers a webhook receiver for \`voucher.redeemed\`.
autocannon runs in a separate Node process. Each scenario gets a warm-up
(discarded) and then a measured run; every response must be 2xx or the run fails, and where
a scenario names a text every answer must hold (validate: \`"valid":true\`; redeem:
\`"status":"redeemed"\`; the bare lookup: \`"status":"issued"\`), every body is checked for it.
Req/s is autocannon's per-second average; the latency percentiles are taken from its
per-response times of 2xx responses (its own histogram rounds to whole milliseconds).
\`BENCH_DURATION_SECONDS\` and \`BENCH_CONNECTIONS\` change the measured duration and the
connection count of every scenario but the exchange, which always runs with ${EXCHANGE_CONNECTIONS}, and the bare
pg lookup, validate and redeem, which always run with ${settings.redemptionConnections}.

In the same run, [pgbench](https://www.postgresql.org/docs/current/pgbench.html) measures
PostgreSQL itself on the same server: a separate database (\`bench_pgbench_<runId>\`,
dropped afterwards), \`pgbench -i -s 2 -q\`, then the default TPC-B-like script with
\`pgbench -n -c <clients> -j 2 -T <BENCH_DURATION_SECONDS>\`: once with \`BENCH_CONNECTIONS\`
clients for the purchases, then with ${EXCHANGE_CONNECTIONS} for the exchange and the redemptions (a single run when
the counts agree).
Without pgbench on the PATH (or \`BENCH_PGBENCH\`), the run says so and reports the ratios
as unavailable.

After the HTTP scenarios, the webhook relay and worker start and deliver the redemptions'
events to the receiver: first as a burst, then at a steady pace of redemptions, for
deliveries/s and the latency from a redemption's commit to its webhook's arrival (see
[Webhook deliveries](#webhook-deliveries)).

Then a partner uploads a file of 1,000,000 promo codes and asks for 1,000,000 generated
codes, each timed until its batch is ready, against a raw \`COPY\` of the same file
measured in the same run; last, a month of 1,000,000 settlement entries across 50
agreements becomes 50 statements, against a single SQL \`GROUP BY\` of the same month
(see the last two sections).

## Scenarios

${scenarios}

## How to compare

Absolute requests per second depend on the machine — and the load generator, the
server, PostgreSQL and Redis all share its CPUs. The **vs bare** column (each
scenario's req/s divided by the bare Express baseline measured in the same run) is the
figure to compare across machines and over time: it shows what the app's own stack
costs on top of Express itself. For the purchase and exchange scenarios, **purchases/s ÷ pgbench
tps** and **exchanges/s ÷ pgbench tps** (below, each with pgbench at its own client
count) compare the whole write path with the database's own throughput on a standard
transaction, measured in the same run; the exchange's target is at least ${ratio(EXCHANGE_PGBENCH_TARGET)}. **Redemptions/s ÷
pgbench tps** does the same for redeem, and **validate ÷ bare lookup** sets validate beside a
bare Express app doing one primary-key lookup through \`pg\` at the same concurrency.

Beside each ratio, the CPU time PostgreSQL spends per transaction, in the scenario and
under pgbench, gives its **database-bound ceiling**: pgbench's PostgreSQL CPU per
transaction divided by the scenario's, the ratio the scenario could reach if the app
cost nothing and PostgreSQL spent on it all the CPU it spends on pgbench; a target for
the ratio compares against that ceiling. The app's CPU per request is what the Node.js
side adds; the whole machine's CPU per transaction, divided the same way, gives the
ratio CPU alone allows (the whole-machine ceiling).

${CPU_MEANING}

## Results

${table}

${machineLines(machine, settings).map((line) => `- ${line}`).join('\n')}
${comparisons(results, pgbench)
  .map(({ result, comparison, run }) => pgbenchSection(result, comparison, run, pgbench))
  .join('')}${validateSection(results)}${fraudSection(results, fraud)}${webhookSection(webhooks)}${codeImportSection(codes)}${settlementSection(settlement)}`;
}

export function settlementLines(figures: SettlementFigures): string[] {
  const n = integer.format(figures.entries);
  return [
    `settlement (${n} entries, ${figures.agreements} agreements, ${figures.period}): run building every draft ${secondsText(figures.build.seconds)} s (${integer.format(figures.build.entriesPerSecond)} entries/s, ${figures.build.statements} statements, ${integer.format(figures.build.lines)} lines); ` +
      `single SQL GROUP BY ${secondsText(figures.groupBy.seconds)} s (${integer.format(figures.groupBy.entriesPerSecond)} entries/s); GROUP BY ÷ run = ${copyRatio(figures.ratioToGroupBy)}`,
    `  rerun with nothing new: ${secondsText(figures.rebuildUnchanged.seconds)} s; finalizing all ${figures.agreements}: ${secondsText(figures.finalize.seconds)} s; totals agree with the GROUP BY: ${figures.totalsAgree ? 'yes' : 'NO'}`,
  ];
}

function settlementSection(figures: SettlementFigures): string {
  const n = integer.format(figures.entries);
  const rowsOut = [
    [
      `The settlement run: ${figures.agreements} draft statements built from nothing (each in its own transaction: lines, totals, canonical document, SHA-256)`,
      integer.format(figures.build.entriesPerSecond),
      secondsText(figures.build.seconds),
      `**${copyRatio(figures.ratioToGroupBy)}**`,
    ],
    [`The same run again with nothing new (every draft rebuilt, compared byte for byte, left as it is)`, integer.format(figures.entries / figures.rebuildUnchanged.seconds), secondsText(figures.rebuildUnchanged.seconds), ''],
    [`Finalizing all ${figures.agreements} (each takes its entries and is rebuilt from exactly those)`, integer.format(figures.finalize.entriesPerSecond), secondsText(figures.finalize.seconds), ''],
    [`One SQL \`select agreement_id, offer_id, event, currency, count(*), sum(amount_minor) … where period = … group by …\``, integer.format(figures.groupBy.entriesPerSecond), secondsText(figures.groupBy.seconds), '1.00'],
  ];
  return `

## Monthly settlement

A month (${figures.period}, Europe/Moscow) of ${n} settlement entries across ${figures.agreements} agreements
between the bench's issuer and partner (70 % redemptions, 10 % reversals, 10 % issues,
10 % cancellations over ${OFFERS_PER_AGREEMENT_TEXT} offers each; a third of the reversals and cancellations correct
the month before, so statements have adjustment lines too), written in bulk
(${secondsText(figures.seedSeconds)} s, seeding, not measured). The settlement run (\`executeRun\`, what the
scheduler and \`POST /api/v1/settlement/runs\` run) builds every agreement's draft;
it is timed ${'three'} times from no drafts, and the median is reported, as for the
GROUP BY, which first runs once untimed so both read a warm cache. **vs GROUP BY** is the
GROUP BY's seconds divided by the run's. The statements' totals ${figures.totalsAgree ? 'agree' : 'DO NOT agree'} with the
GROUP BY's sums per agreement.

| Measured | Entries/s | Seconds | vs GROUP BY |
| --- | ---: | ---: | ---: |
${rowsOut.map((row) => `| ${row.join(' | ')} |`).join('\n')}
`;
}

const OFFERS_PER_AGREEMENT_TEXT = 'four';

const SCENARIO_NOTES: Record<string, string> = {
  'purchase-rules-off': 'The purchase load below with every anti-fraud rule set to `allow`: the baseline of the anti-fraud section.',
  'bare-pg': `The baseline of validate: a plain Express 5 app that parses the JSON body and answers the row of \`${BARE_PG_QUERY}\` through a \`pg.Pool\` as large as the app's, always with ${REDEMPTION_CONNECTIONS} connections, cycling through the issued vouchers' ids. See the validate section below.`,
  validate: `A partner's till checks a code before payment through the REST face (partner key, scope \`codes:redeem\`), always with ${REDEMPTION_CONNECTIONS} connections: \`{"code", "orderAmountMinor": ${ORDER_AMOUNT_MINOR}, "currency": "RUB"}\`, cycling through the codes of the issued vouchers from a random start (the redeem pre-check's code left out); every answer must say \`"valid":true\`, and the tables must be unchanged after the runs. See the validate section below.`,
  redeem: `A partner redeems a code for an order through the REST face, always with ${REDEMPTION_CONNECTIONS} connections: every request has a new Idempotency-Key and order reference and the next unused code of the issued vouchers, so no code is sent twice and no two requests share a voucher row. After the load, the redemptions must number the 2xx answers plus at most the requests autocannon left in flight, each of a distinct voucher, with as many vouchers and codes marked redeemed and \`voucher.redeemed\` events in the issuer's outbox; see the pgbench comparison and the webhook deliveries below.`,
  bare: 'A plain Express 5 app with one handler returning `{"ok":true}`: the ceiling for Express on this machine, and the denominator of the **vs bare** column.',
  readyz:
    'The readiness probe: request-id and logging middleware, then `select 1` on PostgreSQL and `PING` on Redis in parallel. No authentication, no rate limiting.',
  'rest-me':
    'Authenticated no-op through the REST face (trpc-to-openapi): API key lookup in PostgreSQL and hash check, the per-key rate-limit counter in Redis, output validation.',
  'trpc-me': 'The same procedure through the tRPC adapter, for the cost of the REST layer by comparison.',
  purchase:
    'POS purchase accrual through the REST face: every request is a distinct receipt (new receipt id, new Idempotency-Key) with 2-3 lines adding up to the total, dated now, from one of 1,000 loyalty cards (new cards are enrolled on first sight), so requests on the same card sometimes wait on its row lock but there is no single hot row. Every receipt earns stickers in the running bench campaign; see the pgbench comparison below.',
  exchange:
    `A customer swaps stickers for a partner's promo code through the REST face, always with ${EXCHANGE_CONNECTIONS} connections: every request has a new Idempotency-Key and takes the next of ${EXCHANGE_CUSTOMER_COUNT.toLocaleString('en-US')} seeded customers in turn, so no two requests in flight share a customer row; the reward costs 1 sticker, and each answer is a signed voucher with one code of the pool. After the load, every 2xx must be a voucher of the reward holding a code no other voucher holds and a spend in the sticker ledger; see the pgbench comparison below.`,
};
