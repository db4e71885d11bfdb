import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, idempotent, newIdempotencyKey } from '../../api.ts';
import { Button, FormError, SelectField, TextAreaField, TextField, fieldError } from '../../ui/components.tsx';
import { Dialog } from '../../ui/dialog.tsx';
import { formatMoney, formatPeriod } from '../../ui/format.ts';
import { currencyDigits, parseMoney } from '../../ui/money.ts';
import type { Statement } from './finance-shared.tsx';

/**
 * Concede an amount to the other party on a finalized statement: the finalized
 * statement stays as it is; the adjustment lands in the month still open, with a
 * reference to this one. One Idempotency-Key per opened form: a retry after a lost
 * answer concedes nothing twice.
 */
export function ConcedeDialog({ statement, other, onClose, onDone }: { statement: Statement; other: string; onClose: () => void; onDone: (next: Statement, note: string) => void }) {
  const currencies = [...new Set(statement.totals.map((total) => total.currency))];
  const [currency, setCurrency] = useState(currencies[0] ?? '');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [touched, setTouched] = useState(false);
  const [key] = useState(newIdempotencyKey);
  const amountMinor = parseMoney(amount, currency);
  const concede = useMutation({
    mutationFn: () => api.settlement.adjust.mutate({ statementId: statement.id, amountMinor: amountMinor!, currency, reason: reason.trim() }, idempotent(key)),
    onSuccess: (answer) => onDone(answer.statement, `Conceded ${formatMoney(answer.adjustment.amountMinor, answer.adjustment.currency)} to ${other}: it appears on the ${formatPeriod(answer.adjustment.period)} statement`),
  });
  const amountProblem = touched && (amountMinor === null || amountMinor < 1) ? `Enter an amount such as ${currencyDigits(currency) ? '10.00' : '10'}.` : fieldError(concede.error, 'amountMinor');
  const reasonProblem = touched && !reason.trim() ? 'Say why: the other party reads it on the next statement.' : fieldError(concede.error, 'reason');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (amountMinor === null || amountMinor < 1 || !reason.trim()) return;
    concede.mutate();
  };
  return (
    <Dialog
      open
      title="Concede an amount"
      onClose={onClose}
      onSubmit={submit}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={concede.isPending}>
            Concede
          </Button>
        </>
      }
    >
      <p>
        You give {other} this amount for {formatPeriod(statement.period)}: as the payer you pay more, as the payee you claim less. This statement does not change; the
        adjustment appears on the statement of the month still open, with a reference to this one.
      </p>
      <FormError error={concede.error} shownFields={['amountMinor', 'currency', 'reason']} />
      <div className="form-row">
        <TextField label={`Amount (${currency})`} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} error={amountProblem} autoFocus />
        {currencies.length > 1 && <SelectField label="Currency" value={currency} onChange={(e) => setCurrency(e.target.value)} options={currencies.map((c) => ({ value: c, label: c }))} error={fieldError(concede.error, 'currency')} />}
      </div>
      <TextAreaField label="Reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} error={reasonProblem} hint="For example: order 10023 was refunded before the redemption was reversed." />
    </Dialog>
  );
}
