import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, type RouterOutputs } from '../../api.ts';
import type { TenantScope } from '../../../../server/src/auth/scopes.ts';
import { Badge } from '../../ui/components.tsx';
import { formatMoney, humanize } from '../../ui/format.ts';
import './admin.css';

// ---- scopes and roles ---------------------------------------------------------------

/** The server's TENANT_SCOPES (server/src/auth/scopes.ts), with what each allows. `satisfies` keeps the list honest. */
export const SCOPE_OPTIONS = [
  { value: 'admin', label: 'admin', hint: 'everything: keys, users, webhooks and every other scope' },
  { value: 'pos:write', label: 'pos:write', hint: 'till systems: record purchases and returns' },
  { value: 'customers:read', label: 'customers:read', hint: 'look up customers and their balances' },
  { value: 'exchange:write', label: 'exchange:write', hint: 'exchange stickers for rewards' },
  { value: 'pools:write', label: 'pools:write', hint: 'offers and promo code pools' },
  { value: 'codes:redeem', label: 'codes:redeem', hint: 'redeem codes at checkout' },
  { value: 'webhooks:manage', label: 'webhooks:manage', hint: 'webhook endpoints and deliveries' },
  { value: 'settlement:read', label: 'settlement:read', hint: 'read statements and netting' },
  { value: 'settlement:write', label: 'settlement:write', hint: 'finalize, pay and dispute statements' },
  { value: 'campaigns:write', label: 'campaigns:write', hint: 'campaigns and the reward catalog' },
  { value: 'codes:export', label: 'codes:export', hint: 'export issued codes' },
  { value: 'agreements:read', label: 'agreements:read', hint: 'read agreements' },
  { value: 'agreements:write', label: 'agreements:write', hint: 'propose, accept, suspend agreements' },
  { value: 'fraud:review', label: 'fraud:review', hint: 'the anti-fraud review queue and its decisions; read the rules' },
  { value: 'fraud:rules', label: 'fraud:rules', hint: 'change the anti-fraud rules' },
] as const satisfies readonly { value: TenantScope; label: string; hint: string }[];

export type PortalRole = 'admin' | 'pool_manager' | 'marketer' | 'finance' | 'fraud_reviewer';

/** The tenant portal roles (server/src/users/user.ts ROLE_SCOPES) and what each is for. */
export const ROLE_OPTIONS: { value: PortalRole; label: string; hint: string }[] = [
  { value: 'admin', label: 'Admin', hint: 'everything, including users, API keys, webhooks and the audit log' },
  { value: 'pool_manager', label: 'Pool manager', hint: 'offers, code pools, redemptions and code exports' },
  { value: 'marketer', label: 'Marketer', hint: 'campaigns, the reward catalog and customers' },
  { value: 'finance', label: 'Finance', hint: 'settlement statements and agreements' },
  { value: 'fraud_reviewer', label: 'Fraud reviewer', hint: 'review anti-fraud cases (release, reverse, block card, dismiss), read the rules, look up customers' },
];

export function roleLabel(role: string): string {
  return ROLE_OPTIONS.find((option) => option.value === role)?.label ?? humanize(role);
}

export function RoleBadges({ roles }: { roles: string[] }) {
  return (
    <span className="badge-list">
      {roles.map((role) => (
        <Badge key={role} tone={role === 'admin' ? 'info' : 'neutral'}>
          {roleLabel(role)}
        </Badge>
      ))}
    </span>
  );
}

// ---- agreements ---------------------------------------------------------------------

export type Agreement = RouterOutputs['agreements']['list']['agreements'][number];
export type CommercialModel = Agreement['model'];
export type ModelType = CommercialModel['type'];

export const MODEL_OPTIONS: { value: ModelType; label: string }[] = [
  { value: 'issuer_pays_per_redeemed', label: 'Issuer pays the partner per code redeemed' },
  { value: 'issuer_pays_per_issued', label: 'Issuer pays the partner per code issued' },
  { value: 'partner_pays_per_redeemed', label: 'Partner pays the issuer per code redeemed' },
  { value: 'partner_pays_percent_of_order', label: 'Partner pays the issuer a percentage of the order' },
];

/** "Green Grocer pays Kitchen Shop 50.00 RUB per code redeemed": who pays whom, and for what. */
export function describeTerms(model: CommercialModel, currency: string, issuer: string, partner: string): string {
  switch (model.type) {
    case 'issuer_pays_per_issued':
      return `${issuer} pays ${partner} ${formatMoney(model.amountMinor, currency)} per code issued`;
    case 'issuer_pays_per_redeemed':
      return `${issuer} pays ${partner} ${formatMoney(model.amountMinor, currency)} per code redeemed`;
    case 'partner_pays_per_redeemed':
      return `${partner} pays ${issuer} ${formatMoney(model.amountMinor, currency)} per code redeemed`;
    case 'partner_pays_percent_of_order':
      return `${partner} pays ${issuer} ${model.percent}% of the order value per code redeemed`;
  }
}

// ---- who did it ---------------------------------------------------------------------

type UsersList = RouterOutputs['users']['list'];
type KeysList = RouterOutputs['apiKeys']['list'];

/**
 * Names for the ids that appear as actors (usr_… portal users, API key ids), joined
 * client-side from users.list and apiKeys.list (both admin-only, like the pages using this).
 */
/** Names for the actors of a trail: the tenant's users and keys, or (operators) the operator accounts. */
export function useActorNames(enabled = true, trail: 'tenant' | 'operator' = 'tenant'): (actor: string, inline?: boolean) => ReactNode {
  const users = useQuery({
    queryKey: trail === 'tenant' ? ['users.list'] : ['operator.users.list', {}],
    queryFn: () => (trail === 'tenant' ? api.users.list.query() : api.operator.users.list.query({})),
    enabled,
  });
  const keys = useQuery({ queryKey: ['apiKeys.list'], queryFn: () => api.apiKeys.list.query(), enabled: enabled && trail === 'tenant' });
  return (actor: string, inline = false) => actorName(actor, users.data, keys.data, inline);
}

export function actorName(actor: string, users: UsersList | undefined, keys: KeysList | undefined, inline = false): ReactNode {
  if (actor.startsWith('usr_')) {
    const user = users?.users.find((candidate) => candidate.id === actor);
    if (user && inline) return <span title={actor}>{user.email}</span>;
    return user ? (
      <span className="cell-stack" title={actor}>
        <span>{user.displayName}</span>
        <span className="cell-sub">{user.email}</span>
      </span>
    ) : (
      <span>
        User <code>{actor}</code>
      </span>
    );
  }
  if (/^[0-9A-Za-z]{16}$/.test(actor)) {
    const key = keys?.apiKeys.find((candidate) => candidate.id === actor);
    return (
      <span title={actor}>
        API key {key ? <>“{key.name}” </> : null}
        <code>{actor}</code>
      </span>
    );
  }
  if (actor === 'test' || actor === 'coalition-start' || actor === 'cli') return <span>Coalition operator ({actor})</span>;
  return <code>{actor}</code>;
}

/** The one-time invitation link, as a full address to send. */
export function invitationLink(path: string): string {
  return `${location.origin}${path}`;
}
