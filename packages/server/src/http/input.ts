import type { Context } from 'hono';
import { isObject } from '../collect/validate.js';
import { HttpError } from './errors.js';

/**
 * Small readers for admin request bodies and query strings: each returns a typed value or throws
 * a 400 that names the field and the reason.
 */

const fail = (field: string, reason: string) =>
  new HttpError(400, `${field}: ${reason}`, [{ field, message: reason }]);

export type Body = Record<string, unknown>;

/** The body as an object whose keys are all in `allowed`; anything else is a 400. */
export function objectBody(value: unknown, allowed: readonly string[]): Body {
  if (!isObject(value)) throw new HttpError(400, 'the body must be a JSON object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw fail(key, `unknown field; expected one of ${allowed.join(', ')}`);
  }
  return value;
}

/** An admin request's JSON body as an object whose keys are all in `allowed` (see `objectBody`). */
export async function jsonBody(c: Context, allowed: readonly string[]): Promise<Body> {
  const value = await c.req.json().catch(() => {
    throw new HttpError(400, 'the body is not valid JSON');
  });
  return objectBody(value, allowed);
}

/** A cursor from a previous page, checked with `decode`: a 400 rather than silently starting over. */
export function cursorParam(cursor: string | undefined, decode: (c: string) => unknown): string | undefined {
  if (!cursor) return undefined;
  if (decode(cursor) === null) throw fail('cursor', 'is not a cursor this API gave out');
  return cursor;
}

interface StringRule {
  max?: number;
  min?: number;
  pattern?: RegExp;
  patternHint?: string;
}

export function optionalString(body: Body, field: string, rule: StringRule = {}): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw fail(field, 'must be a string');
  const trimmed = value.trim();
  if (trimmed.length < (rule.min ?? 0)) throw fail(field, rule.min === 1 ? 'must not be empty' : `must have at least ${rule.min} characters`);
  if (rule.max !== undefined && trimmed.length > rule.max) throw fail(field, `must have at most ${rule.max} characters`);
  if (rule.pattern && !rule.pattern.test(trimmed)) throw fail(field, rule.patternHint ?? 'has an invalid format');
  return trimmed;
}

export function requiredString(body: Body, field: string, rule: StringRule = {}): string {
  const value = optionalString(body, field, { min: 1, ...rule });
  if (value === undefined) throw fail(field, 'is required');
  return value;
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw fail(field, 'must be true or false');
  return value;
}

export function optionalNumber(body: Body, field: string, rule: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw fail(field, 'must be a number');
  if (rule.integer && !Number.isInteger(value)) throw fail(field, 'must be a whole number');
  if (rule.min !== undefined && value < rule.min) throw fail(field, `must be at least ${rule.min}`);
  if (rule.max !== undefined && value > rule.max) throw fail(field, `must be at most ${rule.max}`);
  return value;
}

export function optionalStringArray(
  body: Body,
  field: string,
  each: (value: string, index: number) => string,
  maxItems = 100,
): string[] | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw fail(field, 'must be an array of strings');
  if (value.length > maxItems) throw fail(field, `must have at most ${maxItems} items`);
  return value.map((item, i) => {
    if (typeof item !== 'string') throw fail(`${field}[${i}]`, 'must be a string');
    try {
      return each(item, i);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw fail(`${field}[${i}]`, (error as Error).message);
    }
  });
}

/** `?limit=` of list endpoints: 1 to `max`, `fallback` when absent. */
export function limitParam(value: string | undefined, fallback = 50, max = 500): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw fail('limit', `must be a whole number from 1 to ${max}`);
  return n;
}

export { fail as invalidField };
