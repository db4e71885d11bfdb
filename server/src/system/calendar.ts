/**
 * Calendar arithmetic in a tenant's or agreement's time zone: local days, weeks and
 * months as instants, correct across DST changes (ICU's zone data through Intl).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  return format;
}

function wallClock(instant: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = Object.fromEntries(formatterFor(timeZone).formatToParts(instant).map((part) => [part.type, Number(part.value)]));
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** Milliseconds the zone's wall clock is ahead of UTC at `instant`. */
export function zoneOffset(instant: number, timeZone: string): number {
  const wall = wallClock(instant, timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - Math.floor(instant / 1000) * 1000;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The local calendar date of an instant: month 1-12, weekday 1 (Monday) to 7 (Sunday). */
export function localDate(instant: Date, timeZone: string): { year: number; month: number; day: number; weekday: number } {
  const { year, month, day } = wallClock(instant.getTime(), timeZone);
  const weekday = ((new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7) + 1;
  return { year, month, day, weekday };
}

/**
 * The first instant of a local day (month and day may overflow: day 32 is the next
 * month's first). Midnight under the offset in force before or after it, whichever is a
 * real local midnight (the earlier if both are); where a DST change skips midnight, the
 * first instant of the day (the change itself).
 */
export function startOfLocalDay(year: number, month: number, day: number, timeZone: string): Date {
  const wall = Date.UTC(year, month - 1, day);
  const candidates = [wall - zoneOffset(wall - DAY_MS, timeZone), wall - zoneOffset(wall + DAY_MS, timeZone)];
  const real = candidates.filter((instant) => instant + zoneOffset(instant, timeZone) === wall);
  return new Date(real.length ? Math.min(...real) : candidates[0]!);
}

/** The instant a wall-clock time happens in a zone (the later reading of an hour that repeats). */
export function localHour(year: number, month: number, day: number, hour: number, timeZone: string): Date {
  const wall = Date.UTC(year, month - 1, day, hour);
  let instant = wall - zoneOffset(wall, timeZone);
  instant = wall - zoneOffset(instant, timeZone);
  return new Date(instant);
}

export type CalendarPeriod = 'day' | 'week' | 'month';

/** The local day, ISO week (from Monday) or month containing `at`, as [start, end). */
export function periodAround(at: Date, period: CalendarPeriod, timeZone: string): { start: Date; end: Date } {
  const { year, month, day, weekday } = localDate(at, timeZone);
  switch (period) {
    case 'day':
      return { start: startOfLocalDay(year, month, day, timeZone), end: startOfLocalDay(year, month, day + 1, timeZone) };
    case 'week':
      return { start: startOfLocalDay(year, month, day - weekday + 1, timeZone), end: startOfLocalDay(year, month, day - weekday + 8, timeZone) };
    case 'month':
      return { start: startOfLocalDay(year, month, 1, timeZone), end: startOfLocalDay(year, month + 1, 1, timeZone) };
  }
}

/** The calendar month containing `at` in the zone, as its first day: "2026-11-01". */
export function monthOf(at: Date, timeZone: string): string {
  const { year, month } = localDate(at, timeZone);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01`;
}
