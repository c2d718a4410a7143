import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a link in an automation email points at: a step of a run (a send), and for a click, where it goes. */
export interface MailLink {
  siteId: string;
  runId: string;
  position: string;
  /** A click link's destination. */
  url?: string;
}

/** Where the key that signs email links is kept, shared by every node of a store. */
export const MAIL_LINK_KEY = 'mail_link_key';

/**
 * The links of automation emails: the one-click unsubscribe, the open pixel and the click
 * redirect. Each names its send and is signed with a key of the server's own (kept in the store,
 * made on first use), so that no one can unsubscribe someone else, count opens that did not
 * happen, or turn the redirect into an open redirect to a place no email linked to. Not the site
 * secret: rotating that must not break the unsubscribe links of mail already sent.
 *
 * Opens and clicks go to the no-JavaScript endpoints of every site, the pixel and the redirect,
 * with the token as `m` in place of a write key and a signature, so that they record events as
 * those do; `/e/o/` and `/e/c/`, where mail sent before pointed, read the same tokens.
 *
 * @example
 * const links = new MailLinks(() => store.setMetaIfAbsent(MAIL_LINK_KEY, newKey()), () => 'https://rapport.example.com');
 * await links.url('u', { siteId, runId, position }); // 'https://rapport.example.com/e/u/eyJz....3kf9'
 * await links.url('o', { siteId, runId, position }); // 'https://rapport.example.com/v1/p.gif?m=eyJz....9Qa1'
 * await links.url('c', { siteId, runId, position, url }); // 'https://rapport.example.com/v1/r?m=eyJz....x0Tb'
 */
export class MailLinks {
  private key: Promise<string> | null = null;

  constructor(
    private readonly loadKey: () => Promise<string>,
    private readonly baseUrl: () => string,
  ) {}

  /** `u`: unsubscribe, `o`: open pixel, `c`: click redirect. */
  async url(kind: 'u' | 'o' | 'c', link: MailLink): Promise<string> {
    const payload = Buffer.from(JSON.stringify([link.siteId, link.runId, link.position, link.url ?? null])).toString('base64url');
    // base64url and a dot: nothing in the token needs escaping in a path or a query.
    const token = `${payload}.${await this.sign(kind, payload)}`;
    const base = this.publicUrl();
    if (kind === 'o') return `${base}/v1/p.gif?m=${token}`;
    if (kind === 'c') return `${base}/v1/r?m=${token}`;
    return `${base}/e/u/${token}`;
  }

  /**
   * The address people reach this server at, without a trailing slash: where every link of ours points.
   *
   * @example
   * links.publicUrl(); // 'https://rapport.example.com'
   */
  publicUrl(): string {
    return this.baseUrl().replace(/\/+$/, '');
  }

  /** The link a token names, or null when it is not one this server signed for that kind. */
  async read(kind: 'u' | 'o' | 'c', token: string): Promise<MailLink | null> {
    const dot = token.lastIndexOf('.');
    if (dot <= 0 || token.length > 8_192) return null;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(await this.sign(kind, payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const [siteId, runId, position, url] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown[];
      if (typeof siteId !== 'string' || typeof runId !== 'string' || typeof position !== 'string') return null;
      return { siteId, runId, position, ...(typeof url === 'string' ? { url } : {}) };
    } catch {
      return null;
    }
  }

  private async sign(kind: string, payload: string): Promise<string> {
    this.key ??= this.loadKey().catch((error: unknown) => {
      this.key = null;
      throw error;
    });
    return createHmac('sha256', await this.key).update(`${kind}:${payload}`).digest().subarray(0, 16).toString('base64url');
  }
}

/** A new signing key for `MAIL_LINK_KEY`. */
export const newMailLinkKey = () => randomBytes(32).toString('base64url');

/**
 * The HTML of an email with its links made trackable and an open pixel added: each `href` of an
 * `<a>` to an http(s) address goes through `click`, and the pixel through `open`, before
 * `</body>` or at the end.
 *
 * @example
 * await trackHtml('<a href="https://shop.example/cart">Cart</a>', (url) => links.url('c', { ...send, url }), pixel);
 */
export async function trackHtml(html: string, click: (url: string) => Promise<string>, openUrl: string): Promise<string> {
  const anchors = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']*)\2/gi;
  const found = [...html.matchAll(anchors)];
  const replaced = await Promise.all(found.map((m) => click(unescapeAttribute(m[3]))));
  let i = 0;
  const out = html.replace(anchors, (_all, start: string, quote: string) => `${start}${quote}${escapeAttribute(replaced[i++])}${quote}`);
  const pixel = `<img src="${escapeAttribute(openUrl)}" width="1" height="1" alt="" style="display:block;border:0">`;
  return /<\/body>/i.test(out) ? out.replace(/<\/body>/i, `${pixel}</body>`) : out + pixel;
}

const unescapeAttribute = (value: string) =>
  value.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e]!);
const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
