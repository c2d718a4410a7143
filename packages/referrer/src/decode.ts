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
  try {
    return decodeURIComponent(text);
  } catch {
    // not UTF-8: fall through
  }
  for (const charset of charsets) {
    const decoded = decodeLegacy(text, charset);
    if (decoded !== null) return decoded;
  }
  return text.replace(PERCENT_RUN, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
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
  let decoded: string;
  try {
    decoded = new TextDecoder(charset, { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
  // ICU's EUC-JP decoder turns Shift_JIS bytes into C1 controls instead of failing; no keyword
  // contains those, so they mean "wrong charset, try the next one".
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
