import type { JsonObject } from '@rapport/protocol';
import type { Rankings } from '../profiles/rankings.js';
import type { Computed } from '../profiles/types.js';
import type { DeviceInfo, Referral } from '../store/types.js';

/** What the page being viewed tells, at decision time: absent when a rule is evaluated offline. */
export interface CurrentContext {
  referral: Referral | null;
  /** Campaign parameters of the page URL (UTM, click ids). */
  campaign?: Record<string, string> | null;
  page: { url: string | null; path: string | null } | null;
  device: DeviceInfo | null;
}

/** What a rule is evaluated on: one profile (possibly not stored yet) and the current page. */
export interface Subject {
  profileId: string | null;
  userId: string | null;
  traits: JsonObject;
  computed: Computed;
  now: number;
  rankings: Rankings | null;
  current: CurrentContext | null;
}
