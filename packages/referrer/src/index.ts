export { parseReferrer } from './referrer.js';
export { parseCampaign } from './campaign.js';
export { referrerStats } from './known-referrers.js';
export type { Medium, ParseReferrerOptions, Referral } from './types.js';
