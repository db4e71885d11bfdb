import { useInfiniteQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, type RouterOutputs } from '../../api.ts';
import { useSession } from '../../session.tsx';
import { Button, Card, EmptyState, ErrorState, Loading, PageHeader } from '../../ui/components.tsx';
import { formatDateTime, humanize } from '../../ui/format.ts';
import { LoadMore } from '../../ui/table.tsx';
import { useActorNames } from './admin-common.tsx';

type AuditEvent = RouterOutputs['auditEvents']['list']['events'][number];

const PAGE = 50;

/** Actions in words people use; anything not listed is humanized from its code. */
const ACTIONS: Record<string, string> = {
  'api_key.created': 'Created API key',
  'api_key.revoked': 'Revoked API key',
  'user.invited': 'Invited user',
  'user.invitation_revoked': 'Revoked invitation',
  'user.joined': 'Joined',
  'user.signed_in': 'Signed in',
  'user.updated': 'Changed user',
  'user.disabled': 'Disabled user',
  'user.password_reset_requested': 'Made a password reset link',
  'user.password_reset': 'Set a new password',
  'user.enabled': 'Enabled user',
  'tenant.created': 'Tenant created',
  'tenant.updated': 'Tenant changed',
  'webhook_endpoint.created': 'Created webhook endpoint',
  'webhook_endpoint.updated': 'Changed webhook endpoint',
  'webhook_endpoint.disabled': 'Disabled webhook endpoint',
  'webhook_endpoint.enabled': 'Enabled webhook endpoint',
  'webhook_endpoint.secret_rotated': 'Rotated webhook secret',
  'webhook_endpoint.test_sent': 'Sent webhook test event',
  'webhook_delivery.replayed': 'Replayed webhook delivery',
  'webhook_delivery.replayed_failed': 'Replayed failed webhook deliveries',
  'agreement.proposed': 'Agreement proposed',
  'agreement.accepted': 'Agreement accepted',
  'agreement.declined': 'Agreement declined',
  'agreement.withdrawn': 'Agreement withdrawn',
  'agreement.suspended': 'Agreement suspended',
  'agreement.resumed': 'Agreement resumed',
  'agreement.ended': 'Agreement ended',
  'offer.created': 'Created offer',
  'offer.updated': 'Changed offer',
  'offer.status_changed': 'Changed offer status',
  'campaign.created': 'Created campaign',
  'campaign.updated': 'Changed campaign',
  'reward.created': 'Created reward',
  'reward.updated': 'Changed reward',
  'reward.status_changed': 'Changed reward status',
  'codes.exported': 'Exported codes',
  'customer.blocked': 'Blocked customer',
  'fraud.rule_updated': 'Changed an anti-fraud rule',
  'fraud.rule_reset': 'Reset an anti-fraud rule to its defaults',
  'fraud.case_decided': 'Decided an anti-fraud case',
  'customer.unblocked': 'Unblocked customer',
};

export function describeAction(action: string): string {
  if (ACTIONS[action]) return ACTIONS[action];
  if (action.startsWith('portal.')) return `Portal: ${humanize(action.slice('portal.'.length).replace(/\./g, ' '))}`;
  return humanize(action.replace('.', ' '));
}

const SUBJECT_TYPES: Record<string, string> = {
  api_key: 'API key',
  webhook_endpoint: 'Webhook endpoint',
  webhook_delivery: 'Webhook delivery',
  invitation: 'Invitation',
  tenant: 'Tenant',
  code_batch: 'Code batch',
  settlement_statement: 'Statement',
  signing_key: 'Signing key',
};

/** Who acted: a user or key of ours, or, for agreement steps taken by the other side, that tenant. */
function who(event: AuditEvent, actor: (id: string) => ReactNode, ownSlug: string | undefined): ReactNode {
  const side = event.details.side;
  if (event.subjectType === 'agreement' && (side === 'issuer' || side === 'partner')) {
    const slug = event.details[side];
    if (typeof slug === 'string' && slug !== ownSlug) {
      return (
        <span className="cell-stack">
          <span>
            {slug} <span className="muted">(the {side})</span>
          </span>
          <span className="cell-sub mono">{event.actor}</span>
        </span>
      );
    }
  }
  if (event.subjectType === 'agreement' && side === 'operator') return <span>Coalition operator</span>;
  return actor(event.actor);
}

/** The subject as people recognise it: the email a user or invitation is about, else its type and id. */
function subjectOf(event: AuditEvent, actor: (id: string, inline?: boolean) => ReactNode): ReactNode {
  const email = typeof event.details.email === 'string' ? event.details.email : null;
  if (email) return email;
  if (event.subjectType === 'api_key') return actor(event.subjectId, true);
  if (event.subjectType === 'agreement' && typeof event.details.name === 'string') return `“${event.details.name}”`;
  if (event.subjectType === 'user') return actor(event.subjectId, true);
  if (event.subjectType === 'webhook_endpoint' && typeof event.details.url === 'string') return <span className="mono url-cell">{event.details.url}</span>;
  if (event.subjectType === 'procedure') return null;
  return (
    <>
      {SUBJECT_TYPES[event.subjectType] ?? humanize(event.subjectType)} <code>{event.subjectId}</code>
    </>
  );
}

function detailValue(value: unknown): ReactNode {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (Array.isArray(value)) return value.every((item) => typeof item !== 'object') ? value.join(', ') : <code>{JSON.stringify(value)}</code>;
  if (typeof value === 'object') return <code>{JSON.stringify(value)}</code>;
  return String(value);
}

/** The tenant's audit log, or (trail="operator") the coalition operators' own. */
export function AuditLogPage({ trail = 'tenant' }: { trail?: 'tenant' | 'operator' }) {
  const events = useInfiniteQuery({
    queryKey: [trail === 'tenant' ? 'auditEvents.list' : 'operator.auditEvents.list'],
    queryFn: ({ pageParam }) => {
      const input = { limit: PAGE, ...(pageParam && { cursor: pageParam }) };
      return trail === 'tenant' ? api.auditEvents.list.query(input) : api.operator.auditEvents.list.query(input);
    },
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const actor = useActorNames(true, trail);
  const session = useSession();
  const rows = events.data?.pages.flatMap((page) => page.events) ?? [];

  return (
    <>
      <PageHeader
        title="Audit log"
        description={
          trail === 'tenant'
            ? "Every change made in your company's name, by people in the portal and by API keys, newest first. Entries cannot be edited or deleted."
            : 'Operator accounts, their sign-ins and every change operators make in the portal, newest first. Changes to a tenant are also in that tenant\'s own log.'
        }
        actions={
          <Button onClick={() => void events.refetch()} busy={events.isRefetching}>
            Refresh
          </Button>
        }
      />
      <Card>
        {events.isPending ? (
          <Loading rows={6} />
        ) : events.isError ? (
          <ErrorState error={events.error} retry={() => void events.refetch()} />
        ) : rows.length === 0 ? (
          <EmptyState title="Nothing recorded yet" description="Changes to users, keys, webhooks, offers, campaigns and agreements appear here." />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Audit log</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((event) => {
                  const subject = subjectOf(event, actor);
                  const details = Object.entries(event.details);
                  return (
                    <tr key={event.id}>
                      <td className="nowrap">{formatDateTime(event.occurredAt)}</td>
                      <td>{who(event, actor, session.tenant?.slug)}</td>
                      <td>
                        <div className="cell-stack">
                          <strong>{describeAction(event.action)}</strong>
                          {subject && <span className="cell-sub">{subject}</span>}
                        </div>
                      </td>
                      <td>
                        <details className="audit-details">
                          <summary>Details</summary>
                          <dl className="kv">
                            <dt>Action</dt>
                            <dd>
                              <code>{event.action}</code>
                            </dd>
                            <dt>Subject</dt>
                            <dd>
                              {event.subjectType} <code>{event.subjectId}</code>
                            </dd>
                            <dt>Actor</dt>
                            <dd>
                              <code>{event.actor}</code>
                            </dd>
                            {details.map(([key, value]) => (
                              <DetailRow key={key} name={key} value={value} />
                            ))}
                          </dl>
                        </details>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <LoadMore hasMore={Boolean(events.hasNextPage)} loading={events.isFetchingNextPage} onLoad={() => void events.fetchNextPage()} />
      </Card>
    </>
  );
}

function DetailRow({ name, value }: { name: string; value: unknown }) {
  return (
    <>
      <dt>{humanize(name)}</dt>
      <dd>{detailValue(value)}</dd>
    </>
  );
}
