import { propertiesOf } from '../store/recommendation-rows.js';
import type { ProductEventText } from '../store/recommendations.js';
import { readProductEvent, type ObservedProduct } from './interactions.js';
import { ModelTrainer, serializeModel } from './models/index.js';
import type { ModelStats, TrainOptions } from './models/types.js';

/**
 * Products of events remembered per training for the catalog. A site with more distinct product
 * ids than this in its events is sending something other than products; the rest stay unknown.
 */
export const MAX_OBSERVED_PRODUCTS = 200_000;

/**
 * One training's input, where the models are built (the training thread, or this thread in
 * tests): stored events parsed into interactions for the models, and the products they name for
 * the catalog, the newest word on each field winning.
 *
 * @example
 * const input = new TrainingInput({ ...DEFAULT_TRAIN_OPTIONS, now });
 * input.add(await store.recommendations.productEventTexts(site.id, since, null, 1000));
 * const { data, stats } = input.finish();
 */
export class TrainingInput {
  private readonly trainer: ModelTrainer;
  private readonly observed = new Map<string, ObservedProduct>();
  private handedOut: ObservedProduct[] | null = null;
  private next = 0;

  constructor(options: TrainOptions) {
    this.trainer = new ModelTrainer(options);
  }

  /** Events oldest first, as the store pages them. */
  add(rows: ProductEventText[]) {
    for (const { data, ...row } of rows) {
      const read = readProductEvent({ ...row, properties: propertiesOf(data) });
      for (const interaction of read.interactions) this.trainer.add(interaction);
      for (const product of read.products) this.remember(product);
    }
  }

  finish(): { data: string; stats: ModelStats } {
    const model = this.trainer.finish();
    return { data: serializeModel(model), stats: model.stats };
  }

  /** The observed products, `limit` at a time (each call the next ones), so that none is a large transfer. */
  nextObserved(limit: number): ObservedProduct[] {
    this.handedOut ??= [...this.observed.values()];
    const products = this.handedOut.slice(this.next, this.next + limit);
    this.next += products.length;
    return products;
  }

  private remember(p: ObservedProduct) {
    const known = this.observed.get(p.productId);
    if (!known) {
      if (this.observed.size < MAX_OBSERVED_PRODUCTS) this.observed.set(p.productId, p);
      return;
    }
    for (const key of Object.keys(p) as (keyof ObservedProduct)[]) {
      if (p[key] !== null) (known as unknown as Record<string, unknown>)[key] = p[key];
    }
  }
}
