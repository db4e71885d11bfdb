import { startOfLocalDay } from '../system/calendar.ts';

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
    // Valid through that day: until the start of the next local day.
    return startOfLocalDay(year, month, day + 1, timeZone);
  }
  const dateTime = DATE_TIME.exec(value);
  if (!dateTime || !isCalendarDate(Number(dateTime[1]), Number(dateTime[2]), Number(dateTime[3]))) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}
