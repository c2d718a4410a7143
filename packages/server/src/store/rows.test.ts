import { describe, expect, it } from 'vitest';
import { emptyComputed } from '../profiles/types.js';
import { profileFromRow, ruleProfileFromRow, type ProfileRow } from './rows.js';

const row = (computed: object): ProfileRow => ({
  site_id: 's',
  id: 'p',
  user_id: 'u',
  email: null,
  traits: '{"plan":"pro"}',
  trait_times: '{"plan":1}',
  computed: JSON.stringify(computed),
  first_seen: 1,
  last_seen: 2,
  orders: 0,
  revenue: 0,
  last_order_at: null,
  merged_into: null,
  created_at: 1,
  updated_at: 2,
});

describe('profile rows', () => {
  it('give a profile written before an attribute existed that attribute, empty', () => {
    const { activeDays, keywords, ...older } = { ...emptyComputed(), sessions: 3, pageviews: 7 };
    const profile = profileFromRow(row(older));
    expect(profile.computed).toEqual({ ...emptyComputed(), sessions: 3, pageviews: 7 });
    expect(profile.computed.activeDays).toEqual(activeDays);
    expect(profile.computed.keywords).toEqual(keywords);
  });

  it('read a complete profile as stored, and what a rule reads of it the same', () => {
    const computed = { ...emptyComputed(), sessions: 3, pages: ['/a'] };
    expect(profileFromRow(row(computed))).toMatchObject({ id: 'p', userId: 'u', traits: { plan: 'pro' }, traitTimes: { plan: 1 }, computed });
    expect(ruleProfileFromRow(row(computed))).toEqual({ id: 'p', userId: 'u', traits: { plan: 'pro' }, computed });
  });
});
