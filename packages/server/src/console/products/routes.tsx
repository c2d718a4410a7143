import type { JsonObject } from '@rapport/protocol';
import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { AppContext } from '../../app-context.js';
import { HttpError } from '../../http/errors.js';
import { cursorParam, optionalString } from '../../http/input.js';
import { DEFAULT_TRAIN_OPTIONS, type Association, type Model, type ModelStats, type Neighbour } from '../../recommendations/models/types.js';
import { siteOf } from '../../sites/routes.js';
import { decodeCursorParts } from '../../store/cursor.js';
import type { ProductRecord } from '../../store/recommendations.js';
import type { Site } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { Badge, Card, Empty, Facts, Pager, PostButton, Stat, Time, VisitorUrl } from '../ui/components.js';
import { dateTime, money, num, pct, plural, safeHref, truncate } from '../ui/format.js';
import { hereOf, withQuery, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';

const PAGE_SIZE = 50;

const DONE: Record<string, string> = {
  trained: 'The recommendations are trained again from the latest events; every slot and list uses the new model from now on.',
};

/** The console's link to a product: ids are the shop's own and may hold any character. */
export const productPath = (here: Here, productId: string) => here.to(`/console/products/${encodeURIComponent(productId)}`);

/** `/console/products`: the catalog, the model's status and its training, one product's neighbours. */
export function productPages(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Products', section: 'products', children: <NoSite /> });
    const query = c.req.query();
    const q = optionalString(query, 'q', { max: 200 }) ?? '';
    const category = optionalString(query, 'category', { max: 200 }) ?? '';
    const cursor = cursorParam(query.cursor, productCursor);
    const [stored, counts, found] = await Promise.all([
      ctx.store.recommendations.modelStatus(site.id),
      ctx.store.recommendations.countProducts(site.id),
      ctx.store.recommendations.listProducts({ siteId: site.id, q: q || undefined, category: category || undefined, limit: PAGE_SIZE, cursor }),
    ]);
    const params = { q: q || undefined, category: category || undefined };
    return page(c, {
      here,
      title: 'Products',
      section: 'products',
      notice: DONE[query.done ?? ''] ?? null,
      children: (
        <>
          <ModelStatus here={here} site={site} trainedAt={stored?.trainedAt ?? null} stats={stored ? statsOf(stored.stats) : null} counts={counts} />
          <form class="search" method="get" action="/console/products" role="search">
            <input type="hidden" name="site" value={site.id} />
            <label class="sr-only" for="q">
              Search products
            </label>
            <input id="q" name="q" type="search" value={q} maxlength={200} placeholder="Product id, name or SKU" />
            <label class="sr-only" for="category">
              Category
            </label>
            <input id="category" name="category" type="search" value={category} maxlength={200} placeholder="Category" />
            <button type="submit" class="button button-primary">
              Search
            </button>
          </form>
          <Card>
            {found.items.length ? (
              <ProductTable here={here} products={found.items} />
            ) : q || category ? (
              <Empty title="No product matches">Try part of a product id, a name or a SKU, or another category.</Empty>
            ) : (
              <Empty title="No products yet">
                Products arrive with the shop's feed (PUT /api/products) and with the Product Viewed, Product Added and Order Completed events of your pages, which a training adds to the catalog.
              </Empty>
            )}
            <Pager first={cursor ? here.to('/console/products', params) : null} next={found.nextCursor ? here.to('/console/products', { ...params, cursor: found.nextCursor }) : null} />
          </Card>
        </>
      ),
    });
  });

  app.post('/train', async (c) => {
    const form = await c.req.parseBody();
    const site = siteOf(ctx, form.site);
    // A second click while a training runs waits for the same one instead of starting another.
    await ctx.recommender.train(site);
    return c.redirect(withQuery('/console/products', { site: site.id, done: 'trained' }), 303);
  });

  app.get('/:productId', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Product', section: 'products', children: <NoSite /> });
    const productId = c.req.param('productId');
    const [[product], loaded] = await Promise.all([ctx.store.recommendations.getProducts(site.id, [productId]), ctx.recommender.model(site.id)]);
    if (!product) throw new HttpError(404, `There is no product ${productId} in ${site.name}.`);
    // The model being served (the recommender checks for a newer one every second): what
    // visitors are shown is what this page lists.
    const model = loaded?.model ?? null;
    const bought = model ? own(model.boughtTogether, productId) : [];
    const viewed = model ? own(model.viewedTogether, productId) : [];
    const neighbours = [...new Set([...bought, ...viewed].map((n) => n.productId))];
    const names = new Map((await ctx.store.recommendations.getProducts(site.id, neighbours)).map((p) => [p.productId, p.name]));
    return page(c, {
      here,
      title: product.name ?? product.productId,
      section: 'products',
      back: { href: here.to('/console/products'), label: 'Products' },
      children: (
        <>
          <Card title="Catalog">
            <ProductFacts here={here} site={site} product={product} />
          </Card>
          <div class="grid-2">
            <Card title="Bought together" actions={<span class="muted small">in the same order</span>}>
              <Together here={here} model={model} empty={`No product is in at least ${DEFAULT_TRAIN_OPTIONS.minSupportCount} orders with this one yet.`}
                list={bought.length ? <BoughtTable here={here} rows={bought} names={names} /> : null}
              />
            </Card>
            <Card title="Viewed together" actions={<span class="muted small">in the same session</span>}>
              <Together here={here} model={model} empty={`No product is viewed in at least ${DEFAULT_TRAIN_OPTIONS.minCoViews} sessions with this one yet.`}
                list={viewed.length ? <ViewedTable here={here} rows={viewed} names={names} /> : null}
              />
            </Card>
          </div>
        </>
      ),
    });
  });

  return app;
}

/** The stores page products by id: their cursor is that one id. */
function productCursor(cursor: string) {
  const parts = decodeCursorParts(cursor);
  return parts && parts.length === 1 && typeof parts[0] === 'string' ? parts : null;
}

/** A product's list of the model; the ids are the shop's, so `constructor` must not find Object's. */
function own<T>(lists: Record<string, T[]>, productId: string): T[] {
  return Object.hasOwn(lists, productId) ? lists[productId] : [];
}

/** The stats the trainer saved beside the model, when they have the shape it writes. */
function statsOf(stats: JsonObject): ModelStats | null {
  const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const coverage = stats.coverage as Record<string, unknown> | null | undefined;
  const ok =
    ['interactions', 'orders', 'sessions', 'people', 'products', 'trainingMs'].every((k) => n(stats[k])) &&
    typeof coverage === 'object' && coverage !== null &&
    ['boughtTogether', 'viewedTogether', 'similar'].every((k) => n(coverage[k]));
  return ok ? (stats as unknown as ModelStats) : null;
}

const duration = (ms: number) => (ms < 1000 ? `${num(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

function ModelStatus(props: { here: Here; site: Site; trainedAt: number | null; stats: ModelStats | null; counts: { feed: number; observed: number; unavailable: number } }) {
  const { here, site, stats, counts } = props;
  const every = site.settings.recommendations.trainEveryMinutes;
  const schedule = every === 0 ? 'Trained only when asked.' : `Trained again every ${plural(every, 'minute')}, from ${plural(site.settings.recommendations.lookbackDays, 'day')} of events.`;
  return (
    <Card
      title="Recommendation model"
      actions={<PostButton here={here} action="/console/products/train" label="Train now" class="button button-primary" fields={{ site: site.id }} />}
    >
      <div class="stats">
        <Stat
          label="Trained"
          value={props.trainedAt === null ? 'not trained yet' : <Time at={props.trainedAt} now={here.now} />}
          hint={props.trainedAt === null ? schedule : dateTime(props.trainedAt, site.settings.timeZone)}
        />
        <Stat label="Products" value={num(counts.feed + counts.observed)} hint={`${num(counts.feed)} from the feed, ${num(counts.observed)} observed, ${num(counts.unavailable)} unavailable`} />
        <Stat label="In the model" value={stats ? num(stats.products) : '—'} hint={stats ? `from ${plural(stats.interactions, 'interaction')}` : undefined} />
        <Stat
          label="Learned from"
          value={stats ? plural(stats.orders, 'order') : '—'}
          hint={stats ? `${plural(stats.sessions, 'session')}, ${plural(stats.people, 'person', 'people')}` : undefined}
        />
      </div>
      {stats ? (
        <Facts
          rows={[
            ['Bought together', `${pct(stats.coverage.boughtTogether)} of products have a neighbour`],
            ['Viewed together', `${pct(stats.coverage.viewedTogether)} of products have a neighbour`],
            ['Similar (for you)', `${pct(stats.coverage.similar)} of products have a neighbour`],
            ['Training time', duration(stats.trainingMs)],
            ['Schedule', schedule],
          ]}
        />
      ) : (
        <p class="muted">
          {props.trainedAt === null
            ? 'No model yet: slots and lists of recommendations stay empty until a training has read the Product Viewed, Product Added and Order Completed events.'
            : 'The model says nothing about itself: it was saved by another version.'}
        </p>
      )}
    </Card>
  );
}

function Availability(props: { available: boolean | null }) {
  if (props.available === false) return <Badge tone="red">Unavailable</Badge>;
  if (props.available === true) return <Badge tone="green">Available</Badge>;
  return <Badge title="The feed did not say; it counts as available">Not said</Badge>;
}

function Source(props: { source: ProductRecord['source'] }) {
  return props.source === 'feed' ? (
    <Badge tone="blue" title="Imported from the shop's feed">Feed</Badge>
  ) : (
    <Badge title="Known only from the events of the pages">Observed</Badge>
  );
}

/** A price with its currency when the shop named one. */
export const priceOf = (p: { price: number | null; currency: string | null }) => (p.price === null ? '—' : p.currency ? `${money(p.price)} ${p.currency}` : money(p.price));

function ProductTable(props: { here: Here; products: ProductRecord[] }) {
  const { here } = props;
  return (
    <table class="table products">
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col">Category</th>
          <th scope="col" class="num">
            Price
          </th>
          <th scope="col">Source</th>
          <th scope="col">Availability</th>
        </tr>
      </thead>
      <tbody>
        {props.products.map((p) => (
          <tr>
            <td>
              <a class="strong" href={productPath(here, p.productId)}>
                {truncate(p.name ?? p.productId, 80)}
              </a>
              <div class="sub">{p.sku ? `${p.productId} · SKU ${p.sku}` : p.productId}</div>
            </td>
            <td>{p.category ? <a href={here.to('/console/products', { category: p.category })}>{p.category}</a> : <span class="muted">—</span>}</td>
            <td class="num">{priceOf(p)}</td>
            <td>
              <Source source={p.source} />
            </td>
            <td>
              <Availability available={p.available} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ProductFacts(props: { here: Here; site: Site; product: ProductRecord }) {
  const { here, product: p } = props;
  // The console's CSP loads no image from other sites: the link beside it still opens one.
  const image = safeHref(p.imageUrl);
  return (
    <Facts
      rows={[
        ['Product id', <code class="wrap">{p.productId}</code>],
        ['SKU', p.sku ? <code>{p.sku}</code> : null],
        ['Name', p.name],
        ['Price', p.price === null ? null : priceOf(p)],
        ['Category', p.category ? <a href={here.to('/console/products', { category: p.category })}>{p.category}</a> : null],
        ['Page', p.url ? <VisitorUrl url={p.url} /> : null],
        [
          'Image',
          image ? (
            <>
              <img src={image} alt={p.name ?? p.productId} width="160" loading="lazy" referrerpolicy="no-referrer" />
              <div class="sub">
                <VisitorUrl url={image} />
              </div>
            </>
          ) : p.imageUrl ? (
            <span class="raw-url">{truncate(p.imageUrl, 80)}</span>
          ) : null,
        ],
        ['Source', <Source source={p.source} />],
        ['Availability', <Availability available={p.available} />],
        ['Updated', <Time at={p.updatedAt} now={here.now} />],
      ]}
    />
  );
}

/** A neighbour list, or why there is none: no model at all, or nothing above the floors. */
function Together(props: { here: Here; model: Model | null; empty: string; list: Child | null }) {
  // A stored model of another version is not served either: training again replaces it.
  if (!props.model) {
    return (
      <p class="muted">
        {'Not trained yet: train the model on the '}
        <a href={props.here.to('/console/products')}>products page</a>.
      </p>
    );
  }
  return props.list ?? <p class="muted">{props.empty}</p>;
}

function NeighbourCell(props: { here: Here; productId: string; names: Map<string, string | null> }) {
  const name = props.names.get(props.productId);
  return (
    <td>
      <a href={productPath(props.here, props.productId)}>{truncate(name ?? props.productId, 80)}</a>
      {name ? <div class="sub">{props.productId}</div> : null}
    </td>
  );
}

function BoughtTable(props: { here: Here; rows: Association[]; names: Map<string, string | null> }) {
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col" class="num" title="Orders with both products">
            Orders together
          </th>
          <th scope="col" class="num" title="Share of all orders that hold both">
            Support
          </th>
          <th scope="col" class="num" title="Share of the orders of this product that hold the other">
            Confidence
          </th>
          <th scope="col" class="num" title="How much likelier the other product is in an order with this one than in any order">
            Lift
          </th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((a) => (
          <tr>
            <NeighbourCell here={props.here} productId={a.productId} names={props.names} />
            <td class="num">{num(a.count)}</td>
            <td class="num">{pct(a.support)}</td>
            <td class="num">{pct(a.confidence)}</td>
            <td class="num">{a.lift.toFixed(2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ViewedTable(props: { here: Here; rows: Neighbour[]; names: Map<string, string | null> }) {
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col" class="num" title="Sessions in which both products were viewed">
            Sessions together
          </th>
          <th scope="col" class="num" title="Cosine similarity over sessions: 1 when the two are always viewed together">
            Score
          </th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((n) => (
          <tr>
            <NeighbourCell here={props.here} productId={n.productId} names={props.names} />
            <td class="num">{num(n.count)}</td>
            <td class="num">{n.score.toFixed(2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
