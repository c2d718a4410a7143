import { CLICK_ID_PARAMS } from '@rapport/protocol';
import { describe, expect, it } from 'vitest';
import { CLICK_ID_NETWORKS } from './campaign.js';
import { parseCampaign } from './index.js';

describe('parseCampaign', () => {
  it('maps every UTM parameter to its campaign field', () => {
    const url =
      'https://shop.example/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale&utm_term=running+shoes&utm_content=hero%20banner';
    expect(parseCampaign(url)).toEqual({
      source: 'newsletter',
      medium: 'email',
      name: 'spring_sale',
      term: 'running shoes',
      content: 'hero banner',
    });
  });

  it('returns {} when there is nothing', () => {
    for (const input of [undefined, null, '', 'https://shop.example/', 'https://shop.example/?a=1&b=2', '?', '#', '/path?utm_source=']) {
      expect(parseCampaign(input)).toEqual({});
    }
  });

  it('keeps every click id of the protocol under its own name', () => {
    for (const id of CLICK_ID_PARAMS) {
      expect(parseCampaign(`https://shop.example/?${id}=abc123`)).toEqual({ [id]: 'abc123' });
    }
    expect(parseCampaign('https://shop.example/?gclid=g&fbclid=f&utm_source=google')).toEqual({ gclid: 'g', fbclid: 'f', source: 'google' });
  });

  it('names a network for every click id', () => {
    for (const id of CLICK_ID_PARAMS) expect(CLICK_ID_NETWORKS[id]).toMatch(/\S/);
  });

  it('matches click ids exactly but UTM names without case', () => {
    expect(parseCampaign('https://shop.example/?GCLID=x&FbClid=y')).toEqual({});
    expect(parseCampaign('https://shop.example/?ScCid=s')).toEqual({ ScCid: 's' });
    expect(parseCampaign('https://shop.example/?UTM_Source=Upper&Utm_Medium=CPC')).toEqual({ source: 'Upper', medium: 'CPC' });
  });

  it('takes the first non-empty value of a repeated parameter', () => {
    expect(parseCampaign('https://shop.example/?utm_source=first&utm_source=second')).toEqual({ source: 'first' });
    expect(parseCampaign('https://shop.example/?utm_source=&utm_source=%20&utm_source=third')).toEqual({ source: 'third' });
    expect(parseCampaign('https://shop.example/?gclid=&gclid=later')).toEqual({ gclid: 'later' });
  });

  it('drops empty values and parameters without a value', () => {
    expect(parseCampaign('https://shop.example/?utm_source=&utm_medium&utm_campaign=+++&utm_term=%20%09')).toEqual({});
  });

  it('trims and caps values at 256 characters', () => {
    expect(parseCampaign('https://shop.example/?utm_source=++spaced+out++').source).toBe('spaced out');
    const long = parseCampaign(`https://shop.example/?utm_campaign=${'x'.repeat(300)}`);
    expect(long.name).toHaveLength(256);
    // A cap inside a surrogate pair would leave half a character.
    const emoji = parseCampaign(`https://shop.example/?utm_content=${'a'.repeat(255)}%F0%9F%98%80`);
    expect(emoji.content).toBe('a'.repeat(255));
  });

  it('decodes values, keeping malformed encoding as sent', () => {
    expect(parseCampaign('https://shop.example/?utm_term=%E5%8C%97%E4%BA%AC&utm_source=a%26b')).toEqual({ term: '北京', source: 'a&b' });
    expect(parseCampaign('https://shop.example/?utm_term=%E0%A4%A&utm_source=50%')).toEqual({ term: '%E0%A4%A', source: '50%' });
  });

  it('reads relative URLs and fragments, the query first', () => {
    expect(parseCampaign('/landing?utm_source=rel')).toEqual({ source: 'rel' });
    expect(parseCampaign('https://shop.example/#/product/1?utm_source=spa&utm_medium=social')).toEqual({ source: 'spa', medium: 'social' });
    expect(parseCampaign('https://shop.example/#utm_source=anchor')).toEqual({ source: 'anchor' });
    expect(parseCampaign('https://shop.example/?utm_source=query#utm_source=anchor&utm_medium=email')).toEqual({ source: 'query', medium: 'email' });
  });

  it('never throws on garbage and looks only at the first 2,048 characters', () => {
    for (const input of ['not a url', 'javascript:alert(1)', '?&&&==&=', '%%%?utm_source=%', '\u0000?utm_source=\ud800']) {
      expect(() => parseCampaign(input)).not.toThrow();
    }
    expect(parseCampaign(`https://shop.example/?pad=${'x'.repeat(10_000)}&utm_source=late`)).toEqual({});
    expect(parseCampaign(42 as unknown as string)).toEqual({});
  });
});
