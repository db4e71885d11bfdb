import { useRef, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { uploadFile, type UploadProgress } from '../../api.ts';
import { Alert, Button, Card, Field, FormError, ProgressBar } from '../../ui/components.tsx';
import { useToast } from '../../ui/toast.tsx';
import { formatBytes, formatDateTime, formatMoney, formatNumber } from '../../ui/format.ts';
import { ReconciledBadge, partiesOf, reportUrl, type Reconciliation, type Statement } from './finance-shared.tsx';

/** The server reads a reconciliation file whole: at most this size (RECONCILIATION_LIMIT_BYTES). */
const MAX_BYTES = 32 * 1024 * 1024;

interface Counts {
  matched: number;
  missingOurs: number;
  missingTheirs: number;
  mismatched: number;
  invalidRows: number;
}

const OUTCOMES: { key: keyof Counts; label: string; code: string; hint: string; good?: boolean }[] = [
  { key: 'matched', label: 'Matched', code: 'matched', hint: 'In both, same amount', good: true },
  { key: 'missingOurs', label: 'Not in the statement', code: 'missing_ours', hint: 'In your file only' },
  { key: 'missingTheirs', label: 'Not in your file', code: 'missing_theirs', hint: 'In the statement only' },
  { key: 'mismatched', label: 'Different', code: 'mismatch', hint: 'Amount or order reference differs' },
  { key: 'invalidRows', label: 'Unreadable rows', code: 'invalid_row', hint: 'See the report’s detail column' },
];

export function OutcomeCounts({ counts, label }: { counts: Counts; label: string }) {
  return (
    <div className="recon-counts" role="group" aria-label={label}>
      {OUTCOMES.map((outcome) => {
        const value = counts[outcome.key];
        const tone = outcome.good ? (value > 0 ? 'recon-good' : '') : value > 0 ? 'recon-bad' : '';
        return (
          <div key={outcome.key} className={`recon-count ${tone}`} data-outcome={outcome.code} title={outcome.hint}>
            <div className="recon-label">
              {outcome.label} <span className="muted small">({outcome.code})</span>
            </div>
            <div className="recon-value">{formatNumber(value)}</div>
          </div>
        );
      })}
    </div>
  );
}

/**
 * Reconciliation: each party's latest comparison of its own records with the
 * statement, and (with settlement:write) uploading a CSV to compare.
 */
export function ReconciliationCard({ statement, canWrite }: { statement: Statement; canWrite: boolean }) {
  const { you, other } = partiesOf(statement);
  const otherSide = statement.yourSide === 'issuer' ? 'partner' : 'issuer';
  const mine = statement.reconciliation[statement.yourSide];
  const theirs = statement.reconciliation[otherSide];
  return (
    <Card title="Reconciliation">
      <p className="muted small">
        Compare your own list of this month’s vouchers with the statement: upload it as CSV and see what matches, what is missing on either side and what differs. Uploading never changes the
        statement.
      </p>
      {canWrite && <UploadForm statement={statement} />}
      <div className="recon-party">
        <h3>Your latest upload ({you})</h3>
        {mine ? (
          <>
            <p className="row">
              <ReconciledBadge reconciliation={mine} />
              <span className="muted small">uploaded {formatDateTime(mine.uploadedAt)}</span>
              <a href={reportUrl(mine.reconciliationId)} download>
                Download its report (CSV)
              </a>
            </p>
            {!mine.currentForStatement && <Alert tone="warn">The statement changed after this file was compared (the draft was rebuilt): upload your file again.</Alert>}
            <OutcomeCounts counts={mine} label="Your latest reconciliation" />
          </>
        ) : (
          <p className="muted">You have not uploaded a file for this statement yet.</p>
        )}
      </div>
      <div className="recon-party">
        <h3>
          {other}’s latest upload ({otherSide})
        </h3>
        {theirs ? (
          <>
            <p className="row">
              <ReconciledBadge reconciliation={theirs} />
              <span className="muted small">uploaded {formatDateTime(theirs.uploadedAt)}</span>
            </p>
            <OutcomeCounts counts={theirs} label={`${other}’s latest reconciliation`} />
          </>
        ) : (
          <p className="muted">{other} has not uploaded a file for this statement.</p>
        )}
      </div>
    </Card>
  );
}

function UploadForm({ statement }: { statement: Statement }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [clientError, setClientError] = useState<string | null>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [result, setResult] = useState<Reconciliation | null>(null);
  const upload = useMutation({
    mutationFn: (chosen: File) =>
      uploadFile<Reconciliation>(`/api/v1/settlement/statements/${statement.id}/reconciliations?filename=${encodeURIComponent(chosen.name.slice(0, 255))}`, chosen, {
        contentType: 'text/csv',
        onProgress: setProgress,
      }),
    onSuccess: (reconciliation) => {
      setResult(reconciliation);
      setProgress(null);
      setFile(null);
      if (input.current) input.current.value = '';
      void queryClient.invalidateQueries({ queryKey: ['settlement.get', statement.id] });
      void queryClient.invalidateQueries({ queryKey: ['settlement.list'] });
      toast(reconciliation.reconciled ? 'Reconciled: your file matches the statement' : 'File compared: see the differences', reconciliation.reconciled ? 'good' : 'warn');
    },
    onError: () => setProgress(null),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!file) return setClientError('Choose the CSV file to compare');
    if (file.size === 0) return setClientError('This file is empty');
    if (file.size > MAX_BYTES) return setClientError(`This file has ${formatBytes(file.size)}; at most ${formatBytes(MAX_BYTES)} are accepted. Split it.`);
    setClientError(null);
    setResult(null);
    upload.mutate(file);
  };
  const currency = statement.totals[0]?.currency ?? statement.yourNet[0]?.currency;
  return (
    <form onSubmit={submit} className="recon-upload" aria-label="Upload a reconciliation file">
      <Field label="Your list (CSV)" id="reconciliation-file" error={clientError ?? undefined}>
        <input
          ref={input}
          id="reconciliation-file"
          className="file-input"
          type="file"
          accept=".csv,text/csv,text/plain"
          onChange={(event) => {
            setFile(event.target.files?.[0] ?? null);
            setClientError(null);
          }}
        />
      </Field>
      <details className="recon-help">
        <summary>What the file must contain</summary>
        <p className="small">
          UTF-8 CSV with a header row (comma, semicolon or tab separated). On each row a <code>voucher_id</code> or the <code>code</code>, and an amount: <code>amount</code> (decimal, e.g.
          150.50) or <code>amount_minor</code> (integer minor units). Optional: <code>order_ref</code>, <code>currency</code>, <code>redeemed_at</code>. Other columns are ignored.
        </p>
      </details>
      <div className="row">
        <Button type="submit" variant="primary" busy={upload.isPending}>
          Upload and compare
        </Button>
        {file && <span className="muted small">{`${file.name}, ${formatBytes(file.size)}`}</span>}
      </div>
      {progress && upload.isPending && <ProgressBar label="Uploading" value={progress.loaded} max={progress.total || 1} />}
      <FormError error={upload.error} shownFields={['filename']} />
      {result && (
        <div className="recon-result" aria-live="polite">
          <Alert tone={result.reconciled ? 'good' : 'warn'} title={result.reconciled ? 'Reconciled: every row matched and nothing is missing' : 'Differences found'}>
            {result.filename ?? 'Your file'}: {formatNumber(result.rows)} rows compared.
            {currency && (
              <>
                {' '}
                Your total {formatMoney(result.theirTotalMinor, currency)}, the statement’s {formatMoney(result.ourTotalMinor, currency)}.
              </>
            )}{' '}
            <a href={reportUrl(result.id)} download>
              Download the report (CSV)
            </a>
          </Alert>
          <OutcomeCounts counts={result} label="Result of your upload" />
        </div>
      )}
    </form>
  );
}
