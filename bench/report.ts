import os from 'node:os';
import type { LoadSummary } from './load-generator.ts';

export interface ScenarioResult {
  id: string;
  title: string;
  request: string;
  summary: LoadSummary;
  /** This scenario's average req/s divided by the bare baseline's, same run. */
  ratioToBare: number;
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

export function markdownReport(results: ScenarioResult[], machine: MachineFacts, settings: RunSettings): string {
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
Express app. autocannon runs in a separate Node process. Each scenario gets a warm-up
(discarded) and then a measured run; every response must be 2xx or the run fails.
Req/s is autocannon's per-second average; the latency percentiles are taken from its
per-response times of 2xx responses (its own histogram rounds to whole milliseconds).
\`BENCH_DURATION_SECONDS\` and \`BENCH_CONNECTIONS\` change the measured duration and the
connection count.

## Scenarios

${scenarios}

## How to compare

Absolute requests per second depend on the machine — and the load generator, the
server, PostgreSQL and Redis all share its CPUs. The **vs bare** column (each
scenario's req/s divided by the bare Express baseline measured in the same run) is the
figure to compare across machines and over time: it shows what the app's own stack
costs on top of Express itself.

## Results

${table}

${machineLines(machine, settings).map((line) => `- ${line}`).join('\n')}
`;
}

const SCENARIO_NOTES: Record<string, string> = {
  bare: 'A plain Express 5 app with one handler returning `{"ok":true}`: the ceiling for Express on this machine, and the denominator of every ratio.',
  readyz:
    'The readiness probe: request-id and logging middleware, then `select 1` on PostgreSQL and `PING` on Redis in parallel. No authentication, no rate limiting.',
  'rest-me':
    'Authenticated no-op through the REST face (trpc-to-openapi): API key lookup in PostgreSQL and hash check, the per-key rate-limit counter in Redis, output validation.',
  'trpc-me': 'The same procedure through the tRPC adapter, for the cost of the REST layer by comparison.',
};
