import type { IncomingMessage } from 'node:http';
import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Context } from 'hono';
import { HttpError } from './errors.js';

/**
 * Content types a collect or decide body may come with, whose body must still be JSON: beacons
 * send text/plain, and RudderStack's Node SDK labels its JSON as a form.
 */
const ACCEPTED_TYPES = new Set(['application/json', 'text/plain', 'application/x-www-form-urlencoded', '']);
// One decoder for every request: a call without `stream` starts from a clean state.
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface JsonBody {
  value: unknown;
  bytes: number;
}

/**
 * Reads a JSON request body of at most `limit` bytes: 413 past it (checked on Content-Length
 * before reading, and while streaming for bodies that lie about it), 415 for a content type that
 * is not JSON or text, 400 for an empty body, bytes that are not UTF-8, or text that is not JSON.
 * A gzip or deflate body (`Content-Encoding`) is inflated first, and the limit holds for what it
 * inflates to: inflating stops at the limit, so a zip bomb costs no more than a plain body.
 */
export async function readJsonBody(c: Context, limit: number): Promise<JsonBody> {
  const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!ACCEPTED_TYPES.has(type)) {
    throw new HttpError(415, `content type ${type} is not accepted: send application/json or text/plain`);
  }
  const { text, bytes } = await readTextBody(c, limit, 'a JSON object');
  try {
    return { value: JSON.parse(text), bytes };
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a request body of at most `limit` bytes as UTF-8 text, whatever its content type (the
 * caller judges that): 413 past the limit (on Content-Length before reading, and while
 * streaming), 415 for an unknown `Content-Encoding`, 400 for an empty body (`what` says what to
 * send instead) or bytes that are not UTF-8. gzip and deflate are inflated within the limit.
 *
 * @example
 * const { text } = await readTextBody(c, 20 * 1024 * 1024, 'the feed');
 */
export async function readTextBody(c: Context, limit: number, what: string): Promise<{ text: string; bytes: number }> {
  // An empty header is no encoding, as a missing one is.
  const encoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase() || 'identity';
  if (!INFLATE.has(encoding)) {
    throw new HttpError(415, `content encoding ${encoding} is not accepted: send gzip, deflate or none`);
  }
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  // On Node, read the request itself: going through the web Request that the adapter would build
  // for `c.req.raw.body` costs more than the rest of reading and parsing a batch.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const sent = incoming && !incoming.readableEnded ? await readNodeLimited(incoming, limit) : await readLimited(c.req.raw, limit);
  const bytes = sent.length ? inflated(sent, encoding, limit) : sent;
  if (bytes.length === 0) throw new HttpError(400, `the body is empty: send ${what}`);
  try {
    return { text: utf8.decode(bytes), bytes: bytes.length };
  } catch {
    throw new HttpError(400, 'the body is not valid UTF-8');
  }
}

/** A request whose client closed the connection before its body was complete; nobody reads the answer. */
export class ClientClosed extends HttpError {
  constructor() {
    super(400, 'the client closed the connection before the body was complete');
  }
}

const INFLATE = new Map<string, ((bytes: Uint8Array, limit: number) => Uint8Array) | null>([
  ['identity', null],
  ['gzip', (bytes, limit) => gunzipSync(bytes, { maxOutputLength: limit })],
  ['x-gzip', (bytes, limit) => gunzipSync(bytes, { maxOutputLength: limit })],
  // HTTP's deflate is zlib-wrapped, but some clients send raw deflate under that name.
  ['deflate', (bytes, limit) => (zlibWrapped(bytes) ? inflateSync : inflateRawSync)(bytes, { maxOutputLength: limit })],
]);

/** A zlib header (RFC 1950): method 8 in the low nibble, and the two bytes a multiple of 31. */
const zlibWrapped = (bytes: Uint8Array) => bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;

function inflated(bytes: Uint8Array, encoding: string, limit: number): Uint8Array {
  const inflate = INFLATE.get(encoding);
  if (!inflate) return bytes;
  try {
    return inflate(bytes, limit);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new HttpError(400, `the body is not valid ${encoding} data`);
  }
}

// The rest of an oversized body is never read, so the connection cannot carry another request.
const tooLarge = (limit: number) =>
  new HttpError(413, `the body is larger than the limit of ${limit >= 1024 * 1024 ? `${Math.round(limit / 1024 / 1024)} MB` : `${Math.round(limit / 1024)} KB`}`, undefined, {
    Connection: 'close',
  });

async function readNodeLimited(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  // Leaving the loop early must not destroy the request: that would take the socket, and the
  // 413 with it.
  try {
    for await (const chunk of incoming.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        // Stop reading; the 413 closes the connection (see tooLarge).
        incoming.pause();
        throw tooLarge(limit);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away mid-upload (a closed tab, a dropped network): ordinary, not a crash.
    throw new ClientClosed();
  }
  if (incoming.aborted) throw new ClientClosed();
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
