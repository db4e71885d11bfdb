import { customAlphabet } from 'nanoid';
import { createOperatorApiKey, createTenantApiKey } from '../../server/src/auth/create-api-key.ts';
import type { TenantScope } from '../../server/src/auth/scopes.ts';
import type { TenantRole } from '../../server/src/db/tables.ts';
import { createTenant } from '../../server/src/tenants/create-tenant.ts';
import { requireTenantRow } from '../../server/src/tenants/get-tenant.ts';
import type { Tenant } from '../../server/src/tenants/tenant.ts';
import type { AppServices } from '../../server/src/system/services.ts';

const slugSuffix = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 8);

export function uniqueSlug(prefix = 'shop'): string {
  return `${prefix}-${slugSuffix()}`;
}

export async function operatorKey(services: AppServices): Promise<string> {
  return (await createOperatorApiKey(services.db, { name: 'test operator', actor: 'test' })).secret;
}

export interface TenantWithKey {
  tenant: Tenant;
  key: string;
  keyId: string;
}

export async function tenantWithKey(
  services: AppServices,
  options: { slug?: string; roles?: TenantRole[]; scopes?: TenantScope[]; rateLimitPerMinute?: number } = {},
): Promise<TenantWithKey> {
  const tenant = await createTenant(
    services.db,
    {
      slug: options.slug ?? uniqueSlug(),
      displayName: 'Test Retailer',
      roles: options.roles ?? ['issuer', 'partner'],
      timezone: 'Europe/Moscow',
      currency: 'RUB',
      rateLimitPerMinute: options.rateLimitPerMinute ?? null,
    },
    'test',
  );
  const { apiKey, secret } = await keyFor(services, tenant.slug, options.scopes ?? ['admin']);
  return { tenant, key: secret, keyId: apiKey.id };
}

export async function keyFor(services: AppServices, slug: string, scopes: TenantScope[]) {
  const row = await requireTenantRow(services.db, slug);
  return createTenantApiKey(services.db, { tenant: row, name: `test key ${scopes.join(',')}`, scopes, actor: 'test' });
}
