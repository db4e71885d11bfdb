import { useEffect, useId, useRef, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { problemOf, type ApiProblem } from '../api.ts';
import { humanize } from './format.ts';

type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';

export function Button({
  variant = 'secondary',
  busy = false,
  size = 'md',
  children,
  disabled,
  type = 'button',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; busy?: boolean; size?: 'sm' | 'md' }) {
  return (
    <button type={type} className={`btn btn-${variant} btn-${size}`} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

export function PageHeader({ title, description, actions, back }: { title: ReactNode; description?: ReactNode; actions?: ReactNode; back?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        {back && <div className="page-back">{back}</div>}
        <h1>{title}</h1>
        {description && <p className="page-description">{description}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}

export function Card({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {(title || actions) && (
        <div className="card-header">
          {title && <h2>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      <div className="card-body">{children}</div>
    </section>
  );
}

export function Stat({ label, value, hint, tone }: { label: string; value: ReactNode; hint?: ReactNode; tone?: Tone }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}

export function StatGrid({ children }: { children: ReactNode }) {
  return <div className="stat-grid">{children}</div>;
}

export type Tone = 'neutral' | 'good' | 'warn' | 'bad' | 'info';

const STATUS_TONES: Record<string, Tone> = {
  active: 'good', enabled: 'good', ready: 'good', succeeded: 'good', redeemed: 'good', paid: 'good', accepted: 'good', ok: 'good', matched: 'good', finalized: 'info',
  draft: 'neutral', proposed: 'info', pending: 'info', queued: 'info', importing: 'info', receiving: 'info', running: 'info', issued: 'info', available: 'good',
  paused: 'warn', low: 'warn', suspended: 'warn', disputed: 'warn', expired: 'warn', reserved: 'neutral', held: 'warn', invited: 'info',
  disabled: 'bad', failed: 'bad', voided: 'bad', empty: 'bad', cancelled: 'bad', reversed: 'warn', closed: 'neutral', ended: 'neutral', declined: 'bad', withdrawn: 'neutral', revoked: 'bad', archived: 'neutral', burned: 'neutral',
};

export function Badge({ tone = 'neutral', children }: { tone?: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** A status word in the colour people expect: green good, amber needs attention, red stopped. */
export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={STATUS_TONES[status] ?? 'neutral'}>{humanize(status)}</Badge>;
}

export function EmptyState({ title, description, action }: { title: string; description?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty-state" role="status">
      <div className="empty-icon" aria-hidden="true">○</div>
      <h3>{title}</h3>
      {description && <p>{description}</p>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

/** An API failure as people can act on it: the message, the reason code, the request id to quote. */
export function ErrorState({ error, retry, title = 'Something went wrong' }: { error: unknown; retry?: () => void; title?: string }) {
  const problem = problemOf(error);
  return (
    <div className="alert alert-bad" role="alert">
      <div>
        <strong>{problem.code === 'FORBIDDEN' ? 'Not allowed for your role' : title}</strong>
        <p>{problem.message}</p>
        <p className="muted small">
          <code>{problem.code}</code>
          {problem.requestId && <> · request {problem.requestId}</>}
        </p>
      </div>
      {retry && (
        <Button size="sm" onClick={retry}>
          Try again
        </Button>
      )}
    </div>
  );
}

export function Alert({ tone = 'info', title, children }: { tone?: Tone; title?: ReactNode; children?: ReactNode }) {
  return (
    <div className={`alert alert-${tone}`} role={tone === 'bad' ? 'alert' : 'status'}>
      <div>
        {title && <strong>{title}</strong>}
        {children && <div>{children}</div>}
      </div>
    </div>
  );
}

export function Loading({ label = 'Loading…', rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - i * 12}%` }} />
      ))}
    </div>
  );
}

/** Loading, error (with retry) or the data: the three states every page section has. */
export function QueryView<T>({ query, children, loading }: { query: UseQueryResult<T>; children: (data: T) => ReactNode; loading?: ReactNode }) {
  if (query.isPending) return <>{loading ?? <Loading />}</>;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}

export function ProgressBar({ value, max = 100, label }: { value: number; max?: number; label: string }) {
  const percent = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div className="progress">
      <div className="progress-label">
        <span>{label}</span>
        <span>{percent}%</span>
      </div>
      <div className="progress-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return (
    <Button
      size="sm"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          // Insecure origins have no clipboard API: select-and-copy still works on the shown value.
        }
        setCopied(true);
        timer.current = window.setTimeout(() => setCopied(false), 2000);
      }}
    >
      {copied ? 'Copied' : label}
    </Button>
  );
}

/** A secret shown once: monospace, selectable, with a copy button and the warning. */
export function SecretReveal({ label, value, children }: { label: string; value: string; children?: ReactNode }) {
  return (
    <div className="secret">
      <div className="secret-label">{label}</div>
      <div className="secret-row">
        <code className="secret-value" data-testid="secret-value">
          {value}
        </code>
        <CopyButton value={value} />
      </div>
      <p className="muted small">{children ?? 'Shown once. Store it now: it cannot be retrieved again.'}</p>
    </div>
  );
}

export function Tabs<T extends string>({ tabs, value, onChange }: { tabs: { id: T; label: ReactNode }[]; value: T; onChange: (id: T) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((tab) => (
        <button key={tab.id} type="button" role="tab" aria-selected={tab.id === value} className={`tab ${tab.id === value ? 'tab-active' : ''}`} onClick={() => onChange(tab.id)}>
          {tab.label}
        </button>
      ))}
    </div>
  );
}

// ---- forms -----------------------------------------------------------------------

/** A labelled control with its hint and its error, wired for screen readers. */
export function Field({ label, hint, error, children, id }: { label: ReactNode; hint?: ReactNode; error?: string | undefined; id: string; children: ReactNode }) {
  return (
    <div className={`field ${error ? 'field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && !error && (
        <div className="field-hint" id={`${id}-hint`}>
          {hint}
        </div>
      )}
      {error && (
        <div className="field-error" id={`${id}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

type ControlProps = { label: ReactNode; hint?: ReactNode; error?: string | undefined };

function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  return error ? `${id}-error` : hint ? `${id}-hint` : undefined;
}

export function TextField({ label, hint, error, ...input }: ControlProps & InputHTMLAttributes<HTMLInputElement>) {
  const generated = useId();
  const id = input.id ?? generated;
  return (
    <Field label={label} hint={hint} error={error} id={id}>
      <input id={id} className="input" aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, hint, error)} {...input} />
    </Field>
  );
}

export function TextAreaField({ label, hint, error, ...input }: ControlProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const generated = useId();
  const id = input.id ?? generated;
  return (
    <Field label={label} hint={hint} error={error} id={id}>
      <textarea id={id} className="input textarea" aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, hint, error)} {...input} />
    </Field>
  );
}

export function SelectField({ label, hint, error, options, ...select }: ControlProps & SelectHTMLAttributes<HTMLSelectElement> & { options: { value: string; label: string }[] }) {
  const generated = useId();
  const id = select.id ?? generated;
  return (
    <Field label={label} hint={hint} error={error} id={id}>
      <select id={id} className="input" aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, hint, error)} {...select}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function CheckboxGroup<T extends string>({ legend, options, value, onChange, error }: { legend: string; options: { value: T; label: string; hint?: string }[]; value: T[]; onChange: (next: T[]) => void; error?: string | undefined }) {
  return (
    <fieldset className={`field checkbox-group ${error ? 'field-invalid' : ''}`}>
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option.value} className="checkbox">
          <input
            type="checkbox"
            checked={value.includes(option.value)}
            onChange={(event) => onChange(event.target.checked ? [...value, option.value] : value.filter((v) => v !== option.value))}
          />
          <span>
            {option.label}
            {option.hint && <span className="muted small"> — {option.hint}</span>}
          </span>
        </label>
      ))}
      {error && (
        <div className="field-error" role="alert">
          {error}
        </div>
      )}
    </fieldset>
  );
}

/**
 * The error of a failed form submission: field messages go next to their fields
 * (problem.fields by dotted path); this shows the rest.
 */
export function FormError({ error, shownFields = [] }: { error: unknown; shownFields?: string[] }) {
  if (!error) return null;
  const problem: ApiProblem = problemOf(error);
  const unshown = Object.entries(problem.fields).filter(([path]) => !shownFields.includes(path));
  if (problem.code === 'VALIDATION_FAILED' && unshown.length === 0 && Object.keys(problem.fields).length > 0) {
    return <Alert tone="bad" title="Check the highlighted fields." />;
  }
  return (
    <div className="alert alert-bad" role="alert">
      <div>
        <strong>{problem.message}</strong>
        {unshown.length > 0 && problem.code === 'VALIDATION_FAILED' && (
          <ul>
            {unshown.map(([path, message]) => (
              <li key={path}>
                {path}: {message}
              </li>
            ))}
          </ul>
        )}
        <p className="muted small">
          <code>{problem.code}</code>
          {problem.requestId && <> · request {problem.requestId}</>}
        </p>
      </div>
    </div>
  );
}

/** The message for one field of a failed submission, if the server named it. */
export function fieldError(error: unknown, path: string): string | undefined {
  return error ? problemOf(error).fields[path] : undefined;
}
