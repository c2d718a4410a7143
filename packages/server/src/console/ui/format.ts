/**
 * Formatting for people: numbers, money, dates and the names of customers. Everything returns
 * plain strings, which JSX escapes wherever they land.
 */

import { dayIn, isoDate, offsetAt, UTC } from '../../reports/days.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : integer.format(n));

/** An amount; Rapport does not know the shop's currency, so none is shown. */
export const money = (n: number | null | undefined) => (n === null || n === undefined ? '—' : decimal.format(n));

/** A ratio as a percentage: 0.1234 → "12.3%". */
export const pct = (ratio: number | null | undefined, digits = 1) =>
  ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(digits)}%`;

const toMs = (at: number | string | null | undefined): number | null => {
  if (at === null || at === undefined) return null;
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(ms) ? ms : null;
};

/**
 * "2026-03-01 15:05 Europe/Berlin": in the site's time zone (UTC without one), which it names,
 * since the reader may be elsewhere.
 */
export function dateTime(at: number | string | null | undefined, timeZone = UTC): string {
  const ms = toMs(at);
  if (ms === null) return '—';
  return `${new Date(ms + offsetAt(ms, timeZone)).toISOString().slice(0, 16).replace('T', ' ')} ${timeZone}`;
}

/** The day of an instant in the site's time zone, "2026-03-01". */
export function date(at: number | string | null | undefined, timeZone = UTC): string {
  const ms = toMs(at);
  return ms === null ? '—' : isoDate(dayIn(ms, timeZone));
}

/** "5 min ago", "3 days ago", "in 2 hours". */
export function ago(at: number | string | null | undefined, now: number): string {
  const ms = toMs(at);
  if (ms === null) return 'never';
  const diff = now - ms;
  const abs = Math.abs(diff);
  const units: Array<[number, string]> = [
    [365 * 86_400_000, 'year'],
    [30 * 86_400_000, 'month'],
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'min'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const label = unit === 'min' ? 'min' : `${unit}${n === 1 ? '' : 's'}`;
      return diff >= 0 ? `${n} ${label} ago` : `in ${n} ${label}`;
    }
  }
  return diff >= 0 ? 'just now' : 'in a moment';
}

/**
 * A link target made from data a visitor sent (a page URL, a referrer): the URL when it is
 * http(s), else null and the caller shows it as text. Never `javascript:`, `data:` or a
 * relative URL that would point into the console.
 */
export function safeHref(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 4096) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export const truncate = (text: string, max = 120) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A JSON value as one line of text: strings as they are, the rest as JSON. */
export function valueText(value: unknown, max = 200): string {
  if (typeof value === 'string') return truncate(value, max);
  if (value === undefined) return '';
  return truncate(JSON.stringify(value) ?? String(value), max);
}

interface Named {
  userId: string | null;
  email: string | null;
  traits: Record<string, unknown>;
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** What to call a customer: a name trait, else the email, else the user id. */
export function personName(p: Named): string {
  const t = p.traits;
  const full = [text(t.firstName) ?? text(t.first_name), text(t.lastName) ?? text(t.last_name)].filter(Boolean).join(' ');
  return truncate(text(t.name) ?? (full || null) ?? text(t.email) ?? p.email ?? p.userId ?? 'Anonymous visitor', 80);
}

/** "1 customer", "2 customers". */
export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
