import { RECOMMENDATION_EVENTS } from '@rapport/protocol';
import { exposureGroups, significanceOf } from '../decisions/report.js';
import { twoProportionTest } from '../decisions/statistics.js';
import type { Offer } from '../decisions/types.js';
import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';

const DAY_MS = 86_400_000;
const PAGE = 5_000;
/** Products listed in the report, by clicks. */
const TOP_PRODUCTS = 20;
/** Positions counted one by one; later ones are counted together as the last. */
const MAX_POSITION = 50;

interface Click {
  productId: string;
  at: number;
}

interface ProductFigures {
  productId: string;
  clicks: number;
  attributedOrders: number;
  attributedRevenue: number;
}

interface GroupFigures {
  visitors: number;
  buyers: number;
  orders: number;
  revenue: number;
}

/**
 * The report of an offer that shows recommendations, against its control group:
 * - the list's impressions (visitors who saw the cards) and the clicks on its products, by
 *   position and by product, and the click-through rate;
 * - attributed orders and revenue: an order counts for the recommendation when it holds a product
 *   the person clicked in the list within the site's `attributionDays` before the order (the
 *   line's price × quantity);
 * - both groups' buyers, orders and revenue within `attributionDays` of their first exposure,
 *   revenue per visitor side by side, and the two-proportion test on the share who bought.
 *
 * @example
 * const report = await recommendationReport(store, offer, site, Date.now());
 */
export async function recommendationReport(store: Store, offer: Offer, site: Site, now: number) {
  const windowMs = site.settings.recommendations.attributionDays * DAY_MS;
  const { offerGroup, controlGroup } = exposureGroups(await store.offerEvents(offer.siteId, offer.id));
  const groupOf = (profileId: string) => (offerGroup.has(profileId) ? 'offer' : controlGroup.has(profileId) ? 'control' : null);
  const figures = { offer: emptyGroup(offerGroup.size), control: emptyGroup(controlGroup.size) };
  const buyers = { offer: new Set<string>(), control: new Set<string>() };
  const clicksOf = new Map<string, Click[]>();
  const byPosition = new Map<number, number>();
  const byProduct = new Map<string, ProductFigures>();
  const product = (productId: string) => {
    let p = byProduct.get(productId);
    if (!p) byProduct.set(productId, (p = { productId, clicks: 0, attributedOrders: 0, attributedRevenue: 0 }));
    return p;
  };
  let clicks = 0;
  let attributedOrders = 0;
  let attributedRevenue = 0;

  // A loop, not Math.min(...): a spread of a large group's exposures overflows the call stack.
  let since = now;
  for (const group of [offerGroup, controlGroup]) for (const e of group.values()) if (e.firstAt < since) since = e.firstAt;
  let after: { at: number; seq: number } | null = null;
  for (;;) {
    const rows = await store.recommendations.productEvents(site.id, since, after, PAGE, [RECOMMENDATION_EVENTS.click, 'Order Completed']);
    for (const row of rows) {
      const group = groupOf(row.profileId);
      if (!group) continue;
      const props = row.properties ?? {};
      if (row.event === RECOMMENDATION_EVENTS.click) {
        if (props.offerId !== offer.id || group !== 'offer') continue;
        const productId = idOf(props.product_id);
        if (!productId) continue;
        clicks++;
        product(productId).clicks++;
        const position = Math.min(MAX_POSITION, Math.max(1, Math.floor(Number(props.position)) || 1));
        byPosition.set(position, (byPosition.get(position) ?? 0) + 1);
        const list = clicksOf.get(row.profileId) ?? [];
        list.push({ productId, at: row.at });
        clicksOf.set(row.profileId, list);
        continue;
      }
      const exposed = (group === 'offer' ? offerGroup : controlGroup).get(row.profileId)!;
      if (row.at < exposed.firstAt || row.at > exposed.firstAt + windowMs) continue;
      const lines = orderLines(props);
      const total = typeof props.revenue === 'number' && Number.isFinite(props.revenue) ? props.revenue : lines.reduce((sum, l) => sum + l.amount, 0);
      figures[group].orders++;
      figures[group].revenue += total;
      buyers[group].add(row.profileId);
      // Attribution: lines of products clicked in the list within the window before this order.
      const clicked = clicksOf.get(row.profileId);
      if (!clicked) continue;
      let counted = false;
      for (const line of lines) {
        if (!clicked.some((c) => c.productId === line.productId && c.at <= row.at && row.at - c.at <= windowMs)) continue;
        const p = product(line.productId);
        p.attributedOrders++;
        p.attributedRevenue += line.amount;
        attributedRevenue += line.amount;
        counted = true;
      }
      if (counted) attributedOrders++;
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1];
    after = { at: last.at, seq: last.seq };
  }

  figures.offer.buyers = buyers.offer.size;
  figures.control.buyers = buyers.control.size;
  const perVisitor = (g: GroupFigures) => (g.visitors > 0 ? g.revenue / g.visitors : null);
  const offerRpv = perVisitor(figures.offer);
  const controlRpv = perVisitor(figures.control);
  return {
    offerId: offer.id,
    name: offer.name,
    slot: offer.slot,
    strategy: offer.content.strategy ?? null,
    attributionDays: site.settings.recommendations.attributionDays,
    generatedAt: new Date(now).toISOString(),
    impressions: offerGroup.size,
    clicks,
    clickThroughRate: offerGroup.size > 0 ? clicks / offerGroup.size : null,
    byPosition: [...byPosition].sort((a, b) => a[0] - b[0]).map(([position, n]) => ({ position, clicks: n })),
    products: [...byProduct.values()].sort((a, b) => b.clicks - a.clicks || b.attributedRevenue - a.attributedRevenue || a.productId.localeCompare(b.productId)).slice(0, TOP_PRODUCTS),
    attributed: { orders: attributedOrders, revenue: round(attributedRevenue) },
    offer: { ...figures.offer, revenue: round(figures.offer.revenue), revenuePerVisitor: offerRpv },
    control: { ...figures.control, revenue: round(figures.control.revenue), revenuePerVisitor: controlRpv },
    uplift: { revenuePerVisitor: offerRpv !== null && controlRpv !== null ? offerRpv - controlRpv : null },
    significance: significanceOf(twoProportionTest(figures.offer.buyers, figures.offer.visitors, figures.control.buyers, figures.control.visitors)),
  };
}

export type RecommendationReport = Awaited<ReturnType<typeof recommendationReport>>;

const emptyGroup = (visitors: number): GroupFigures => ({ visitors, buyers: 0, orders: 0, revenue: 0 });
const round = (n: number) => Math.round(n * 100) / 100;

function idOf(v: unknown): string | null {
  const id = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
  return id && id.length <= 200 ? id : null;
}

/** An order's lines: product and amount (price × quantity, quantity 1 when not said). */
function orderLines(props: Record<string, unknown>): { productId: string; amount: number }[] {
  if (!Array.isArray(props.products)) return [];
  const lines: { productId: string; amount: number }[] = [];
  for (const line of props.products.slice(0, 100)) {
    if (typeof line !== 'object' || line === null) continue;
    const l = line as Record<string, unknown>;
    const productId = idOf(l.product_id) ?? idOf(l.id);
    if (!productId) continue;
    const price = typeof l.price === 'number' && Number.isFinite(l.price) ? l.price : 0;
    const quantity = typeof l.quantity === 'number' && Number.isFinite(l.quantity) && l.quantity > 0 ? l.quantity : 1;
    lines.push({ productId, amount: price * quantity });
  }
  return lines;
}
