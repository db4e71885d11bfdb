import { describe, expect, it } from 'vitest';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { AppError } from '../server/src/errors/app-error.ts';
import { parseApiKey } from '../server/src/auth/api-key-format.ts';

describe('tenant slugs name schemas safely', () => {
  it.each([
    ['green-grocer', 'tenant_green_grocer'],
    ['abc', 'tenant_abc'],
    ['shop-24-7', 'tenant_shop_24_7'],
  ])('maps %s to %s', (slug, schema) => {
    expect(tenantSchemaName(slug)).toBe(schema);
  });

  it.each(['ab', 'Green', 'green_grocer', '-shop', 'shop-', 'sh--op', '9shop', 'a'.repeat(33), 'x"; drop schema coalition; --', 'shop name'])(
    'refuses %j with INVALID_SLUG',
    (slug) => {
      let error: unknown;
      try {
        tenantSchemaName(slug);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('INVALID_SLUG');
    },
  );
});

describe('API key parsing', () => {
  it.each([
    'cx_live_short_secret',
    'cx_test_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
    'cx_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
    'cx_live_AAAAAAAAAAAAAAA-_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
    ' cx_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
  ])('does not accept %j', (value) => {
    expect(parseApiKey(value)).toBeNull();
  });

  it('tells tenant keys from operator keys', () => {
    expect(parseApiKey('cx_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')?.kind).toBe('tenant');
    expect(parseApiKey('cx_op_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')?.kind).toBe('operator');
  });
});
