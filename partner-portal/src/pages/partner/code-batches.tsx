import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { api, uploadFile, type RouterInputs, type RouterOutputs, type UploadProgress } from '../../api.ts';
import { Alert, Button, Card, EmptyState, ErrorState, Field, FormError, Loading, ProgressBar, QueryView, SelectField, StatusBadge, TextField, fieldError } from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { formatBytes, formatDate, formatDateTime, formatNumber, humanize } from '../../ui/format.ts';
import { DataTable, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { localInputToIso, type Offer } from './money.ts';

export type Batch = RouterOutputs['codeBatches']['get'];

const PENDING: Batch['status'][] = ['receiving', 'queued', 'importing'];
export const isPending = (batch: Pick<Batch, 'status'>) => PENDING.includes(batch.status);

/** Why a row is in the reject report, in words (docs/partner-guide.md, "The reject report"). */
export const REJECT_REASONS: Record<string, string> = {
  EMPTY_CODE: 'No code in the row',
  TOO_SHORT: 'Shorter than the offer allows',
  TOO_LONG: 'Longer than the offer allows',
  INVALID_CHARACTERS: 'Characters the offer does not allow',
  INVALID_EXPIRY: 'expires_at is not a date',
  EXPIRY_IN_PAST: 'expires_at has passed',
  TOO_MANY_COLUMNS: 'More than two columns without a header',
  ROW_TOO_LONG: 'Row over 4,096 characters',
  MALFORMED_ROW: 'Not valid CSV (stray or unclosed quote)',
  DUPLICATE_IN_FILE: 'Same code earlier in the file',
  ALREADY_EXISTS: 'You already have this code',
  CHECK_CHARACTER_CONFLICT: 'Fails the check character of your generated codes',
};

export function rejectReportUrl(batchId: string): string {
  return `/api/v1/code-batches/${batchId}/rejects.csv`;
}

/**
 * How far the import is, 0–100, from what the job reports: an upload by the bytes of
 * the stored file it has read, a generation by the codes drawn. 100 only once the
 * batch is ready: after reading, the rows still have to be moved into the pool.
 */
export function importPercent(batch: Batch): number {
  if (batch.status === 'ready' || batch.status === 'voided') return 100;
  if (batch.status === 'receiving' || batch.status === 'queued') return 0;
  const done = batch.kind === 'generated' ? batch.progress.rowsRead : batch.progress.bytesRead;
  const total = batch.kind === 'generated' ? (batch.generation?.count ?? 0) : batch.progress.bytesReceived;
  if (total <= 0) return 0;
  return Math.min(99, Math.floor((done / total) * 100));
}

function importPhase(batch: Batch): string {
  switch (batch.status) {
    case 'receiving':
      return 'Receiving the file…';
    case 'queued':
      return 'Waiting for an import worker…';
    case 'importing': {
      const read = batch.kind === 'generated' ? batch.progress.rowsRead >= (batch.generation?.count ?? Infinity) : batch.progress.bytesRead >= batch.progress.bytesReceived && batch.progress.bytesReceived > 0;
      return read ? 'Adding the codes to the pool…' : batch.kind === 'generated' ? 'Generating codes…' : 'Reading and checking rows…';
    }
    case 'ready':
      return 'Import finished.';
    case 'failed':
      return 'The import failed.';
    case 'voided':
      return 'Voided.';
  }
}

function RejectReasons({ reasons }: { reasons: Record<string, number> | undefined }) {
  const entries = Object.entries(reasons ?? {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return null;
  return (
    <ul className="partner-reasons" aria-label="Rejected rows by reason">
      {entries.map(([reason, n]) => (
        <li key={reason}>
          <strong>{formatNumber(n)}</strong> {REJECT_REASONS[reason] ?? humanize(reason.toLowerCase())} <code className="muted small">{reason}</code>
        </li>
      ))}
    </ul>
  );
}

function useBatch(batchId: string | null) {
  return useQuery({
    queryKey: ['codeBatches.get', batchId],
    queryFn: () => api.codeBatches.get.query({ batchId: batchId! }),
    enabled: batchId !== null,
    refetchInterval: (query) => (query.state.data && !isPending(query.state.data) ? false : 400),
    staleTime: 0,
  });
}

// ---- upload ---------------------------------------------------------------------

type UploadState =
  | { phase: 'form' }
  | { phase: 'uploading'; progress: UploadProgress; fileName: string }
  | { phase: 'importing'; batchId: string; fileName: string | null; uploaded: number | null }
  | { phase: 'upload-failed'; error: unknown };

/** The upload panel: the file, then two real progress bars: the upload, then the import job. */
function UploadPanel({ offer, onClose, onFinished, initialBatch }: { offer: Offer; onClose: () => void; onFinished: () => void; initialBatch?: Batch }) {
  const [state, setState] = useState<UploadState>(initialBatch ? { phase: 'importing', batchId: initialBatch.id, fileName: null, uploaded: null } : { phase: 'form' });
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [delimiter, setDelimiter] = useState('comma');
  const [expiresAt, setExpiresAt] = useState('');
  const [fileProblem, setFileProblem] = useState<string>();
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  const start = async () => {
    if (!file) {
      setFileProblem('Choose a CSV file with one code per line.');
      return;
    }
    if (file.size === 0) {
      setFileProblem('This file is empty.');
      return;
    }
    setFileProblem(undefined);
    const params = new URLSearchParams({ filename: file.name, delimiter });
    if (name.trim()) params.set('name', name.trim());
    const expiry = localInputToIso(expiresAt);
    if (expiry) params.set('expiresAt', expiry);
    abort.current = new AbortController();
    setState({ phase: 'uploading', progress: { loaded: 0, total: file.size }, fileName: file.name });
    try {
      const batch = await uploadFile<Batch>(`/api/v1/offers/${offer.id}/code-batches/upload?${params}`, file, {
        contentType: 'text/csv',
        signal: abort.current.signal,
        onProgress: (progress) => setState({ phase: 'uploading', progress, fileName: file.name }),
      });
      setState({ phase: 'importing', batchId: batch.id, fileName: file.name, uploaded: file.size });
      onFinished();
    } catch (error) {
      setState({ phase: 'upload-failed', error });
    }
  };

  if (state.phase === 'form' || state.phase === 'upload-failed') {
    const error = state.phase === 'upload-failed' ? state.error : null;
    return (
      <div className="partner-upload">
        <h3>Upload codes from a CSV file</h3>
        <p className="muted small">
          One code per line, or a header row with a <code>code</code> column (and optionally <code>expires_at</code>). Codes are checked against the offer’s code rules; rows that fail go to
          the reject report, the rest to the pool.
        </p>
        {error !== null && <FormError error={error} shownFields={['name', 'expiresAt', 'delimiter', 'filename']} />}
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void start();
          }}
        >
          <Field label="CSV file" id="partner-upload-file" error={fileProblem}>
            <input
              id="partner-upload-file"
              className="partner-file"
              type="file"
              accept=".csv,.txt,text/csv,text/plain"
              aria-invalid={fileProblem ? true : undefined}
              onChange={(event) => setFile(event.target.files?.[0] ?? null)}
            />
          </Field>
          <div className="form-row">
            <TextField label="Batch name (optional)" value={name} onChange={(event) => setName(event.target.value)} placeholder={file?.name ?? 'The file name'} error={fieldError(error, 'name')} maxLength={200} />
            <SelectField
              label="Delimiter"
              value={delimiter}
              onChange={(event) => setDelimiter(event.target.value)}
              options={[
                { value: 'comma', label: 'Comma ( , )' },
                { value: 'semicolon', label: 'Semicolon ( ; )' },
                { value: 'tab', label: 'Tab' },
                { value: 'pipe', label: 'Pipe ( | )' },
              ]}
              error={fieldError(error, 'delimiter')}
            />
            <TextField
              label="Codes expire (optional)"
              type="datetime-local"
              value={expiresAt}
              onChange={(event) => setExpiresAt(event.target.value)}
              error={fieldError(error, 'expiresAt')}
              hint="For codes without their own expires_at."
            />
          </div>
          <div className="row">
            <Button type="submit" variant="primary">
              Upload
            </Button>
            <Button onClick={onClose}>Cancel</Button>
          </div>
        </form>
      </div>
    );
  }

  if (state.phase === 'uploading') {
    return (
      <div className="partner-upload" aria-live="polite">
        <h3>Uploading {state.fileName}</h3>
        <ProgressBar label="Upload" value={state.progress.loaded} max={state.progress.total || 1} />
        <div className="partner-upload-meta">
          <span>
            <strong>{formatBytes(state.progress.loaded)}</strong> of {formatBytes(state.progress.total)} sent
          </span>
        </div>
        <ProgressBar label="Import" value={0} />
        <div className="row">
          <Button
            onClick={() => {
              abort.current?.abort();
              setState({ phase: 'form' });
            }}
          >
            Cancel upload
          </Button>
        </div>
      </div>
    );
  }

  return <ImportProgress batchId={state.batchId} fileName={state.fileName} uploaded={state.uploaded} onClose={onClose} onFinished={onFinished} />;
}

function ImportProgress({ batchId, fileName, uploaded, onClose, onFinished }: { batchId: string; fileName: string | null; uploaded: number | null; onClose: () => void; onFinished: () => void }) {
  const batch = useBatch(batchId);
  const finishedOnce = useRef(false);
  const data = batch.data;
  useEffect(() => {
    if (data && !isPending(data) && !finishedOnce.current) {
      finishedOnce.current = true;
      onFinished();
    }
  }, [data, onFinished]);

  if (batch.isError) return <ErrorState error={batch.error} retry={() => void batch.refetch()} title="Could not follow the import" />;
  if (!data) return <Loading rows={2} />;
  const done = data.status === 'ready';
  return (
    <div className="partner-upload" aria-live="polite">
      <h3>{data.kind === 'generated' ? `Generating “${data.name}”` : `Importing ${fileName ?? data.name}`}</h3>
      {uploaded !== null && <ProgressBar label="Upload" value={1} max={1} />}
      <ProgressBar label="Import" value={importPercent(data)} />
      <p className="partner-upload-phase small">
        <StatusBadge status={data.status} /> {importPhase(data)}
      </p>
      <div className="partner-upload-meta" data-testid="import-counts">
        <span>
          <strong>{formatNumber(data.progress.rowsRead)}</strong> rows read
        </span>
        <span>
          <strong>{formatNumber(data.progress.accepted)}</strong> accepted
        </span>
        <span>
          <strong>{formatNumber(data.progress.rejected)}</strong> rejected
        </span>
        {data.kind === 'upload' && (
          <span>
            {formatBytes(data.progress.bytesRead)} of {formatBytes(data.progress.bytesReceived)} read
          </span>
        )}
      </div>
      {data.status === 'failed' && <Alert tone="bad" title="Nothing of this file is in the pool.">{data.failure?.message}</Alert>}
      {done && (
        <Alert tone={data.progress.rejected > 0 ? 'warn' : 'good'} title={`${formatNumber(data.progress.accepted)} codes added to the pool, ${formatNumber(data.progress.rejected)} rows rejected.`}>
          <RejectReasons reasons={data.rejectsByReason} />
        </Alert>
      )}
      <div className="row">
        {done && data.progress.rejected > 0 && (
          <a className="btn btn-secondary btn-md" href={rejectReportUrl(data.id)} download>
            Download reject report
          </a>
        )}
        <Button onClick={onClose}>{isPending(data) ? 'Hide (the import goes on)' : 'Close'}</Button>
      </div>
    </div>
  );
}

// ---- generation ------------------------------------------------------------------

function GenerateDialog({ offer, onClose, onGenerated }: { offer: Offer; onClose: () => void; onGenerated: (batch: Batch) => void }) {
  const toast = useToast();
  const [count, setCount] = useState('1000');
  const [prefix, setPrefix] = useState('');
  const [length, setLength] = useState('10');
  const [checkCharacter, setCheckCharacter] = useState(false);
  const [expiresAt, setExpiresAt] = useState('');
  const [name, setName] = useState('');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const generate = useMutation({
    mutationFn: (input: RouterInputs['codeBatches']['generate']) => api.codeBatches.generate.mutate(input),
    onSuccess: (batch) => {
      toast(`Generating ${formatNumber(batch.generation?.count ?? 0)} codes`);
      onGenerated(batch as Batch);
    },
  });
  const problem = (path: string) => problems[path] ?? fieldError(generate.error, path);
  const upper = offer.codeRules.case === 'upper';
  return (
    <Dialog
      open
      title="Generate codes"
      onClose={onClose}
      onSubmit={() => {
        const found: Record<string, string> = {};
        const n = Number(count);
        const len = Number(length);
        if (!Number.isInteger(n) || n < 1 || n > 10_000_000) found.count = 'A whole number from 1 to 10,000,000.';
        if (!Number.isInteger(len) || len < 4 || len > 32) found.length = 'From 4 to 32 characters.';
        if (!/^[A-Za-z0-9_-]*$/.test(prefix)) found.prefix = 'Letters, digits, hyphens or underscores.';
        setProblems(found);
        if (Object.keys(found).length) return;
        generate.mutate({
          offerId: offer.id,
          count: n,
          prefix: upper ? prefix.toUpperCase() : prefix,
          length: len,
          checkCharacter,
          expiresAt: localInputToIso(expiresAt),
          ...(name.trim() && { name: name.trim() }),
        });
      }}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={generate.isPending}>
            Generate
          </Button>
        </>
      }
    >
      <p className="muted small">The server draws random codes from an alphabet without look-alike characters (no 0/O, 1/I/L) and adds them to the pool as a new batch.</p>
      <FormError error={generate.error} shownFields={['count', 'prefix', 'length', 'alphabet', 'expiresAt', 'name']} />
      <div className="form-row">
        <TextField label="Number of codes" type="number" min={1} max={10000000} value={count} onChange={(e) => setCount(e.target.value)} error={problem('count')} autoFocus />
        <TextField label="Prefix (optional)" value={prefix} onChange={(e) => setPrefix(e.target.value)} error={problem('prefix')} placeholder="SPRING-" maxLength={20} hint="Public start of every code." />
        <TextField label="Random characters" type="number" min={4} max={32} value={length} onChange={(e) => setLength(e.target.value)} error={problem('length') ?? problem('alphabet')} />
      </div>
      <div className="form-row">
        <TextField label="Codes expire (optional)" type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} error={problem('expiresAt')} />
        <TextField label="Batch name (optional)" value={name} onChange={(e) => setName(e.target.value)} error={problem('name')} maxLength={200} />
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={checkCharacter} onChange={(e) => setCheckCharacter(e.target.checked)} />
        <span>
          Add a check character
          <span className="muted small"> — catches any single mistyped character at the till</span>
        </span>
      </label>
    </Dialog>
  );
}

// ---- one batch -------------------------------------------------------------------

function BatchDialog({ batchId, canWrite, onClose, onVoid }: { batchId: string; canWrite: boolean; onClose: () => void; onVoid: (batch: Batch) => void }) {
  const batch = useBatch(batchId);
  return (
    <Dialog open wide title={batch.data ? batch.data.name : 'Code batch'} onClose={onClose} footer={<Button onClick={onClose}>Close</Button>}>
      <QueryView query={batch}>
        {(data) => (
          <div className="stack">
            <dl className="kv partner-kv-wide">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={data.status} /> {isPending(data) && <span className="muted small">{importPercent(data)}% · {importPhase(data)}</span>}
              </dd>
              <dt>Batch id</dt>
              <dd className="partner-mono">{data.id}</dd>
              <dt>Source</dt>
              <dd>
                {data.kind === 'upload'
                  ? `Upload${data.source?.filename ? ` of ${data.source.filename}` : ''} (${formatBytes(data.progress.bytesReceived)}, delimiter ${JSON.stringify(data.source?.delimiter ?? ',')})`
                  : `Generated: ${formatNumber(data.generation?.count ?? 0)} codes, ${data.generation?.prefix ? `prefix ${data.generation.prefix}, ` : ''}${data.generation?.length ?? 0} random characters${data.generation?.checkCharacter ? ' + check character' : ''}`}
              </dd>
              <dt>Rows</dt>
              <dd>
                {formatNumber(data.progress.rowsRead)} read · {formatNumber(data.progress.accepted)} accepted · {formatNumber(data.progress.rejected)} rejected
              </dd>
              {data.codes && (data.status === 'ready' || data.status === 'voided') && (
                <>
                  <dt>Codes now</dt>
                  <dd>
                    {(['available', 'reserved', 'issued', 'redeemed', 'expired', 'voided'] as const)
                      .filter((status) => data.codes![status] > 0)
                      .map((status) => `${formatNumber(data.codes![status])} ${status}`)
                      .join(' · ') || 'none'}
                  </dd>
                </>
              )}
              <dt>Codes expire</dt>
              <dd>{data.expiresAt ? formatDateTime(data.expiresAt) : 'Only by their own expires_at, if any'}</dd>
              <dt>Created</dt>
              <dd>{formatDateTime(data.createdAt)}</dd>
              {data.completedAt && (
                <>
                  <dt>Imported</dt>
                  <dd>{formatDateTime(data.completedAt)}</dd>
                </>
              )}
              {data.voidedAt && (
                <>
                  <dt>Voided</dt>
                  <dd>
                    {formatDateTime(data.voidedAt)}: {data.voidReason}
                  </dd>
                </>
              )}
            </dl>
            {data.failure && <Alert tone="bad" title="The import failed">{data.failure.message}</Alert>}
            {data.rejectsByReason && Object.keys(data.rejectsByReason).length > 0 && (
              <div>
                <h3>Rejected rows by reason</h3>
                <RejectReasons reasons={data.rejectsByReason} />
              </div>
            )}
            <div className="row">
              {data.kind === 'upload' && data.progress.rejected > 0 && !isPending(data) && (
                <a className="btn btn-secondary btn-md" href={rejectReportUrl(data.id)} download>
                  Download reject report
                </a>
              )}
              {canWrite && ['ready', 'queued', 'failed'].includes(data.status) && (
                <Button variant="danger" onClick={() => onVoid(data)}>
                  Void batch
                </Button>
              )}
            </div>
          </div>
        )}
      </QueryView>
    </Dialog>
  );
}

function VoidDialog({ batch, onClose, onVoided }: { batch: Batch; onClose: () => void; onVoided: () => void }) {
  const toast = useToast();
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string>();
  const voiding = useMutation({
    mutationFn: () => api.codeBatches.void.mutate({ batchId: batch.id, reason: reason.trim() }),
    onSuccess: () => {
      toast(`Batch “${batch.name}” voided`);
      onVoided();
    },
  });
  const available = batch.codes?.available;
  return (
    <ConfirmDialog
      open
      danger
      title={`Void “${batch.name}”?`}
      confirmLabel="Void batch"
      busy={voiding.isPending}
      onClose={onClose}
      onConfirm={() => {
        if (!reason.trim()) {
          setProblem('Say why, for the audit trail (e.g. “Flyer print cancelled”).');
          return;
        }
        setProblem(undefined);
        voiding.mutate();
      }}
    >
      <p>
        {available !== undefined ? `Its ${formatNumber(available)} available codes` : 'Its available codes'} leave the pool at once and can never be uploaded again. Codes already issued to customers stay valid
        and can still be redeemed. This cannot be undone.
      </p>
      <FormError error={voiding.error} shownFields={['reason']} />
      <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} error={problem ?? fieldError(voiding.error, 'reason')} maxLength={500} autoFocus />
    </ConfirmDialog>
  );
}

// ---- the section -----------------------------------------------------------------

function batchColumns(canWrite: boolean, open: (batch: Batch) => void, voidIt: (batch: Batch) => void): Column<Batch>[] {
  return [
    {
      key: 'name',
      header: 'Batch',
      render: (batch) => (
        <div className="partner-title-cell partner-batch-name">
          <span>{batch.name}</span>
          <span className="partner-subtle">
            {batch.kind === 'upload' ? `Upload${batch.progress.bytesReceived ? ` · ${formatBytes(batch.progress.bytesReceived)}` : ''}` : `Generated${batch.generation?.prefix ? ` · ${batch.generation.prefix}…` : ''}`}
            {batch.expiresAt && ` · expires ${formatDate(batch.expiresAt)}`}
          </span>
        </div>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (batch) =>
        isPending(batch) ? (
          <div className="partner-inline-progress">
            <StatusBadge status={batch.status} /> <span className="small">{importPercent(batch)}%</span>
          </div>
        ) : (
          <StatusBadge status={batch.status} />
        ),
    },
    { key: 'rows', header: 'Rows read', align: 'right', wide: true, render: (batch) => formatNumber(batch.progress.rowsRead) },
    { key: 'accepted', header: 'Accepted', align: 'right', render: (batch) => formatNumber(batch.progress.accepted) },
    { key: 'rejected', header: 'Rejected', align: 'right', render: (batch) => formatNumber(batch.progress.rejected) },
    { key: 'created', header: 'Created', wide: true, render: (batch) => formatDateTime(batch.createdAt) },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (batch) => (
        <div className="partner-actions" onClick={(event) => event.stopPropagation()} onKeyDown={(event) => event.stopPropagation()}>
          <Button size="sm" onClick={() => open(batch)} aria-label={`Details of ${batch.name}`}>
            Details
          </Button>
          {batch.kind === 'upload' && batch.progress.rejected > 0 && (batch.status === 'ready' || batch.status === 'voided') && (
            <a className="btn btn-secondary btn-sm" href={rejectReportUrl(batch.id)} download aria-label={`Reject report of ${batch.name}`}>
              Rejects CSV
            </a>
          )}
          {canWrite && ['ready', 'queued', 'failed'].includes(batch.status) && (
            <Button size="sm" variant="danger" onClick={() => voidIt(batch)} aria-label={`Void ${batch.name}`}>
              Void
            </Button>
          )}
        </div>
      ),
    },
  ];
}

/** The offer's code batches: upload, generate, follow the import, reject reports, void. */
export function CodeBatches({ offer, canWrite, onChanged, onPendingChange }: { offer: Offer; canWrite: boolean; onChanged: () => void; onPendingChange: (pending: boolean) => void }) {
  const queryClient = useQueryClient();
  const [panel, setPanel] = useState<{ kind: 'upload' } | { kind: 'follow'; batch: Batch } | null>(null);
  const [generating, setGenerating] = useState(false);
  const [shown, setShown] = useState<string | null>(null);
  const [voiding, setVoiding] = useState<Batch | null>(null);

  const batches = useQuery({
    queryKey: ['codeBatches.list', offer.id],
    queryFn: () => api.codeBatches.list.query({ offerId: offer.id }),
    refetchInterval: (query) => (query.state.data?.batches.some(isPending) ? 1_000 : false),
  });
  const anyPending = Boolean(batches.data?.batches.some(isPending));
  useEffect(() => onPendingChange(anyPending), [anyPending, onPendingChange]);

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['codeBatches.list', offer.id] });
    onChanged();
  };
  const takesCodes = canWrite && offer.status !== 'closed';

  let panelContent: ReactNode = null;
  if (panel?.kind === 'upload') panelContent = <UploadPanel key="upload" offer={offer} onClose={() => setPanel(null)} onFinished={refresh} />;
  if (panel?.kind === 'follow') panelContent = <UploadPanel key={panel.batch.id} offer={offer} initialBatch={panel.batch} onClose={() => setPanel(null)} onFinished={refresh} />;

  return (
    <Card
      title="Code batches"
      actions={
        takesCodes && (
          <>
            <Button variant="primary" onClick={() => setPanel({ kind: 'upload' })} disabled={panel?.kind === 'upload'}>
              Upload CSV
            </Button>
            <Button onClick={() => setGenerating(true)}>Generate codes</Button>
          </>
        )
      }
    >
      {panelContent}
      <QueryView query={batches}>
        {(data) => (
          <DataTable
            caption="Code batches"
            columns={batchColumns(canWrite, (batch) => setShown(batch.id), setVoiding)}
            rows={data.batches as Batch[]}
            rowKey={(batch) => batch.id}
            onRowClick={(batch) => setShown(batch.id)}
            empty={
              panel ? null : (
                <EmptyState
                  title="No codes yet"
                  description={offer.status === 'closed' ? 'This offer is closed and takes no new codes.' : 'Upload a CSV file of your promo codes, or let the server generate them.'}
                  action={
                    takesCodes && (
                      <Button variant="primary" onClick={() => setPanel({ kind: 'upload' })}>
                        Upload CSV
                      </Button>
                    )
                  }
                />
              )
            }
          />
        )}
      </QueryView>
      {generating && (
        <GenerateDialog
          offer={offer}
          onClose={() => setGenerating(false)}
          onGenerated={(batch) => {
            setGenerating(false);
            setPanel({ kind: 'follow', batch });
            refresh();
          }}
        />
      )}
      {shown && (
        <BatchDialog
          batchId={shown}
          canWrite={canWrite}
          onClose={() => setShown(null)}
          onVoid={(batch) => {
            setShown(null);
            setVoiding(batch);
          }}
        />
      )}
      {voiding && (
        <VoidDialog
          batch={voiding}
          onClose={() => setVoiding(null)}
          onVoided={() => {
            void queryClient.invalidateQueries({ queryKey: ['codeBatches.get', voiding.id] });
            setVoiding(null);
            refresh();
          }}
        />
      )}
    </Card>
  );
}

