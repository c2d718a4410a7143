import type { RetentionResult, Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { everyInterval } from '../periodic.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How often a node checks whether retention is due; one node runs it per period (a lease). */
export const RETENTION_EVERY_MS = 60 * 60 * 1000;

/** Each site's cutoff: events before it go; null keeps everything. */
export function retentionCutoffs(sites: Site[], now: number) {
  return sites.map((site) => ({
    siteId: site.id,
    before: site.settings.retentionDays === null ? null : now - site.settings.retentionDays * DAY_MS,
  }));
}

/**
 * One pass of retention, if this node takes the lease for the period: what it deleted, or null
 * when no site has a retention or another node holds the lease.
 */
export async function runRetention(store: Store, sites: Site[], node: string, now = Date.now(), leaseMs = RETENTION_EVERY_MS): Promise<RetentionResult | null> {
  const cutoffs = retentionCutoffs(sites, now);
  if (!cutoffs.some((c) => c.before !== null)) return null;
  if (!(await store.lease('retention', node, leaseMs))) return null;
  return store.applyRetention(cutoffs);
}

/**
 * Deletes what each site's `retentionDays` lets go, soon after start and then every hour, on the
 * one node that takes the lease for the period. Returns a function that stops it.
 *
 * @example
 * const stop = scheduleRetention(store, () => sites.list(), ctx.node);
 */
export function scheduleRetention(store: Store, sites: () => Site[], node: string, everyMs = RETENTION_EVERY_MS): () => void {
  return everyInterval(
    async () => {
      const result = await runRetention(store, sites(), node, Date.now(), everyMs);
      if (result && result.events > 0) {
        console.log(`rapport: retention deleted ${result.events} events (${result.partitionsDropped} whole partitions)`);
      }
    },
    { firstMs: 10_000, everyMs, what: 'retention' },
  );
}
