import type { DecideResponse } from '@rapport/protocol';
import type { Site } from '../store/types.js';
import type { Interaction } from './models/types.js';
import type { Recommender } from './service.js';

/**
 * Fills in the products of each slot whose offer shows recommendations, for this visitor: decide
 * answers the cards' data with the decision, so the page needs no second call. A slot whose
 * strategy finds nothing (no model yet, a new visitor and no product) keeps its default:
 * its content becomes null, as for an offer without anything to show.
 *
 * @example
 * await fillRecommendations(ctx.recommender, site, answer, profile?.id ?? null);
 */
export async function fillRecommendations(recommender: Recommender, site: Site, answer: DecideResponse, profileId: string | null): Promise<void> {
  // Read once for every slot of the page that needs it.
  let history: Promise<Interaction[]> | undefined;
  for (const decision of Object.values(answer.slots)) {
    const content = decision?.variant === 'offer' ? decision.content : null;
    if (!decision || content?.type !== 'recommendations' || !content.strategy) continue;
    if (profileId && content.strategy !== 'trending') history ??= recommender.history(site.id, profileId);
    const { items } = await recommender.recommend(site, { strategy: content.strategy, profileId, limit: content.limit ?? 4, history });
    decision.content = items.length ? { ...content, items } : null;
  }
}
