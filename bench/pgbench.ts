/**
 * PostgreSQL itself, measured with pgbench (its default TPC-B-like script) on the same
 * server the app uses, in a database of its own that is dropped afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { settle, watchCpu, type CpuWindow } from './cpu.ts';
import type { Stops } from './stack.ts';

export interface PgbenchSettings {
  /** pgbench -s: 100,000 accounts and one branch row per unit. */
  scale: number;
  /** One measured run per client count, in this order, on the same initialised database. */
  clientCounts: readonly number[];
  /** Threads of a run: this many, or its client count if lower. */
  maxThreads: number;
  durationSeconds: number;
}

/** One measured run. */
export interface PgbenchRun {
  clients: number;
  threads: number;
  /** "tps = N (without initial connection time)". */
  tps: number;
  /** "latency average = N ms", when printed. */
  latencyAverageMs: number | undefined;
  transactions: number | undefined;
  failedTransactions: number | undefined;
  /** From just before pgbench starts (its connections included) until its backends have exited. */
  cpu: CpuWindow;
}

export interface PgbenchFigures {
  available: true;
  /** The binary's own version line, e.g. "pgbench (PostgreSQL) 15.20 (Debian …)". */
  version: string;
  /** The server's version, e.g. "18.1". */
  serverVersion: string;
  scale: number;
  durationSeconds: number;
  runs: PgbenchRun[];
}

export type PgbenchOutcome = PgbenchFigures | { available: false; reason: string };

/** The run at this client count, if there was one. */
export function pgbenchRunAt(pgbench: PgbenchOutcome, clients: number): PgbenchRun | undefined {
  return pgbench.available ? pgbench.runs.find((run) => run.clients === clients) : undefined;
}

/** `BENCH_PGBENCH` names the binary; otherwise `pgbench` on the PATH. */
export function pgbenchBinary(): string {
  return process.env.BENCH_PGBENCH?.trim() || 'pgbench';
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

class NotInstalled extends Error {}

/** The pgbench process running now, so an abort (Ctrl-C) can stop it. */
let running: ChildProcess | undefined;

function runPgbenchProcess(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(pgbenchBinary(), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      running = undefined;
      reject(error.code === 'ENOENT' ? new NotInstalled(`${pgbenchBinary()} not found`) : error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running = undefined;
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function check(step: string, finished: Finished): void {
  if (finished.code === 0) return;
  const output = `${finished.stderr}\n${finished.stdout}`.trim().split('\n').slice(-15).join('\n');
  throw new Error(`${step} failed (exit code ${finished.code}${finished.signal ? `, signal ${finished.signal}` : ''}):\n${output}`);
}

function numberAfter(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Figures from pgbench's report (PostgreSQL 12+ wording). */
export function parsePgbenchOutput(text: string): Pick<PgbenchRun, 'tps' | 'latencyAverageMs' | 'transactions' | 'failedTransactions'> {
  const tps = numberAfter(text, /^tps = ([0-9.]+) \(without initial connection time\)/m);
  if (tps === undefined || !Number.isFinite(tps)) throw new Error(`pgbench printed no "tps = N (without initial connection time)" line:\n${text.trim()}`);
  return {
    tps,
    latencyAverageMs: numberAfter(text, /^latency average = ([0-9.]+) ms/m),
    transactions: numberAfter(text, /^number of transactions actually processed: (\d+)/m),
    failedTransactions: numberAfter(text, /^number of failed transactions: (\d+)/m),
  };
}

async function withAdmin<T>(adminDatabaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * `pgbench -i -s <scale> -q` then `pgbench -n -c <clients> -j <threads> -T <seconds>`
 * for each client count in turn, in a fresh database `bench_pgbench_<runId>` on the
 * server of `adminDatabaseUrl`, with the CPU time of the processes of `postmasterPid`
 * (when known) during each measured run. pgbench missing: `{ available: false }`. Any
 * other failure throws.
 */
export async function runPgbench(
  adminDatabaseUrl: string,
  runId: string,
  settings: PgbenchSettings,
  postmasterPid: number | undefined,
  stops: Stops,
): Promise<PgbenchOutcome> {
  let version: string;
  try {
    const finished = await runPgbenchProcess(['--version'], process.env, 10_000);
    check('pgbench --version', finished);
    version = finished.stdout.trim();
  } catch (error) {
    if (error instanceof NotInstalled) return { available: false, reason: `${error.message}; install the PostgreSQL client tools or set BENCH_PGBENCH` };
    throw error;
  }

  const databaseName = `bench_pgbench_${runId}`;
  const serverVersion = await withAdmin(adminDatabaseUrl, async (admin) => {
    await admin.query(`create database ${databaseName}`);
    return String((await admin.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? 'unknown');
  });
  const drop = () => withAdmin(adminDatabaseUrl, (admin) => admin.query(`drop database if exists ${databaseName} with (force)`));
  stops.push(`database ${databaseName}`, drop);
  stops.push('pgbench process', async () => {
    running?.kill('SIGKILL');
  });

  // libpq takes a URI as the dbname argument; the password goes by environment, not argv.
  const url = new URL(adminDatabaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  url.pathname = `/${databaseName}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PGAPPNAME: 'coalition-bench-pgbench', ...(password && { PGPASSWORD: password }) };
  const target = url.toString();

  try {
    check('pgbench -i', await runPgbenchProcess(['-i', '-s', String(settings.scale), '-q', target], env, 120_000));
    const runs: PgbenchRun[] = [];
    for (const clients of settings.clientCounts) {
      const threads = Math.min(settings.maxThreads, clients);
      const cpu = watchCpu(postmasterPid);
      const finished = await runPgbenchProcess(
        ['-n', '-c', String(clients), '-j', String(threads), '-T', String(settings.durationSeconds), target],
        env,
        (settings.durationSeconds + 60) * 1000,
      );
      check(`pgbench -c ${clients}`, finished);
      await settle();
      runs.push({ clients, threads, ...parsePgbenchOutput(finished.stdout), cpu: cpu.stop() });
    }
    return { available: true, version, serverVersion, scale: settings.scale, durationSeconds: settings.durationSeconds, runs };
  } finally {
    await drop();
  }
}
