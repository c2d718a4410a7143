/**
 * Query-string reading for referrers and landing URLs. Written by hand rather than with
 * URLSearchParams because URLSearchParams turns malformed percent-encoding into U+FFFD, losing the
 * text; here a value that does not decode stays as it was sent.
 */

/** The most characters of a URL that any function of this package looks at. */
export const MAX_URL_LENGTH = 2048;

/** Longest campaign value or search term kept, in characters. */
export const MAX_VALUE_LENGTH = 256;

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;

/**
 * Splits a query string (with or without its leading `?`) into raw name/value pairs, names decoded,
 * values left encoded so each caller decodes only what it reads.
 */
export function queryPairs(query: string): Array<[name: string, rawValue: string]> {
  const pairs: Array<[string, string]> = [];
  const text = query.startsWith('?') ? query.slice(1) : query;
  if (text === '') return pairs;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    pairs.push([name, eq === -1 ? '' : part.slice(eq + 1)]);
  }
  return pairs;
}

/**
 * Decodes `+` and percent-encoding. Text that is not valid UTF-8 is tried in the legacy `charsets`
 * (old engines sent GB2312 or Shift_JIS keywords), then decoded run by run so that one bad sequence
 * keeps only itself raw. Never throws.
 */
export function decodeComponent(raw: string, charsets: readonly string[] = []): string {
  const text = raw.replace(/\+/g, ' ');
  if (!text.includes('%')) return text;
  // Checked before decoding rather than caught after: a thrown URIError costs microseconds, and a
  // crafted URL holds hundreds of bad runs ("%E0%E0%...").
  if (decodesAsUtf8(text)) return decodeURIComponent(text);
  for (const charset of charsets) {
    const decoded = decodeLegacy(text, charset);
    if (decoded !== null) return decoded;
  }
  return text.replace(PERCENT_RUN, (run) => (decodesAsUtf8(run) ? decodeURIComponent(run) : run));
}

/**
 * Whether `decodeURIComponent(text)` succeeds: every `%` starts an escape of two hex digits, and
 * escaped bytes form well-formed UTF-8 (Unicode's table 3-7: no overlong forms, no surrogates,
 * nothing past U+10FFFF), as ECMAScript's Decode requires.
 */
export function decodesAsUtf8(text: string): boolean {
  for (let at = text.indexOf('%'); at !== -1; at = text.indexOf('%', at)) {
    at = utf8SequenceEnd(text, at);
    if (at === -1) return false;
  }
  return true;
}

/** The index after the escaped UTF-8 sequence that starts at `at`, or -1 when it is malformed. */
function utf8SequenceEnd(text: string, at: number): number {
  const lead = escapedByte(text, at);
  if (lead === -1) return -1;
  if (lead < 0x80) return at + 3;
  let length: number;
  // The second byte's range narrows after E0, ED, F0 and F4; later bytes are any continuation byte.
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    else if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    else if (lead === 0xf4) high = 0x8f;
  } else return -1;
  let next = at + 3;
  for (let i = 1; i < length; i++, next += 3) {
    const byte = escapedByte(text, next);
    if (byte < low || byte > high) return -1;
    low = 0x80;
    high = 0xbf;
  }
  return next;
}

/** The byte of the `%XX` escape at `at`, or -1 when there is none. */
function escapedByte(text: string, at: number): number {
  if (text.charCodeAt(at) !== 0x25) return -1;
  const high = hexValue(text.charCodeAt(at + 1));
  const low = hexValue(text.charCodeAt(at + 2));
  return high === -1 || low === -1 ? -1 : high * 16 + low;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

// One decoder per charset, made once; null for a label this runtime does not know. Not fatal: a
// malformed sequence becomes U+FFFD, which decodeLegacy rejects anyway, without an exception thrown
// per value.
const decoders = new Map<string, ((bytes: Uint8Array) => string) | null>();

function decoderFor(charset: string): ((bytes: Uint8Array) => string) | null {
  let decode = decoders.get(charset);
  if (decode === undefined) {
    try {
      const decoder = new TextDecoder(charset);
      decode = (bytes) => decoder.decode(bytes);
    } catch {
      decode = null;
    }
    decoders.set(charset, decode);
  }
  return decode;
}

function decodeLegacy(text: string, charset: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      return null; // already-decoded non-ASCII text mixed in: not a legacy byte string
    }
  }
  const decode = decoderFor(charset);
  if (decode === null) return null;
  const decoded = decode(new Uint8Array(bytes));
  // U+FFFD marks bytes the charset cannot decode. ICU's EUC-JP decoder turns Shift_JIS bytes into
  // C1 controls instead; no keyword contains those, so they mean "wrong charset, try the next one".
  return /[\u0080-\u009f\ufffd]/.test(decoded) ? null : decoded;
}

/** Trims, caps at `max` characters (never splitting a surrogate pair); empty means null. */
export function cleanValue(value: string, max = MAX_VALUE_LENGTH): string | null {
  let text = value.trim();
  if (text.length > max) {
    text = text.slice(0, max);
    const last = text.charCodeAt(max - 1);
    if (last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
    text = text.trimEnd();
  }
  return text === '' ? null : text;
}
