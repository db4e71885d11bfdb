import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, problemOf, type RouterOutputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import { Alert, Button, Card, CopyButton, EmptyState, ErrorState, FormError, Loading, PageHeader, StatusBadge, TextAreaField, TextField, fieldError } from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { useToast } from '../../ui/toast.tsx';
import { formatDateTime, formatMoney, formatNumber, formatPeriod } from '../../ui/format.ts';
import { EVENT_LABELS, NetAmount, STATUS_MEANING, owedSentence, partiesOf, statementFileUrl, type Statement, type StatementLine } from './finance-shared.tsx';
import { ReconciliationCard } from './reconciliation.tsx';
import { ConcedeDialog } from './concede-dialog.tsx';

type Verification = RouterOutputs['settlement']['verify'];
type DialogName = 'finalize' | 'pay' | 'dispute' | 'resolve' | 'concede' | null;

/**
 * One statement: who owes whom per currency, the lines by section, the lifecycle and
 * its history, the exports, verification and reconciliation; the lifecycle steps for
 * those who may write.
 */
export function StatementPage() {
  const { statementId = '' } = useParams();
  const can = useCan();
  const canWrite = can({ scopes: ['settlement:write'] });
  const toast = useToast();
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<DialogName>(null);
  const [changedFrom, setChangedFrom] = useState<string | null>(null);
  const [verification, setVerification] = useState<Verification | null>(null);

  const statement = useQuery({ queryKey: ['settlement.get', statementId], queryFn: () => api.settlement.get.query({ statementId }) });

  const adopt = (next: Statement) => {
    queryClient.setQueryData(['settlement.get', next.id], next);
    void queryClient.invalidateQueries({ queryKey: ['settlement.list'] });
    void queryClient.invalidateQueries({ queryKey: ['settlement.netting'] });
    setVerification(null);
  };

  const rebuild = useMutation({
    mutationFn: (current: Statement) => api.settlement.build.mutate({ agreementId: current.agreementId, period: current.period }),
    onSuccess: (next, current) => {
      adopt(next);
      if (next.contentHash === current.contentHash) toast('The draft is up to date: nothing new since it was built');
      else toast('Draft rebuilt with the latest entries: review the new figures', 'warn');
    },
  });

  const finalize = useMutation({
    mutationFn: (current: Statement) => api.settlement.finalize.mutate({ statementId: current.id, expectedContentHash: current.contentHash }),
    onSuccess: (next) => {
      adopt(next);
      setChangedFrom(null);
      setDialog(null);
      toast(`${formatPeriod(next.period)} finalized: it can no longer change`);
    },
    onError: (error, current) => {
      if (problemOf(error).code !== 'STATEMENT_CHANGED') return;
      // What the user reviewed is no longer what would be finalized: show the new version to review.
      setDialog(null);
      setChangedFrom(current.contentHash);
      finalize.reset();
      rebuild.mutate(current);
    },
  });

  const verify = useMutation({
    mutationFn: (id: string) => api.settlement.verify.query({ statementId: id }),
    onSuccess: (result) => setVerification(result),
  });

  if (statement.isPending) {
    return (
      <>
        <PageHeader title="Statement" back={<Link to="/settlement">← Settlement</Link>} />
        <Card>
          <Loading label="Loading the statement…" rows={6} />
        </Card>
      </>
    );
  }
  if (statement.isError) {
    const code = problemOf(statement.error).code;
    return (
      <>
        <PageHeader title="Statement" back={<Link to="/settlement">← Settlement</Link>} />
        {code === 'STATEMENT_NOT_FOUND' || code === 'VALIDATION_FAILED' ? (
          <EmptyState
            title="Statement not found"
            description="There is no statement with this id among your agreements' statements. It may belong to another tenant, or the link is incomplete."
            action={<Link to="/settlement">Back to all statements</Link>}
          />
        ) : (
          <ErrorState error={statement.error} retry={() => void statement.refetch()} />
        )}
      </>
    );
  }

  const s = statement.data;
  const { other } = partiesOf(s);
  const side = (which: 'issuer' | 'partner' | null) => (which === null ? 'someone' : which === s.yourSide ? 'you' : s[which]);
  const canResolve = s.status === 'disputed' && s.disputedBy === s.yourSide;
  const periodEnded = new Date(s.periodEnd).getTime() <= Date.now();

  return (
    <>
      <PageHeader
        back={<Link to="/settlement">← Settlement</Link>}
        title={
          <span className="statement-title">
            {s.agreementName} · {formatPeriod(s.period)} <StatusBadge status={s.status} />
          </span>
        }
        description={
          <>
            Between <strong>{s.issuer}</strong> (issuer) and <strong>{s.partner}</strong> (partner); you are the {s.yourSide}. The month runs in {s.timezone}, from {formatDateTime(s.periodStart, s.timezone)} to {formatDateTime(s.periodEnd, s.timezone)}.
          </>
        }
        actions={
          <>
            <Button busy={verify.isPending} onClick={() => verify.mutate(s.id)}>
              Verify
            </Button>
            {canWrite && s.status === 'draft' && (
              <Button busy={rebuild.isPending} onClick={() => rebuild.mutate(s)}>
                Rebuild draft
              </Button>
            )}
            {canWrite && s.status === 'draft' && (
              <Button variant="primary" onClick={() => setDialog('finalize')} disabled={rebuild.isPending}>
                Finalize…
              </Button>
            )}
            {canWrite && s.status === 'finalized' && (
              <Button variant="primary" onClick={() => setDialog('pay')}>
                Mark paid…
              </Button>
            )}
            {canWrite && (s.status === 'finalized' || s.status === 'paid') && (
              <Button variant="danger" onClick={() => setDialog('dispute')}>
                Dispute…
              </Button>
            )}
            {canWrite && canResolve && (
              <Button variant="primary" onClick={() => setDialog('resolve')}>
                Resolve dispute…
              </Button>
            )}
            {canWrite && s.status !== 'draft' && s.totals.length > 0 && <Button onClick={() => setDialog('concede')}>Concede an amount…</Button>}
          </>
        }
      />

      {changedFrom && (
        <Alert tone="warn" title="This statement changed since you reviewed it">
          New entries arrived after you opened it, so it was not finalized. {rebuild.isPending ? 'Rebuilding the draft…' : 'The draft below has been rebuilt with them: review the new figures and finalize again.'}
          <div className="small muted">
            Reviewed version <span className="hash">{changedFrom.slice(0, 16)}…</span> → current <span className="hash">{s.contentHash.slice(0, 16)}…</span>
          </div>
        </Alert>
      )}
      {rebuild.isError && <ErrorState error={rebuild.error} title="The draft could not be rebuilt" />}
      {verify.isError && <ErrorState error={verify.error} title="The statement could not be verified" />}
      {verification && verification.contentHash === s.contentHash && <VerificationResult result={verification} onRebuild={canWrite ? () => rebuild.mutate(s) : undefined} />}
      {s.status === 'disputed' && (
        <Alert tone="warn" title={`Disputed by ${side(s.disputedBy)} on ${formatDateTime(s.disputedAt)}`}>
          <p>{s.disputeReason}</p>
          <p className="small">
            {canResolve
              ? 'Once it is settled (for example the other party conceded an adjustment, shown on a later statement), resolve the dispute: the statement returns to its previous status.'
              : `Only ${other} resolves this dispute. If they are right, concede an amount: it appears on the next open statement.`}
          </p>
        </Alert>
      )}
      {s.status === 'draft' && !periodEnded && <Alert tone="info" title="Preview of a month still running">This month ends on {formatDateTime(s.periodEnd, s.timezone)} ({s.timezone}); it can be finalized after that.</Alert>}

      <div className="statement-overview">
        {s.totals.length === 0 ? (
          <div className="total-card">
            <h3>Total</h3>
            <div className="total-amount">Nothing owed</div>
            <p className="muted small">No settlement entries in this month for this agreement.</p>
          </div>
        ) : (
          s.totals.map((total) => {
            const net = s.yourNet.find((entry) => entry.currency === total.currency)?.amountMinor ?? 0;
            return (
              <section className="total-card" key={total.currency} aria-label={`Total in ${total.currency}`}>
                <h3>Total {total.currency}</h3>
                <div className="total-amount" data-testid="statement-total">
                  {formatMoney(total.amountMinor, total.currency)}
                </div>
                <div className="total-owed">{owedSentence(s, total)}</div>
                <dl className="total-breakdown">
                  <dt>This month</dt>
                  <dd>{formatMoney(total.periodMinor, total.currency)}</dd>
                  <dt>Adjustments to earlier months</dt>
                  <dd>{formatMoney(total.adjustmentsMinor, total.currency)}</dd>
                  <dt className="total-net">Net</dt>
                  <dd className="total-net">
                    <NetAmount amountMinor={net} currency={total.currency} />
                  </dd>
                </dl>
              </section>
            );
          })
        )}
        <Card title="Status and history">
          <p>
            <StatusBadge status={s.status} /> <span className="muted small">{STATUS_MEANING[s.status]}</span>
          </p>
          <History statement={s} side={side} />
        </Card>
      </div>

      <Card title="Lines" actions={<span className="muted small">{formatNumber(s.entryCount)} entries</span>}>
        <Lines statement={s} />
      </Card>

      <Card title="Documents">
        <p className="muted small">Amounts in the CSV files are integers in minor units; times are UTC. The printable statement opens in a new tab: print it to PDF from the browser.</p>
        <div className="exports">
          <a className="btn btn-secondary btn-md" href={statementFileUrl(s.id, 'summary.csv')} download>
            Summary (CSV)
          </a>
          <a className="btn btn-secondary btn-md" href={statementFileUrl(s.id, 'entries.csv')} download>
            Entries (CSV)
          </a>
          <a className="btn btn-secondary btn-md" href={statementFileUrl(s.id, 'statement.html')} target="_blank" rel="noopener">
            Printable statement
          </a>
        </div>
        <dl className="kv doc-kv">
          <dt>Statement id</dt>
          <dd>
            <code>{s.id}</code>
          </dd>
          <dt>Content hash</dt>
          <dd>
            <span className="hash" data-testid="content-hash">
              {s.contentHash}
            </span>{' '}
            <CopyButton value={s.contentHash} />
            <div className="muted small">{s.status === 'draft' ? 'The hash of the version shown: finalizing checks it is still this one.' : 'SHA-256 of the finalized document: it never changes.'}</div>
          </dd>
        </dl>
      </Card>

      <ReconciliationCard statement={s} canWrite={canWrite} />

      {canWrite && (
        <>
          <ConfirmDialog
            open={dialog === 'finalize'}
            title={`Finalize ${formatPeriod(s.period)}?`}
            confirmLabel="Finalize statement"
            busy={finalize.isPending || rebuild.isPending}
            onConfirm={() => finalize.mutate(s)}
            onClose={() => {
              finalize.reset();
              setDialog(null);
            }}
          >
            <p>
              Finalizing fixes this statement for good: its lines and totals never change again, and entries that arrive later go to the next statement as adjustments. Both{' '}
              {s.issuer} and {s.partner} are notified.
            </p>
            <ul>
              {s.totals.length === 0 ? <li>Nothing owed this month.</li> : s.totals.map((total) => <li key={total.currency}>{owedSentence(s, total)}</li>)}
            </ul>
            <p className="small muted">
              You are finalizing the version shown, <span className="hash">{s.contentHash.slice(0, 16)}…</span>. If entries arrived since, nothing is finalized and you are shown the new version.
            </p>
            <FormError error={finalize.error} />
          </ConfirmDialog>
          <TextDialog
            open={dialog === 'pay'}
            title="Record the payment"
            intro={`Record the transfer that settles ${formatPeriod(s.period)}: ${s.totals.map((total) => owedSentence(s, total)).join('; ') || 'nothing owed'}. The other party sees the reference.`}
            label="Payment reference"
            hint="The bank transfer or payment reference, e.g. SEPA-2026-11-004512."
            field="paymentReference"
            submitLabel="Mark paid"
            maxLength={200}
            onClose={() => setDialog(null)}
            run={async (value) => adopt(await api.settlement.pay.mutate({ statementId: s.id, paymentReference: value }))}
            done={() => toast('Payment recorded: the statement is paid')}
          />
          <TextDialog
            open={dialog === 'dispute'}
            title="Dispute this statement"
            intro={`Tell ${other} what is wrong with ${formatPeriod(s.period)}. The statement itself does not change: a dispute is settled by an adjustment on a later statement, then resolved by the party that raised it.`}
            label="Reason"
            hint={`${other} reads this. Name the orders or vouchers concerned.`}
            field="reason"
            multiline
            danger
            submitLabel="Dispute statement"
            maxLength={2000}
            onClose={() => setDialog(null)}
            run={async (value) => adopt(await api.settlement.dispute.mutate({ statementId: s.id, reason: value }))}
            done={() => toast('Statement disputed: both parties were notified', 'warn')}
          />
          {dialog === 'concede' && (
            <ConcedeDialog
              statement={s}
              other={other}
              onClose={() => setDialog(null)}
              onDone={(next, note) => {
                adopt(next);
                setDialog(null);
                toast(note);
              }}
            />
          )}
          <TextDialog
            open={dialog === 'resolve'}
            title="Resolve the dispute"
            intro={`The statement returns to ${s.paidAt ? 'paid' : 'finalized'}. Say how the dispute ended: it is kept with the statement.`}
            label="Resolution"
            hint="For example: Adjusted by 10.00 in December, or Withdrawn: our mistake."
            field="resolution"
            multiline
            submitLabel="Resolve dispute"
            maxLength={2000}
            onClose={() => setDialog(null)}
            run={async (value) => adopt(await api.settlement.resolve.mutate({ statementId: s.id, resolution: value }))}
            done={() => toast('Dispute resolved')}
          />
        </>
      )}
    </>
  );
}

function VerificationResult({ result, onRebuild }: { result: Verification; onRebuild?: (() => void) | undefined }) {
  if (result.identical && result.status !== 'draft') {
    return (
      <Alert tone="good" title="Verified: the finalized document rebuilds byte for byte">
        Rebuilt from the entries it took, the statement is identical to the one finalized (hash <span className="hash">{result.rebuiltContentHash.slice(0, 16)}…</span>).
      </Alert>
    );
  }
  if (result.identical) {
    return (
      <Alert tone="good" title="Verified: the draft matches its entries">
        Rebuilt from the entries as they are now, the draft is identical byte for byte.
      </Alert>
    );
  }
  if (result.status === 'draft') {
    return (
      <Alert tone="warn" title="New entries arrived since this draft was built">
        A rebuild now would give a different statement. Rebuild the draft to review the latest figures before finalizing.
        {onRebuild && (
          <div className="row alert-actions">
            <Button size="sm" onClick={onRebuild}>
              Rebuild draft
            </Button>
          </div>
        )}
      </Alert>
    );
  }
  return (
    <Alert tone="bad" title="The rebuilt document differs from the finalized one">
      This should never happen. Contact the coalition operator and quote the statement id and both hashes: stored <span className="hash">{result.contentHash}</span>, rebuilt{' '}
      <span className="hash">{result.rebuiltContentHash}</span>.
    </Alert>
  );
}

const SECTIONS: { id: StatementLine['section']; title: string; description: string }[] = [
  { id: 'period', title: 'This month', description: 'Events of the month that concern the month itself.' },
  { id: 'adjustment', title: 'Adjustments to earlier months', description: 'Late reversals and cancellations, late entries and conceded adjustments, by the month they correct.' },
];

function Lines({ statement }: { statement: Statement }) {
  const can = useCan();
  const offerLinks = statement.yourSide === 'partner' && can({ tenantRole: 'partner', scopes: ['pools:write'] });
  if (statement.lines.length === 0) {
    return <EmptyState title="No lines" description="No settlement entry of this agreement belongs to this month: nothing is owed." />;
  }
  return (
    <>
      <p className="muted small">Amounts are signed from the payer to the payee of the agreement: a negative amount comes back to the payer.</p>
      {SECTIONS.map((section) => {
        const lines = statement.lines.filter((line) => line.section === section.id);
        if (lines.length === 0) return null;
        const currencies = [...new Set(lines.map((line) => line.currency))];
        const adjustments = section.id === 'adjustment';
        return (
          <div className="lines-block" key={section.id}>
            <div className="section-caption">
              <h3>{section.title}</h3>
              <span className="muted small">{section.description}</span>
            </div>
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">{section.title}</caption>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    {adjustments && <th scope="col">Corrects</th>}
                    <th scope="col" className="wide">
                      Offer
                    </th>
                    {adjustments && (
                      <th scope="col" className="wide">
                        Statement
                      </th>
                    )}
                    <th scope="col" className="num">
                      Count
                    </th>
                    <th scope="col" className="num">
                      Amount
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {lines.map((line, index) => (
                    <tr key={index}>
                      <td>{EVENT_LABELS[line.event]}</td>
                      {adjustments && <td>{formatPeriod(line.relatesToPeriod)}</td>}
                      <td className="wide">{line.offerId ? offerLinks ? <Link to={`/offers/${line.offerId}`}>{line.offerId}</Link> : <code>{line.offerId}</code> : <span className="muted">—</span>}</td>
                      {adjustments && <td className="wide">{line.statementRef ? <Link to={`/settlement/${line.statementRef}`}>{line.statementRef}</Link> : <span className="muted">—</span>}</td>}
                      <td className="num">{formatNumber(line.count)}</td>
                      <td className="num">{formatMoney(line.amountMinor, line.currency)}</td>
                    </tr>
                  ))}
                  {currencies.map((currency) => {
                    const ofCurrency = lines.filter((line) => line.currency === currency);
                    return (
                      <tr className="subtotal" key={`subtotal-${currency}`}>
                        <td colSpan={adjustments ? 2 : 1}>Subtotal {currency}</td>
                        <td className="wide" colSpan={adjustments ? 2 : 1} />
                        <td className="num">{formatNumber(ofCurrency.reduce((sum, line) => sum + line.count, 0))}</td>
                        <td className="num">{formatMoney(ofCurrency.reduce((sum, line) => sum + line.amountMinor, 0), currency)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </div>
        );
      })}
    </>
  );
}

interface HistoryItem {
  at: string;
  title: string;
  note?: ReactNode;
  tone: 'good' | 'warn' | 'muted' | 'info';
}

function History({ statement: s, side }: { statement: Statement; side: (which: 'issuer' | 'partner' | null) => string }) {
  const items: HistoryItem[] = [];
  items.push({ at: s.builtAt, title: s.status === 'draft' ? `Draft built from ${formatNumber(s.entryCount)} entries` : `Last built from ${formatNumber(s.entryCount)} entries`, tone: 'muted' });
  if (s.finalizedAt) items.push({ at: s.finalizedAt, title: `Finalized by ${side(s.finalizedBy)}`, tone: 'info' });
  if (s.paidAt) items.push({ at: s.paidAt, title: `Marked paid by ${side(s.paidBy)}`, note: s.paymentReference && <>Reference: {s.paymentReference}</>, tone: 'good' });
  if (s.disputedAt) items.push({ at: s.disputedAt, title: `Disputed by ${side(s.disputedBy)}`, note: s.disputeReason, tone: 'warn' });
  if (s.disputeResolvedAt) items.push({ at: s.disputeResolvedAt, title: 'Dispute resolved', note: s.disputeResolution, tone: 'good' });
  items.sort((a, b) => a.at.localeCompare(b.at));
  return (
    <ol className="timeline" aria-label="History">
      {items.map((item, index) => (
        <li key={index} className={`timeline-${item.tone}`}>
          <div>
            <strong>{item.title}</strong>
          </div>
          <div className="timeline-when">{formatDateTime(item.at)}</div>
          {item.note && <div className="timeline-note">{item.note}</div>}
        </li>
      ))}
    </ol>
  );
}

/** A lifecycle step that takes one text (payment reference, reason, resolution). */
function TextDialog({
  open,
  title,
  intro,
  label,
  hint,
  field,
  multiline,
  danger,
  submitLabel,
  maxLength,
  onClose,
  run,
  done,
}: {
  open: boolean;
  title: string;
  intro: string;
  label: string;
  hint: string;
  field: string;
  multiline?: boolean;
  danger?: boolean;
  submitLabel: string;
  maxLength: number;
  onClose: () => void;
  run: (value: string) => Promise<void>;
  done: () => void;
}) {
  const [value, setValue] = useState('');
  const [missing, setMissing] = useState(false);
  const mutation = useMutation({
    mutationFn: run,
    onSuccess: () => {
      done();
      close();
    },
  });
  function close() {
    setValue('');
    setMissing(false);
    mutation.reset();
    onClose();
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) {
      setMissing(true);
      return;
    }
    mutation.mutate(value.trim());
  };
  const error = missing && !value.trim() ? `Enter the ${label.toLowerCase()}` : fieldError(mutation.error, field);
  return (
    <Dialog
      open={open}
      title={title}
      onClose={close}
      onSubmit={submit}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant={danger ? 'danger' : 'primary'} busy={mutation.isPending}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <p>{intro}</p>
      {multiline ? (
        <TextAreaField label={label} hint={hint} error={error} value={value} maxLength={maxLength} autoFocus onChange={(event) => setValue(event.target.value)} />
      ) : (
        <TextField label={label} hint={hint} error={error} value={value} maxLength={maxLength} autoFocus onChange={(event) => setValue(event.target.value)} />
      )}
      <FormError error={mutation.error} shownFields={[field]} />
    </Dialog>
  );
}

