import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exchangeFactory, type ExchangeLoad } from './exchanges.ts';
import { purchaseFactory, type PurchaseLoad } from './purchases.ts';
import { lookupFactory, redemptionFactory, validationFactory, type LookupLoad, type RedemptionLoad, type ValidationLoad } from './redemptions.ts';

/** Requests the worker generates per request instead of replaying one fixed request. */
export type GeneratedRequests = PurchaseLoad | ExchangeLoad | ValidationLoad | RedemptionLoad | LookupLoad;

/** One generated POST: its JSON body and, for the idempotent operations, its own Idempotency-Key. */
export interface GeneratedRequest {
  idempotencyKey?: string;
  body: string;
}

/** The source of requests for a description: the load worker's, and the pre-check's with its own prefix. */
export function requestFactory(generated: GeneratedRequests, prefix: string): () => GeneratedRequest {
  switch (generated.kind) {
    case 'purchases':
      return purchaseFactory(generated, prefix);
    case 'exchanges':
      return exchangeFactory(generated);
    case 'validations':
      return validationFactory(generated);
    case 'redemptions':
      return redemptionFactory(generated, prefix);
    case 'lookups':
      return lookupFactory(generated);
  }
}

/** One autocannon run, as asked of the load-generator process. */
export interface LoadJob {
  url: string;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
  /**
   * Absent: every request is the same GET of `url`. Present: the worker builds each
   * request itself from this description (POST to `url`'s path, a new body and
   * Idempotency-Key per request), since functions cannot be sent over IPC.
   */
  generated?: GeneratedRequests;
  /** Present: every response body must contain this text, or it counts as a mismatch (autocannon's verifyBody). */
  bodyMustContain?: string;
}

/** The figures we keep from an autocannon result. */
export interface LoadSummary {
  durationSeconds: number;
  requestsTotal: number;
  requestsPerSecondAverage: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyAverageMs: number;
  count2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Responses by HTTP status, e.g. { "200": 51234 }. */
  statusCodes: Record<string, number>;
  /** Requests written to a connection; those beyond the responses were still in flight when the run ended (the server still serves them). */
  requestsSent: number;
  /** Responses whose body lacked `bodyMustContain`; 0 without it. */
  mismatches: number;
  /** Generated requests only: how many the worker built, so none of a one-use resource (a code) is used twice. */
  generated?: number;
}

export type WorkerRequest = { type: 'run'; id: number; job: LoadJob };
export type WorkerReply = { type: 'result'; id: number; summary: LoadSummary } | { type: 'error'; id: number; message: string };

/** The load may only ever go to this machine's loopback address. */
export function assertLoopback(url: string): void {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`Refusing to generate load against ${url}: only 127.0.0.1 is allowed.`);
}

export interface LoadGenerator {
  run(job: LoadJob): Promise<LoadSummary>;
  stop(): Promise<void>;
}

/**
 * autocannon in its own Node process, so the client's event loop and garbage collector
 * never share a thread with the server being measured.
 */
export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });

  let nextId = 1;
  const pending = new Map<number, { resolve(summary: LoadSummary): void; reject(error: Error): void }>();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const { reject } of pending.values()) reject(new Error(`load generator exited (code ${code}, signal ${signal}) during a run`));
      pending.clear();
      resolve();
    });
  });
  child.on('message', (message: WorkerReply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.type === 'result') waiter.resolve(message.summary);
    else waiter.reject(new Error(`load generator: ${message.message}`));
  });

  return {
    run(job) {
      assertLoopback(job.url);
      if (exited) return Promise.reject(new Error('load generator is not running'));
      const id = nextId++;
      return new Promise<LoadSummary>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ type: 'run', id, job } satisfies WorkerRequest);
      });
    },
    async stop() {
      if (exited) return;
      // Closing the IPC channel lets the worker's event loop empty and the process end.
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
