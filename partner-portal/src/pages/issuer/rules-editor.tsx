import { useId, useState } from 'react';
import { Button, TextField } from '../../ui/components.tsx';
import { formatMoney } from '../../ui/format.ts';
import { currencyDigits, parseMoney } from '../../ui/money.ts';
import { moneyInputValue, parseWhole, plural, type Rules } from './issuer-shared.tsx';

/** The accrual rules as typed: strings, so a half-typed number is not lost. */
export interface RulesDraft {
  perAmount: string;
  stickersPerStep: string;
  minTotal: string;
  maxPerReceipt: string;
  holdDays: string;
  skuBonuses: SkuBonusDraft[];
}

interface SkuBonusDraft {
  key: number;
  sku: string;
  stickersPerUnit: string;
  maxPerReceipt: string;
}

let nextKey = 1;

export function rulesDraftFrom(rules: Rules | undefined, currency: string): RulesDraft {
  if (!rules) return { perAmount: '', stickersPerStep: '1', minTotal: '0', maxPerReceipt: '', holdDays: '14', skuBonuses: [] };
  return {
    perAmount: moneyInputValue(rules.perAmountMinor, currency),
    stickersPerStep: String(rules.stickersPerStep),
    minTotal: moneyInputValue(rules.minTotalMinor, currency),
    maxPerReceipt: rules.maxPerReceipt === null ? '' : String(rules.maxPerReceipt),
    holdDays: String(rules.holdDays),
    skuBonuses: rules.skuBonuses.map((bonus) => ({ key: nextKey++, sku: bonus.sku, stickersPerUnit: String(bonus.stickersPerUnit), maxPerReceipt: bonus.maxPerReceipt === null ? '' : String(bonus.maxPerReceipt) })),
  };
}

function wholeIn(text: string, min: number, max: number): number | null {
  const value = parseWhole(text);
  return value !== null && value >= min && value <= max ? value : null;
}

/**
 * The rules the draft describes, or the obvious mistakes in it keyed by the same dotted
 * paths the server uses (`rules.perAmountMinor`, `rules.skuBonuses.0.sku`), so client and
 * server messages land next to the same field.
 */
export function buildRules(draft: RulesDraft, currency: string, prefix = 'rules'): { rules: Rules | null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const digits = currencyDigits(currency);
  const amountHint = digits > 0 ? `an amount like 500 or 499.${'9'.repeat(digits)}` : 'a whole amount like 500';

  const perAmountMinor = parseMoney(draft.perAmount, currency);
  if (draft.perAmount.trim() === '') errors[`${prefix}.perAmountMinor`] = 'Enter how much a customer spends for each step of stickers.';
  else if (perAmountMinor === null || perAmountMinor < 1) errors[`${prefix}.perAmountMinor`] = `Enter ${amountHint}, more than zero.`;

  const stickersPerStep = wholeIn(draft.stickersPerStep, 1, 1000);
  if (stickersPerStep === null) errors[`${prefix}.stickersPerStep`] = 'Enter a whole number from 1 to 1,000.';

  const minTotalMinor = draft.minTotal.trim() === '' ? 0 : parseMoney(draft.minTotal, currency);
  if (minTotalMinor === null) errors[`${prefix}.minTotalMinor`] = `Enter ${amountHint}, or 0 for no minimum.`;

  const maxPerReceipt = draft.maxPerReceipt.trim() === '' ? null : wholeIn(draft.maxPerReceipt, 1, 100_000);
  if (draft.maxPerReceipt.trim() !== '' && maxPerReceipt === null) errors[`${prefix}.maxPerReceipt`] = 'Enter a whole number from 1 to 100,000, or leave it empty for no cap.';

  const holdDays = wholeIn(draft.holdDays, 0, 365);
  if (holdDays === null) errors[`${prefix}.holdDays`] = 'Enter a number of days from 0 to 365.';

  const seen = new Map<string, number>();
  const skuBonuses = draft.skuBonuses.map((bonus, index) => {
    const path = `${prefix}.skuBonuses.${index}`;
    const sku = bonus.sku.trim();
    if (!sku) errors[`${path}.sku`] = 'Enter the SKU as the till sends it.';
    else if (sku.length > 64) errors[`${path}.sku`] = 'At most 64 characters.';
    else if (seen.has(sku)) errors[`${path}.sku`] = `Already listed in bonus ${seen.get(sku)! + 1}: each SKU may appear once.`;
    else seen.set(sku, index);
    const stickersPerUnit = wholeIn(bonus.stickersPerUnit, 1, 1000);
    if (stickersPerUnit === null) errors[`${path}.stickersPerUnit`] = 'A whole number from 1 to 1,000.';
    const max = bonus.maxPerReceipt.trim() === '' ? null : wholeIn(bonus.maxPerReceipt, 1, 100_000);
    if (bonus.maxPerReceipt.trim() !== '' && max === null) errors[`${path}.maxPerReceipt`] = '1 to 100,000, or empty.';
    return { sku, stickersPerUnit: stickersPerUnit ?? 0, maxPerReceipt: max };
  });

  if (Object.keys(errors).length > 0 || perAmountMinor === null || stickersPerStep === null || minTotalMinor === null || holdDays === null) return { rules: null, errors };
  return { rules: { perAmountMinor, stickersPerStep, minTotalMinor, maxPerReceipt, holdDays, skuBonuses }, errors };
}

/** Every field path the editor shows a message next to, for FormError's "the rest". */
export function rulesFieldPaths(draft: RulesDraft, prefix = 'rules'): string[] {
  return [
    ...['perAmountMinor', 'stickersPerStep', 'minTotalMinor', 'maxPerReceipt', 'holdDays', 'skuBonuses'].map((field) => `${prefix}.${field}`),
    ...draft.skuBonuses.flatMap((_, index) => ['sku', 'stickersPerUnit', 'maxPerReceipt'].map((field) => `${prefix}.skuBonuses.${index}.${field}`)),
  ];
}

/** The same arithmetic as the server's accrual, for the worked example under the rules. */
function exampleAccrual(rules: Rules, totalMinor: number): number {
  if (totalMinor < rules.minTotalMinor || totalMinor <= 0) return 0;
  const base = Math.floor(totalMinor / rules.perAmountMinor) * rules.stickersPerStep;
  return Math.min(base, rules.maxPerReceipt ?? 100_000);
}

/**
 * The structured editor of one accrual-rules version: spend per step, stickers per step,
 * minimum receipt, per-receipt cap, hold days and SKU bonuses, with messages next to each
 * field and a worked example of what a receipt earns.
 */
export function RulesEditor({
  draft,
  onChange,
  errorFor,
  currency,
  prefix = 'rules',
}: {
  draft: RulesDraft;
  onChange: (next: RulesDraft) => void;
  errorFor: (path: string) => string | undefined;
  currency: string;
  prefix?: string;
}) {
  const set = (patch: Partial<RulesDraft>) => onChange({ ...draft, ...patch });
  const setBonus = (index: number, patch: Partial<SkuBonusDraft>) => set({ skuBonuses: draft.skuBonuses.map((bonus, i) => (i === index ? { ...bonus, ...patch } : bonus)) });
  const [exampleTotal, setExampleTotal] = useState('1200');
  const built = buildRules(draft, currency, prefix);
  const exampleMinor = parseMoney(exampleTotal, currency);
  const bonusesId = useId();

  return (
    <div className="rules-editor">
      <div className="form-row">
        <TextField
          label={`Spend per step (${currency})`}
          inputMode="decimal"
          value={draft.perAmount}
          onChange={(e) => set({ perAmount: e.target.value })}
          error={errorFor(`${prefix}.perAmountMinor`)}
          hint="Each full step of the receipt total earns stickers."
        />
        <TextField label="Stickers per step" inputMode="numeric" value={draft.stickersPerStep} onChange={(e) => set({ stickersPerStep: e.target.value })} error={errorFor(`${prefix}.stickersPerStep`)} />
        <TextField
          label={`Minimum receipt (${currency})`}
          inputMode="decimal"
          value={draft.minTotal}
          onChange={(e) => set({ minTotal: e.target.value })}
          error={errorFor(`${prefix}.minTotalMinor`)}
          hint="Smaller receipts earn nothing; 0 = no minimum."
        />
      </div>
      <div className="form-row">
        <TextField
          label="Cap per receipt (stickers)"
          inputMode="numeric"
          placeholder="No cap"
          value={draft.maxPerReceipt}
          onChange={(e) => set({ maxPerReceipt: e.target.value })}
          error={errorFor(`${prefix}.maxPerReceipt`)}
          hint="Most one receipt can earn, bonuses included."
        />
        <TextField
          label="Hold (days)"
          inputMode="numeric"
          value={draft.holdDays}
          onChange={(e) => set({ holdDays: e.target.value })}
          error={errorFor(`${prefix}.holdDays`)}
          hint="Stickers stay pending for the returns window."
        />
        <TextField label={`Example receipt (${currency})`} inputMode="decimal" value={exampleTotal} onChange={(e) => setExampleTotal(e.target.value)} hint="Only for the preview below; not saved." />
      </div>
      <p className="rules-example" aria-live="polite">
        {built.rules && exampleMinor !== null
          ? `A receipt of ${formatMoney(exampleMinor, currency)} earns ${plural(exampleAccrual(built.rules, exampleMinor), 'sticker')} (before SKU bonuses).`
          : 'Fill in the rules to see what a receipt earns.'}
      </p>

      <fieldset className="field sku-bonuses" aria-describedby={`${bonusesId}-hint`}>
        <legend>SKU bonuses</legend>
        <p className="field-hint" id={`${bonusesId}-hint`}>
          Extra stickers for each whole unit of a product bought, on top of the receipt total.
        </p>
        {draft.skuBonuses.length === 0 && <p className="muted small">No SKU bonuses.</p>}
        {draft.skuBonuses.map((bonus, index) => (
          <div className="repeat-row" key={bonus.key} role="group" aria-label={`SKU bonus ${index + 1}`}>
            <TextField label="SKU" value={bonus.sku} onChange={(e) => setBonus(index, { sku: e.target.value })} error={errorFor(`${prefix}.skuBonuses.${index}.sku`)} />
            <TextField label="Stickers per unit" inputMode="numeric" value={bonus.stickersPerUnit} onChange={(e) => setBonus(index, { stickersPerUnit: e.target.value })} error={errorFor(`${prefix}.skuBonuses.${index}.stickersPerUnit`)} />
            <TextField
              label="Bonus cap per receipt"
              inputMode="numeric"
              placeholder="No cap"
              value={bonus.maxPerReceipt}
              onChange={(e) => setBonus(index, { maxPerReceipt: e.target.value })}
              error={errorFor(`${prefix}.skuBonuses.${index}.maxPerReceipt`)}
            />
            <Button size="sm" variant="ghost" aria-label={`Remove SKU bonus ${index + 1}`} onClick={() => set({ skuBonuses: draft.skuBonuses.filter((_, i) => i !== index) })}>
              Remove
            </Button>
          </div>
        ))}
        {errorFor(`${prefix}.skuBonuses`) && (
          <div className="field-error" role="alert">
            {errorFor(`${prefix}.skuBonuses`)}
          </div>
        )}
        <div>
          <Button size="sm" onClick={() => set({ skuBonuses: [...draft.skuBonuses, { key: nextKey++, sku: '', stickersPerUnit: '1', maxPerReceipt: '' }] })}>
            Add SKU bonus
          </Button>
        </div>
      </fieldset>
    </div>
  );
}
