import type { ReactNode } from 'react';
import { useNavigate } from 'react-router';
import type { RouterOutputs } from '../../api.ts';
import { Badge, Tabs, type Tone } from '../../ui/components.tsx';
import './fraud.css';

export type FraudCase = RouterOutputs['fraud']['cases']['list']['cases'][number];
export type FraudCaseDetail = RouterOutputs['fraud']['cases']['get'];
export type FraudHit = FraudCaseDetail['hitList'][number];
export type StickerMove = FraudCaseDetail['stillHeld'][number];
export type FraudRule = RouterOutputs['fraud']['rules']['list']['rules'][number];
export type CaseAction = FraudCase['action'];
export type Decision = NonNullable<FraudCase['decision']>['decision'];

/** Who may open the fraud pages, and who may change the rules (the server checks the same). */
export const REVIEW = { tenantRole: 'issuer' as const, scopes: ['fraud:review' as const] };
export const EDIT_RULES = { tenantRole: 'issuer' as const, scopes: ['fraud:rules' as const] };

const ACTION_TONES: Record<CaseAction, Tone> = { flag: 'info', hold: 'warn', block: 'bad' };
const ACTION_LABELS: Record<CaseAction, string> = { flag: 'Flagged', hold: 'Held', block: 'Blocked' };

/** What the rule did to the request(s): flagged (let through), held (stickers kept pending), blocked (refused). */
export function ActionBadge({ action }: { action: CaseAction }) {
  return <Badge tone={ACTION_TONES[action]}>{ACTION_LABELS[action]}</Badge>;
}

export const DECISION_LABELS: Record<Decision, string> = { released: 'Released', reversed: 'Reversed', card_blocked: 'Card blocked', dismissed: 'Dismissed' };
const DECISION_TONES: Record<Decision, Tone> = { released: 'good', reversed: 'warn', card_blocked: 'bad', dismissed: 'neutral' };

/** Open (waiting for a reviewer), or closed with the decision taken. */
export function CaseStatusBadge({ fraudCase }: { fraudCase: Pick<FraudCase, 'status' | 'decision'> }) {
  if (fraudCase.status === 'open' || !fraudCase.decision) return <Badge tone="warn">Open</Badge>;
  return <Badge tone={DECISION_TONES[fraudCase.decision.decision]}>{DECISION_LABELS[fraudCase.decision.decision]}</Badge>;
}

export const ACTION_OPTIONS: { value: CaseAction; label: string }[] = [
  { value: 'flag', label: 'Flagged' },
  { value: 'hold', label: 'Held' },
  { value: 'block', label: 'Blocked' },
];

/** A rule's setting in words: allow means the rule is off. */
export const RULE_ACTION_LABELS: Record<FraudRule['action'], string> = {
  allow: 'Off (allow)',
  flag: 'Flag for review',
  hold: 'Hold the stickers',
  block: 'Block the request',
};

/**
 * What a case is about, as people recognise it: the loyalty card (or phone), or for a
 * redemption signal the partner's shop account or order.
 */
export function describeSubject(fraudCase: Pick<FraudCase, 'subject' | 'customer'>): { title: string; detail?: string } {
  const { customer, subject } = fraudCase;
  if (customer && subject.startsWith('customer:')) {
    if (customer.cardNumber) return { title: `Card ${customer.cardNumber}`, ...(customer.phoneHint && { detail: `Phone ${customer.phoneHint}` }) };
    if (customer.phoneHint) return { title: `Phone ${customer.phoneHint}` };
    return { title: 'Customer', detail: customer.id };
  }
  const [kind, partner, ...rest] = subject.split(':');
  const ref = rest.join(':');
  if (kind === 'shopper' && partner) return { title: `Shop account ${ref}`, detail: `at ${partner}` };
  if (kind === 'order' && partner) return { title: `Order ${ref}`, detail: `at ${partner}` };
  return { title: subject };
}

export function SubjectCell({ fraudCase }: { fraudCase: FraudCase }) {
  const subject = describeSubject(fraudCase);
  return (
    <span className="fraud-cell">
      <span className="fraud-nowrap">
        {subject.title} {fraudCase.customer?.blocked && <Badge tone="bad">Blocked</Badge>}
      </span>
      {subject.detail && <span className="fraud-sub">{subject.detail}</span>}
    </span>
  );
}

/** "maxPurchases" → "Max purchases", "receiptsThatDay" → "Receipts that day". */
export function labelOf(name: string): string {
  const words = name
    .replace(/([a-z])([A-Z0-9])/g, '$1 $2')
    .replace(/([0-9])([a-z])/g, '$1 $2')
    .replace(/[_.-]+/g, ' ')
    .toLowerCase()
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A rule description with its `param` names set as code. */
export function RuleText({ text }: { text: string }): ReactNode {
  return text.split(/(`[^`]+`)/).map((part, index) => (part.startsWith('`') && part.endsWith('`') ? <code key={index}>{part.slice(1, -1)}</code> : part));
}

/** The two views of the fraud pages: the review queue and the rules. */
export function FraudTabs({ current, openCount }: { current: 'queue' | 'rules'; openCount?: number | undefined }) {
  const navigate = useNavigate();
  return (
    <Tabs
      value={current}
      onChange={(tab) => navigate(tab === 'queue' ? '/fraud' : '/fraud/rules')}
      tabs={[
        {
          id: 'queue',
          label: (
            <>
              Review queue{' '}
              {openCount !== undefined && (
                <Badge tone={openCount > 0 ? 'warn' : 'neutral'}>
                  <span data-testid="open-count">{openCount}</span> open
                </Badge>
              )}
            </>
          ),
        },
        { id: 'rules', label: 'Rules' },
      ]}
    />
  );
}
