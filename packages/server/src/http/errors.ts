import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorBody } from '@rapport/protocol';
import { StoreUnavailableError } from '../store/store.js';

/**
 * An error that reaches the client as `{ error, details? }` with a 4xx status. Anything else
 * thrown is a bug: it is logged and answered 500 without detail.
 */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown[]) => new HttpError(400, message, details);

export function errorResponse(c: Context, error: HttpError) {
  const body: ErrorBody = { error: error.message };
  if (error.details?.length) body.details = error.details;
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  return c.json(body, error.status);
}

/** Seconds a sender is told to wait while the database is away. */
export const UNAVAILABLE_RETRY_AFTER_S = 2;

/**
 * The error as it reaches a client: itself when it is an HttpError; a 503 with Retry-After when
 * the database is away (nothing was written, so the sender keeps its messages and retries);
 * null for anything else, which is a bug.
 */
export function httpErrorOf(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreUnavailableError) {
    return new HttpError(503, 'the database is not answering; nothing was stored, retry later', undefined, {
      'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S),
    });
  }
  return null;
}
