import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../../ui/format.ts';

export const ISSUED_COLOR = '#2457d6';
export const REDEEMED_COLOR = '#12805c';

export interface DayBar {
  label: string;
  issued: number;
  redeemed: number;
}

/** Issued and redeemed codes per day as grouped bars (loaded on demand: recharts is large). */
export default function DailyBars({ data }: { data: DayBar[] }) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <BarChart data={data} margin={{ top: 12, right: 8, bottom: 0, left: -12 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e3e7ed" />
        <XAxis dataKey="label" tickLine={false} axisLine={{ stroke: '#dfe3e8' }} tick={{ fontSize: 12, fill: '#5b6675' }} />
        <YAxis allowDecimals={false} tickLine={false} axisLine={false} tick={{ fontSize: 12, fill: '#5b6675' }} />
        <Tooltip cursor={{ fill: 'rgba(36, 87, 214, 0.06)' }} formatter={(value, name) => [formatNumber(Number(value)), name === 'issued' ? 'Issued' : 'Redeemed']} />
        <Bar dataKey="issued" name="issued" fill={ISSUED_COLOR} radius={[3, 3, 0, 0]} maxBarSize={28} isAnimationActive={false} />
        <Bar dataKey="redeemed" name="redeemed" fill={REDEEMED_COLOR} radius={[3, 3, 0, 0]} maxBarSize={28} isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}
