import { describe, expect, it } from 'vitest';
import { emptyComputed } from '../profiles/types.js';
import { withCurrentVisit } from './decide.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 23, 12);
const page = { url: 'https://shop.example/', path: '/' };

describe('withCurrentVisit', () => {
  const visited = { ...emptyComputed(), sessions: 2, pageviews: 5, session: { id: 's', start: NOW - 60 * MIN, last: NOW - 45 * MIN, campaign: null } };

  it('counts the page being viewed, and a new visit after 30 minutes of silence', () => {
    expect(withCurrentVisit(visited, { referral: null, page, device: null }, NOW)).toMatchObject({ sessions: 3, pageviews: 6 });
    const recent = { ...visited, session: { ...visited.session, last: NOW - 5 * MIN } };
    expect(withCurrentVisit(recent, { referral: null, page, device: null }, NOW)).toMatchObject({ sessions: 2, pageviews: 6 });
  });

  it('counts a new visit when a new campaign arrives', () => {
    const recent = { ...visited, session: { ...visited.session, last: NOW - 5 * MIN } };
    const campaign = { name: 'spring', source: 'newsletter', medium: 'email' };
    expect(withCurrentVisit(recent, { referral: null, campaign, page, device: null }, NOW).sessions).toBe(3);
  });

  it('counts the first visit of a new visitor, and nothing without a page', () => {
    expect(withCurrentVisit(emptyComputed(), { referral: null, page, device: null }, NOW)).toMatchObject({ sessions: 1, pageviews: 1 });
    expect(withCurrentVisit(visited, { referral: null, page: null, device: null }, NOW)).toBe(visited);
  });
});
