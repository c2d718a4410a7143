import { describe, expect, it } from 'vitest';
import { fillContent } from './placeholders.js';

describe('fillContent', () => {
  it('fills trait placeholders, with defaults for missing traits', () => {
    const out = fillContent(
      { title: 'Hello {{traits.firstName}}!', text: 'Hi {{ traits.nick | traveller }}, {{traits.address.city}} awaits', linkText: 'Go' },
      { firstName: 'Ana', address: { city: 'Porto' } },
    );
    expect(out).toEqual({ title: 'Hello Ana!', text: 'Hi traveller, Porto awaits', linkText: 'Go' });
  });

  it('URL-encodes what a visitor typed into links and images', () => {
    const out = fillContent(
      { link: 'https://shop.example/search?q={{traits.fav}}', image: '/img/{{traits.fav}}.png' },
      { fav: 'javascript:alert(1)&x=<script>' },
    );
    expect(out.link).toBe('https://shop.example/search?q=javascript%3Aalert(1)%26x%3D%3Cscript%3E');
    expect(out.image).toBe('/img/javascript%3Aalert(1)%26x%3D%3Cscript%3E.png');
  });

  it('keeps markup in text as text and strips control characters', () => {
    const out = fillContent({ title: '{{traits.name}}' }, { name: '<img src=x onerror=alert(1)>\u0000\u0007' });
    expect(out.title).toBe('<img src=x onerror=alert(1)>');
  });

  it('ignores objects, caps long values and leaves unknown syntax alone', () => {
    const out = fillContent({ title: '{{traits.obj}}|{{traits.long}}|{{other.x}}' }, { obj: { a: 1 }, long: 'x'.repeat(500) });
    expect(out.title).toBe(`|${'x'.repeat(200)}|{{other.x}}`);
  });
});
