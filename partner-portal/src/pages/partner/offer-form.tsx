import { useState, type FormEvent } from 'react';
import type { RouterInputs } from '../../api.ts';
import { useSession } from '../../session.tsx';
import { Button, FormError, SelectField, TextAreaField, TextField, fieldError } from '../../ui/components.tsx';
import { Dialog } from '../../ui/dialog.tsx';
import { currencyDigits, minorToInput, parseMoney } from '../../ui/money.ts';
import { isoToLocalInput, localInputToIso, type Offer } from './money.ts';

type CreateInput = RouterInputs['offers']['create'];
type UpdatePatch = Omit<RouterInputs['offers']['update'], 'offerId'>;

interface FormState {
  title: string;
  description: string;
  valueType: 'fixed' | 'percent';
  amount: string;
  percent: string;
  currency: string;
  minOrder: string;
  termsUrl: string;
  codesValidUntil: string;
  lowStockThreshold: string;
  onVoucherCancelled: 'void' | 'return_to_pool';
  status: 'draft' | 'active';
  codeCase: 'upper' | 'lower' | 'preserve';
  minLength: string;
  maxLength: string;
  characters: string;
}

const DEFAULT_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function initialState(offer: Offer | null, currency: string): FormState {
  return {
    title: offer?.title ?? '',
    description: offer?.description ?? '',
    valueType: offer?.value.type ?? 'fixed',
    amount: offer?.value.type === 'fixed' ? minorToInput(offer.value.amountMinor, offer.currency) : '',
    percent: offer?.value.type === 'percent' ? String(offer.value.percent) : '',
    currency: offer?.currency ?? currency,
    minOrder: minorToInput(offer?.minOrderMinor, offer?.currency ?? currency),
    termsUrl: offer?.termsUrl ?? '',
    codesValidUntil: isoToLocalInput(offer?.codesValidUntil),
    lowStockThreshold: String(offer?.lowStockThreshold ?? 100),
    onVoucherCancelled: offer?.onVoucherCancelled ?? 'void',
    status: 'draft',
    codeCase: offer?.codeRules.case ?? 'upper',
    minLength: String(offer?.codeRules.minLength ?? 4),
    maxLength: String(offer?.codeRules.maxLength ?? 64),
    characters: offer?.codeRules.characters ?? DEFAULT_CHARACTERS,
  };
}

type Problems = Partial<Record<string, string>>;

/** The offer as the server takes it, or the fields the browser can already tell are wrong. */
function toInput(form: FormState): { input: CreateInput; problems: Problems } {
  const problems: Problems = {};
  const currency = form.currency.trim().toUpperCase();
  if (!form.title.trim()) problems.title = 'Give the offer a title customers will see.';
  if (!/^[A-Z]{3}$/.test(currency)) problems.currency = 'Three letters, e.g. RUB or EUR.';
  let value: CreateInput['value'] = { type: 'fixed', amountMinor: 0 };
  if (form.valueType === 'fixed') {
    const minor = parseMoney(form.amount, currency);
    if (minor === null || minor <= 0) problems['value.amountMinor'] = `Enter an amount, e.g. 500${currencyDigits(currency) ? '.00' : ''}.`;
    else value = { type: 'fixed', amountMinor: minor };
  } else {
    const percent = Number(form.percent.replace(',', '.'));
    if (!form.percent.trim() || !Number.isFinite(percent) || percent <= 0 || percent > 100) problems['value.percent'] = 'Enter a percentage above 0 and at most 100.';
    else value = { type: 'percent', percent };
  }
  let minOrderMinor: number | null = null;
  if (form.minOrder.trim()) {
    minOrderMinor = parseMoney(form.minOrder, currency);
    if (minOrderMinor === null || minOrderMinor <= 0) problems.minOrderMinor = 'Enter an amount, or leave empty for no minimum.';
  }
  const threshold = Number(form.lowStockThreshold);
  if (!Number.isInteger(threshold) || threshold < 0) problems.lowStockThreshold = 'A whole number, 0 or more.';
  const minLength = Number(form.minLength);
  const maxLength = Number(form.maxLength);
  if (!Number.isInteger(minLength) || minLength < 1) problems['codeRules.minLength'] = 'A whole number, 1 or more.';
  if (!Number.isInteger(maxLength) || maxLength < 1) problems['codeRules.maxLength'] = 'A whole number, 1 or more.';
  else if (maxLength < minLength) problems['codeRules.maxLength'] = 'Must not be less than the minimum length.';
  return {
    problems,
    input: {
      title: form.title.trim(),
      description: form.description.trim(),
      value,
      currency,
      minOrderMinor: minOrderMinor ?? null,
      termsUrl: form.termsUrl.trim() || null,
      codesValidUntil: localInputToIso(form.codesValidUntil),
      lowStockThreshold: threshold,
      onVoucherCancelled: form.onVoucherCancelled,
      status: form.status,
      codeRules: { case: form.codeCase, minLength, maxLength, characters: form.characters },
    },
  };
}

/** Only what changed: the server locks the value once codes are issued, and code rules once a batch exists. */
function patchOf(offer: Offer, input: CreateInput): UpdatePatch {
  const patch: UpdatePatch = {};
  if (input.title !== offer.title) patch.title = input.title;
  if ((input.description ?? '') !== offer.description) patch.description = input.description;
  if (JSON.stringify(input.value) !== JSON.stringify(offer.value)) patch.value = input.value;
  if (input.currency !== offer.currency) patch.currency = input.currency;
  if ((input.minOrderMinor ?? null) !== offer.minOrderMinor) patch.minOrderMinor = input.minOrderMinor ?? null;
  if ((input.termsUrl ?? null) !== offer.termsUrl) patch.termsUrl = input.termsUrl ?? null;
  const until = input.codesValidUntil ?? null;
  if (until !== offer.codesValidUntil && !(until && offer.codesValidUntil && isoToLocalInput(until) === isoToLocalInput(offer.codesValidUntil))) patch.codesValidUntil = until;
  if (input.lowStockThreshold !== offer.lowStockThreshold) patch.lowStockThreshold = input.lowStockThreshold;
  if (input.onVoucherCancelled !== offer.onVoucherCancelled) patch.onVoucherCancelled = input.onVoucherCancelled;
  if (JSON.stringify(input.codeRules) !== JSON.stringify(offer.codeRules)) patch.codeRules = input.codeRules as UpdatePatch['codeRules'];
  return patch;
}

const FORM_FIELDS = [
  'title',
  'description',
  'value',
  'value.amountMinor',
  'value.percent',
  'currency',
  'minOrderMinor',
  'termsUrl',
  'codesValidUntil',
  'lowStockThreshold',
  'onVoucherCancelled',
  'codeRules',
  'codeRules.case',
  'codeRules.minLength',
  'codeRules.maxLength',
  'codeRules.characters',
];

/**
 * Create or edit an offer. On edit only the changed fields are sent; the value,
 * currency and minimum order are locked once codes were issued (the server says so),
 * code rules once a batch exists.
 */
export function OfferFormDialog({
  open,
  offer,
  hasBatches = false,
  busy,
  error,
  onClose,
  onCreate,
  onUpdate,
}: {
  open: boolean;
  offer: Offer | null;
  hasBatches?: boolean;
  busy: boolean;
  error: unknown;
  onClose: () => void;
  onCreate?: (input: CreateInput) => void;
  onUpdate?: (patch: UpdatePatch) => void;
}) {
  const session = useSession();
  const [form, setForm] = useState<FormState>(() => initialState(offer, session.tenant?.currency ?? 'EUR'));
  const [problems, setProblems] = useState<Problems>({});
  const [unchanged, setUnchanged] = useState(false);
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((current) => ({ ...current, [key]: value }));
  const problem = (path: string) => problems[path] ?? fieldError(error, path);

  const submit = (_event: FormEvent<HTMLFormElement>) => {
    const { input, problems: found } = toInput(form);
    setProblems(found);
    setUnchanged(false);
    if (Object.keys(found).length > 0) return;
    if (!offer) return onCreate?.(input);
    const patch = patchOf(offer, input);
    if (Object.keys(patch).length === 0) {
      setUnchanged(true);
      return;
    }
    onUpdate?.(patch);
  };

  const rulesLocked = Boolean(offer && hasBatches);
  return (
    <Dialog
      open={open}
      wide
      title={offer ? `Edit “${offer.title}”` : 'New offer'}
      onClose={onClose}
      onSubmit={submit}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            {offer ? 'Save changes' : form.status === 'active' ? 'Create and activate' : 'Create draft'}
          </Button>
        </>
      }
    >
      <FormError error={error} shownFields={FORM_FIELDS} />
      {unchanged && <p className="muted small" role="status">Nothing changed.</p>}
      <TextField label="Title" value={form.title} onChange={(e) => set('title', e.target.value)} error={problem('title')} hint="What customers see in the reward catalog, e.g. “500 ₽ off orders over 3,000 ₽”." maxLength={200} autoFocus />
      <TextAreaField label="Description" value={form.description} onChange={(e) => set('description', e.target.value)} error={problem('description')} rows={3} maxLength={5000} />
      <div className="form-row">
        <SelectField
          label="Discount type"
          value={form.valueType}
          onChange={(e) => set('valueType', e.target.value as FormState['valueType'])}
          options={[
            { value: 'fixed', label: 'Fixed amount off' },
            { value: 'percent', label: 'Percentage off' },
          ]}
          error={problem('value')}
        />
        {form.valueType === 'fixed' ? (
          <TextField label={`Amount off (${form.currency || 'currency'})`} inputMode="decimal" value={form.amount} onChange={(e) => set('amount', e.target.value)} error={problem('value.amountMinor')} placeholder="500.00" />
        ) : (
          <TextField label="Percent off" inputMode="decimal" value={form.percent} onChange={(e) => set('percent', e.target.value)} error={problem('value.percent')} placeholder="15" hint="Up to two decimals." />
        )}
        <TextField label="Currency" value={form.currency} onChange={(e) => set('currency', e.target.value.toUpperCase())} error={problem('currency')} maxLength={3} hint="ISO 4217, e.g. RUB." />
      </div>
      <div className="form-row">
        <TextField label="Minimum order (optional)" inputMode="decimal" value={form.minOrder} onChange={(e) => set('minOrder', e.target.value)} error={problem('minOrderMinor')} placeholder="3000.00" />
        <TextField label="Terms URL (optional)" type="url" value={form.termsUrl} onChange={(e) => set('termsUrl', e.target.value)} error={problem('termsUrl')} placeholder="https://shop.example/terms" />
      </div>
      <div className="form-row">
        <TextField
          label="Codes valid until (optional)"
          type="datetime-local"
          value={form.codesValidUntil}
          onChange={(e) => set('codesValidUntil', e.target.value)}
          error={problem('codesValidUntil')}
          hint="After this moment no code is handed out or accepted."
        />
        <TextField
          label="Low-stock alert at"
          type="number"
          min={0}
          max={50000}
          value={form.lowStockThreshold}
          onChange={(e) => set('lowStockThreshold', e.target.value)}
          error={problem('lowStockThreshold')}
          hint="pool.low is sent when available codes fall to this number; 0 = only when empty."
        />
      </div>
      <div className="form-row">
        <SelectField
          label="When an issuer cancels a voucher"
          value={form.onVoucherCancelled}
          onChange={(e) => set('onVoucherCancelled', e.target.value as FormState['onVoucherCancelled'])}
          options={[
            { value: 'void', label: 'Void its code (never handed out again)' },
            { value: 'return_to_pool', label: 'Return its code to the pool' },
          ]}
          error={problem('onVoucherCancelled')}
        />
        {!offer && (
          <SelectField
            label="Start as"
            value={form.status}
            onChange={(e) => set('status', e.target.value as FormState['status'])}
            options={[
              { value: 'draft', label: 'Draft (not handed out yet)' },
              { value: 'active', label: 'Active' },
            ]}
          />
        )}
      </div>
      <details className="partner-details" open={Boolean(problem('codeRules.minLength') ?? problem('codeRules.maxLength') ?? problem('codeRules.characters'))}>
        <summary>Code rules{rulesLocked ? ' (fixed: the offer has code batches)' : ''}</summary>
        <p className="muted small">Uploaded codes are checked against these rules; rows that break them land in the reject report.</p>
        <div className="form-row">
          <SelectField
            label="Letter case"
            value={form.codeCase}
            disabled={rulesLocked}
            onChange={(e) => set('codeCase', e.target.value as FormState['codeCase'])}
            options={[
              { value: 'upper', label: 'Upper case (converted on upload)' },
              { value: 'lower', label: 'Lower case (converted on upload)' },
              { value: 'preserve', label: 'Keep as written' },
            ]}
            error={problem('codeRules.case')}
          />
          <TextField label="Minimum length" type="number" min={1} max={128} disabled={rulesLocked} value={form.minLength} onChange={(e) => set('minLength', e.target.value)} error={problem('codeRules.minLength')} />
          <TextField label="Maximum length" type="number" min={1} max={128} disabled={rulesLocked} value={form.maxLength} onChange={(e) => set('maxLength', e.target.value)} error={problem('codeRules.maxLength')} />
        </div>
        <TextField label="Allowed characters" className="input partner-mono" disabled={rulesLocked} value={form.characters} onChange={(e) => set('characters', e.target.value)} error={problem('codeRules.characters')} />
      </details>
    </Dialog>
  );
}
