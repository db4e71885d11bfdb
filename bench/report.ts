import os from 'node:os';
import type { CodeImportFigures, MemoryFigures } from './code-import.ts';
import type { LoadSummary } from './load-generator.ts';
import type { PgbenchOutcome } from './pgbench.ts';

export interface ScenarioResult {
  id: string;
  title: string;
  request: string;
  summary: LoadSummary;
  /** This scenario's average req/s divided by the bare baseline's, same run. */
  ratioToBare: number;
  /**
   * Purchase scenario only: its average req/s divided by pgbench's tps on the same
   * PostgreSQL, same run; null when pgbench was unavailable.
   */
  ratioToPgbench?: number | null;
}

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
    integer.format(r.summary.requestsPerSecondAverage),
    ms(r.summary.latencyP50Ms),
    ms(r.summary.latencyP99Ms),
    ratio(r.ratioToBare),
    integer.format(r.summary.requestsTotal),
  ]);
}

const HEADERS = ['Scenario', 'Req/s (avg)', 'p50 ms', 'p99 ms', 'vs bare', 'Requests'];

export function consoleTable(results: ScenarioResult[]): string {
  const body = rows(results);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const PURCHASE_MEANING =
  'What the ratio compares: a purchase is one API transaction of 12 SQL statements between BEGIN and COMMIT ' +
  '(14 for a card seen for the first time, which it enrols): it claims the Idempotency-Key (insert), locks the ' +
  'customer row, inserts the purchase, a ledger row and a `stickers.credited` outbox event, reads the settings, ' +
  'campaigns, rules and the balance back, and stores the answer on the idempotency record — after the API key ' +
  'lookup and the rate-limit counter in Redis. A TPC-B transaction is 5 statements (update an account, read its ' +
  'balance, update a teller and a branch, insert a history row). So the ratio is how many whole purchases the app ' +
  'completes per pgbench transaction on the same server, with the same connection count and duration: 1 would ' +
  'mean a purchase costs no more than one small TPC-B transaction; below that are the extra statements, the ' +
  'Node.js work (HTTP, authentication, validation, JSON) and the CPUs that the app, PostgreSQL, Redis and the load ' +
  'generator share. At scale 2 every TPC-B transaction updates one of only 2 branch rows, so pgbench clients ' +
  'queue on those rows — harsher contention than the purchases, spread over 1,000 cards.';

function pgbenchSummary(pgbench: PgbenchOutcome): string {
  if (!pgbench.available) return `pgbench: unavailable — ${pgbench.reason}`;
  const latency = pgbench.latencyAverageMs === undefined ? '' : `, latency average ${ms(pgbench.latencyAverageMs)} ms`;
  const transactions = pgbench.transactions === undefined ? '' : `, ${integer.format(pgbench.transactions)} transactions`;
  return (
    `pgbench (TPC-B-like, scale ${pgbench.scale}, ${pgbench.clients} clients, ${pgbench.threads} threads, ${pgbench.durationSeconds} s; ` +
    `${pgbench.version} against PostgreSQL ${pgbench.serverVersion}): ${integer.format(pgbench.tps)} tps${latency}${transactions}`
  );
}

function pgbenchRatioLine(results: ScenarioResult[], pgbench: PgbenchOutcome): string[] {
  return results
    .filter((r) => r.ratioToPgbench !== undefined)
    .map((r) =>
      r.ratioToPgbench === null || !pgbench.available
        ? `${r.title} ÷ pgbench: unavailable (no pgbench figure)`
        : `${r.title} ÷ pgbench: ${integer.format(r.summary.requestsPerSecondAverage)} purchases/s ÷ ${integer.format(pgbench.tps)} tps = ${ratio(r.ratioToPgbench ?? 0)}`,
    );
}

/** Printed right below the console table. */
export function pgbenchLines(results: ScenarioResult[], pgbench: PgbenchOutcome): string[] {
  return [pgbenchSummary(pgbench), ...pgbenchRatioLine(results, pgbench)];
}

function pgbenchSection(results: ScenarioResult[], pgbench: PgbenchOutcome): string {
  const purchase = results.find((r) => r.ratioToPgbench !== undefined);
  if (!purchase) return '';
  const header = ['Measured', 'Per second', 'Latency', 'Count'];
  const rowsOut: string[][] = [
    [
      `${purchase.title} (API, ${purchase.request.split(' ').slice(0, 2).join(' ')})`,
      `${integer.format(purchase.summary.requestsPerSecondAverage)} purchases/s`,
      `p50 ${ms(purchase.summary.latencyP50Ms)} ms, p99 ${ms(purchase.summary.latencyP99Ms)} ms, average ${ms(purchase.summary.latencyAverageMs)} ms`,
      `${integer.format(purchase.summary.requestsTotal)} purchases`,
    ],
  ];
  if (pgbench.available) {
    rowsOut.push([
      `pgbench, TPC-B-like (scale ${pgbench.scale}, -c ${pgbench.clients} -j ${pgbench.threads} -T ${pgbench.durationSeconds})`,
      `${integer.format(pgbench.tps)} tps`,
      pgbench.latencyAverageMs === undefined ? '—' : `average ${ms(pgbench.latencyAverageMs)} ms`,
      pgbench.transactions === undefined ? '—' : `${integer.format(pgbench.transactions)} transactions`,
    ]);
  } else {
    rowsOut.push(['pgbench, TPC-B-like', 'unavailable', '—', '—']);
  }
  const ratioText =
    purchase.ratioToPgbench === null || purchase.ratioToPgbench === undefined || !pgbench.available
      ? 'unavailable (pgbench was not run)'
      : `**${ratio(purchase.ratioToPgbench)}** (${integer.format(purchase.summary.requestsPerSecondAverage)} ÷ ${integer.format(pgbench.tps)})`;
  const table = [`| ${header.join(' | ')} |`, `| --- | ---: | ---: | ---: |`, ...rowsOut.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  const facts = pgbench.available
    ? `Client: ${pgbench.version}; server: PostgreSQL ${pgbench.serverVersion} (the one the app used; no HTTP load runs meanwhile)` +
      (pgbench.failedTransactions ? `; ${integer.format(pgbench.failedTransactions)} failed transactions` : '') +
      '.'
    : `pgbench: unavailable — ${pgbench.reason}.`;
  return `
## Purchases against PostgreSQL itself

${table}

Purchases/s ÷ pgbench tps: ${ratioText}

${facts}

${PURCHASE_MEANING}
`;
}

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

What is measured: a partner tenant (role \`partner\`, a \`pools:write\` key) creates an
offer through the API and uploads the file; the clock runs from the first byte sent
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
    `Load: ${settings.connections} connections, pipelining 1, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per scenario, 127.0.0.1 only`,
    `PostgreSQL: ${settings.postgres}; Redis: ${settings.redis}`,
  ];
}

export function markdownReport(results: ScenarioResult[], machine: MachineFacts, settings: RunSettings, pgbench: PgbenchOutcome, codes: CodeImportFigures): string {
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
\`BENCH_REDIS_URL\`), creates a fresh migrated database with one tenant and one API key,
and serves the real app (logging at \`warn\`, rate limits set out of reach) next to a bare
Express app. Before the load it creates a running campaign through the API (1 sticker
per 500.00 RUB, 14-day hold, a bonus SKU), so every measured purchase credits stickers.
autocannon runs in a separate Node process. Each scenario gets a warm-up
(discarded) and then a measured run; every response must be 2xx or the run fails.
Req/s is autocannon's per-second average; the latency percentiles are taken from its
per-response times of 2xx responses (its own histogram rounds to whole milliseconds).
\`BENCH_DURATION_SECONDS\` and \`BENCH_CONNECTIONS\` change the measured duration and the
connection count.

In the same run, [pgbench](https://www.postgresql.org/docs/current/pgbench.html) measures
PostgreSQL itself on the same server: a separate database (\`bench_pgbench_<runId>\`,
dropped afterwards), \`pgbench -i -s 2 -q\`, then the default TPC-B-like script with
\`pgbench -n -c <BENCH_CONNECTIONS> -j 2 -T <BENCH_DURATION_SECONDS>\`. Without pgbench
on the PATH (or \`BENCH_PGBENCH\`), the run says so and reports the ratio as unavailable.

Last, a partner uploads a file of 1,000,000 promo codes and asks for 1,000,000 generated
codes, each timed until its batch is ready, against a raw \`COPY\` of the same file
measured in the same run (see the last section).

## Scenarios

${scenarios}

## How to compare

Absolute requests per second depend on the machine — and the load generator, the
server, PostgreSQL and Redis all share its CPUs. The **vs bare** column (each
scenario's req/s divided by the bare Express baseline measured in the same run) is the
figure to compare across machines and over time: it shows what the app's own stack
costs on top of Express itself. For the purchase scenario, **purchases/s ÷ pgbench tps**
(below) compares the whole write path with the database's own throughput on a standard
transaction, measured in the same run.

## Results

${table}

${machineLines(machine, settings).map((line) => `- ${line}`).join('\n')}
${pgbenchSection(results, pgbench)}${codeImportSection(codes)}`;
}

const SCENARIO_NOTES: Record<string, string> = {
  bare: 'A plain Express 5 app with one handler returning `{"ok":true}`: the ceiling for Express on this machine, and the denominator of every ratio.',
  readyz:
    'The readiness probe: request-id and logging middleware, then `select 1` on PostgreSQL and `PING` on Redis in parallel. No authentication, no rate limiting.',
  'rest-me':
    'Authenticated no-op through the REST face (trpc-to-openapi): API key lookup in PostgreSQL and hash check, the per-key rate-limit counter in Redis, output validation.',
  'trpc-me': 'The same procedure through the tRPC adapter, for the cost of the REST layer by comparison.',
  purchase:
    'POS purchase accrual through the REST face: every request is a distinct receipt (new receipt id, new Idempotency-Key) with 2-3 lines adding up to the total, dated now, from one of 1,000 loyalty cards (new cards are enrolled on first sight), so requests on the same card sometimes wait on its row lock but there is no single hot row. Every receipt earns stickers in the running bench campaign; see the pgbench comparison below.',
};
