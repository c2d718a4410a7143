import type { RecommendedItem } from '@rapport/protocol';
import type { AppContext } from '../../app-context.js';
import type { Site } from '../../store/types.js';
import { Card } from '../ui/components.js';
import { truncate } from '../ui/format.js';
import type { Here } from '../ui/here.js';
import { priceOf, productPath } from './routes.js';

/** As many as a slot of product cards shows at a glance. */
const LIMIT = 6;

export interface Recommended {
  items: RecommendedItem[];
  /** Null when the site has no model yet. */
  trainedAt: number | null;
}

/**
 * What "for you" would show the person now, as the SDK's slots would get it: the marketer checks
 * the model on someone they know.
 *
 * @example
 * const recommended = await recommendedFor(ctx, site, profile.id);
 * <RecommendedFor here={here} recommended={recommended} />
 */
export async function recommendedFor(ctx: AppContext, site: Site | null, profileId: string): Promise<Recommended> {
  if (!site) return { items: [], trainedAt: null };
  return ctx.recommender.recommend(site, { strategy: 'for-you', profileId, limit: LIMIT });
}

export function RecommendedFor(props: { here: Here; recommended: Recommended }) {
  const { here } = props;
  const { items, trainedAt } = props.recommended;
  return (
    <Card title="Recommended for you" id="recommended" actions={<span class="muted small">what “for you” shows them now</span>}>
      {items.length ? (
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" class="num">
                Price
              </th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr>
                <td>
                  <a href={productPath(here, item.productId)}>{truncate(item.name ?? item.productId, 80)}</a>
                </td>
                <td class="num">{priceOf(item)}</td>
                <td class="muted">{item.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : trainedAt === null ? (
        <p class="muted">
          {'Nothing yet: the recommendations of this site are not trained. Train them on the '}
          <a href={here.to('/console/products')}>products page</a>.
        </p>
      ) : (
        <p class="muted">Nothing to recommend yet: they have not viewed, carted or bought any product the model knows.</p>
      )}
    </Card>
  );
}
