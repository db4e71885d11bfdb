const formatters = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds the zone's wall clock is ahead of UTC at `instant`. */
function zoneOffset(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, Number(part.value)]));
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - Math.floor(instant / 1000) * 1000;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function isCalendarDate(year: number, month: number, day: number): boolean {
  const check = new Date(Date.UTC(year, month - 1, day));
  return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An expiry as partners write it: a date ("2027-01-31": the code is valid through that
 * day in the partner's time zone) or an ISO 8601 date-time with an offset. null when
 * it is neither.
 */
export function parseExpiry(value: string, timeZone: string): Date | null {
  const date = DATE.exec(value);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (!isCalendarDate(year, month, day)) return null;
    // The start of the next local day: midnight under the offset in force before or
    // after it, whichever is a real local midnight (the earlier if both are); where a
    // DST change skips midnight, the first instant of the day (the change itself).
    const wall = Date.UTC(year, month - 1, day + 1);
    const candidates = [wall - zoneOffset(wall - DAY_MS, timeZone), wall - zoneOffset(wall + DAY_MS, timeZone)];
    const real = candidates.filter((instant) => instant + zoneOffset(instant, timeZone) === wall);
    return new Date(real.length ? Math.min(...real) : candidates[0]!);
  }
  const dateTime = DATE_TIME.exec(value);
  if (!dateTime || !isCalendarDate(Number(dateTime[1]), Number(dateTime[2]), Number(dateTime[3]))) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}
