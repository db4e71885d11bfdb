import { createOperatorApiKey } from '../auth/create-api-key.ts';
import { revokeAnyApiKey } from '../auth/revoke-api-key.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { runningEmbeddedDatabaseUrl } from '../runtime/embedded-runtime-file.ts';
import { openDatabase } from '../system/start-system.ts';
import { formatStep, formatSummary } from './report.ts';
import { runDemo, type DemoResult } from './scenario.ts';

export interface DemoCommandOptions {
  url?: string;
  operatorKey?: string;
  json?: boolean;
  webhookTimeout?: number;
}

const TEMPORARY_KEY_NAME = 'coalition demo (temporary, revoked when the demo ends)';

/** A listen address as a client reaches it: the wildcard addresses mean this machine. */
function reachable(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === '0.0.0.0' || bare === '::') return '127.0.0.1';
  return bare.includes(':') ? `[${bare}]` : bare;
}

/** `http://0.0.0.0:3000` → `http://127.0.0.1:3000`; `http://:::3000` → `http://127.0.0.1:3000`; no trailing slash. */
export function clientUrl(apiUrl: string): string {
  const match = /^(https?):\/\/(.+):(\d+)\/*$/.exec(apiUrl);
  return match ? `${match[1]}://${reachable(match[2]!)}:${match[3]}` : apiUrl.replace(/\/+$/, '');
}

/**
 * A short-lived operator key for a demo run without --operator-key: made in the
 * database the running server uses (DATABASE_URL, or the embedded PostgreSQL of a
 * running `npm start`), revoked when the demo ends. Never starts a database of its own:
 * a key in another database would be unknown to the server.
 */
async function temporaryOperatorKey(config: Config, logger: Logger): Promise<{ secret: string; revoke(): Promise<void> }> {
  if (!config.databaseUrl && !(await runningEmbeddedDatabaseUrl(config.dataDir))) {
    throw new Error(
      `No operator key: set COALITION_OPERATOR_KEY to the key "npm start" printed (or pass --operator-key). ` +
        `Without one, "coalition demo" makes a temporary key in the server's database, but it found neither DATABASE_URL nor a running "npm start" on ${config.dataDir}.`,
    );
  }
  const { db, close } = await openDatabase(config, logger);
  try {
    const created = await createOperatorApiKey(db, { name: TEMPORARY_KEY_NAME, actor: 'cli' });
    let revoked: Promise<void> | undefined;
    const revoke = () =>
      (revoked ??= (async () => {
        try {
          await revokeAnyApiKey(db, { keyId: created.apiKey.id, actor: 'cli' });
        } catch (error) {
          // Reported, not thrown: it must not hide why the demo stopped.
          logger.error({ err: error, keyId: created.apiKey.id }, `the temporary operator key ${created.apiKey.id} could not be revoked: revoke it with "coalition key revoke ${created.apiKey.id}"`);
        } finally {
          await close();
        }
      })());
    // Ctrl-C (or a kill) during the demo's waits still revokes the key before exiting.
    const onSignal = (signal: NodeJS.Signals) => {
      void revoke().then(() => process.kill(process.pid, signal));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return {
      secret: created.secret,
      revoke: async () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await revoke();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `coalition demo`: seeds a demo coalition on a running system through its HTTP API. */
export async function demoCommand(options: DemoCommandOptions): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, destination: process.stderr as never });
  const baseUrl = options.url ? clientUrl(options.url) : `http://${reachable(config.http.host)}:${config.http.port}`;
  const given = options.operatorKey ?? process.env.COALITION_OPERATOR_KEY;
  const temporary = given ? undefined : await temporaryOperatorKey(config, logger);
  const operatorKey = given ?? temporary!.secret;
  const out = (text: string) => process.stdout.write(`${text}\n`);
  let result: DemoResult;
  try {
    if (!options.json) out(`Seeding a demo coalition on ${baseUrl} through its HTTP API…\n`);
    result = await runDemo({
      baseUrl,
      operatorKey,
      ...(options.webhookTimeout ? { webhookTimeoutMs: options.webhookTimeout * 1000 } : {}),
      ...(options.json ? {} : { onStep: (step) => out(formatStep(step)) }),
    });
  } catch (error) {
    if (temporary && error instanceof Error && /operator key was refused/.test(error.message)) {
      throw new Error(`The server at ${baseUrl} does not know the temporary operator key made in this CLI's database: is it another server? Pass --operator-key or --url.`);
    }
    throw error;
  } finally {
    await temporary?.revoke();
  }
  out(options.json ? JSON.stringify(result, null, 2) : formatSummary(result));
  if (!result.ok) process.exitCode = 1;
}

/**
 * `coalition start --demo`: the same scenario, in the starting process, once the API
 * and the workers are up. A failure is reported and leaves the system running.
 */
export async function runDemoAfterStart(apiUrl: string, operatorKey: string, logger: Logger, allowLoopback: boolean): Promise<void> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out('Seeding a demo coalition through the HTTP API (--demo)…\n');
  if (!allowLoopback) {
    out('  (WEBHOOK_ALLOW_LOOPBACK is not set: the webhook step will be skipped. For the whole story: WEBHOOK_ALLOW_LOOPBACK=true npm start -- --demo)\n');
  }
  try {
    const result = await runDemo({ baseUrl: clientUrl(apiUrl), operatorKey, onStep: (step) => out(formatStep(step)) });
    out(formatSummary(result));
  } catch (error) {
    logger.error({ err: error }, 'demo failed');
    out(`\nThe demo failed: ${error instanceof Error ? error.message : String(error)}\nThe system keeps running; try again with: COALITION_OPERATOR_KEY=<the key above> npx coalition demo\n`);
  }
}
