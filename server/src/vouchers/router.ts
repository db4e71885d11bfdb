import { z } from 'zod';
import { requireCustomer } from '../customers/manage-customers.ts';
import { customerIdSchema } from '../customers/customer.ts';
import { AppError } from '../errors/app-error.ts';
import { findTenantBySlug } from '../tenants/tenant.queries.ts';
import { slugSchema } from '../tenants/tenant.ts';
import { coalitionDb } from '../db/database.ts';
import { publicProcedure, router, tenantProcedure } from '../trpc/trpc.ts';
import { cancelVoucher, cancelVoucherInputSchema } from './cancel-voucher.ts';
import { getVoucher, listCustomerVouchers } from './show-vouchers.ts';
import {
  jwksOutputSchema,
  kidSchema,
  listSigningKeys,
  publishedKeySet,
  revokeSigningKey,
  revokeSigningKeyInputSchema,
  rotateSigningKey,
  rotateSigningKeyInputSchema,
  signingKeyOutputSchema,
} from './signing-keys.ts';
import { voucherIdSchema, voucherOutputSchema, voucherStatusSchema } from './voucher.ts';

const byVoucher = z.strictObject({ voucherId: voucherIdSchema });

export const vouchersRouter = router({
  listForCustomer: tenantProcedure
    .meta({
      scopes: ['customers:read'],
      role: 'issuer',
      openapi: { method: 'GET', path: '/v1/customers/{customerId}/vouchers', tags: ['vouchers'], summary: "A customer's vouchers, newest first, with their codes", protect: true },
    })
    .input(
      z.strictObject({
        customerId: customerIdSchema,
        status: voucherStatusSchema.optional(),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: voucherIdSchema.optional().describe('nextCursor of the previous page.'),
      }),
    )
    .output(z.object({ vouchers: z.array(voucherOutputSchema), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      await requireCustomer(ctx.tenant, input.customerId);
      const { customerId, ...options } = input;
      return listCustomerVouchers({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, now: ctx.services.clock.now() }, customerId, options);
    }),
  get: tenantProcedure
    .meta({ scopes: ['customers:read'], role: 'issuer', openapi: { method: 'GET', path: '/v1/vouchers/{voucherId}', tags: ['vouchers'], summary: 'One voucher, with its code and signed forms', protect: true } })
    .input(byVoucher)
    .output(voucherOutputSchema)
    .query(({ ctx, input }) => getVoucher({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, now: ctx.services.clock.now() }, input.voucherId)),
  cancel: tenantProcedure
    .meta({
      scopes: ['exchange:write'],
      role: 'issuer',
      openapi: {
        method: 'POST',
        path: '/v1/vouchers/{voucherId}/cancel',
        tags: ['vouchers'],
        summary: 'Cancel an unredeemed voucher: stickers refunded, code returned to the pool or voided (the offer decides)',
        protect: true,
      },
    })
    .input(byVoucher.extend(cancelVoucherInputSchema.shape).strict())
    .output(voucherOutputSchema)
    .mutation(({ ctx, input }) => {
      const { voucherId, ...body } = input;
      return cancelVoucher({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, voucherId, body);
    }),
});

const issuerAdmin = { scopes: ['admin' as const], role: 'issuer' as const };

export const signingKeysRouter = router({
  list: tenantProcedure
    .meta({ ...issuerAdmin, openapi: { method: 'GET', path: '/v1/signing-keys', tags: ['vouchers'], summary: 'Voucher signing keys and their states (never a private key)', protect: true } })
    .input(z.strictObject({}).optional())
    .output(z.object({ keys: z.array(signingKeyOutputSchema) }))
    .query(async ({ ctx }) => ({ keys: await listSigningKeys(ctx.services.db, ctx.tenant.id, ctx.services.clock.now()) })),
  rotate: tenantProcedure
    .meta({
      ...issuerAdmin,
      openapi: { method: 'POST', path: '/v1/signing-keys/rotate', tags: ['vouchers'], summary: 'Publish a new signing key now; it signs from activateInHours on', protect: true },
    })
    .input(rotateSigningKeyInputSchema.optional())
    .output(signingKeyOutputSchema)
    .mutation(({ ctx, input }) => rotateSigningKey({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input ?? {})),
  revoke: tenantProcedure
    .meta({
      ...issuerAdmin,
      openapi: { method: 'POST', path: '/v1/signing-keys/{kid}/revoke', tags: ['vouchers'], summary: 'Withdraw a signing key from the key set at once (a leaked key)', protect: true },
    })
    .input(z.strictObject({ kid: kidSchema, ...revokeSigningKeyInputSchema.shape }))
    .output(signingKeyOutputSchema)
    .mutation(({ ctx, input }) =>
      revokeSigningKey({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input.kid, { reason: input.reason }),
    ),
});

export const jwksProcedure = publicProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/v1/issuers/{issuerSlug}/jwks',
      tags: ['vouchers'],
      summary: "An issuer's voucher verifying keys (JWKS), for partners verifying signed vouchers offline",
      description: 'Cache it (Cache-Control: max-age=300) and fetch it again when a voucher names a kid you do not hold.',
    },
  })
  .input(z.strictObject({ issuerSlug: slugSchema }))
  .output(jwksOutputSchema)
  .query(async ({ ctx, input }) => {
    const tenant = await findTenantBySlug(coalitionDb(ctx.services.db), input.issuerSlug);
    if (!tenant || !tenant.roles.includes('issuer')) throw new AppError('TENANT_NOT_FOUND', `No issuer has slug "${input.issuerSlug}".`, { slug: input.issuerSlug });
    ctx.responseHeaders.set('Cache-Control', 'public, max-age=300');
    return publishedKeySet(ctx.services.db, tenant.id, ctx.services.clock.now());
  });
