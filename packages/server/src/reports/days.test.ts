import { describe, expect, it } from 'vitest';
import { date, dateTime } from '../console/ui/format.js';
import { dayIn, dayStart, isoDate, isTimeZone, parseIsoDate, rangeOf } from './days.js';

const day = (iso: string) => parseIsoDate(iso)!;

describe('days in a time zone', () => {
  it('puts an instant on the local day of the zone', () => {
    const late = Date.parse('2026-11-30T23:30:00Z');
    expect(isoDate(dayIn(late, 'UTC'))).toBe('2026-11-30');
    expect(isoDate(dayIn(late, 'Europe/Berlin'))).toBe('2026-12-01');
    expect(isoDate(dayIn(late, 'America/Los_Angeles'))).toBe('2026-11-30');
    // Offsets of half and three quarters of an hour.
    expect(isoDate(dayIn(Date.parse('2026-06-01T18:29:00Z'), 'Asia/Kolkata'))).toBe('2026-06-01');
    expect(isoDate(dayIn(Date.parse('2026-06-01T18:30:00Z'), 'Asia/Kolkata'))).toBe('2026-06-02');
    expect(isoDate(dayIn(Date.parse('2026-06-01T18:15:00Z'), 'Asia/Kathmandu'))).toBe('2026-06-02');
  });

  it('finds when a local day begins, across daylight saving changes', () => {
    expect(new Date(dayStart(day('2026-12-01'), 'Europe/Berlin')).toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(new Date(dayStart(day('2026-07-01'), 'Europe/Berlin')).toISOString()).toBe('2026-06-30T22:00:00.000Z');
    // 29 March 2026: Berlin moves from +1 to +2 at 02:00; the day still starts at its midnight.
    expect(new Date(dayStart(day('2026-03-29'), 'Europe/Berlin')).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(new Date(dayStart(day('2026-03-30'), 'Europe/Berlin')).toISOString()).toBe('2026-03-29T22:00:00.000Z');
    // Where midnight does not exist (Santiago skips 00:00 to 01:00 in September), the day starts at 01:00.
    expect(new Date(dayStart(day('2026-09-06'), 'America/Santiago')).toISOString()).toBe('2026-09-06T04:00:00.000Z');
    for (const zone of ['UTC', 'Europe/Berlin', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
      for (let d = day('2026-01-01'); d < day('2027-01-01'); d += 7) {
        const start = dayStart(d, zone);
        expect(dayIn(start, zone)).toBe(d);
        expect(dayIn(start - 1, zone)).toBe(d - 1);
      }
    }
  });

  it('knows the zones of this Node, and nothing else', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone(42)).toBe(false);
  });

  it('reads ranges: presets ending today, custom ones inclusive, and refuses bad ones naming the field', () => {
    const now = Date.parse('2026-12-01T23:30:00Z');
    expect(rangeOf({}, now, 'UTC')).toEqual({ from: day('2026-11-02'), to: day('2026-12-01') });
    expect(rangeOf({ days: '7' }, now, 'Europe/Berlin')).toEqual({ from: day('2026-11-26'), to: day('2026-12-02') });
    expect(rangeOf({ from: '2026-11-01', to: '2026-11-30' }, now, 'UTC')).toEqual({ from: day('2026-11-01'), to: day('2026-11-30') });
    expect(rangeOf({ from: '2026-11-20' }, now, 'UTC')).toEqual({ from: day('2026-11-20'), to: day('2026-12-01') });
    expect(() => rangeOf({ days: '14' }, now, 'UTC')).toThrow('days: must be one of 7, 30, 90');
    expect(() => rangeOf({ from: '2026-02-30' }, now, 'UTC')).toThrow('from: must be a date as YYYY-MM-DD');
    expect(() => rangeOf({ to: '2026-11-01' }, now, 'UTC')).toThrow('from: must be a date as YYYY-MM-DD');
    expect(() => rangeOf({ from: '2026-11-02', to: '2026-11-01' }, now, 'UTC')).toThrow('to: must not be before from');
  });

  it('formats dates for the console in the site time zone, which it names', () => {
    const at = Date.parse('2026-11-30T23:30:00Z');
    expect(dateTime(at)).toBe('2026-11-30 23:30 UTC');
    expect(dateTime(at, 'Europe/Berlin')).toBe('2026-12-01 00:30 Europe/Berlin');
    expect(date(at, 'Europe/Berlin')).toBe('2026-12-01');
    expect(date(null)).toBe('—');
  });
});
