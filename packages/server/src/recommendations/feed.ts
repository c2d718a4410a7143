/**
 * The product feed of `PUT /api/products`: JSON lines (or one JSON array) or CSV, read into
 * checked rows. A bad row is reported by its line and field and skipped, so that one typo does
 * not hold back a catalog of thousands. The work is one pass over the text: every loop moves
 * forward through it, and rows and errors are capped, so a request costs what its body weighs.
 */

import type { ProductFields } from '../store/recommendations.js';

/** One product as the feed says it; what it does not say is null. */
export type FeedRow = ProductFields;

export interface FeedError {
  /** 1-based physical line where the row starts (a CSV row may span several). */
  line: number;
  field?: string;
  message: string;
}

export interface ParsedFeed {
  rows: FeedRow[];
  /** The first `maxErrors` errors. */
  errors: FeedError[];
  /** Every error, also those past the cap. */
  errorCount: number;
}

export type FeedFormat = 'jsonl' | 'csv';

export interface FeedLimits {
  /** Rows read per feed, good or bad; reading stops at the next one with an error. */
  maxRows: number;
  /** Errors listed; the rest are only counted. */
  maxErrors: number;
}

export const FEED_LIMITS: FeedLimits = { maxRows: 100_000, maxErrors: 100 };

/** The fields of a feed row, as the feed names them (JSON keys, CSV columns). */
export const FEED_FIELDS = ['product_id', 'sku', 'name', 'price', 'currency', 'category', 'url', 'image_url', 'available'] as const;
type FeedField = (typeof FEED_FIELDS)[number];

/**
 * Reads a product feed. `jsonl`: one JSON object per line, blank lines skipped; a body that
 * starts with `[` is read as one JSON array of objects instead. `csv`: RFC 4180 with a header
 * row naming the columns (case-insensitive; unknown columns are ignored; `product_id` is
 * required). Bad rows are reported and skipped; the same product twice: the later row wins.
 *
 * @example
 * parseFeed('product_id,name,price\n1,Tent,120\n2,Stove,-3\n', 'csv');
 * // { rows: [{ productId: '1', name: 'Tent', price: 120, … }],
 * //   errors: [{ line: 3, field: 'price', message: 'must be a decimal number of at least 0, such as 12.50' }], errorCount: 1 }
 */
export function parseFeed(text: string, format: FeedFormat, limits: FeedLimits = FEED_LIMITS): ParsedFeed {
  const out = new Collector(limits);
  // Spreadsheet programs save CSV with a byte order mark, which would hide the first column's name.
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (format === 'csv') readCsv(text, start, out);
  else if (text.charCodeAt(skipSpace(text, start)) === 0x5b /* [ */) readJsonArray(text, start, out);
  else readJsonLines(text, start, out);
  return out.result();
}

/** A row's field value that is not acceptable; caught per row. */
class BadField extends Error {
  constructor(
    readonly field: FeedField,
    message: string,
  ) {
    super(message);
  }
}

const MAX_MESSAGE = 200;

/** Rows by product id, errors under their cap, and the row limit. */
class Collector {
  private readonly rows = new Map<string, FeedRow>();
  private readonly errors: FeedError[] = [];
  private errorCount = 0;
  private read = 0;
  /** Set when the row limit was reached: the readers stop. */
  stopped = false;

  constructor(private readonly limits: FeedLimits) {}

  /** Counts one more row starting at `line`; false (and an error) once the limit is reached. */
  take(line: number): boolean {
    if (this.stopped) return false;
    if (this.read >= this.limits.maxRows) {
      this.stopped = true;
      this.error({ line, message: `the feed has more than ${this.limits.maxRows} rows: this row and the rest were not read; send the feed in several requests` });
      return false;
    }
    this.read++;
    return true;
  }

  error(error: FeedError) {
    this.errorCount++;
    if (this.errors.length >= this.limits.maxErrors) return;
    this.errors.push(error.message.length > MAX_MESSAGE ? { ...error, message: `${error.message.slice(0, MAX_MESSAGE)}…` } : error);
  }

  /** Checks a row whose field values `get` returns, and keeps it or reports it. */
  row(line: number, get: (field: FeedField) => unknown) {
    let row: FeedRow;
    try {
      row = rowOf(get);
    } catch (error) {
      if (!(error instanceof BadField)) throw error;
      this.error({ line, field: error.field, message: error.message });
      return;
    }
    // The same product twice: the later row wins, as if the rows were applied one after the
    // other. (A later row that is bad is skipped, so an earlier good one stays.)
    this.rows.set(row.productId, row);
  }

  result(): ParsedFeed {
    return { rows: [...this.rows.values()], errors: this.errors, errorCount: this.errorCount };
  }
}

// Fields

function rowOf(get: (field: FeedField) => unknown): FeedRow {
  const productId = text(get, 'product_id', 200, true);
  if (productId === null) throw new BadField('product_id', 'is required');
  // Ids travel in URLs, logs and the console: control characters have no business there.
  if (/[\u0000-\u001f\u007f]/.test(productId)) throw new BadField('product_id', 'must not contain control characters');
  return {
    productId,
    sku: text(get, 'sku', 200, true),
    name: text(get, 'name', 500),
    price: price(get('price')),
    currency: currency(get('currency')),
    category: text(get, 'category', 200),
    url: httpUrl(get, 'url'),
    imageUrl: httpUrl(get, 'image_url'),
    available: available(get('available')),
  };
}

/** A trimmed string, null when absent or empty; numbers are taken as text where `numbers` says so (ids, SKUs). */
function text(get: (field: FeedField) => unknown, field: FeedField, max: number, numbers = false): string | null {
  let value = get(field);
  if (value === undefined || value === null) return null;
  if (numbers && typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string') throw new BadField(field, numbers ? 'must be a string or a number' : 'must be a string');
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (trimmed.length > max) throw new BadField(field, `must have at most ${max} characters`);
  return trimmed;
}

const DECIMAL = /^\d+(\.\d+)?$/;

function price(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const bad = () => new BadField('price', 'must be a decimal number of at least 0, such as 12.50');
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw bad();
    return value === 0 ? 0 : value; // not -0
  }
  // JSON feeds often carry prices as strings too; CSV always does.
  if (typeof value !== 'string') throw bad();
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (!DECIMAL.test(trimmed)) throw bad();
  const n = Number(trimmed);
  if (!Number.isFinite(n)) throw bad();
  return n;
}

function currency(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new BadField('currency', 'must be a 3-letter ISO 4217 code such as EUR');
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (!/^[A-Za-z]{3}$/.test(trimmed)) throw new BadField('currency', 'must be a 3-letter ISO 4217 code such as EUR');
  return trimmed.toUpperCase();
}

const MAX_URL = 2048;

/**
 * An absolute http(s) URL, normalized: these are shown as links and images to visitors, so
 * `javascript:`, `data:` and relative URLs are refused, and so are user names in them, which
 * only serve to disguise the host (`https://shop.example@evil.example/`).
 */
function httpUrl(get: (field: FeedField) => unknown, field: 'url' | 'image_url'): string | null {
  const value = text(get, field, MAX_URL);
  if (value === null) return null;
  const bad = (why: string) => new BadField(field, why);
  // Checked on the text too: the URL parser would read `http:shop.example` as absolute.
  if (!/^https?:\/\//i.test(value)) throw bad('must be an absolute http or https URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('must be an absolute http or https URL');
  if (url.username || url.password) throw bad('must not contain a user name or password');
  if (url.href.length > MAX_URL) throw bad(`must have at most ${MAX_URL} characters`);
  return url.href;
}

const AVAILABLE = new Map<string, boolean>([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['in stock', true],
  ['in_stock', true],
  ['false', false],
  ['0', false],
  ['no', false],
  ['out of stock', false],
  ['out_of_stock', false],
]);

function available(value: unknown): boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  const said = typeof value === 'string' ? value.trim().toLowerCase().replace(/\s+/g, ' ') : undefined;
  if (said === '') return null;
  const known = said === undefined ? undefined : AVAILABLE.get(said);
  if (known === undefined) throw new BadField('available', 'must be true, false, 1, 0, yes, no, in stock or out of stock');
  return known;
}

// Lines

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** The index after the line break at `i` (CRLF, LF or a lone CR), or `i` when there is none. */
function afterBreak(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === LF) return i + 1;
  if (c === CR) return s.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
  return i;
}

/** The line breaks in `s` from `from` to `to`, counted as `afterBreak` does. */
function breaksIn(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === LF || (c === CR && s.charCodeAt(i + 1) !== LF)) n++;
  }
  return n;
}

/** JSON's whitespace: space, tab, LF, CR. */
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === LF || c === CR;

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Field values of a parsed JSON object: own keys only, so `__proto__` and friends are nothing. */
const fieldsOf = (object: Record<string, unknown>) => (field: FeedField) => (Object.hasOwn(object, field) ? object[field] : undefined);

function jsonItem(source: string, line: number, out: Collector) {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    out.error({ line, message: `is not valid JSON: ${(error as Error).message}` });
    return;
  }
  if (!isObject(value)) out.error({ line, message: 'must be a JSON object' });
  else out.row(line, fieldsOf(value));
}

// JSON lines

function readJsonLines(text: string, start: number, out: Collector) {
  let line = 1;
  for (let i = start; i < text.length && !out.stopped; line++) {
    let end = i;
    while (end < text.length && text.charCodeAt(end) !== LF && text.charCodeAt(end) !== CR) end++;
    const source = text.slice(i, end);
    if (source.trim() !== '' && out.take(line)) jsonItem(source, line, out);
    i = afterBreak(text, end);
    if (i === end) break;
  }
}

// One JSON array

/**
 * A JSON array of objects, each item parsed on its own so that a bad one is reported by the
 * line it starts on and the rest are kept. A scan finds where items start and end: strings are
 * skipped whole, brackets of either kind counted; whether an item is valid JSON is for
 * `JSON.parse` to say.
 */
function readJsonArray(text: string, start: number, out: Collector) {
  let i = skipSpace(text, start);
  let line = 1 + breaksIn(text, start, i);
  let depth = 0;
  let item = -1;
  let itemLine = 0;
  let afterComma = false;
  const flush = (at: number) => {
    if (out.take(itemLine)) jsonItem(text.slice(item, at), itemLine, out);
    item = -1;
  };
  const empty = () => out.error({ line, message: 'is not valid JSON: an empty item in the array' });
  for (; i < text.length && !out.stopped; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) {
      line++;
      continue;
    }
    if (depth === 1 && item < 0 && c !== COMMA && c !== 0x5d /* ] */ && !isSpace(c)) {
      item = i;
      itemLine = line;
    }
    if (c === QUOTE) {
      // A string: to its closing quote, past escaped ones. A raw line break ends it too (JSON
      // forbids them), so that lines are still counted and the item fails to parse.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === LF || s === CR) break;
        if (s === QUOTE) break;
        if (s === 0x5c /* \ */ && text.charCodeAt(i + 1) !== LF && text.charCodeAt(i + 1) !== CR) i++;
      }
      if (text.charCodeAt(i) !== QUOTE) i--;
    } else if (c === 0x5b || c === 0x7b /* [ { */) {
      depth++;
    } else if (c === 0x5d || c === 0x7d /* ] } */) {
      if (depth === 1) {
        if (item >= 0) flush(i);
        else if (afterComma) empty();
        depth = 0;
        break;
      }
      depth--;
    } else if (c === COMMA && depth === 1) {
      if (item >= 0) flush(i);
      else empty();
      afterComma = true;
    }
  }
  if (out.stopped) return;
  if (depth > 0) {
    // A cut-off upload: what was complete is kept, the unfinished item is this error.
    out.error({ line: item >= 0 ? itemLine : line, message: 'is not valid JSON: the array is not closed' });
    return;
  }
  const rest = skipSpace(text, i + 1);
  if (rest < text.length) out.error({ line: line + breaksIn(text, i + 1, rest), message: 'is not valid JSON: text after the end of the array' });
}

// CSV

/** Columns a header may have: a row of 10 million commas is not a header. */
const MAX_COLUMNS = 1000;
/** Characters of one CSV field, spaces and doubled quotes included: well past the longest value (a URL). */
const MAX_FIELD = 10_000;

interface CsvRecord {
  line: number;
  fields: string[];
  /** Fields past `maxFields` that were not empty. */
  extra: boolean;
  error?: string;
}

/** RFC 4180 records, one at a time: quoted fields may hold commas, doubled quotes and line breaks. */
class CsvReader {
  private i: number;
  private line = 1;

  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.i = start;
  }

  /** The next record, or null at the end; at most `maxFields` fields are kept. */
  next(maxFields: number): CsvRecord | null {
    const { text } = this;
    if (this.i >= text.length) return null;
    const record: CsvRecord = { line: this.line, fields: [], extra: false };
    for (;;) {
      // Spaces around a quoted field are forgiven: `1, "Tent, large", 120` is what people type.
      const quote = skipBlanks(text, this.i);
      const value = text.charCodeAt(quote) === QUOTE ? this.quoted(record, quote) : this.unquoted(record);
      if (record.fields.length < maxFields) record.fields.push(value);
      else if (value.trim() !== '') record.extra = true;
      if (this.i >= text.length) return record;
      if (text.charCodeAt(this.i) === COMMA) {
        this.i++;
        continue;
      }
      this.i = afterBreak(text, this.i);
      this.line++;
      return record;
    }
  }

  private unquoted(record: CsvRecord): string {
    const { text } = this;
    const from = this.i;
    let i = from;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === COMMA || c === LF || c === CR) break;
    }
    this.i = i;
    return this.cut(record, from, i);
  }

  /**
   * The text of a field, or '' and an error past MAX_FIELD: no field may be that long, and
   * unescaping megabytes of doubled quotes only to refuse them would cost seconds.
   */
  private cut(record: CsvRecord, from: number, to: number): string {
    if (to - from <= MAX_FIELD) return this.text.slice(from, to);
    record.error ??= `a field has more than ${MAX_FIELD} characters`;
    return '';
  }

  private quoted(record: CsvRecord, quote: number): string {
    const { text } = this;
    const from = quote + 1;
    let close = text.indexOf('"', from);
    let doubled = false;
    // Past doubled quotes to the closing one; the field is cut out once, not built piece by piece.
    while (close >= 0 && text.charCodeAt(close + 1) === QUOTE) {
      doubled = true;
      close = text.indexOf('"', close + 2);
    }
    if (close < 0) {
      // Nothing closes it: the rest of the text is this field, and this record is bad.
      record.error ??= 'a quoted field is not closed: the rest of the feed was read as this field';
      this.line += breaksIn(text, from, text.length);
      this.i = text.length;
      return text.slice(from);
    }
    this.line += breaksIn(text, from, close);
    let value = this.cut(record, from, close);
    if (doubled) value = value.replaceAll('""', '"');
    this.i = skipBlanks(text, close + 1);
    const c = text.charCodeAt(this.i);
    if (this.i < text.length && c !== COMMA && c !== LF && c !== CR) {
      record.error ??= 'a quoted field must be followed by a comma or the end of the line';
      value += this.unquoted(record);
    }
    return value;
  }
}

/** Past spaces and tabs. */
function skipBlanks(s: string, i: number): number {
  while (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09) i++;
  return i;
}

const blank = (record: CsvRecord) => !record.error && record.fields.length === 1 && record.fields[0].trim() === '';

/** `Product ID`, `product-id` and `PRODUCT_ID` all name `product_id`. */
const columnName = (name: string) => name.trim().toLowerCase().replace(/[\s-]+/g, '_');

function readCsv(text: string, start: number, out: Collector) {
  const reader = new CsvReader(text, start);
  let header = reader.next(MAX_COLUMNS + 1);
  while (header && blank(header)) header = reader.next(MAX_COLUMNS + 1);
  if (!header) {
    out.error({ line: 1, message: 'the CSV has no header row: its first line must name the columns, product_id among them' });
    return;
  }
  const columns = new Map<FeedField, number>();
  const problem = headerProblem(header, columns);
  if (problem) {
    out.error({ line: header.line, message: problem });
    return;
  }
  const width = header.fields.length;
  for (let record = reader.next(width); record && !out.stopped; record = reader.next(width)) {
    if (blank(record)) continue;
    if (!out.take(record.line)) break;
    if (record.error) out.error({ line: record.line, message: record.error });
    else if (record.extra) out.error({ line: record.line, message: `has more fields than the header's ${width} columns (a comma in a value that is not quoted?)` });
    else {
      const fields = record.fields;
      out.row(record.line, (field) => {
        const at = columns.get(field);
        return at === undefined ? undefined : fields[at];
      });
    }
  }
}

/** Why the header cannot be used, or null; fills `columns` with where each known field is. */
function headerProblem(header: CsvRecord, columns: Map<FeedField, number>): string | null {
  if (header.error) return `the header row is not valid CSV: ${header.error}`;
  if (header.fields.length > MAX_COLUMNS || header.extra) return `the header has more than ${MAX_COLUMNS} columns`;
  for (const [at, raw] of header.fields.entries()) {
    const name = columnName(raw) as FeedField;
    if (!(FEED_FIELDS as readonly string[]).includes(name)) continue;
    if (columns.has(name)) return `the header names the column ${name} twice`;
    columns.set(name, at);
  }
  if (!columns.has('product_id')) return `the header has no product_id column (it names the columns: ${FEED_FIELDS.join(', ')})`;
  return null;
}
