import { z } from 'zod';
import { decodeSecretKey } from '../secrets/secrets.ts';

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

const flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => ['true', 'false', '1', '0'].includes(value), 'must be true or false')
  .transform((value) => value === 'true' || value === '1');

const PROXY_TOKEN = /^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/;

/**
 * Which proxies to believe about the client address: a hop count (the number of
 * proxies in front of us) or the proxies' addresses/subnets. Never "trust everything":
 * the left end of X-Forwarded-For is written by the client.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((value, context): false | number | string[] => {
    if (value === 'false' || value === '0') return false;
    if (/^\d{1,2}$/.test(value)) return Number(value);
    const tokens = value.split(',').map((token) => token.trim());
    if (tokens.length && tokens.every((token) => PROXY_TOKEN.test(token))) return tokens;
    context.addIssue({
      code: 'custom',
      message: 'must be false, the number of proxies in front of the server (e.g. 1), or their addresses/subnets (e.g. loopback,10.0.0.0/8)',
    });
    return z.NEVER;
  });

/** Every environment variable the server reads, with its default. README's table mirrors this. */
export const envSchema = z.object({
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(3000),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  DATA_DIR: z.string().trim().min(1).default('.data'),
  // `migrate` holds one connection for its lock while migrating on another.
  DB_POOL_MAX: integer(2, 500).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  BODY_LIMIT_BYTES: integer(1024, 100 * 1024 * 1024).default(1024 * 1024),
  RATE_LIMIT_KEY_PER_MINUTE: integer(1, 1_000_000).default(1200),
  RATE_LIMIT_IP_PER_MINUTE: integer(1, 1_000_000).default(120),
  TRUST_PROXY: trustProxy.default(false),
  SHUTDOWN_TIMEOUT_MS: integer(100, 600_000).default(15_000),
  SECRET_KEY: z
    .string()
    .trim()
    .refine((value) => decodeSecretKey(value) !== null, 'must be base64 or hex of at least 32 random bytes (e.g. the output of: openssl rand -base64 32)')
    .optional(),
  UPLOAD_LIMIT_BYTES: integer(1024, 64 * 1024 * 1024 * 1024).default(2 * 1024 * 1024 * 1024),
  // How long a job's lock lives without renewal: a crashed worker's job is retried after it.
  WORKER_LOCK_MS: integer(1_000, 600_000).default(30_000),
  QUEUE_PREFIX: z.string().trim().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -').default('cx'),
  // How long after a redemption the partner may still reverse it.
  REDEMPTION_REVERSAL_DAYS: integer(0, 3650).default(30),
  // One webhook attempt: connect, send, and the first bytes of the answer.
  WEBHOOK_TIMEOUT_MS: integer(100, 120_000).default(15_000),
  // Webhook URLs may point at this machine (development, tests). Private and
  // link-local networks stay refused either way.
  WEBHOOK_ALLOW_LOOPBACK: flag.default(false),
  // Also allow private networks (10/8, 172.16/12, 192.168/16, fc00::/7): an operator
  // whose receivers run inside its own network.
  WEBHOOK_ALLOW_PRIVATE: flag.default(false),
  // Portal session cookies carry Secure: `auto` unless the portal is opened on a
  // loopback host (localhost, 127.0.0.1: development), or always / never.
  PORTAL_SECURE_COOKIES: z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => ['auto', 'true', 'false', '1', '0'].includes(value), 'must be auto, true or false')
    .transform((value): 'auto' | boolean => (value === 'auto' ? 'auto' : value === 'true' || value === '1'))
    .default('auto'),
  // Portal sign-in attempts per client address per 15 minutes (each account also
  // takes at most 10 attempts per 15 minutes; a right password clears its count).
  SIGN_IN_ATTEMPTS_PER_IP: integer(1, 100_000).default(60),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment once, at boot. Fails with one message naming every wrong
 * variable, so an operator fixes them all in one go. Values are never echoed: some
 * variables (DATABASE_URL, REDIS_URL) carry passwords.
 */
export function parseEnv(source: NodeJS.ProcessEnv): Env {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .map((name) => [name, source[name]])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
