/**
 * Calendar days in a site's time zone. A day is kept as a number: the days since 1970-01-01 of
 * the local date (so day 20424 is 2025-12-02 wherever the site is), which sorts, subtracts and
 * indexes like any integer. Rollups, the console and every report count in these days.
 */

const DAY_MS = 86_400_000;
/** Every offset in use is a multiple of 15 minutes and changes on such a boundary (in UTC too). */
const QUARTER_MS = 900_000;
const MAX_CACHED = 50_000;

export const UTC = 'UTC';

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, Map<number, number>>();

/** Whether `name` is an IANA time zone that this Node knows (`Europe/Berlin`, `UTC`). */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== 'string' || name === '' || name.length > 64) return false;
  try {
    formatterOf(name);
    return true;
  } catch {
    return false;
  }
}

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Milliseconds to add to UTC to get the local wall clock of `timeZone` at `ms`. */
export function offsetAt(ms: number, timeZone: string): number {
  if (timeZone === UTC) return 0;
  let cache = offsets.get(timeZone);
  if (!cache) offsets.set(timeZone, (cache = new Map()));
  const quarter = Math.floor(ms / QUARTER_MS);
  let offset = cache.get(quarter);
  if (offset === undefined) {
    const at = quarter * QUARTER_MS;
    const parts: Record<string, number> = {};
    for (const p of formatterOf(timeZone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    offset = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute) - at;
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(quarter, offset);
  }
  return offset;
}

/**
 * The local day of an instant.
 *
 * @example
 * dayIn(Date.parse('2026-12-01T23:30:00Z'), 'Europe/Berlin'); // the day of 2026-12-02
 */
export function dayIn(ms: number, timeZone: string): number {
  return Math.floor((ms + offsetAt(ms, timeZone)) / DAY_MS);
}

/** The instant a local day begins (its first millisecond, DST gaps included). */
export function dayStart(day: number, timeZone: string): number {
  const local = day * DAY_MS;
  // Two rounds settle the offset; a day that starts in a DST gap starts when the clock resumes.
  let at = local - offsetAt(local, timeZone);
  at = local - offsetAt(at, timeZone);
  while (dayIn(at, timeZone) < day) at += QUARTER_MS;
  while (dayIn(at - 1, timeZone) >= day) at -= QUARTER_MS;
  return at;
}

/** `2026-12-02` of a day number. */
export function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The day number of `2026-12-02`, or null when it is not a real date in that form. */
export function parseIsoDate(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return isoDate(ms / DAY_MS) === text ? ms / DAY_MS : null;
}

/** An inclusive range of local days. */
export interface DayRange {
  from: number;
  to: number;
}

/** Ranges a report offers besides a custom one. */
export const PRESET_RANGES = [7, 30, 90] as const;
/** The longest custom range: reports stay bounded by what they read. */
export const MAX_RANGE_DAYS = 732;

/**
 * The range of a report's `from` / `to` (ISO dates, inclusive) or `days` (a preset, ending
 * today), in the site's time zone; 30 days ending today without either. Throws a `RangeError`
 * naming the field when one is not a date, or the range is reversed or too long.
 *
 * @example
 * rangeOf({ days: '7' }, Date.now(), 'Europe/Berlin'); // the last 7 local days, today included
 */
export function rangeOf(query: { from?: string; to?: string; days?: string }, now: number, timeZone: string): DayRange {
  const today = dayIn(now, timeZone);
  if (query.from !== undefined || query.to !== undefined) {
    const from = query.from === undefined ? null : parseIsoDate(query.from);
    const to = query.to === undefined ? today : parseIsoDate(query.to);
    if (from === null) throw new RangeError('from: must be a date as YYYY-MM-DD');
    if (to === null) throw new RangeError('to: must be a date as YYYY-MM-DD');
    if (to < from) throw new RangeError('to: must not be before from');
    if (to - from + 1 > MAX_RANGE_DAYS) throw new RangeError(`to: a range is at most ${MAX_RANGE_DAYS} days`);
    return { from, to };
  }
  const days = query.days === undefined ? 30 : Number(query.days);
  if (!PRESET_RANGES.includes(days as (typeof PRESET_RANGES)[number])) {
    throw new RangeError(`days: must be one of ${PRESET_RANGES.join(', ')}`);
  }
  return { from: today - days + 1, to: today };
}
