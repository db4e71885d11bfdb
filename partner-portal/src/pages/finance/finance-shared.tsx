import type { ReactNode } from 'react';
import type { RouterOutputs } from '../../api.ts';
import { Badge } from '../../ui/components.tsx';
import { formatMoney } from '../../ui/format.ts';
import './finance.css';

export type Statement = RouterOutputs['settlement']['get'];
export type StatementTotal = Statement['totals'][number];
export type StatementLine = Statement['lines'][number];
export type StatementStatus = Statement['status'];
export type Reconciliation = RouterOutputs['settlement']['getReconciliation'];
export type SettlementRun = RouterOutputs['settlement']['getRun'];

export const STATEMENT_STATUS_OPTIONS: { value: StatementStatus; label: string }[] = [
  { value: 'draft', label: 'Draft' },
  { value: 'finalized', label: 'Finalized' },
  { value: 'paid', label: 'Paid' },
  { value: 'disputed', label: 'Disputed' },
];

/** What each status means to a finance team, for hints and the legend. */
export const STATUS_MEANING: Record<StatementStatus, string> = {
  draft: 'Figures can still change: rebuild and review it, then finalize once the month has ended.',
  finalized: 'Fixed for good: waiting for the payment to be recorded.',
  paid: 'The payment that settles it is recorded.',
  disputed: 'A party disputes it: settle with an adjustment, then the disputing party resolves.',
};

export const EVENT_LABELS: Record<StatementLine['event'], string> = {
  code_issued: 'Codes issued',
  issue_cancelled: 'Issues cancelled',
  code_redeemed: 'Codes redeemed',
  redemption_reversed: 'Redemptions reversed',
  adjustment: 'Conceded adjustment',
};

/** "YYYY-MM" of the month `offset` months from the current one in a time zone (-1: the last closed month). */
export function monthInZone(timeZone: string | undefined, offset = 0, now = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', ...(timeZone && { timeZone }) }).formatToParts(now);
  const year = Number(parts.find((part) => part.type === 'year')?.value);
  const month = Number(parts.find((part) => part.type === 'month')?.value);
  const index = year * 12 + (month - 1) + offset;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

export const PERIOD_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The side of a statement the signed-in tenant is on, and the other party's slug. */
export function partiesOf(statement: Pick<Statement, 'issuer' | 'partner' | 'yourSide'>): { you: string; other: string } {
  return statement.yourSide === 'issuer' ? { you: statement.issuer, other: statement.partner } : { you: statement.partner, other: statement.issuer };
}

/** "You pay volt 50.00 ₽", "grocer pays you …", or "Nothing owed", from one currency's total. */
export function owedSentence(statement: Pick<Statement, 'issuer' | 'partner' | 'yourSide'>, total: StatementTotal): string {
  const { you } = partiesOf(statement);
  if (!total.owedBy || total.amountMinor === 0) return `Nothing owed in ${total.currency}`;
  const amount = formatMoney(total.amountMinor, total.currency);
  if (total.owedBy === you) return `You pay ${total.owedTo} ${amount}`;
  if (total.owedTo === you) return `${total.owedBy} pays you ${amount}`;
  return `${total.owedBy} pays ${total.owedTo} ${amount}`;
}

/** A net from the viewer's side: green when received, amber when paid. */
export function NetAmount({ amountMinor, currency }: { amountMinor: number; currency: string }) {
  if (amountMinor === 0) return <span className="muted">{formatMoney(0, currency)}</span>;
  return (
    <span className={amountMinor > 0 ? 'money-in' : 'money-out'}>
      {amountMinor > 0 ? 'You receive ' : 'You pay '}
      {formatMoney(Math.abs(amountMinor), currency)}
    </span>
  );
}

/** Sums signed amounts per currency (never across currencies). */
export function sumByCurrency(items: { currency: string; amountMinor: number }[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const item of items) sums.set(item.currency, (sums.get(item.currency) ?? 0) + item.amountMinor);
  return sums;
}

export function MoneyList({ sums, empty = '—', render }: { sums: Map<string, number>; empty?: ReactNode; render?: (amountMinor: number, currency: string) => ReactNode }) {
  if (sums.size === 0) return <>{empty}</>;
  return (
    <span className="money-list">
      {[...sums.entries()].map(([currency, amount]) => (
        <span key={currency}>{render ? render(amount, currency) : formatMoney(amount, currency)}</span>
      ))}
    </span>
  );
}

export function ReconciledBadge({ reconciliation }: { reconciliation: { reconciled: boolean; currentForStatement: boolean } | null }) {
  if (!reconciliation) return <span className="muted small">Not uploaded</span>;
  if (!reconciliation.currentForStatement) return <Badge tone="warn">Outdated</Badge>;
  return reconciliation.reconciled ? <Badge tone="good">Reconciled</Badge> : <Badge tone="bad">Differences</Badge>;
}

export const statementFileUrl = (statementId: string, name: 'summary.csv' | 'entries.csv' | 'statement.html') => `/api/v1/settlement/statements/${statementId}/${name}`;
export const reportUrl = (reconciliationId: string) => `/api/v1/settlement/reconciliations/${reconciliationId}/report.csv`;
