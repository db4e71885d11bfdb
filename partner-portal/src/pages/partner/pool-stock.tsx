import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { api, type RouterOutputs } from '../../api.ts';
import { Button, Card, FormError, Loading, QueryView, Stat, StatGrid, StatusBadge, TextField, fieldError, type Tone } from '../../ui/components.tsx';
import { formatNumber } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import type { Offer } from './money.ts';

type PoolState = RouterOutputs['offers']['poolState'];

const STOCK_TONE: Record<PoolState['stockState'], Tone> = { ok: 'good', low: 'warn', empty: 'bad' };

const DailyBars = lazy(() => import('./daily-chart.tsx'));

/** "2026-11-17" → "Nov 17" (the days are UTC days). */
function dayLabel(date: string): string {
  return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));
}

/** The pool of one offer: codes by status, the forecast, the watermark and the last 7 days. */
export function PoolStock({ offer, canWrite, pending }: { offer: Offer; canWrite: boolean; pending: boolean }) {
  const pool = useQuery({
    queryKey: ['offers.poolState', offer.id],
    queryFn: () => api.offers.poolState.query({ offerId: offer.id }),
    // While a batch imports, the counts change when it turns ready.
    refetchInterval: pending ? 3_000 : 30_000,
  });
  return (
    <Card title="Pool stock" actions={pool.data && <StatusBadge status={pool.data.stockState} />}>
      <QueryView query={pool}>
        {(state) => (
          <div className="stack">
            <div className="partner-stock-grid">
              <StatGrid>
                <Stat label="Available" value={formatNumber(state.counts.available)} tone={STOCK_TONE[state.stockState]} hint={`low at ${formatNumber(state.lowStockThreshold)}`} />
                <Stat label="Issued" value={formatNumber(state.counts.issued)} hint="held by customers" />
                <Stat label="Redeemed" value={formatNumber(state.counts.redeemed)} />
                <Stat label="Reserved" value={formatNumber(state.counts.reserved)} hint="being handed out" />
                <Stat label="Expired" value={formatNumber(state.counts.expired)} />
                <Stat label="Voided" value={formatNumber(state.counts.voided)} />
              </StatGrid>
              <div className="partner-forecast">
                <div>
                  <div className="stat-label">Days until empty</div>
                  <div className="partner-forecast-value" data-testid="days-until-empty">
                    {state.daysUntilEmpty === null ? '—' : formatNumber(state.daysUntilEmpty)}
                  </div>
                  <div className="stat-hint">
                    {state.daysUntilEmpty === null
                      ? 'No code was issued in the last 7 days.'
                      : `At ${formatNumber(state.issueRatePerDay)} codes a day (${formatNumber(state.issuedLast7Days)} issued in the last 7 days).`}
                  </div>
                </div>
                <Watermark offer={offer} current={state.lowStockThreshold} canWrite={canWrite} />
              </div>
            </div>
            <DailyChart daily={state.daily} />
          </div>
        )}
      </QueryView>
    </Card>
  );
}

function Watermark({ offer, current, canWrite }: { offer: Offer; current: number; canWrite: boolean }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [value, setValue] = useState(String(current));
  const [problem, setProblem] = useState<string>();
  const save = useMutation({
    mutationFn: (lowStockThreshold: number) => api.offers.update.mutate({ offerId: offer.id, lowStockThreshold }),
    onSuccess: (updated) => {
      queryClient.setQueryData(['offers.get', offer.id], updated);
      void queryClient.invalidateQueries({ queryKey: ['offers.poolState', offer.id] });
      void queryClient.invalidateQueries({ queryKey: ['offers.list'] });
      toast(`Low-stock alert set to ${formatNumber(updated.lowStockThreshold)} codes`);
    },
  });
  if (!canWrite || offer.status === 'closed') {
    return <p className="muted small">Low-stock alert at {formatNumber(current)} available codes.</p>;
  }
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        const n = Number(value);
        if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 50_000) {
          setProblem('A whole number from 0 to 50,000.');
          return;
        }
        setProblem(undefined);
        save.mutate(n);
      }}
    >
      <div className="partner-watermark">
        <TextField
          label="Low-stock alert at"
          type="number"
          min={0}
          max={50000}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          error={problem ?? fieldError(save.error, 'lowStockThreshold')}
        />
        <Button type="submit" busy={save.isPending} disabled={Number(value) === current && value.trim() !== ''}>
          Save
        </Button>
      </div>
      <p className="field-hint">pool.low is sent when available codes fall to this number; 0 = only when the pool is empty.</p>
      <FormError error={save.error} shownFields={['lowStockThreshold']} />
    </form>
  );
}

function DailyChart({ daily }: { daily: PoolState['daily'] }) {
  const issued = daily.reduce((sum, day) => sum + day.issued, 0);
  const redeemed = daily.reduce((sum, day) => sum + day.redeemed, 0);
  const data = daily.map((day) => ({ ...day, label: dayLabel(day.date) }));
  return (
    <div>
      <div className="spread">
        <h3>Issued and redeemed, last 7 days</h3>
        <div className="partner-chart-legend" aria-hidden="true">
          <span>
            <span className="partner-swatch partner-swatch-issued" />
            Issued ({formatNumber(issued)})
          </span>
          <span>
            <span className="partner-swatch partner-swatch-redeemed" />
            Redeemed ({formatNumber(redeemed)})
          </span>
        </div>
      </div>
      <div className="chart" role="img" aria-label={`Codes per day, last 7 days: ${formatNumber(issued)} issued, ${formatNumber(redeemed)} redeemed.`}>
        <Suspense fallback={<Loading rows={4} label="Loading the chart…" />}>
          <DailyBars data={data} />
        </Suspense>
      </div>
      {issued === 0 && redeemed === 0 && <p className="muted small">No codes were issued or redeemed in the last 7 days.</p>}
    </div>
  );
}
