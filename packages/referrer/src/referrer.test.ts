import { describe, expect, it } from 'vitest';
import { knownReferrers } from './known-referrers.js';
import { parseReferrer, type Medium, type Referral } from './index.js';
import { AI_ASSISTANTS, EMAIL_PROVIDERS, SEARCH_ENGINES, SOCIAL_NETWORKS } from './referrers.generated.js';

type Row = [referrer: string | undefined | null, medium: Medium, source: string | null, term: string | null];

// Real referrer URLs, in the forms browsers and apps send them. No page URL: the referrer decides.
const REFERRERS: Row[] = [
  // Google, across ccTLDs, with and without a keyword.
  ['https://www.google.com/', 'search', 'Google', null],
  ['https://www.google.com/search?q=running+shoes&oq=running+shoes&sourceid=chrome&ie=UTF-8', 'search', 'Google', 'running shoes'],
  ['https://www.google.co.uk/search?q=tea%20pots', 'search', 'Google', 'tea pots'],
  ['https://www.google.de/search?q=wanderschuhe&hl=de', 'search', 'Google', 'wanderschuhe'],
  ['https://www.google.fr/', 'search', 'Google', null],
  ['https://www.google.co.jp/search?q=%E6%9D%B1%E4%BA%AC', 'search', 'Google', '東京'],
  ['https://www.google.com.au/search?q=surf', 'search', 'Google', 'surf'],
  ['https://www.google.com.br/url?sa=t&rct=j&q=&esrc=s&source=web&cd=1&url=https%3A%2F%2Fshop.example%2F', 'search', 'Google', null],
  ['https://www.google.es/url?q=https://shop.example/offer&sa=U&ved=0ahUKE', 'search', 'Google', null],
  ['https://google.ca/search?q=maple', 'search', 'Google', 'maple'],
  ['https://www.google.co.in/search?q=cricket+bat', 'search', 'Google', 'cricket bat'],
  ['https://encrypted.google.com/search?q=secure', 'search', 'Google', 'secure'],
  ['https://www.google.com/search?hl=en&q=&btnG=Search', 'search', 'Google', null],
  ['https://images.google.com/', 'search', 'Google Images', null],
  ['https://www.google.de/imgres?imgurl=https://x.example/a.jpg&q=katze', 'search', 'Google Images', 'katze'],
  ['https://news.google.com/', 'search', 'Google News', null],
  ['https://news.google.com/search?q=election', 'search', 'Google News', 'election'],
  ['https://cse.google.com/cse?cx=abc&q=manual', 'search', 'Google Custom Search', 'manual'],
  ['https://www.google.com/cse?cx=123&q=gloves', 'search', 'Google Custom Search', 'gloves'],
  ['https://scholar.google.de/scholar?q=referrer+spam', 'search', 'Google Scholar', 'referrer spam'],
  ['android-app://com.google.android.googlequicksearchbox', 'search', 'Google', null],
  ['android-app://com.google.android.googlequicksearchbox/https/www.google.com', 'search', 'Google', null],
  // Bing and its cache host.
  ['https://www.bing.com/search?q=hello%20world&form=QBLH', 'search', 'Bing', 'hello world'],
  ['https://www.bing.com/', 'search', 'Bing', null],
  ['https://cn.bing.com/search?q=%E4%BD%A0%E5%A5%BD', 'search', 'Bing', '你好'],
  ['http://cc.bingj.com/cache.aspx?q=cached+page&d=4504&w=e2a', 'search', 'Bing', 'cached page'],
  ['https://www.bing.com/images/search?q=sunset&form=HDRSC2', 'search', 'Bing Images', 'sunset'],
  // Yahoo!, country subdomains, Yahoo! Japan.
  ['https://search.yahoo.com/search?p=garden+hose&fr=yfp-t', 'search', 'Yahoo!', 'garden hose'],
  ['https://fr.search.yahoo.com/search?p=voiture+occasion', 'search', 'Yahoo!', 'voiture occasion'],
  ['https://uk.search.yahoo.com/', 'search', 'Yahoo!', null],
  ['https://r.search.yahoo.com/_ylt=AwrE1x/RV=2/RE=1700000000/RO=10/RU=https%3a%2f%2fshop.example%2f/RK=2/RS=x-', 'search', 'Yahoo!', null],
  ['https://search.yahoo.co.jp/search?p=%E3%83%A9%E3%83%BC%E3%83%A1%E3%83%B3', 'search', 'Yahoo! Japan', 'ラーメン'],
  // Yandex: `text`, several domains.
  ['https://yandex.ru/search/?text=%D0%BC%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&lr=213', 'search', 'Yandex', 'москва'],
  ['https://yandex.com.tr/search/?text=istanbul', 'search', 'Yandex', 'istanbul'],
  ['https://yandex.kz/', 'search', 'Yandex', null],
  ['https://ya.ru/search/?text=weather', 'search', 'Yandex', 'weather'],
  // Baidu: `wd`, `word`, and GB2312 from old pages.
  ['https://www.baidu.com/s?ie=utf-8&wd=%E5%8C%97%E4%BA%AC', 'search', 'Baidu', '北京'],
  ['https://m.baidu.com/s?word=%E4%B8%8A%E6%B5%B7', 'search', 'Baidu', '上海'],
  ['http://www.baidu.com/s?wd=%B1%B1%BE%A9', 'search', 'Baidu', '北京'],
  ['https://www.baidu.com/link?url=abc', 'unknown', 'baidu.com', null],
  // Privacy and alternative engines.
  ['https://duckduckgo.com/', 'search', 'DuckDuckGo', null],
  ['https://html.duckduckgo.com/html/?q=privacy+tools', 'search', 'DuckDuckGo', 'privacy tools'],
  ['https://lite.duckduckgo.com/lite/', 'search', 'DuckDuckGo', null],
  ['https://www.ecosia.org/search?method=index&q=trees', 'search', 'Ecosia', 'trees'],
  ['https://www.ecosia.org/', 'search', 'Ecosia', null],
  ['https://www.qwant.com/?q=paris&t=web', 'search', 'Qwant', 'paris'],
  ['https://search.brave.com/search?q=brave+browser&source=web', 'search', 'Brave Search', 'brave browser'],
  ['https://search.brave.com/', 'search', 'Brave Search', null],
  ['https://www.startpage.com/sp/search', 'search', 'StartPage', null],
  ['https://www.startpage.com/do/search?query=lamp', 'search', 'StartPage', 'lamp'],
  ['https://kagi.com/search?q=keyboards', 'search', 'Kagi', 'keyboards'],
  ['https://www.mojeek.com/search?q=independent', 'search', 'Mojeek', 'independent'],
  // Regional engines.
  ['https://search.naver.com/search.naver?where=nexearch&query=%EC%84%9C%EC%9A%B8', 'search', 'Naver', '서울'],
  ['https://m.search.naver.com/search.naver?query=kimchi', 'search', 'Naver', 'kimchi'],
  ['https://search.seznam.cz/?q=praha', 'search', 'Seznam', 'praha'],
  ['https://www.sogou.com/web?query=%E6%89%8B%E6%9C%BA', 'search', 'Sogou', '手机'],
  ['https://search.daum.net/search?w=tot&q=kakao', 'search', 'Daum', 'kakao'],
  ['https://coccoc.com/search?query=pho', 'search', 'Cốc Cốc', 'pho'],
  ['https://www.so.com/s?q=360', 'search', '360search', '360'],
  ['https://www.ask.com/web?q=how+to+knit', 'search', 'Ask', 'how to knit'],
  ['https://search.aol.com/aol/search?q=weather+today', 'search', 'AOL', 'weather today'],
  ['https://suche.t-online.de/fast-cgi/tsc?q=urlaub', 'search', 'T-Online', 'urlaub'],
  ['https://go.mail.ru/search?q=dacha', 'search', 'Mailru', 'dacha'],
  // Engines that put the keyword in the path (regexes in the data).
  ['http://www.1.cz/s/hello/', 'search', '1.cz', 'hello'],
  ['https://www.lookany.com/search/red+shoes', 'search', 'LookAny', 'red shoes'],
  ['http://blekko.com/ws/some+thing', 'search', 'blekko', 'some thing'],
  ['http://scour.com/search/web/solar%20panels', 'search', 'Scour.com', 'solar panels'],
  ['http://search.seesaa.jp/%E7%8C%AB/index.html', 'search', 'SeeSaa', '猫'],
  // Social networks, their link shims, mobile hosts and country domains.
  ['https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example%2F&h=AT0', 'social', 'Facebook', null],
  ['https://lm.facebook.com/', 'social', 'Facebook', null],
  ['https://m.facebook.com/', 'social', 'Facebook', null],
  ['https://www.facebook.com/', 'social', 'Facebook', null],
  ['https://t.co/Ab12Cd34', 'social', 'Twitter', null],
  ['https://x.com/', 'social', 'Twitter', null],
  ['https://twitter.com/someone/status/1', 'social', 'Twitter', null],
  ['https://www.linkedin.com/feed/', 'social', 'LinkedIn', null],
  ['https://lnkd.in/eXaMpLe', 'social', 'LinkedIn', null],
  ['https://www.reddit.com/r/running/comments/abc/', 'social', 'Reddit', null],
  ['https://old.reddit.com/', 'social', 'Reddit', null],
  ['https://out.reddit.com/t3_abc?url=https%3A%2F%2Fshop.example', 'social', 'Reddit', null],
  ['https://news.ycombinator.com/item?id=38000000', 'social', 'Hacker News', null],
  ['https://www.instagram.com/', 'social', 'Instagram', null],
  ['https://l.instagram.com/?u=https%3A%2F%2Fshop.example', 'social', 'Instagram', null],
  ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', 'social', 'YouTube', null],
  ['https://m.youtube.com/', 'social', 'YouTube', null],
  ['https://www.pinterest.de/', 'social', 'Pinterest', null],
  ['https://www.pinterest.co.uk/pin/123/', 'social', 'Pinterest', null],
  ['https://www.tiktok.com/', 'social', 'TikTok', null],
  ['https://bsky.app/profile/someone.bsky.social', 'social', 'Bluesky', null],
  ['https://mastodon.social/@someone/1', 'social', 'Mastodon', null],
  ['https://www.threads.net/@someone', 'social', 'Threads', null],
  ['https://t.me/somechannel', 'social', 'Telegram', null],
  ['https://vk.com/', 'social', 'Vkontakte', null],
  ['https://weibo.com/u/1', 'social', 'Weibo', null],
  ['https://www.xing.com/', 'social', 'XING', null],
  ['https://someone.tumblr.com/post/1', 'social', 'Tumblr', null],
  ['https://www.twitch.tv/somechannel', 'social', 'Twitch', null],
  ['https://www.producthunt.com/posts/x', 'social', 'Product Hunt', null],
  ['https://someone.substack.com/p/post', 'social', 'Substack', null],
  ['https://de.linkedin.com/in/someone', 'social', 'LinkedIn', null],
  ['android-app://com.linkedin.android', 'social', 'LinkedIn', null],
  ['android-app://org.telegram.messenger', 'social', 'Telegram', null],
  // Webmail.
  ['https://mail.google.com/', 'email', 'Gmail', null],
  ['https://mail.google.com/mail/u/0/', 'email', 'Gmail', null],
  ['https://outlook.live.com/mail/0/inbox', 'email', 'Outlook.com', null],
  ['https://outlook.office.com/', 'email', 'Outlook.com', null],
  ['https://mail.yahoo.com/d/folders/1', 'email', 'Yahoo! Mail', null],
  ['https://mail.proton.me/u/0/inbox', 'email', 'Proton Mail', null],
  ['https://www.icloud.com/mail/', 'email', 'iCloud Mail', null],
  ['https://e.mail.ru/inbox/', 'email', 'Mail.ru', null],
  ['android-app://com.google.android.gm', 'email', 'Gmail', null],
  // AI assistants: no medium of their own, their name as source.
  ['https://chatgpt.com/', 'unknown', 'ChatGPT', null],
  ['https://www.perplexity.ai/search/abc', 'unknown', 'Perplexity', null],
  ['https://gemini.google.com/app', 'unknown', 'Gemini', null],
  ['https://x.com/i/grok?conversation=1', 'unknown', 'Grok', null],
  ['https://claude.ai/', 'unknown', 'Claude', null],
  // Ordinary websites.
  ['https://blog.example.org/2024/05/best-shoes', 'unknown', 'blog.example.org', null],
  ['https://www.example.com/', 'unknown', 'example.com', null],
  ['https://docs.google.com/document/d/1abc/edit', 'unknown', 'docs.google.com', null],
  ['https://www.cnn.com/2024/world', 'unknown', 'cnn.com', null],
  ['android-app://com.slack', 'unknown', 'com.slack', null],
  // Direct and garbage.
  [undefined, 'direct', null, null],
  [null, 'direct', null, null],
  ['', 'direct', null, null],
  ['   ', 'direct', null, null],
  ['not a url', 'unknown', null, null],
  ['javascript:alert(1)', 'unknown', null, null],
  ['data:text/html,<script>alert(1)</script>', 'unknown', null, null],
  ['ftp://ftp.example.org/file', 'unknown', null, null],
  ['http://[::1]/', 'unknown', null, null],
  ['http://192.168.0.1/?q=x', 'unknown', null, null],
  ['http://8.8.8.8/search?q=x', 'unknown', null, null],
  ['https://', 'unknown', null, null],
  ['http://exa mple.com/', 'unknown', null, null],
  ['www.google.com/search?q=no+scheme', 'search', 'Google', 'no scheme'],
];

describe('parseReferrer: real referrers', () => {
  it('has a broad table', () => {
    expect(REFERRERS.length).toBeGreaterThanOrEqual(80);
  });

  it.each(REFERRERS)('%s → %s %s %s', (referrer, medium, source, term) => {
    expect(parseReferrer(referrer)).toEqual({ medium, source, term });
  });
});

describe('parseReferrer: keyword decoding', () => {
  const termOf = (query: string) => parseReferrer(`https://www.google.com/search?q=${query}`).term;

  it('decodes +, %20 and UTF-8', () => {
    expect(termOf('red+running+shoes')).toBe('red running shoes');
    expect(termOf('red%20shoes')).toBe('red shoes');
    expect(termOf('%E5%8C%97%E4%BA%AC')).toBe('北京');
    expect(termOf('caf%C3%A9+cr%C3%A8me')).toBe('café crème');
    expect(termOf('%2B1%20%26%20more')).toBe('+1 & more');
  });

  it('keeps malformed encoding as sent instead of throwing or inventing characters', () => {
    expect(termOf('%E0%A4%A')).toBe('%E0%A4%A');
    expect(termOf('100%')).toBe('100%');
    expect(termOf('caf%C3%A9+%E0%A4%A')).toBe('café %E0%A4%A');
    expect(termOf('%ZZ')).toBe('%ZZ');
  });

  it('trims, collapses whitespace, and treats empty as no keyword', () => {
    expect(termOf('++shoes++')).toBe('shoes');
    expect(termOf('red%09%0A+shoes')).toBe('red shoes');
    expect(termOf('+++')).toBeNull();
    expect(termOf('')).toBeNull();
  });

  it('takes the first non-empty value, across repeats and across the names an engine uses', () => {
    expect(parseReferrer('https://www.google.com/search?q=&q=second').term).toBe('second');
    // Baidu lists wd before word: wd wins when both are there, word when wd is empty.
    expect(parseReferrer('https://www.baidu.com/s?word=b&wd=a').term).toBe('a');
    expect(parseReferrer('https://www.baidu.com/s?wd=&word=b').term).toBe('b');
    expect(parseReferrer('https://search.aol.com/aol/search?q=second&query=first').term).toBe('first');
  });

  it('reads parameter names case-sensitively, as the engines define them', () => {
    expect(parseReferrer('https://www.google.com/search?Q=upper').term).toBeNull();
    expect(parseReferrer('https://www.bing.com/search?Q=upper').term).toBe('upper');
  });

  it('caps terms at 256 characters', () => {
    const term = parseReferrer(`https://www.bing.com/search?q=${'ab'.repeat(500)}`).term;
    expect(term).toHaveLength(256);
  });
});

describe('parseReferrer: internal referrers', () => {
  it('is internal when the referrer host is the page host, ignoring www.', () => {
    expect(parseReferrer('https://shop.example/cart', 'https://shop.example/checkout')).toEqual({ medium: 'internal', source: 'shop.example', term: null });
    expect(parseReferrer('https://www.shop.example/', 'https://shop.example/p')).toMatchObject({ medium: 'internal' });
    expect(parseReferrer('https://shop.example/', 'https://www.shop.example/p')).toMatchObject({ medium: 'internal' });
    expect(parseReferrer('http://SHOP.example./', 'https://shop.example/p')).toMatchObject({ medium: 'internal' });
  });

  it('is not internal for another subdomain unless listed', () => {
    expect(parseReferrer('https://blog.shop.example/', 'https://shop.example/')).toEqual({ medium: 'unknown', source: 'blog.shop.example', term: null });
    expect(parseReferrer('https://blog.shop.example/', 'https://shop.example/', { internalHosts: ['blog.shop.example'] })).toMatchObject({ medium: 'internal' });
  });

  it('accepts internalHosts with www., a port, a URL or odd case', () => {
    for (const entry of ['www.pay.example', 'pay.example:8443', 'https://pay.example/checkout', ' PAY.example ']) {
      expect(parseReferrer('https://pay.example/done', 'https://shop.example/', { internalHosts: [entry] }).medium).toBe('internal');
    }
    expect(parseReferrer('https://pay.example/done', null, { internalHosts: ['pay.example'] }).medium).toBe('internal');
  });

  it('puts the internal check before search detection, so a shop that is also in the data is still itself', () => {
    expect(parseReferrer('https://www.google.com/search?q=x', 'https://www.google.com/')).toMatchObject({ medium: 'internal' });
  });

  it('tolerates junk options from JavaScript callers', () => {
    const junk = [null, { internalHosts: 'shop.example' }, { internalHosts: [null, 42] }] as unknown as Array<{ internalHosts?: string[] }>;
    for (const options of junk) expect(parseReferrer('https://blog.example/', 'https://shop.example/', options).medium).toBe('unknown');
  });
});

describe('parseReferrer: campaigns (Google Analytics precedence)', () => {
  const page = (query: string) => `https://shop.example/landing?${query}`;

  it('treats a click id as paid, sourced from the referrer when known', () => {
    expect(parseReferrer('https://www.google.com/', page('gclid=Cj0KCQ'))).toEqual({ medium: 'paid', source: 'Google', term: null });
    expect(parseReferrer('https://www.google.de/search?q=schuhe', page('gclid=x'))).toEqual({ medium: 'paid', source: 'Google', term: 'schuhe' });
    expect(parseReferrer('https://www.bing.com/', page('msclkid=abc'))).toEqual({ medium: 'paid', source: 'Bing', term: null });
  });

  it('does not count fbclid as paid: Facebook adds it to ordinary shared links too', () => {
    expect(parseReferrer('https://l.facebook.com/', page('fbclid=IwAR'))).toEqual({ medium: 'social', source: 'Facebook', term: null });
    expect(parseReferrer('', page('fbclid=x')).medium).toBe('unknown');
    expect(parseReferrer('https://l.facebook.com/', page('fbclid=IwAR&utm_medium=paid_social')).medium).toBe('paid');
  });

  it('names the click id network when nothing else names the source', () => {
    expect(parseReferrer(undefined, page('gclid=x'))).toEqual({ medium: 'paid', source: 'Google', term: null });
    expect(parseReferrer(null, page('msclkid=x'))).toEqual({ medium: 'paid', source: 'Microsoft Advertising', term: null });
    expect(parseReferrer(undefined, page('ttclid=x')).source).toBe('TikTok');
    expect(parseReferrer('https://blog.example/', page('gclid=x')).source).toBe('Google');
  });

  it('prefers utm_source over the click id network, and the referrer over both', () => {
    expect(parseReferrer(undefined, page('gclid=x&utm_source=partner')).source).toBe('partner');
    expect(parseReferrer('https://www.bing.com/', page('gclid=x&utm_source=partner')).source).toBe('Bing');
  });

  it('treats a paid utm_medium as paid, with and without a search referrer', () => {
    expect(parseReferrer('https://www.bing.com/search?q=boots', page('utm_medium=cpc&utm_source=bing&utm_term=winter+boots'))).toEqual({ medium: 'paid', source: 'Bing', term: 'boots' });
    expect(parseReferrer(undefined, page('utm_medium=cpc&utm_source=bing&utm_term=winter+boots'))).toEqual({ medium: 'paid', source: 'Bing', term: 'winter boots' });
    expect(parseReferrer('https://news.example/', page('utm_medium=display&utm_source=adnet'))).toEqual({ medium: 'paid', source: 'adnet', term: null });
    expect(parseReferrer('https://news.example/', page('utm_medium=CPC'))).toEqual({ medium: 'paid', source: 'news.example', term: null });
    expect(parseReferrer(undefined, page('utm_medium=paid_social&utm_source=facebook'))).toEqual({ medium: 'paid', source: 'Facebook', term: null });
  });

  it('lets utm_medium=email or social override the referrer', () => {
    expect(parseReferrer('https://www.google.com/', page('utm_medium=email&utm_source=newsletter&utm_campaign=may'))).toEqual({ medium: 'email', source: 'newsletter', term: null });
    expect(parseReferrer(undefined, page('utm_medium=e-mail&utm_source=crm'))).toMatchObject({ medium: 'email', source: 'crm' });
    expect(parseReferrer('https://mail.google.com/', page('utm_medium=newsletter'))).toEqual({ medium: 'email', source: 'Gmail', term: null });
    expect(parseReferrer('https://www.google.com/search?q=x', page('utm_medium=social&utm_source=linkedin'))).toEqual({ medium: 'social', source: 'LinkedIn', term: null });
    expect(parseReferrer(undefined, page('utm_medium=sm&utm_source=fb.com'))).toMatchObject({ medium: 'social', source: 'Facebook' });
    expect(parseReferrer(undefined, page('utm_medium=social-network&utm_source=mastodon'))).toMatchObject({ medium: 'social', source: 'Mastodon' });
  });

  it('reads utm_medium=organic as search, keyword from the referrer first', () => {
    expect(parseReferrer('https://www.google.com/search?q=from+referrer', page('utm_medium=organic&utm_source=google&utm_term=from+utm'))).toEqual({ medium: 'search', source: 'Google', term: 'from referrer' });
    expect(parseReferrer(undefined, page('utm_medium=organic&utm_source=ecosia&utm_term=from+utm'))).toEqual({ medium: 'search', source: 'Ecosia', term: 'from utm' });
  });

  it('keeps an unknown utm_source as given and an unknown utm_medium to the referrer', () => {
    expect(parseReferrer(undefined, page('utm_medium=email&utm_source=Spring%20Sale')).source).toBe('Spring Sale');
    expect(parseReferrer('https://t.co/x', page('utm_medium=referral&utm_source=partner'))).toEqual({ medium: 'social', source: 'Twitter', term: null });
    expect(parseReferrer(undefined, page('utm_medium=qr&utm_source=poster&utm_term=flyer'))).toEqual({ medium: 'unknown', source: 'poster', term: 'flyer' });
    expect(parseReferrer(undefined, page('utm_campaign=spring'))).toEqual({ medium: 'unknown', source: null, term: null });
  });

  it('is direct only without referrer and campaign', () => {
    expect(parseReferrer(undefined, 'https://shop.example/?ref=nothing')).toEqual({ medium: 'direct', source: null, term: null });
    expect(parseReferrer('', page('utm_source=x')).medium).toBe('unknown');
  });

  it('classifies an internal referrer with a campaign by the campaign', () => {
    expect(parseReferrer('https://shop.example/', page('utm_medium=email&utm_source=crm')).medium).toBe('email');
    expect(parseReferrer('https://shop.example/', page('gclid=x'))).toEqual({ medium: 'paid', source: 'Google', term: null });
  });
});

describe('parseReferrer: hostile input', () => {
  it('caps work at 2,048 characters of a huge referrer', () => {
    const long = `https://www.google.com/search?q=${'a'.repeat(10_000)}`;
    const result = parseReferrer(long);
    expect(result.medium).toBe('search');
    expect(result.term).toHaveLength(256);
    // The keyword sits past the cap, so it is not read.
    expect(parseReferrer(`https://www.bing.com/search?x=${'b'.repeat(10_000)}&q=late`).term).toBeNull();
    expect(parseReferrer('x'.repeat(10_000))).toEqual({ medium: 'unknown', source: null, term: null });
    expect(parseReferrer(`https://${'a.'.repeat(5_000)}com/`).medium).toBe('unknown');
  });

  // The wire keeps context strings up to 4,096 characters (MAX_CONTEXT_STRING of the server).
  const MAX_WIRE = 4096;
  const page = 'https://shop.example/landing';
  const lookupsOf = (run: () => unknown) => {
    const before = knownReferrers.lookups;
    run();
    return knownReferrers.lookups - before;
  };
  // No key of the data has more labels than this, so no host costs more than (widest + 2)² lookups.
  const dataHosts = [
    ...SEARCH_ENGINES.flatMap((engine) => engine.configs.flatMap((config) => config.hosts)),
    ...[SOCIAL_NETWORKS, EMAIL_PROVIDERS, AI_ASSISTANTS].flat().flatMap((entry) => entry.hosts),
  ];
  const widest = Math.max(...dataHosts.map((host) => host.split('/')[0].split('.').length));

  it('classifies hosts of thousands of labels as unknown without a source, and never looks them up', () => {
    const oneChar = Array.from({ length: 2000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('.');
    const hostile = [
      `https://${'a.'.repeat(600)}u123.com/`,
      `https://${'a.'.repeat(1000)}u123.com/`,
      `https://${oneChar}/`,
      `https://${'a.'.repeat(MAX_WIRE)}`.slice(0, MAX_WIRE),
      `https://${'{}.'.repeat(MAX_WIRE)}`.slice(0, MAX_WIRE),
      `https://${'a.'.repeat(1000)}google.co.uk/search?q=shoes`,
      `https://${'www.'.repeat(500)}bing.com/`,
      `https://${'.'.repeat(200)}google.com/`,
      `${'a.'.repeat(1000)}google.com/search?q=shoes`,
      `android-app://${'com.'.repeat(1000)}google.android.googlequicksearchbox`,
    ];
    for (const referrer of hostile) {
      const lookups = lookupsOf(() => expect(parseReferrer(referrer, page), referrer.slice(0, 40)).toEqual({ medium: 'unknown', source: null, term: null }));
      expect(lookups).toBe(0);
    }
    // Campaigns still decide; the host names nothing.
    expect(parseReferrer(hostile[1], `${page}?utm_medium=cpc&utm_source=adnet`)).toEqual({ medium: 'paid', source: 'adnet', term: null });
    expect(parseReferrer(hostile[1], `${page}?gclid=x`)).toEqual({ medium: 'paid', source: 'Google', term: null });
    expect(parseReferrer(hostile[1], `${page}?utm_medium=cpc`)).toEqual({ medium: 'paid', source: null, term: null });
    // A page URL of such a host is no internal site either.
    const host = `${'a.'.repeat(1000)}shop.example`;
    expect(parseReferrer(`https://${host}/cart`, `https://${host}/`)).toEqual({ medium: 'unknown', source: null, term: null });
  });

  it('classifies the longest hosts DNS allows as usual, at a bounded number of lookups', () => {
    const within = (tail: string) => `${'a.'.repeat(Math.floor((253 - tail.length) / 2))}${tail}`;
    const cases: Array<[string, Referral]> = [
      [`https://${within('google.co.uk')}/search?q=shoes`, { medium: 'search', source: 'Google', term: 'shoes' }],
      [`https://${within('www.google.com')}/`, { medium: 'search', source: 'Google', term: null }],
      [`https://${within('cn.bing.com')}/search?q=x`, { medium: 'search', source: 'Bing', term: 'x' }],
      [`https://${within('l.facebook.com')}/`, { medium: 'social', source: 'Facebook', term: null }],
      [`https://${'{}.'.repeat(80)}bing.com/`, { medium: 'search', source: 'Bing', term: null }],
      [`https://${within('u123.com')}/`, { medium: 'unknown', source: within('u123.com'), term: null }],
      [`https://${within('example.co.uk')}/`, { medium: 'unknown', source: within('example.co.uk'), term: null }],
      [`https://${within('google.co.uk')}./`, { medium: 'search', source: 'Google', term: null }],
    ];
    for (const [referrer, expected] of cases) {
      const lookups = lookupsOf(() => expect(parseReferrer(referrer, page), referrer.slice(-30)).toEqual(expected));
      // The quadratic search made about 7,500 lookups for most of these.
      expect(lookups).toBeLessThanOrEqual((widest + 2) ** 2);
    }
  });

  it('gives a host one character over the limits no source', () => {
    const at = `${'a.'.repeat(121)}u123.com`;
    expect(at).toHaveLength(250);
    expect(parseReferrer(`https://abc${at}/`).source).toBe(`abc${at}`);
    expect(parseReferrer(`https://abcd${at}/`)).toEqual({ medium: 'unknown', source: null, term: null });
    expect(parseReferrer(`https://${'a.'.repeat(126)}a/`).source).toHaveLength(253);
    expect(parseReferrer(`https://${'a.'.repeat(127)}a/`).source).toBeNull();
  });

  it('never throws on random input', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = 'ab%E0%+/?#&=:.-_[]@ \u00e9\ud83d\ude00\u0000htps';
    const pick = () => alphabet[Math.floor(random() * alphabet.length)];
    for (let i = 0; i < 2000; i++) {
      const tail = Array.from({ length: Math.floor(random() * 60) }, pick).join('');
      const prefix = ['https://www.google.com/search?q=', 'http://', 'android-app://', 'https://www.baidu.com/s?wd=', ''][i % 5];
      expect(() => parseReferrer(prefix + tail, `https://shop.example/?${tail}`, { internalHosts: [tail] })).not.toThrow();
    }
  });

  it('accepts values of the wrong type from JavaScript callers', () => {
    const call = parseReferrer as (referrer: unknown, pageUrl?: unknown) => Referral;
    expect(call(42)).toEqual({ medium: 'direct', source: null, term: null });
    expect(call({ toString: () => 'https://www.google.com/' }, 7)).toEqual({ medium: 'direct', source: null, term: null });
  });

  it('returns a fresh object every call', () => {
    const a = parseReferrer(undefined);
    a.medium = 'paid';
    expect(parseReferrer(undefined).medium).toBe('direct');
  });
});
