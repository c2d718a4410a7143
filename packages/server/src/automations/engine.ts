import type { Ingester } from '../collect/ingester.js';
import type { Catalog } from '../decisions/catalog.js';
import { identityKeysOf } from '../identity/resolve.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { SiteDirectory } from '../sites/directory.js';
import type { RunRecord } from '../store/automations.js';
import type { Store } from '../store/store.js';
import { AutomationCatalog } from './catalog.js';
import { offerAction, profileActions, type ProfileActionOptions } from './profile-actions.js';
import { emailAction } from './email-action.js';
import { MAIL_LINK_KEY, MailLinks, newMailLinkKey } from './mail-links.js';
import { Runner, type ActionHandler, type ActionInput, type ActionKind } from './runner.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { AutomationStarter, WATCH_POSITION } from './starts.js';
import { webhookAction } from './webhook-action.js';

export interface EngineOptions {
  store: Store;
  ingester: Ingester;
  sites: SiteDirectory;
  /** The decisions' catalog, whose compiled segments the segment triggers test. */
  segments: Catalog;
  /** This node: the holder of the leases it takes. */
  holder: string;
  /** Actions added to, or put in place of, the built-in ones (email, which needs the site's mail settings). */
  actions?: Partial<Record<ActionKind, ActionHandler>>;
  /** The address people reach this server at, for the links in emails (unsubscribe, opens, clicks). */
  publicUrl: () => string;
  /** Scheduler settings (tests shorten the poll). */
  scheduler?: Pick<SchedulerOptions, 'pollMs' | 'batch' | 'leaseMs'>;
  now?: () => number;
}

/**
 * The automations of one node, put together: the catalog of active automations that ingest
 * reads, the starter that begins runs from what ingest stored, the runner that carries out due
 * steps, and the scheduler that claims them (started by the server, not here).
 *
 * @example
 * const engine = new AutomationEngine({ store, ingester, sites, segments: catalog, holder: node });
 * engine.scheduler.start();
 * await engine.scheduler.stop();
 */
export class AutomationEngine {
  readonly catalog: AutomationCatalog;
  readonly starter: AutomationStarter;
  readonly runner: Runner;
  readonly scheduler: Scheduler;
  readonly links: MailLinks;
  /** The email action over each site's mail settings (also what a test send uses). */
  readonly email: ActionHandler;

  constructor(options: EngineOptions) {
    const { store, now } = options;
    const automations = store.automations;
    this.links = new MailLinks(() => store.setMetaIfAbsent(MAIL_LINK_KEY, newMailLinkKey()), options.publicUrl);
    const sendOf = (input: ActionInput) => ({ siteId: input.run.siteId, runId: input.run.id, position: input.run.position });
    this.email = emailAction({
      settings: (siteId) => {
        const settings = options.sites.get(siteId)?.settings;
        return settings?.smtpUrl && settings.mailFrom ? { smtpUrl: settings.smtpUrl, from: settings.mailFrom } : null;
      },
      unsubscribeUrl: (input) => this.links.url('u', sendOf(input)),
      tracking: {
        open: (input) => this.links.url('o', sendOf(input)),
        click: (input, url) => this.links.url('c', { ...sendOf(input), url }),
      },
    });
    // A run stays with the person through merges (the store moves it), so a tombstone means the run's person is gone.
    const liveProfile = async (siteId: string, id: string): Promise<ProfileRecord | null> => {
      const profile = await store.getProfile(siteId, id);
      return profile && !profile.mergedInto ? profile : null;
    };
    const people: ProfileActionOptions = {
      ingester: options.ingester,
      site: (id) => options.sites.get(id),
      identities: (siteId, profileId) => store.profileIdentities(siteId, profileId),
    };
    this.catalog = new AutomationCatalog(automations, now);
    const wake = (at: number) => this.scheduler.wake(at);
    this.runner = new Runner({
      automations,
      profiles: liveProfile,
      holder: options.holder,
      site: (id) => options.sites.get(id),
      onDue: wake,
      now,
      actions: {
        webhook: webhookAction(),
        email: this.email,
        ...profileActions(people),
        offer: offerAction(people),
        ...options.actions,
      },
    });
    this.starter = new AutomationStarter({
      automations,
      catalog: this.catalog,
      segments: async (siteId) => (await options.segments.forSite(siteId)).segments,
      findProfile: (site, event) =>
        store.findProfile(
          site.id,
          identityKeysOf(event, { emailMatching: site.settings.emailMatching }).map(([kind, value]) => ({ kind, value })),
        ),
      getProfile: liveProfile,
      onEvent: (siteId, profileId, event) => this.runner.onEvent(siteId, profileId, event),
      holder: options.holder,
      onDue: wake,
      now,
    });
    this.scheduler = new Scheduler({ store: automations, holder: options.holder, handle: (run) => this.handle(run), now, ...options.scheduler });
  }

  /** A claimed run: a watch goes to the starter, a step to the runner. */
  handle(run: RunRecord): Promise<void> {
    return run.position === WATCH_POSITION ? this.starter.watch(run) : this.runner.step(run);
  }

  /** A change made on this node: ingest sees it at once. */
  changed(siteId: string) {
    this.catalog.invalidate(siteId);
  }
}
