import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorBody } from '@rapport/protocol';

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
