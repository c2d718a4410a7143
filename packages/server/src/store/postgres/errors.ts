import { StoreUnavailableError } from '../store.js';

/**
 * What a failure of PostgreSQL means to the store: `unavailable` (the server cannot be reached,
 * is shutting down or starting, or did not answer in time: nothing was written, the caller may
 * try again later), `retry` (a conflict with a concurrent transaction that a fresh run of the
 * same work resolves), or `other` (a bug or bad data, surfaced as it is).
 */
export type ErrorClass = 'unavailable' | 'retry' | 'other';

/** Node's socket errors that mean the server is away. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is away or overloaded: 57P01 admin_shutdown, 57P02 crash_shutdown,
 * 57P03 cannot_connect_now, 53300 too_many_connections, 57014 query_canceled (our
 * statement_timeout: the server did not finish in time, which the caller sees as a busy
 * server), and class 08 (connection exceptions).
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

/** Messages of node-postgres itself when a connection is lost, refused or too slow. */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection timeout/i,
  /query read timeout/i,
  /not queryable/i,
  /connection error/i,
  /terminating connection/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

/**
 * SQLSTATEs that a fresh attempt resolves: 40P01 deadlock_detected, 40001 serialization_failure,
 * 23505 unique_violation (a dedupe key that a concurrent writer committed first; the retry's
 * dedupe read then finds it).
 */
const RETRY_STATES = new Set(['40P01', '40001', '23505']);

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

export function classify(error: unknown): ErrorClass {
  if (error instanceof StoreUnavailableError) return 'unavailable';
  if (error instanceof StaleReadError) return 'retry';
  const code = codeOf(error);
  if (typeof code === 'string') {
    if (RETRY_STATES.has(code)) return 'retry';
    if (UNAVAILABLE_STATES.has(code) || code.startsWith('08') || SOCKET_CODES.has(code)) return 'unavailable';
  }
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return 'unavailable';
  // An AggregateError (several addresses refused) carries its causes.
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => classify(e) === 'unavailable')) return 'unavailable';
  return 'other';
}

/** True for a failure that means the connection it happened on must not be used again. */
export const isConnectionError = (error: unknown) => classify(error) === 'unavailable' && !(error instanceof StoreUnavailableError);

/** The error to throw: a `StoreUnavailableError` for an unreachable server, else the error itself. */
export function storeError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (classify(error) === 'unavailable') {
    return new StoreUnavailableError(`PostgreSQL is unavailable: ${(error as Error)?.message ?? String(error)}`, error);
  }
  return error;
}

/** True when `error` is PostgreSQL's answer with this SQLSTATE (and, if given, on this constraint). */
export function isState(error: unknown, code: string, constraint?: string): boolean {
  return codeOf(error) === code && (constraint === undefined || (error as { constraint?: string }).constraint === constraint);
}

/**
 * An ingest transaction read something that a concurrent one changed before it could lock it (a
 * profile merged away or erased after its identity was read): the work starts again.
 */
export class StaleReadError extends Error {
  constructor(message = 'a profile changed under the transaction') {
    super(message);
  }
}
