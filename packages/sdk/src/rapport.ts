import { capture } from './capture';
import { createCore } from './core';
import { slots } from './slots';
import type { Rapport, RapportOptions } from './types';

/**
 * The whole SDK: identity, clickstream capture, referral capture, delivery and personalized
 * slots. Records a page view and fills the page's slots once the current script has run.
 *
 * @example
 * import { createRapport } from '@rapport/sdk';
 *
 * const rapport = createRapport({ writeKey: 'wk_live_123', host: 'https://rapport.example.com' });
 * rapport.identify('u-42', { email: 'ann@example.com' }, { userHash: session.rapportHash });
 * rapport.track('Order Completed', { orderId: 'o-1', revenue: 120, currency: 'EUR' });
 */
export function createRapport(options: RapportOptions): Rapport {
  return createCore(options, [capture, slots]);
}
