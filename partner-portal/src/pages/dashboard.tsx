import { useCan, useSession } from '../session.tsx';
import { EmptyState } from '../ui/components.tsx';
import { humanize } from '../ui/format.ts';
import { AdminWidget, AgreementsWidget, CampaignsWidget, FinanceWidget, FraudWidget, OperatorWidget, PoolsWidget, RedemptionsWidget, WebhooksWidget } from './dashboard/widgets.tsx';

function greeting(): string {
  const hour = new Date().getHours();
  return hour < 5 ? 'Good evening' : hour < 12 ? 'Good morning' : hour < 18 ? 'Good afternoon' : 'Good evening';
}

/**
 * The home page: the numbers each role watches, every one linking to the page where
 * it is acted on. A card appears only when the user may call the API behind it.
 */
export function DashboardPage() {
  const session = useSession();
  const can = useCan();
  const widgets = [
    can({ scopes: ['settlement:read'] }) && <FinanceWidget key="finance" />,
    can({ tenantRole: 'partner', scopes: ['pools:write'] }) && <PoolsWidget key="pools" />,
    can({ tenantRole: 'partner', scopes: ['codes:redeem'] }) && <RedemptionsWidget key="redemptions" />,
    can({ tenantRole: 'issuer', scopes: ['campaigns:write'] }) && <CampaignsWidget key="campaigns" withStock={can({ tenantRole: 'issuer', scopes: ['customers:read'] })} />,
    can({ tenantRole: 'issuer', scopes: ['fraud:review'] }) && <FraudWidget key="fraud" />,
    can({ scopes: ['agreements:read'] }) && <AgreementsWidget key="agreements" />,
    can({ scopes: ['admin'] }) && <AdminWidget key="admin" />,
    can({ scopes: ['webhooks:manage'] }) && <WebhooksWidget key="webhooks" />,
    can({ operator: true }) && <OperatorWidget key="operator" />,
  ].filter(Boolean);
  const roles = session.user.roles.map(humanize).join(', ');
  return (
    <>
      <header className="welcome page-header">
        <div>
          <h1>
            {greeting()}, {session.user.displayName}
          </h1>
          <p className="welcome-meta">
            {session.operator ? (
              <>Coalition operator · {roles}</>
            ) : (
              <>
                Signed in to <strong>{session.tenant?.displayName || session.tenant?.slug}</strong>
                {session.tenant && (
                  <>
                    {' '}
                    ({session.tenant.slug}, {session.tenant.roles.map(humanize).join(' and ').toLowerCase()})
                  </>
                )}{' '}
                as {roles}
              </>
            )}
          </p>
        </div>
      </header>
      {widgets.length === 0 ? (
        <EmptyState title="Nothing to show for your role yet" description="Your roles give you no overview numbers. Ask an administrator of your tenant if you need more access." />
      ) : (
        <div className="dashboard-grid">{widgets}</div>
      )}
    </>
  );
}
