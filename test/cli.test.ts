import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { request } from './support/http-client.ts';
import { LATEST_TENANT_MIGRATION } from './support/migrations.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

describe('coalition CLI', () => {
  it('onboards a tenant and its first key, which then works against the API', async () => {
    const created = await runCli(
      ['tenant', 'create', '--slug', 'cli-grocer', '--name', 'CLI Grocer', '--roles', 'issuer,partner', '--timezone', 'Europe/Moscow', '--currency', 'RUB', '--json'],
      system.env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ slug: 'cli-grocer', roles: ['issuer', 'partner'], schemaVersion: LATEST_TENANT_MIGRATION });

    const key = await runCli(['key', 'create', '--tenant', 'cli-grocer', '--name', 'POS', '--scopes', 'pos:write,customers:read'], system.env);
    expect(key.code, key.stderr).toBe(0);
    const secret = /cx_live_\w+/.exec(key.stdout)?.[0];
    expect(secret).toBeDefined();
    // The secret goes to stdout for the person running the command, never into logs.
    expect(key.stderr).not.toContain(secret!.split('_').at(-1));
    const me = await request(system.baseUrl, 'GET', '/api/v1/me', { key: secret });
    expect(me.body).toMatchObject({ kind: 'tenant', scopes: ['customers:read', 'pos:write'], tenant: { slug: 'cli-grocer' } });

    const listed = await runCli(['tenant', 'list'], system.env);
    expect(listed.stdout).toMatch(/cli-grocer\s+active\s+issuer,partner/);

    const keyId = secret!.split('_')[2]!;
    const revoked = await runCli(['key', 'revoke', keyId], system.env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await request(system.baseUrl, 'GET', '/api/v1/me', { key: secret })).status).toBe(401);
  });

  it('creates operator keys', async () => {
    const result = await runCli(['key', 'create', '--operator', '--name', 'on-call', '--json'], system.env);
    expect(result.code, result.stderr).toBe(0);
    const { secret } = JSON.parse(result.stdout);
    expect(secret).toMatch(/^cx_op_/);
    expect((await request(system.baseUrl, 'GET', '/api/v1/operator/tenants', { key: secret })).status).toBe(200);
  });

  it.each([
    [['tenant', 'create', '--slug', 'Bad_Slug', '--name', 'x', '--roles', 'issuer', '--timezone', 'UTC', '--currency', 'EUR'], 'INVALID_SLUG'],
    [['tenant', 'create', '--slug', 'ok-slug', '--name', 'x', '--roles', 'wholesaler', '--timezone', 'UTC', '--currency', 'EUR'], 'unknown role "wholesaler"'],
    [['key', 'create', '--tenant', 'no-such-tenant', '--name', 'x', '--scopes', 'admin'], 'TENANT_NOT_FOUND'],
    [['key', 'create', '--tenant', 'cli-grocer', '--name', 'x', '--scopes', 'root'], 'unknown scope "root"'],
    [['key', 'revoke', 'not-an-id'], 'a key id is the 16 letters and digits'],
    [['tenant', 'create', '--slug', 'tz-shop', '--name', 'x', '--roles', 'issuer', '--timezone', 'Moon/Base', '--currency', 'EUR'], 'timezone: must be an IANA time zone'],
    [['tenant', 'create', '--slug', 'cur-shop', '--name', 'x', '--roles', 'issuer', '--timezone', 'UTC', '--currency', 'EURO'], 'currency: must be an ISO 4217 currency code'],
    [['tenant', 'create', '--slug', 'blank-shop', '--name', '   ', '--roles', 'issuer', '--timezone', 'UTC', '--currency', 'EUR'], 'displayName: must not be empty'],
    [['tenant', 'create', '--slug', 'no-name'], "required option '--name <name>' not specified"],
  ])('rejects %j with a clear message and exit code 1', async (args, message) => {
    const result = await runCli(args, system.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('explains each command with --help', async () => {
    for (const command of [[], ['start'], ['serve'], ['worker'], ['migrate'], ['tenant', 'create'], ['tenant', 'list'], ['key', 'create'], ['key', 'revoke']]) {
      const result = await runCli([...command, '--help'], system.env);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout, command.join(' ')).toMatch(/^Usage: coalition/);
    }
  });
});
