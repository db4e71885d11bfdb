import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_IMPORTS, buildSdk } from '../client-sdk/scripts/build.ts';

const repo = path.resolve(import.meta.dirname, '..');
let project: string;
let packageDir: string;

/**
 * The package as a consumer gets it: built, installed into a project of its own next
 * to its dependencies only (@trpc/client, @trpc/server, jose), with no way to reach
 * the server's source.
 */
beforeAll(async () => {
  project = await mkdtemp(path.join(os.tmpdir(), 'cx-sdk-consumer-'));
  packageDir = path.join(project, 'node_modules', '@coalition-exchange', 'client');
  await mkdir(packageDir, { recursive: true });
  await buildSdk({ outDir: path.join(packageDir, 'dist') });
  await cp(path.join(repo, 'client-sdk', 'package.json'), path.join(packageDir, 'package.json'));
  await symlink(path.join(repo, 'node_modules', '@trpc'), path.join(project, 'node_modules', '@trpc'), 'dir');
  await symlink(path.join(repo, 'node_modules', 'jose'), path.join(project, 'node_modules', 'jose'), 'dir');
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'shop', private: true, type: 'module' }));
}, 120_000);
afterAll(() => rm(project, { recursive: true, force: true }));

const CONSUMER = `
import { CoalitionError, createClient, isCoalitionError, verifyVoucher, verifyWebhook, type ErrorCode, type WebhookEvent } from '@coalition-exchange/client';

const client = createClient({ baseUrl: 'https://exchange.example.com', apiKey: 'cx_live_x' });

export async function checkout(code: string): Promise<number> {
  try {
    const redemption = await client.redemptions.redeem.mutate({ code, orderRef: 'A-1', orderAmountMinor: 100, currency: 'RUB' });
    const discount: number = redemption.discountMinor;
    const status: 'redeemed' | 'reversed' = redemption.status;
    return status === 'redeemed' ? discount : 0;
  } catch (error) {
    if (isCoalitionError(error, 'ALREADY_REDEEMED')) return -1;
    if (error instanceof CoalitionError && error.httpStatus === 422) return -2;
    throw error;
  }
}

export async function misuse() {
  // @ts-expect-error orderRef is required
  await client.redemptions.redeem.mutate({ code: 'X', orderAmountMinor: 1, currency: 'RUB' });
  // @ts-expect-error no such procedure
  await client.redemptions.teleport.mutate({});
  // @ts-expect-error not a reason code
  const code: ErrorCode = 'NOT_A_CODE';
  return code;
}

export async function balance(customerId: string): Promise<number> {
  return (await client.customers.balance.query({ customerId })).available;
}

export async function onDelivery(headers: Record<string, string>, body: string): Promise<string> {
  const event: WebhookEvent = await verifyWebhook(headers, body, 'whsec_AAAA');
  switch (event.type) {
    case 'voucher.redeemed':
      return event.data.orderRef;
    case 'pool.low':
      return String(event.data.available);
    default:
      return event.type;
  }
}

export async function offline(token: string): Promise<string> {
  const claims = await verifyVoucher(token, { jwksUrl: 'https://exchange.example.com/api/v1/issuers/green-grocer/jwks', audience: 'volt-electronics' });
  return claims.value.type === 'fixed' ? String(claims.value.amountMinor) : String(claims.value.percent);
}
`;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('the published package', () => {
  it('holds JavaScript and declarations that import only each other and the allowed packages, never the server', async () => {
    const files = await filesUnder(path.join(packageDir, 'dist'));
    const names = files.map((file) => path.relative(packageDir, file));
    expect(names).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/app-router.d.ts', 'dist/create-client.js', 'dist/verify-webhook.js']));
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
        expect(specifier!.startsWith('./') || ALLOWED_IMPORTS.has(specifier!), `${file}: ${specifier}`).toBe(true);
      }
    }
    // The router's types are printed in full, not referenced.
    const router = await readFile(path.join(packageDir, 'dist', 'app-router.d.ts'), 'utf8');
    expect(router).toContain('recordPurchase: {');
    expect(router).toContain('"ALREADY_REDEEMED"');
  });

  it('type-checks a consumer project (strict, no skipLibCheck, no Node types) against the published declarations', async () => {
    const file = path.join(project, 'consumer.ts');
    await writeFile(file, CONSUMER);
    const program = ts.createProgram({
      rootNames: [file],
      options: {
        strict: true,
        noEmit: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.esnext.disposable.d.ts'],
        types: [],
        skipLibCheck: false,
      },
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => `${diagnostic.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
    expect(diagnostics).toEqual([]);
    const loaded = program.getSourceFiles().map((source) => source.fileName);
    expect(loaded.some((name) => name.includes('/server/src/'))).toBe(false);
    expect(loaded.some((name) => name.endsWith('@coalition-exchange/client/dist/app-router.d.ts'))).toBe(true);
  }, 60_000);

  it('runs from the package alone: imports resolve, and verifyWebhook verifies', async () => {
    const script = `
      import { createHmac } from 'node:crypto';
      import * as sdk from '@coalition-exchange/client';
      const secret = 'whsec_' + Buffer.alloc(32, 3).toString('base64');
      const body = JSON.stringify({ id: 'msg_1', type: 'webhook.test', timestamp: new Date().toISOString(), sequence: 1, tenant: 'shop', data: { endpointId: 'we_1', message: 'hi' } });
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = 'v1,' + createHmac('sha256', Buffer.alloc(32, 3)).update('msg_1.' + ts + '.' + body).digest('base64');
      const event = await sdk.verifyWebhook({ 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': signature }, body, secret);
      console.log(JSON.stringify({ exports: Object.keys(sdk).sort(), type: event.type, procedures: sdk.IDEMPOTENT_PROCEDURES.length }));
    `;
    await writeFile(path.join(project, 'run.mjs'), script);
    const { stdout } = await promisify(execFile)(process.execPath, ['run.mjs'], { cwd: project });
    const result = JSON.parse(stdout);
    expect(result.type).toBe('webhook.test');
    expect(result.procedures).toBe(5);
    expect(result.exports).toEqual(expect.arrayContaining(['createClient', 'CoalitionError', 'verifyVoucher', 'verifyWebhook', 'voucherKeySet', 'withIdempotencyKey', 'WEBHOOK_EVENT_TYPES']));
  });
});
