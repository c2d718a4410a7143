import { describe, expect, it } from 'vitest';
import { FEED_LIMITS, parseFeed, type FeedRow } from './feed.js';

const row = (productId: string, fields: Partial<FeedRow> = {}): FeedRow => ({
  productId,
  sku: null,
  name: null,
  price: null,
  currency: null,
  category: null,
  url: null,
  imageUrl: null,
  available: null,
  ...fields,
});
const ids = (text: string, format: 'csv' | 'jsonl' = 'csv') => parseFeed(text, format).rows.map((r) => r.productId);

describe('CSV', () => {
  it('reads every field, with the header in any case and order and unknown columns ignored', () => {
    const text =
      'Name,PRODUCT_ID,Colour,price,currency,category,url,image_url,available,sku\n' +
      'Tent 2P,p1,green,120.50,eur,camping,https://shop.example/p1,https://cdn.example/p1.jpg,In Stock,T-2\n';
    expect(parseFeed(text, 'csv')).toEqual({
      rows: [
        row('p1', {
          name: 'Tent 2P',
          price: 120.5,
          currency: 'EUR',
          category: 'camping',
          url: 'https://shop.example/p1',
          imageUrl: 'https://cdn.example/p1.jpg',
          available: true,
          sku: 'T-2',
        }),
      ],
      errors: [],
      errorCount: 0,
    });
  });

  it('reads quoted fields: commas, doubled quotes and line breaks inside, spaces around', () => {
    const text = 'product_id,name,category\r\n"p1","Tent, ""large""",camping\r\np2,"Two\r\nlines",  "x, y"  \r\np3,plain,\r\n';
    const { rows, errors } = parseFeed(text, 'csv');
    expect(errors).toEqual([]);
    expect(rows).toEqual([row('p1', { name: 'Tent, "large"', category: 'camping' }), row('p2', { name: 'Two\r\nlines', category: 'x, y' }), row('p3', { name: 'plain' })]);
  });

  it('takes CRLF, LF and lone CR line breaks, a byte order mark, blank lines and no final break', () => {
    expect(ids('\ufeffproduct_id\r\na\r\n\r\nb\nc\rd')).toEqual(['a', 'b', 'c', 'd']);
    expect(ids('\n\nproduct_id\n  \na\n')).toEqual(['a']);
    expect(ids('product id,Name\na,x\n')).toEqual(['a']);
  });

  it('reports each bad row by the line it starts on, names the field, and keeps the rest', () => {
    const text = [
      'product_id,name,price,currency,url,image_url,available', // 1
      'ok1,Fine,10,EUR,https://shop.example/1,,yes', // 2
      '"multi","line 3', // 3
      'still the name",-1,,,,', // 4: the row of line 3, bad price
      ',No id,1,,,,', // 5
      'p6,x,1.2.3,,,,', // 6
      'p7,x,,EURO,,,', // 7
      'p8,x,,,javascript:alert(1),,', // 8
      'p9,x,,,,data:image/png;base64,AAAA', // 9
      'p10,x,,,/relative,,', // 10
      'p11,x,,,,,maybe', // 11
      'p12,x,,,https://shop.example@evil.example/,,', // 12
      `p13,${'n'.repeat(501)},,,,,`, // 13
      `${'i'.repeat(201)},x,,,,,`, // 14
      'ok15,x,0,,http://shop.example/15,HTTPS://CDN.example/15.jpg,out of stock', // 15
    ].join('\n');
    const { rows, errors, errorCount } = parseFeed(text, 'csv');
    expect(rows.map((r) => r.productId)).toEqual(['ok1', 'ok15']);
    expect(rows[1]).toMatchObject({ price: 0, available: false, imageUrl: 'https://cdn.example/15.jpg' });
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [3, 'price'],
      [5, 'product_id'],
      [6, 'price'],
      [7, 'currency'],
      [8, 'url'],
      [9, 'image_url'],
      [10, 'url'],
      [11, 'available'],
      [12, 'url'],
      [13, 'name'],
      [14, 'product_id'],
    ]);
    expect(errorCount).toBe(11);
    expect(errors[1].message).toBe('is required');
    expect(errors[4].message).toBe('must be an absolute http or https URL');
  });

  it('reports rows that are not valid CSV, and a row with more fields than the header', () => {
    const { rows, errors } = parseFeed('product_id,name\na,"x"y\nb,one,two\nc,one,,\nd,"never closed\ne,lost\n', 'csv');
    // Empty extra fields are forgiven (a trailing comma); an unclosed quote takes the rest.
    expect(rows.map((r) => r.productId)).toEqual(['c']);
    expect(errors).toEqual([
      { line: 2, message: 'a quoted field must be followed by a comma or the end of the line' },
      { line: 3, message: expect.stringMatching(/^has more fields than the header's 2 columns/) },
      { line: 5, message: expect.stringMatching(/^a quoted field is not closed/) },
    ]);
  });

  it('refuses a field longer than any value may be, quoted or not, and keeps reading', () => {
    const { rows, errors } = parseFeed(`product_id,name\na,"${'""'.repeat(6000)}"\nb,${'x'.repeat(10_001)}\nc,${'y'.repeat(500)}\n`, 'csv');
    expect(rows.map((r) => r.productId)).toEqual(['c']);
    expect(errors).toEqual([
      { line: 2, message: 'a field has more than 10000 characters' },
      { line: 3, message: 'a field has more than 10000 characters' },
    ]);
  });

  it('needs a header with product_id: else one error for line 1 and no rows', () => {
    expect(parseFeed('id,name\n1,Tent\n2,Stove\n', 'csv')).toEqual({
      rows: [],
      errors: [{ line: 1, message: expect.stringMatching(/^the header has no product_id column/) }],
      errorCount: 1,
    });
    expect(parseFeed('', 'csv').errors).toEqual([{ line: 1, message: expect.stringMatching(/^the CSV has no header row/) }]);
    expect(parseFeed('product_id,Product-ID\n1,1\n', 'csv').errors[0].message).toBe('the header names the column product_id twice');
    expect(parseFeed(`product_id${','.repeat(2000)}\n1\n`, 'csv').errors[0].message).toMatch(/more than 1000 columns/);
    expect(parseFeed('product_id,name\n', 'csv')).toEqual({ rows: [], errors: [], errorCount: 0 });
  });

  it('lets the later row win when a product comes twice', () => {
    const { rows } = parseFeed('product_id,name,price\np1,First,1\np2,Other,2\np1,Second,3\np2,Bad,-1\n', 'csv');
    expect(rows).toEqual([row('p1', { name: 'Second', price: 3 }), row('p2', { name: 'Other', price: 2 })]);
  });
});

describe('JSON lines', () => {
  it('reads one object per line, numbers as ids, blank lines skipped, later duplicate wins', () => {
    const text = [
      '{"product_id": 42, "name": " Tent ", "price": 120, "available": 1, "currency": "usd", "sku": 7}',
      '',
      '   ',
      '{"product_id": "p2", "price": "9.90", "available": "NO", "url": null, "extra": {"deep": [1]}}',
      '{"product_id": 42, "name": "Tent (new)", "available": true}',
    ].join('\r\n');
    expect(parseFeed(text, 'jsonl')).toEqual({
      rows: [row('42', { name: 'Tent (new)', available: true }), row('p2', { price: 9.9, available: false })],
      errors: [],
      errorCount: 0,
    });
  });

  it('reports lines that are not JSON objects and bad fields, by line and field', () => {
    const text = [
      '{"product_id": "ok"}', // 1
      '{"product_id": "p2", "price": -5}', // 2
      'not json', // 3
      '[1, 2]', // 4
      '{"product_id": true}', // 5
      '{"product_id": "p6", "name": {"en": "x"}}', // 6
      '{"product_id": "p7", "available": "soon"}', // 7
      '{"product_id": "p8", "price": "1e3"}', // 8
      '{"product_id": "p9", "url": "ftp://shop.example/x"}', // 9
      '{"product_id": "p\\u0000"}', // 10
      '{"__proto__": {"product_id": "x"}, "constructor": 1}', // 11
    ].join('\n');
    const { rows, errors } = parseFeed(text, 'jsonl');
    expect(rows.map((r) => r.productId)).toEqual(['ok']);
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'price'],
      [3, undefined],
      [4, undefined],
      [5, 'product_id'],
      [6, 'name'],
      [7, 'available'],
      [8, 'price'],
      [9, 'url'],
      [10, 'product_id'],
      [11, 'product_id'],
    ]);
    expect(errors[1].message).toMatch(/^is not valid JSON/);
    expect(errors[2].message).toBe('must be a JSON object');
  });

  it('reads one JSON array of objects, reporting each bad item by the line it starts on', () => {
    const text = '[\n  {"product_id": "a",\n   "name": "A, \\"quoted\\" ]}"},\n  {"product_id": "b", "price": -1},\n  7,\n  {"product_id": "c"}\n]\n';
    const { rows, errors } = parseFeed(text, 'jsonl');
    expect(rows.map((r) => [r.productId, r.name])).toEqual([
      ['a', 'A, "quoted" ]}'],
      ['c', null],
    ]);
    expect(errors).toEqual([
      { line: 4, field: 'price', message: expect.any(String) },
      { line: 5, message: 'must be a JSON object' },
    ]);
    expect(parseFeed('[]', 'jsonl')).toEqual({ rows: [], errors: [], errorCount: 0 });
  });

  it('reports a JSON array that is cut off, has empty items or text after it', () => {
    const cut = parseFeed('[{"product_id": "a"},\n{"product_id": "b"', 'jsonl');
    expect(cut.rows.map((r) => r.productId)).toEqual(['a']);
    expect(cut.errors).toEqual([{ line: 2, message: 'is not valid JSON: the array is not closed' }]);
    expect(parseFeed('[{"product_id": "a"},,\n{"product_id": "b"},]', 'jsonl').errors.map((e) => [e.line, e.message])).toEqual([
      [1, 'is not valid JSON: an empty item in the array'],
      [2, 'is not valid JSON: an empty item in the array'],
    ]);
    const after = parseFeed('[{"product_id": "a"}]\n\nxyz', 'jsonl');
    expect(after.rows).toHaveLength(1);
    expect(after.errors).toEqual([{ line: 3, message: 'is not valid JSON: text after the end of the array' }]);
  });
});

describe('bounds', () => {
  it('reads at most 100,000 rows, then stops with an error on the next row', () => {
    const lines = Array.from({ length: FEED_LIMITS.maxRows + 5 }, (_, i) => `p${i}`);
    const { rows, errors, errorCount } = parseFeed(`product_id\n${lines.join('\n')}\n`, 'csv');
    expect(rows).toHaveLength(FEED_LIMITS.maxRows);
    expect(errorCount).toBe(1);
    expect(errors[0]).toMatchObject({ line: FEED_LIMITS.maxRows + 2, message: expect.stringMatching(/more than 100000 rows/) });
  });

  it('counts bad rows towards the row limit and lists only the first errors', () => {
    const limits = { maxRows: 500, maxErrors: 100 };
    const { rows, errors, errorCount } = parseFeed('{"price": 1}\n'.repeat(1000), 'jsonl', limits);
    expect(rows).toEqual([]);
    expect(errors).toHaveLength(100);
    expect(errors[99]).toMatchObject({ line: 100, field: 'product_id' });
    expect(errorCount).toBe(501);
    const array = parseFeed(`[${'{"product_id": "x"},'.repeat(600)}{"product_id": "y"}]`, 'jsonl', limits);
    expect(array.rows).toHaveLength(1);
    expect(array.errorCount).toBe(1);
  });

  it('keeps error messages short whatever the row held', () => {
    const { errors } = parseFeed(`{"product_id": "a", ${'x'.repeat(100_000)}`, 'jsonl');
    expect(errors[0].message.length).toBeLessThanOrEqual(201);
  });

  it('takes linear time on hostile input: long quoted fields, many commas, deep nesting', () => {
    const started = performance.now();
    parseFeed(`product_id,name\n"${'""'.repeat(1_000_000)}",x\n`, 'csv');
    parseFeed(`product_id\n${','.repeat(2_000_000)}\n`, 'csv');
    parseFeed(`[${'['.repeat(1_000_000)}`, 'jsonl');
    parseFeed('\n'.repeat(2_000_000), 'jsonl');
    parseFeed(`product_id\n"${'a\n'.repeat(500_000)}`, 'csv');
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
