import { z } from 'zod';
import { requireTenantRow } from '../tenants/get-tenant.ts';
import { slugSchema } from '../tenants/tenant.ts';
import { operatorProcedure, router, tenantProcedure } from '../trpc/trpc.ts';
import { changeUser, createPasswordReset, inviteUser, listPortalUsers, revokeInvitation, userScopeOf, type UserScope } from './manage-users.ts';
import { displayNameSchema, emailSchema, invitationOutputSchema, portalRolesSchema, portalUserOutputSchema, userIdSchema } from './user.ts';

// Portal users of the caller's tenant, managed by its admins (API key with `admin`, or
// a portal user with the admin role). Operators manage their own and invite a tenant's
// first admin.

const invitationIdSchema = z.string().regex(/^inv_[0-9A-Za-z]{12}$/, 'an invitation id such as inv_3fK9aB2cD4eF');
const usersOutput = z.object({ users: z.array(portalUserOutputSchema), invitations: z.array(invitationOutputSchema) });
const invitedOutput = z.object({
  invitation: invitationOutputSchema,
  token: z.string().describe('The invitation token. Shown once: it is stored only as a hash.'),
  path: z.string().describe('The one-time link, relative to the portal\'s origin: /portal/invite/<token>. Valid for 7 days.'),
});
const changeInput = z
  .strictObject({ userId: userIdSchema, roles: portalRolesSchema.optional(), displayName: displayNameSchema.optional() })
  .refine((input) => input.roles !== undefined || input.displayName !== undefined, 'change roles or displayName');

const tenantScope = (ctx: { tenant: { id: string; slug: string } }): UserScope => ({ tenantId: ctx.tenant.id, tenantSlug: ctx.tenant.slug });
const meta = (method: 'GET' | 'POST' | 'PATCH', path: `/${string}`, summary: string) => ({ scopes: ['admin' as const], openapi: { method, path, tags: ['users'], summary, protect: true } });

export const usersRouter = router({
  list: tenantProcedure
    .meta(meta('GET', '/v1/users', "List your tenant's portal users and pending invitations"))
    .input(z.strictObject({}).optional())
    .output(usersOutput)
    .query(({ ctx }) => listPortalUsers(ctx.services.db, tenantScope(ctx), ctx.services.clock.now())),
  invite: tenantProcedure
    .meta(meta('POST', '/v1/users/invitations', 'Invite a portal user (the one-time link is shown once)'))
    .input(z.strictObject({ email: emailSchema, roles: portalRolesSchema }))
    .output(invitedOutput)
    .mutation(({ ctx, input }) => inviteUser(ctx.services.db, tenantScope(ctx), { ...input, actor: ctx.keyId }, ctx.services.clock.now())),
  revokeInvitation: tenantProcedure
    .meta(meta('POST', '/v1/users/invitations/{invitationId}/revoke', 'Withdraw a pending invitation'))
    .input(z.strictObject({ invitationId: invitationIdSchema }))
    .output(invitationOutputSchema)
    .mutation(({ ctx, input }) => revokeInvitation(ctx.services.db, tenantScope(ctx), input.invitationId, ctx.keyId, ctx.services.clock.now())),
  update: tenantProcedure
    .meta(meta('PATCH', '/v1/users/{userId}', "Change a user's roles or name (their sessions end when roles change)"))
    .input(changeInput)
    .output(portalUserOutputSchema)
    .mutation(({ ctx, input }) => changeUser(ctx.services.db, tenantScope(ctx), input.userId, input, ctx.keyId, ctx.services.clock.now())),
  resetPassword: tenantProcedure
    .meta(meta('POST', '/v1/users/{userId}/password-reset', 'Make a one-time password reset link for a user (shown once, valid 24 hours)'))
    .input(z.strictObject({ userId: userIdSchema }))
    .output(z.object({ token: z.string().describe('Shown once: stored only as a hash.'), path: z.string().describe('The one-time link, relative to the portal\'s origin.'), expiresAt: z.string() }))
    .mutation(({ ctx, input }) => createPasswordReset(ctx.services.db, tenantScope(ctx), input.userId, ctx.keyId, ctx.services.clock.now())),
  disable: tenantProcedure
    .meta(meta('POST', '/v1/users/{userId}/disable', 'Disable a user: they are signed out at once and cannot sign in'))
    .input(z.strictObject({ userId: userIdSchema }))
    .output(portalUserOutputSchema)
    .mutation(({ ctx, input }) => changeUser(ctx.services.db, tenantScope(ctx), input.userId, { status: 'disabled' }, ctx.keyId, ctx.services.clock.now())),
  enable: tenantProcedure
    .meta(meta('POST', '/v1/users/{userId}/enable', 'Enable a disabled user again'))
    .input(z.strictObject({ userId: userIdSchema }))
    .output(portalUserOutputSchema)
    .mutation(({ ctx, input }) => changeUser(ctx.services.db, tenantScope(ctx), input.userId, { status: 'active' }, ctx.keyId, ctx.services.clock.now())),
});

const operatorInviteInput = z
  .strictObject({
    tenantSlug: slugSchema.optional().describe('The tenant the user joins; omit to invite a coalition operator.'),
    email: emailSchema,
    roles: portalRolesSchema.optional().describe('Required for a tenant user; operators have the operator role.'),
  })
  .refine((input) => (input.tenantSlug === undefined) === (input.roles === undefined), { message: 'give roles with tenantSlug, and neither for an operator', path: ['roles'] });

export const operatorUsersRouter = router({
  invite: operatorProcedure
    .meta({ openapi: { method: 'POST', path: '/v1/operator/users/invitations', tags: ['operator'], summary: "Invite a tenant's portal user (e.g. its first admin), or an operator", protect: true } })
    .input(operatorInviteInput)
    .output(invitedOutput)
    .mutation(async ({ ctx, input }) => {
      const now = ctx.services.clock.now();
      if (input.tenantSlug && input.roles) {
        const tenant = await requireTenantRow(ctx.services.db, input.tenantSlug);
        return inviteUser(ctx.services.db, { tenantId: tenant.id, tenantSlug: tenant.slug }, { email: input.email, roles: input.roles, actor: ctx.operatorKeyId }, now);
      }
      return inviteUser(ctx.services.db, { tenantId: null }, { email: input.email, roles: ['operator'], actor: ctx.operatorKeyId }, now);
    }),
  list: operatorProcedure
    .meta({ openapi: { method: 'GET', path: '/v1/operator/users', tags: ['operator'], summary: "List a tenant's portal users, or the operators", protect: true } })
    .input(z.strictObject({ tenantSlug: slugSchema.optional() }))
    .output(usersOutput)
    .query(async ({ ctx, input }) => {
      const scope: UserScope = input.tenantSlug ? await requireTenantRow(ctx.services.db, input.tenantSlug).then((t) => ({ tenantId: t.id, tenantSlug: t.slug })) : { tenantId: null };
      return listPortalUsers(ctx.services.db, scope, ctx.services.clock.now());
    }),
  disable: operatorProcedure
    .meta({ openapi: { method: 'POST', path: '/v1/operator/users/{userId}/disable', tags: ['operator'], summary: 'Disable any portal user', protect: true } })
    .input(z.strictObject({ userId: userIdSchema }))
    .output(portalUserOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const scope = await userScopeOf(ctx.services.db, input.userId);
      return changeUser(ctx.services.db, scope, input.userId, { status: 'disabled' }, ctx.operatorKeyId, ctx.services.clock.now(), { byOperator: true });
    }),
});
