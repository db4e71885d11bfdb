import path from 'node:path';
import { decodeSecretKey } from '../secrets/secrets.ts';
import { parseEnv, type Env } from './env.ts';

export interface Config {
  http: { host: string; port: number; bodyLimitBytes: number; trustProxy: false | number | string[]; shutdownTimeoutMs: number };
  /** Absent: start the embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  /** Absent: start an embedded redis-server. */
  redisUrl: string | undefined;
  dataDir: string;
  dbPoolMax: number;
  logLevel: Env['LOG_LEVEL'];
  rateLimits: { perKeyPerMinute: number; perIpPerMinute: number };
  queuePrefix: string;
  /** Largest code file one upload may send (streamed; never held in memory). */
  uploadLimitBytes: number;
  /** BullMQ lock duration (and stalled-job check interval) of the workers. */
  workerLockMs: number;
  /** How long after a redemption it may be reversed. */
  redemptionReversalMs: number;
  webhooks: { timeoutMs: number; allowLoopback: boolean; allowPrivate: boolean };
  /** Master key for keyed hashes; absent: `start` keeps one in dataDir, `serve`/`worker` refuse to run. */
  secretKey: Buffer | undefined;
  portal: {
    /** Secure session cookies: always, never, or unless the page is on a loopback host (development). */
    secureCookies: 'auto' | boolean;
    /** Sign-in attempts one client address may make per 15 minutes. */
    signInAttemptsPerIp: number;
  };
}

export function configFromEnv(env: Env, cwd = process.cwd()): Config {
  return {
    http: {
      host: env.HOST,
      port: env.PORT,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      trustProxy: env.TRUST_PROXY,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    },
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    dataDir: path.resolve(cwd, env.DATA_DIR),
    dbPoolMax: env.DB_POOL_MAX,
    logLevel: env.LOG_LEVEL,
    rateLimits: { perKeyPerMinute: env.RATE_LIMIT_KEY_PER_MINUTE, perIpPerMinute: env.RATE_LIMIT_IP_PER_MINUTE },
    queuePrefix: env.QUEUE_PREFIX,
    uploadLimitBytes: env.UPLOAD_LIMIT_BYTES,
    workerLockMs: env.WORKER_LOCK_MS,
    redemptionReversalMs: env.REDEMPTION_REVERSAL_DAYS * 24 * 60 * 60 * 1000,
    webhooks: { timeoutMs: env.WEBHOOK_TIMEOUT_MS, allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK, allowPrivate: env.WEBHOOK_ALLOW_PRIVATE },
    secretKey: env.SECRET_KEY ? (decodeSecretKey(env.SECRET_KEY) ?? undefined) : undefined,
    portal: { secureCookies: env.PORTAL_SECURE_COOKIES, signInAttemptsPerIp: env.SIGN_IN_ATTEMPTS_PER_IP },
  };
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  return configFromEnv(parseEnv(source));
}

/** Config with both service URLs known: what the API and workers run on. */
export type ResolvedConfig = Config & { databaseUrl: string; redisUrl: string; secretKey: Buffer };
