import type { Access } from './session.tsx';

export interface NavItem {
  path: string;
  label: string;
  group: 'Overview' | 'Partner' | 'Issuer' | 'Coalition' | 'Finance' | 'Settings' | 'Operator';
  access: Access;
}

/**
 * Every page and who may open it. The sidebar shows only what the signed-in user's
 * roles allow; the server enforces the same scopes on each call behind the page.
 */
export const NAV: NavItem[] = [
  { path: '/', label: 'Dashboard', group: 'Overview', access: {} },
  { path: '/offers', label: 'Offers & pools', group: 'Partner', access: { tenantRole: 'partner', scopes: ['pools:write'] } },
  { path: '/redemptions', label: 'Redemptions', group: 'Partner', access: { tenantRole: 'partner', scopes: ['codes:redeem'] } },
  { path: '/campaigns', label: 'Campaigns', group: 'Issuer', access: { tenantRole: 'issuer', scopes: ['campaigns:write'] } },
  { path: '/rewards', label: 'Reward catalog', group: 'Issuer', access: { tenantRole: 'issuer', scopes: ['campaigns:write'] } },
  { path: '/customers', label: 'Customers', group: 'Issuer', access: { tenantRole: 'issuer', scopes: ['customers:read'] } },
  { path: '/fraud', label: 'Fraud review', group: 'Issuer', access: { tenantRole: 'issuer', scopes: ['fraud:review'] } },
  { path: '/agreements', label: 'Agreements', group: 'Coalition', access: { scopes: ['agreements:read'] } },
  { path: '/settlement', label: 'Settlement', group: 'Finance', access: { scopes: ['settlement:read'] } },
  { path: '/webhooks', label: 'Webhooks', group: 'Settings', access: { scopes: ['webhooks:manage'] } },
  { path: '/api-keys', label: 'API keys', group: 'Settings', access: { scopes: ['admin'] } },
  { path: '/users', label: 'Users', group: 'Settings', access: { scopes: ['admin'] } },
  { path: '/audit-log', label: 'Audit log', group: 'Settings', access: { scopes: ['admin'] } },
  { path: '/operator/tenants', label: 'Tenants', group: 'Operator', access: { operator: true } },
  { path: '/operator/agreements', label: 'Agreements', group: 'Operator', access: { operator: true } },
  { path: '/operator/netting', label: 'Netting', group: 'Operator', access: { operator: true } },
  { path: '/operator/audit-log', label: 'Audit log', group: 'Operator', access: { operator: true } },
];

/** The nav entry a path belongs to (its page's access applies to its sub-pages too). */
export function navItemFor(pathname: string): NavItem | undefined {
  return [...NAV].sort((a, b) => b.path.length - a.path.length).find((item) => (item.path === '/' ? pathname === '/' : pathname === item.path || pathname.startsWith(`${item.path}/`)));
}
