import type { IngestEvent, Referral } from '../store/types.js';

let counter = 0;

/** An ingest event with sensible defaults, for unit tests of the identity and profile rules. */
export function ingestEvent(overrides: Partial<IngestEvent> = {}): IngestEvent {
  const at = overrides.timestamp ?? Date.UTC(2026, 10, 1, 12);
  return {
    messageId: `m${++counter}`,
    type: 'track',
    name: 'Clicked',
    anonymousId: null,
    userId: null,
    previousId: null,
    trust: 'untrusted',
    timestamp: at,
    receivedAt: at,
    traits: null,
    properties: null,
    message: {},
    enrichment: { ip: null, device: null, referral: null, campaign: null, page: null, firstTouch: null },
    ...overrides,
  };
}

/** A page view of `/` at `at`, with the referral given (its other fields empty; null: none). */
export function pageEvent(anonymousId: string, at: number, referral: Partial<Referral> | null = null, extra: Partial<IngestEvent> = {}): IngestEvent {
  return ingestEvent({
    type: 'page',
    name: null,
    anonymousId,
    timestamp: at,
    receivedAt: at,
    enrichment: {
      ip: null,
      device: null,
      referral: referral && { medium: 'direct', source: null, term: null, campaign: null, referrer: null, landingPage: null, ...referral },
      campaign: null,
      page: { url: 'https://shop.example/', path: '/', title: null },
      firstTouch: null,
    },
    ...extra,
  });
}
