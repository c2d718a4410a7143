import { Hono, type Context } from 'hono';
import type { AppContext } from '../../app-context.js';
import { HttpError } from '../../http/errors.js';
import { cursorParam } from '../../http/input.js';
import { eraseProfile, findProfile, profileExport } from '../../profiles/routes.js';
import type { ProfileRecord } from '../../profiles/types.js';
import { computedView, countsWithin, mergeView, profileSummary } from '../../profiles/view.js';
import { membersPage, segmentsOfProfile } from '../../segments/membership.js';
import { decodeCursorParts, encodeCursor } from '../../store/cursor.js';
import { movesRows, type MergeRecord } from '../../store/types.js';
import { mergingFast } from '../../identity/guardrails.js';
import type { ConsentRecord } from '../../profiles/types.js';
import { namesOf } from '../automations/builder.js';
import { PersonRuns } from '../automations/runs.js';
import type { ConsoleEnv } from '../env.js';
import { Badge, Card, Confirm, Empty, Facts, Pager, Stat, Time, VisitorUrl } from '../ui/components.js';
import { date, dateTime, money, num, personName, plural, valueText } from '../ui/format.js';
import { hereOf, withQuery, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { NoSite } from '../ui/no-site.js';
import { recommendedFor, RecommendedFor } from '../products/recommended-for.js';
import { repairRoutes } from './repair.js';
import { ReferralLine, Timeline } from './timeline.js';

const PAGE_SIZE = 25;
const TIMELINE_SIZE = 30;
/** The person's newest runs of automations shown on their page. */
const RUNS_SIZE = 20;

const ABC_TONES = { A: 'green', B: 'blue', C: 'gray' } as const;

/** `/console/customers`: search, the 360-degree page, export and erasure. */
export function customerRoutes(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const here = hereOf(c, ctx);
    const site = here.site;
    if (!site) return page(c, { here, title: 'Customers', section: 'customers', children: <NoSite /> });
    const q = c.req.query('q')?.trim() ?? '';
    const cursor = cursorParam(c.req.query('cursor'), decodeCursorParts);
    const segmentId = c.req.query('segment');
    const catalog = await ctx.catalog.forSite(site.id);
    const segment = segmentId ? catalog.segments.get(segmentId) : undefined;
    if (segmentId && !segment) throw new HttpError(404, `There is no segment ${segmentId} in ${site.name}.`);
    let profiles: ProfileRecord[];
    let next: string | null;
    if (segment) {
      const found = await membersPage(ctx, site.id, segment.matches, catalog.usesRankings, PAGE_SIZE, cursor);
      profiles = found.items;
      const last = found.items.at(-1);
      next = found.more && last ? encodeCursor(last.computed.lastSeen ?? 0, last.id) : null;
    } else {
      const found = await ctx.store.listProfiles({ siteId: site.id, q: q || undefined, limit: PAGE_SIZE, cursor });
      profiles = found.items;
      next = found.nextCursor;
    }
    const rankings = await ctx.rankings.get(site.id);
    const rows = profiles.map((p) => ({ profile: p, summary: profileSummary(p, here.now, rankings) }));
    const done = c.req.query('done') === 'erased' ? 'The customer and everything stored about them were erased.' : null;
    const params = { q: q || undefined, segment: segmentId };
    return page(c, {
      here,
      title: 'Customers',
      section: 'customers',
      notice: done,
      children: (
        <>
          <form class="search" method="get" action="/console/customers" role="search">
            <input type="hidden" name="site" value={site.id} />
            <label class="sr-only" for="q">
              Search customers
            </label>
            <input id="q" name="q" type="search" value={q} placeholder="User id, email, anonymous id or any trait value" />
            <button type="submit" class="button button-primary">
              Search
            </button>
          </form>
          {segment ? (
            <p class="filter">
              {'Members of the segment '}
              <a href={here.to(`/console/segments/${segment.segment.id}`)}>{segment.segment.name}</a>{' '}
              <a class="button button-quiet button-small" href={here.to('/console/customers')}>
                Show everyone
              </a>
            </p>
          ) : null}
          <Card>
            {rows.length ? (
              <CustomerTable here={here} rows={rows} />
            ) : q ? (
              <Empty title={`No customer matches “${q}”`}>Try part of an email, a user id, an anonymous id or a trait value such as a city.</Empty>
            ) : segment ? (
              <Empty title="Nobody is in this segment yet">Its rule matches no customer today. Open the segment to see or change its conditions.</Empty>
            ) : (
              <Empty
                title="No customers yet"
                action={
                  <a class="button button-primary" href={here.to(`/console/sites/${site.id}`)}>
                    Get the script tag
                  </a>
                }
              >
                Every visitor becomes a customer profile here once the script tag is on your pages; logins join their visits into one person.
              </Empty>
            )}
            <Pager first={cursor ? here.to('/console/customers', params) : null} next={next ? here.to('/console/customers', { ...params, cursor: next }) : null} />
          </Card>
        </>
      ),
    });
  });

  app.get('/:id', async (c) => {
    const profile = await profileOf(ctx, c);
    if (profile instanceof Response) return profile;
    const here = hereOf(c, ctx, profile.siteId);
    const cursor = cursorParam(c.req.query('events'), decodeCursorParts);
    const [identities, merges, rankings, segments, events, runs, automations, names, recommended] = await Promise.all([
      ctx.store.profileIdentities(profile.siteId, profile.id),
      ctx.store.profileMerges(profile.siteId, profile.id),
      ctx.rankings.get(profile.siteId),
      segmentsOfProfile(ctx, profile),
      ctx.store.profileEvents(profile.siteId, profile.id, TIMELINE_SIZE, cursor),
      ctx.store.automations.listRuns({ siteId: profile.siteId, profileId: profile.id, limit: RUNS_SIZE }),
      ctx.store.automations.listAutomations(profile.siteId),
      namesOf(ctx, profile.siteId),
      recommendedFor(ctx, here.site, profile.id),
    ]);
    const computed = computedView(profile.computed, profile.id, here.now, rankings);
    const fast = mergingFast(profile.computed, here.now);
    const self = `/console/customers/${profile.id}`;
    return page(c, {
      here,
      title: personName(profile),
      section: 'customers',
      back: { href: here.to('/console/customers'), label: 'Customers' },
      actions: (
        <>
          <a class="button" href={`${self}/export`} download={`profile-${profile.id}.json`}>
            Export data
          </a>
          <a class="button button-danger" href={`${self}/erase`}>
            Erase…
          </a>
        </>
      ),
      children: (
        <>
          <div class="badges">
            {profile.userId ? <Badge tone="green">Identified</Badge> : <Badge>Anonymous</Badge>}
            {computed.abc ? (
              <Badge tone={ABC_TONES[computed.abc]} title="ABC class by revenue">{`Class ${computed.abc}`}</Badge>
            ) : null}
            {computed.rfm ? <Badge tone="violet" title="Recency, frequency, monetary value: 1 to 5 each, 5 best">{`RFM ${computed.rfm}`}</Badge> : null}
            {fast !== null ? (
              <Badge tone="red" title="Many profiles joined this one within a day: an identify with a shared id in a template, or a script. Check its merges.">{`Merging fast: ${fast} merges in 24 h`}</Badge>
            ) : null}
            <span class="muted small">{`Last seen ${dateTime(computed.lastSeen, here.site?.settings.timeZone)}`}</span>
          </div>
          <div class="stats">
            <Stat label="Value (CLV)" value={money(computed.clv)} hint="revenue so far, refunds deducted" />
            <Stat label="Predicted value" value={money(computed.predictedClv)} hint="over the next 2 years" />
            <Stat label="Orders" value={num(computed.orders)} hint={`average ${money(computed.aov)}`} />
            <Stat label="Visits" value={num(computed.visits)} hint={`${plural(computed.pageviews, 'page view')}`} />
            <Stat label="First seen" value={date(computed.firstSeen, here.site?.settings.timeZone)} hint={computed.daysSinceFirstSeen === null ? undefined : `${plural(computed.daysSinceFirstSeen, 'day')} ago`} />
          </div>
          <div class="grid-2">
            <Card title="Identities">
              <Facts
                rows={[
                  ['User id', profile.userId ? <code>{profile.userId}</code> : null],
                  ['Email', profile.email],
                  ['Profile id', <code>{profile.id}</code>],
                ]}
              />
              <table class="table compact">
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {identities.map((i) => (
                    <tr>
                      <td>
                        <Badge tone={i.kind === 'user' ? 'green' : i.kind === 'email' ? 'blue' : 'gray'}>{i.kind}</Badge>
                      </td>
                      <td>
                        <code class="wrap">{i.value}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
            <Card title="Traits">
              {Object.keys(profile.traits).length ? (
                <table class="table compact">
                  <tbody>
                    {Object.entries(profile.traits).map(([key, value]) => (
                      <tr>
                        <th scope="row">{key}</th>
                        <td class="wrap">{valueText(value, 300)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p class="muted">No traits yet: they arrive with identify calls, e.g. at login or checkout.</p>
              )}
            </Card>
            <Card title="Where they came from">
              <h3 class="sub-head">First visit</h3>
              <Touch touch={computed.firstTouch} now={here.now} />
              <h3 class="sub-head">Latest visit from outside</h3>
              <Touch touch={computed.lastTouch} now={here.now} />
              <h3 class="sub-head">Search keywords</h3>
              {computed.keywords.length ? (
                <ul class="chips">
                  {computed.keywords.map((k) => (
                    <li class="chip">{k}</li>
                  ))}
                </ul>
              ) : (
                <p class="muted">None seen.</p>
              )}
            </Card>
            <Card title="Behaviour">
              <EventCounts all={computed.events} recent={countsWithin(profile.computed, 30, here.now)} />
              <Facts
                rows={[
                  ['Last page', computed.lastPage ? <VisitorUrl url={computed.lastPage.url} label={computed.lastPage.title ?? computed.lastPage.path ?? undefined} /> : null],
                  ['Pages seen', computed.pagesVisited.length ? num(computed.pagesVisited.length) : null],
                  ['Devices', computed.devices.join(', ')],
                  ['Browsers', computed.browsers.join(', ')],
                  ['Systems', computed.oses.join(', ')],
                ]}
              />
            </Card>
            <Card title="Segments">
              {segments.length ? (
                <ul class="chips">
                  {segments.map((s) => (
                    <li>
                      <a class="chip chip-link" href={here.to(`/console/segments/${s.id}`)}>
                        {s.name}
                      </a>
                    </li>
                  ))}
                </ul>
              ) : (
                <p class="muted">In no segment today.</p>
              )}
            </Card>
            <Card title="Merge history" actions={<a href={`${self}/merge`}>Merge a duplicate</a>}>
              <Merges merges={merges} self={profile.id} now={here.now} />
            </Card>
          </div>
          <RecommendedFor here={here} recommended={recommended} />
          <Card title="Consent" id="consent">
            <ConsentList consent={profile.computed.consent ?? {}} timeZone={here.site?.settings.timeZone} />
          </Card>
          <Card title="Automations" id="automations" actions={<span class="muted small">newest first</span>}>
            <PersonRuns here={here} runs={runs.items} automations={automations} names={names.names} />
          </Card>
          <Card title="Timeline" id="timeline" actions={<span class="muted small">newest first</span>}>
            {events.items.length ? <Timeline events={events.items} now={here.now} /> : <p class="muted">No events.</p>}
            <Pager
              first={cursor ? `${self}#timeline` : null}
              next={events.nextCursor ? `${withQuery(self, { events: events.nextCursor })}#timeline` : null}
              nextLabel="Older events"
            />
          </Card>
        </>
      ),
    });
  });

  app.get('/:id/export', async (c) => {
    const profile = await profileOf(ctx, c);
    if (profile instanceof Response) return profile;
    c.header('Content-Disposition', `attachment; filename="profile-${profile.id}.json"`);
    return c.json(await profileExport(ctx, profile));
  });

  app.get('/:id/erase', async (c) => {
    const profile = await profileOf(ctx, c);
    if (profile instanceof Response) return profile;
    const here = hereOf(c, ctx, profile.siteId);
    const identities = await ctx.store.profileIdentities(profile.siteId, profile.id);
    return page(c, {
      here,
      title: `Erase ${personName(profile)}?`,
      section: 'customers',
      back: { href: `/console/customers/${profile.id}`, label: 'Back to the customer' },
      children: (
        <Confirm here={here} action={`/console/customers/${profile.id}/erase`} label="Erase for good" cancel={`/console/customers/${profile.id}`}>
          <p>
            {`This removes the profile, its ${plural(identities.length, 'identity', 'identities')}, its ${plural(profile.computed.eventCount, 'event')} and its merge history for good. `}
            It cannot be undone. If the person comes back, they start as a new visitor.
          </p>
          <p class="muted">Export their data first if you must hand it over to them.</p>
        </Confirm>
      ),
    });
  });

  app.post('/:id/erase', async (c) => {
    const profile = await profileOf(ctx, c);
    if (profile instanceof Response) return profile;
    await eraseProfile(ctx, profile);
    return c.redirect(withQuery('/console/customers', { site: profile.siteId, done: 'erased' }), 303);
  });

  repairRoutes(ctx, app, (c) => profileOf(ctx, c));
  return app;
}

/** The customer of the URL; a profile merged into another leads to that one. */
async function profileOf(ctx: AppContext, c: Context<ConsoleEnv>): Promise<ProfileRecord | Response> {
  const id = c.req.param('id')!;
  const profile = await findProfile(ctx, id);
  if (!profile) throw new HttpError(404, `There is no customer ${id}: they may have been erased.`);
  if (profile.mergedInto) return c.redirect(c.req.path.replace(`/customers/${id}`, `/customers/${profile.mergedInto}`), 302);
  return profile;
}

type Summary = ReturnType<typeof profileSummary>;

function CustomerTable(props: { here: Here; rows: Array<{ profile: ProfileRecord; summary: Summary }> }) {
  const { here } = props;
  return (
    <table class="table customers">
      <thead>
        <tr>
          <th scope="col">Customer</th>
          <th scope="col">Last seen</th>
          <th scope="col" class="num">
            Visits
          </th>
          <th scope="col" class="num">
            Orders
          </th>
          <th scope="col" class="num">
            Value
          </th>
          <th scope="col">Class</th>
          <th scope="col">First came from</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map(({ profile, summary }) => {
          const c = summary.computed;
          const first = c.firstTouch;
          return (
            <tr>
              <td>
                <a class="strong" href={`/console/customers/${profile.id}`}>
                  {personName(profile)}
                </a>
                <div class="sub">{profile.userId ?? profile.email ?? `anonymous · ${profile.id}`}</div>
              </td>
              <td class="nowrap">
                <Time at={c.lastSeen} now={here.now} />
              </td>
              <td class="num">{num(c.visits)}</td>
              <td class="num">{num(c.orders)}</td>
              <td class="num">{money(c.clv)}</td>
              <td>{c.abc ? <Badge tone={ABC_TONES[c.abc]}>{c.abc}</Badge> : null}</td>
              <td>
                {first ? (
                  <>
                    {first.source ?? first.medium}
                    {first.term ? <div class="sub">{`“${first.term}”`}</div> : null}
                  </>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

type TouchView = ReturnType<typeof computedView>['firstTouch'];

function Touch(props: { touch: TouchView; now: number }) {
  const t = props.touch;
  if (!t) return <p class="muted">Not known.</p>;
  return (
    <Facts
      rows={[
        ['Source', <ReferralLine referral={{ ...t, referrer: null }} />],
        ['Referrer', t.referrer ? <VisitorUrl url={t.referrer} /> : null],
        ['Landing page', t.landingPage ? <VisitorUrl url={t.landingPage} /> : null],
        ['When', <Time at={t.at} now={props.now} />],
      ]}
    />
  );
}

function EventCounts(props: { all: Record<string, number>; recent: Record<string, number> }) {
  const names = Object.keys(props.all).sort((a, b) => props.all[b] - props.all[a]);
  if (!names.length) return <p class="muted">No tracked events yet.</p>;
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th scope="col">Event</th>
          <th scope="col" class="num">
            All time
          </th>
          <th scope="col" class="num">
            30 days
          </th>
        </tr>
      </thead>
      <tbody>
        {names.slice(0, 12).map((name) => (
          <tr>
            <td>{name}</td>
            <td class="num">{num(props.all[name])}</td>
            <td class="num">{num(props.recent[name] ?? 0)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The person's consent per purpose: what they said, when, and whether the sender was vouched for. */
function ConsentList(props: { consent: Record<string, ConsentRecord>; timeZone?: string }) {
  const purposes = Object.entries(props.consent).sort(([a], [b]) => a.localeCompare(b));
  if (!purposes.length) return <p class="muted">No consent recorded: no “Consent Updated” event has come for this person.</p>;
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th scope="col">Purpose</th>
          <th scope="col">Consent</th>
          <th scope="col">Since</th>
          <th scope="col">Said by</th>
        </tr>
      </thead>
      <tbody>
        {purposes.map(([purpose, r]) => (
          <tr>
            <td>{purpose}</td>
            <td>{r.granted ? <Badge tone="green">Given</Badge> : <Badge tone="red">Withdrawn</Badge>}</td>
            <td>{dateTime(r.at, props.timeZone)}</td>
            <td class="muted">{r.trust === 'untrusted' ? 'the browser' : r.trust === 'verified' ? 'a verified login' : 'the site’s server'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const RULES: Record<MergeRecord['rule'], string> = {
  identify: 'Logged in: an anonymous visitor joined the customer',
  alias: 'Alias: an earlier id joined the customer',
  email: 'Same email: two profiles joined',
  'anonymous-moved': 'A shared device: the anonymous id moved to another customer',
  refused: 'Refused: the profile had merged as often as the site allows',
  operator: 'Merged by an operator',
  split: 'Split by an operator: a merge undone',
};

/** A merge into this profile that a split can undo. */
const splittable = (m: MergeRecord, self: string) => movesRows(m) && m.from !== self && !m.undoneAt && m.snapshot?.identities !== undefined;

function Merges(props: { merges: MergeRecord[]; self: string; now: number }) {
  if (!props.merges.length) return <p class="muted">Never merged: everything was recorded under this profile.</p>;
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">Ids</th>
        </tr>
      </thead>
      <tbody>
        {props.merges.map((record) => [record, mergeView(record)] as const).map(([record, m]) => (
          <tr>
            <td class="nowrap">
              <Time at={m.at} now={props.now} />
            </td>
            <td>
              {RULES[m.rule]}
              {m.by ? <div class="sub">{`by ${m.by}`}</div> : null}
              {m.from && m.from !== props.self ? <div class="sub">{`from profile ${m.from}`}</div> : null}
              {m.into !== props.self ? <div class="sub">{`into profile ${m.into}`}</div> : null}
              {m.undoneAt ? <div class="sub">Undone by a split</div> : null}
              {splittable(record, props.self) ? (
                <div class="sub">
                  <a href={`/console/customers/${props.self}/split?from=${encodeURIComponent(m.from!)}`}>Split it out</a>
                </div>
              ) : null}
            </td>
            <td class="small wrap">
              {Object.entries(m.ids)
                .filter(([, v]) => v)
                .map(([k, v]) => (
                  <div>
                    <span class="muted">{`${k} `}</span>
                    <code>{String(v)}</code>
                  </div>
                ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
