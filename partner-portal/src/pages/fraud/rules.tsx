import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type RouterInputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import { Alert, Badge, Button, Card, EmptyState, FormError, PageHeader, QueryView, SelectField, TextField, fieldError } from '../../ui/components.tsx';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { formatDateTime, formatNumber } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import { useActorNames } from '../shared/admin-common.tsx';
import { EDIT_RULES, FraudTabs, RULE_ACTION_LABELS, RuleText, labelOf, type FraudRule } from './fraud-shared.tsx';

type UpdateInput = RouterInputs['fraud']['rules']['update'];

const STAGES: { id: FraudRule['stage']; title: string; description: string }[] = [
  {
    id: 'purchase',
    title: 'Purchases',
    description: "Judged when a till records a receipt. Flag lets it through and opens a case; hold credits the receipt's stickers but keeps them pending until a reviewer decides; block refuses the receipt. A receipt that enrols a new card is never judged.",
  },
  { id: 'return', title: 'Returns', description: 'Judged when a return is recorded. The goods are back and the money refunded, so the return is always recorded: these rules can only flag.' },
  { id: 'exchange', title: 'Exchanges', description: 'Judged before any stickers are spent on a reward. Block refuses the exchange; flag lets it through and opens a case.' },
  { id: 'redemption', title: 'Redemptions at partners', description: "Judged when a partner redeems one of your customers' codes. The partner's redemption stands: the rule can only flag it for you." },
];

/**
 * The anti-fraud rules: what each looks for, its action and thresholds, grouped by the
 * step it judges. Reviewers read them; admins (fraud:rules) change or reset them.
 */
export function FraudRulesPage() {
  const can = useCan();
  const canEdit = can(EDIT_RULES);
  const rules = useQuery({ queryKey: ['fraud.rules.list'], queryFn: () => api.fraud.rules.list.query() });
  const open = useQuery({ queryKey: ['fraud.cases.list', 'open-count'], queryFn: () => api.fraud.cases.list.query({ status: 'open', limit: 1 }) });
  const actor = useActorNames(can({ scopes: ['admin'] }));

  return (
    <>
      <PageHeader
        title="Fraud review"
        description="The anti-fraud rules: what each one looks for, what it does when it fires, and its thresholds. Changes apply to the next request the rule judges; cases already open keep their evidence."
      />
      <FraudTabs current="rules" openCount={open.data?.openCount} />
      {!canEdit && (
        <Alert tone="info" title="Read only">
          You can see how the rules are set. Changing them takes the admin role (the fraud:rules scope).
        </Alert>
      )}
      <QueryView query={rules}>
        {(data) =>
          data.rules.length === 0 ? (
            <EmptyState title="No rules" description="The server lists no anti-fraud rules." />
          ) : (
            STAGES.map((stage) => {
              const ofStage = data.rules.filter((rule) => rule.stage === stage.id);
              if (ofStage.length === 0) return null;
              return (
                <section key={stage.id} className="fraud-stage" aria-labelledby={`stage-${stage.id}`}>
                  <h2 id={`stage-${stage.id}`}>{stage.title}</h2>
                  <p className="muted small">{stage.description}</p>
                  {ofStage.map((rule) => (
                    <RuleCard key={`${rule.id}-${rule.updatedAt ?? 'defaults'}`} rule={rule} canEdit={canEdit} changedBy={rule.updatedBy ? actor(rule.updatedBy, true) : null} />
                  ))}
                </section>
              );
            })
          )
        }
      </QueryView>
    </>
  );
}

function RuleCard({ rule, canEdit, changedBy }: { rule: FraudRule; canEdit: boolean; changedBy: ReactNode }) {
  const session = useSession();
  return (
    <Card
      title={
        <span className="fraud-title">
          {rule.title}
          {rule.action === 'allow' && <Badge tone="neutral">Off</Badge>}
          {rule.customized ? <Badge tone="info">Customized</Badge> : <Badge tone="neutral">Defaults</Badge>}
        </span>
      }
      actions={<span className="fraud-mono muted">{rule.id}</span>}
    >
      <p>
        <RuleText text={rule.description} />
      </p>
      {canEdit ? <RuleForm rule={rule} /> : <RuleValues rule={rule} />}
      <p className="fraud-rule-meta muted small">
        {rule.customized && rule.updatedAt ? (
          <>
            Changed {formatDateTime(rule.updatedAt, session.tenant?.timezone)}
            {changedBy && <> by {changedBy}</>}.
          </>
        ) : (
          'Running on the defaults.'
        )}
      </p>
    </Card>
  );
}

function RuleValues({ rule }: { rule: FraudRule }) {
  return (
    <dl className="kv fraud-rule-values" aria-label={`${rule.title}: settings`}>
      <dt>Action</dt>
      <dd>
        {RULE_ACTION_LABELS[rule.action]} {rule.action !== rule.defaultAction && <span className="muted small">(default: {RULE_ACTION_LABELS[rule.defaultAction].toLowerCase()})</span>}
      </dd>
      {rule.params.map((param) => (
        <Threshold key={param.name} param={param} />
      ))}
    </dl>
  );
}

function Threshold({ param }: { param: FraudRule['params'][number] }) {
  return (
    <>
      <dt>{labelOf(param.name)}</dt>
      <dd>
        <strong>{formatNumber(param.value)}</strong>{' '}
        <span className="muted small">
          (default {formatNumber(param.default)}; {formatNumber(param.min)}–{formatNumber(param.max)}) · {param.description}
        </span>
      </dd>
    </>
  );
}

function RuleForm({ rule }: { rule: FraudRule }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [action, setAction] = useState(rule.action);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(rule.params.map((param) => [param.name, String(param.value)])));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [resetting, setResetting] = useState(false);

  const adopt = (next: FraudRule) => {
    queryClient.setQueryData<{ rules: FraudRule[] }>(['fraud.rules.list'], (current) => (current ? { rules: current.rules.map((candidate) => (candidate.id === next.id ? next : candidate)) } : current));
    void queryClient.invalidateQueries({ queryKey: ['fraud.rules.list'] });
  };
  const save = useMutation({
    mutationFn: (input: UpdateInput) => api.fraud.rules.update.mutate(input),
    onSuccess: (next) => {
      adopt(next);
      toast(`“${next.title}” saved`);
    },
  });
  const reset = useMutation({
    mutationFn: () => api.fraud.rules.update.mutate({ ruleId: rule.id, reset: true }),
    onSuccess: (next) => {
      adopt(next);
      setResetting(false);
      toast(`“${next.title}” is back on its defaults`);
    },
  });

  const changedParams = rule.params.filter((param) => values[param.name]?.trim() !== String(param.value));
  const dirty = action !== rule.action || changedParams.length > 0;
  const fieldNames = ['action', ...rule.params.map((param) => `params.${param.name}`)];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // Blank or not a number is caught here; the limits are the server's to check (they are shown in the hints).
    const errors: Record<string, string> = {};
    const params: Record<string, number> = {};
    for (const param of changedParams) {
      const text = values[param.name]?.trim() ?? '';
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) errors[param.name] = `Enter a number from ${formatNumber(param.min)} to ${formatNumber(param.max)}.`;
      else params[param.name] = value;
    }
    setClientErrors(errors);
    if (Object.keys(errors).length) {
      save.reset();
      return;
    }
    save.mutate({ ruleId: rule.id, ...(action !== rule.action && { action }), ...(changedParams.length > 0 && { params }) });
  };

  return (
    <>
      <form onSubmit={submit} noValidate aria-label={rule.title}>
        <div className="fraud-rule-form">
          <SelectField
            label="Action"
            value={action}
            onChange={(event) => setAction(event.target.value as FraudRule['action'])}
            options={rule.actions.map((value) => ({ value, label: RULE_ACTION_LABELS[value] }))}
            hint={`Default: ${RULE_ACTION_LABELS[rule.defaultAction].toLowerCase()}.`}
            error={fieldError(save.error, 'action')}
          />
          {rule.params.map((param) => (
            <TextField
              key={param.name}
              label={labelOf(param.name)}
              type="number"
              inputMode="numeric"
              step={1}
              min={param.min}
              max={param.max}
              value={values[param.name] ?? ''}
              onChange={(event) => setValues({ ...values, [param.name]: event.target.value })}
              hint={`${param.description} Default ${formatNumber(param.default)}; ${formatNumber(param.min)} to ${formatNumber(param.max)}.`}
              error={clientErrors[param.name] ?? fieldError(save.error, `params.${param.name}`)}
            />
          ))}
        </div>
        <FormError error={save.error} shownFields={fieldNames} />
        <div className="fraud-rule-actions">
          <Button type="submit" variant="primary" busy={save.isPending} disabled={!dirty}>
            Save
          </Button>
          {dirty && (
            <Button
              onClick={() => {
                setAction(rule.action);
                setValues(Object.fromEntries(rule.params.map((param) => [param.name, String(param.value)])));
                setClientErrors({});
                save.reset();
              }}
            >
              Undo changes
            </Button>
          )}
          {rule.customized && (
            <Button variant="ghost" onClick={() => setResetting(true)}>
              Reset to defaults…
            </Button>
          )}
        </div>
      </form>
      <ConfirmDialog
        open={resetting}
        title="Reset to the defaults?"
        confirmLabel="Reset rule"
        busy={reset.isPending}
        onConfirm={() => reset.mutate()}
        onClose={() => {
          setResetting(false);
          reset.reset();
        }}
      >
        <p>
          “{rule.title}” goes back to <strong>{RULE_ACTION_LABELS[rule.defaultAction].toLowerCase()}</strong>
          {rule.params.length > 0 && <> with {rule.params.map((param) => `${labelOf(param.name).toLowerCase()} ${formatNumber(param.default)}`).join(', ')}</>}. The change is recorded in the audit log.
        </p>
        <FormError error={reset.error} />
      </ConfirmDialog>
    </>
  );
}
