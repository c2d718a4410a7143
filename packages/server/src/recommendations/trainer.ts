import type { JsonObject } from '@rapport/protocol';
import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { DEFAULT_TRAIN_OPTIONS, type ModelStats, type TrainOptions } from './models/types.js';
import { trainingThread, type TrainingSink } from './train-thread.js';
import { TrainingInput } from './training-input.js';
import { everyInterval } from '../periodic.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Events read from the store per page, the batch posted to the training thread: the thread
 * parses them, so this one only passes pages along (read off the event loop on SQLite).
 */
const PAGE = 1_000;
/** Observed products taken back from the training thread, and written to the catalog, per step. */
const UPSERT_CHUNK = 1_000;
/** How often a node looks for sites whose model is due. */
export const TRAINING_CHECK_MS = 60_000;
/** The lease on a site's training: longer than a training takes, so two nodes never train one site at once. */
export const TRAINING_LEASE_MS = 30 * 60_000;

export interface TrainedModel {
  siteId: string;
  trainedAt: number;
  stats: ModelStats;
  observedProducts: number;
}

/** Trains on this thread: for tests and tiny sites where a thread would cost more than it saves. */
export function inThreadSink(options: TrainOptions): TrainingSink {
  const input = new TrainingInput(options);
  return {
    async add(rows) {
      input.add(rows);
    },
    async finish() {
      return input.finish();
    },
    async observed(limit) {
      return input.nextObserved(limit);
    },
    async close() {},
  };
}

/**
 * Trains a site's models from its e-commerce events of the lookback period and saves them; the
 * products the events name are added to the catalog as observed (a feed row always wins, see
 * the store). The events are parsed and the models built on a worker thread (`sink`).
 *
 * @example
 * const trained = await trainSite(store, site, { now: Date.now() });
 * console.log(trained.stats.products, trained.stats.coverage);
 */
export async function trainSite(store: Store, site: Site, options: { now: number; sink?: (options: TrainOptions) => TrainingSink }): Promise<TrainedModel> {
  const { now } = options;
  const sink = (options.sink ?? trainingThread)({ ...DEFAULT_TRAIN_OPTIONS, now });
  try {
    const since = now - site.settings.recommendations.lookbackDays * DAY_MS;
    let after: { at: number; seq: number } | null = null;
    for (;;) {
      const rows = await store.recommendations.productEventTexts(site.id, since, after, PAGE);
      if (rows.length === 0) break;
      await sink.add(rows);
      const last = rows[rows.length - 1];
      after = { at: last.at, seq: last.seq };
      if (rows.length < PAGE) break;
    }
    const { data, stats } = await sink.finish();
    let observed = 0;
    for (;;) {
      const products = await sink.observed(UPSERT_CHUNK);
      if (products.length) await store.recommendations.upsertProducts(products.map((p) => ({ ...p, siteId: site.id, source: 'observed', updatedAt: now })));
      observed += products.length;
      if (products.length < UPSERT_CHUNK) break;
    }
    await store.recommendations.saveModel({ siteId: site.id, trainedAt: now, stats: stats as unknown as JsonObject, data });
    return { siteId: site.id, trainedAt: now, stats, observedProducts: observed };
  } finally {
    await sink.close();
  }
}

/** Whether a site's model is due: never trained, or trained longer ago than its setting says. */
export function trainingDue(site: Site, trainedAt: number | null, now: number): boolean {
  const every = site.settings.recommendations.trainEveryMinutes;
  if (every === 0) return false;
  return trainedAt === null || now - trainedAt >= every * 60_000;
}

/**
 * Trains each site whose model is due, one site at a time, every minute, on the one node that
 * takes the site's lease (PostgreSQL: many nodes, one training). Returns a function that stops it.
 *
 * @example
 * const stop = scheduleTraining(store, () => sites.list(), ctx.node, (trained) => recommender.invalidate(trained.siteId));
 */
export function scheduleTraining(store: Store, sites: () => Site[], node: string, onTrained: (trained: TrainedModel) => void, everyMs = TRAINING_CHECK_MS): () => void {
  return everyInterval(
    async () => {
      for (const site of sites()) {
        const now = Date.now();
        if (!trainingDue(site, await store.recommendations.modelTrainedAt(site.id), now)) continue;
        if (!(await store.lease(`recommendations:${site.id}`, node, TRAINING_LEASE_MS))) continue;
        try {
          onTrained(await trainSite(store, site, { now }));
        } catch (error) {
          console.error(`rapport: training the recommendations of site ${site.id} failed; it is tried again in a minute`, error);
        }
      }
    },
    { firstMs: 5_000, everyMs, what: 'the recommendation trainer' },
  );
}
