import { Hono, type Context } from 'hono';
import type { AppContext } from '../../app-context.js';
import { requiredString } from '../../http/input.js';
import { found, mailSettings, MAX_RETENTION_DAYS, origins, segmentIdsOf } from '../../sites/routes.js';
import { checkShownSegments, selfServiceSettingsOf } from '../../self-service/settings.js';
import type { Segment } from '../../decisions/types.js';
import type { Site, SiteSettings, SiteSwitch } from '../../store/types.js';
import type { ConsoleEnv } from '../env.js';
import { Badge, Card, Confirm, CsrfField, Empty, Facts, PostButton, problemOf, Problems, type Problem } from '../ui/components.js';
import { date, plural } from '../ui/format.js';
import { hereOf, withQuery, type Here } from '../ui/here.js';
import { page } from '../ui/layout.js';
import { isTimeZone } from '../../reports/days.js';

/** `risk`: what a setting being off allows, shown beside it whatever its state. */
const SETTINGS: Array<{ key: SiteSwitch; label: string; hint: string; risk?: string }> = [
  {
    key: 'requireUserHash',
    label: 'Identity verification',
    hint: 'Browser messages with a user id must carry context.userHash = HMAC-SHA256(secret, userId), computed by your backend; without it they count as anonymous. On by default.',
    risk: "Turned off, anyone who knows or guesses a customer's user id (often a number or an email) can send it from their own browser: that browser then joins the customer's profile, its visits count as theirs, and personalized slots show it the customer's name, traits and coupon codes. Decisions still never answer for a user id without its hash, and alias and email links still need verified ids or the secret.",
  },
  {
    key: 'emailMatching',
    label: 'Join profiles by email',
    hint: 'Two profiles that identify with the same email become one customer. Only messages with a verified user id, or sent with the secret, join by email: anyone can type an address.',
  },
  { key: 'storeFullIp', label: 'Keep full IP addresses', hint: 'Off: addresses are shortened (IPv4 /24, IPv6 /48) before they are stored.' },
  { key: 'exposeSegments', label: 'Tell the browser which segments matched', hint: 'For debugging: decisions list the segments of the visitor. Leave off in production.' },
];

const DONE: Record<string, string> = {
  created: 'The site is ready. Put its script tag on your pages.',
  origins: 'Allowed origins saved.',
  settings: 'Settings saved.',
  mail: 'Email and sending settings saved.',
  selfService: 'Self-service page settings saved.',
};

/** How the SMTP URL is shown: its password never goes back into a page. */
const HIDDEN_PASSWORD = '********';
function shownSmtpUrl(url: string | null) {
  if (!url) return '';
  const u = new URL(url);
  if (u.password) u.password = HIDDEN_PASSWORD;
  return u.href;
}

const lines = (text: unknown) =>
  String(text ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** `/console/sites`: the sites, their script tag, keys, allowed origins and settings. */
export function siteRoutes(ctx: AppContext) {
  const app = new Hono<ConsoleEnv>();
  // The page offers the site's segments to show on the self-service page.
  const sitePage = async (c: Context<ConsoleEnv>, here: Here, site: Site, view: SiteView, status: 200 | 400 = 200) =>
    renderSitePage(c, here, site, { ...view, segments: await ctx.store.listSegments(site.id) }, status);

  app.get('/', (c) => list(c, hereOf(c, ctx)));

  app.post('/', async (c) => {
    const form = await c.req.parseBody();
    const here = hereOf(c, ctx);
    try {
      const body = { name: String(form.name ?? ''), origins: lines(form.origins) };
      const name = requiredString(body, 'name', { max: 100 });
      const site = await ctx.sites.create({ name, origins: origins(body) ?? [] });
      return c.redirect(sitePath(site.id, 'created'), 303);
    } catch (error) {
      return list(c, here, problemOf(error), { name: String(form.name ?? ''), origins: String(form.origins ?? '') });
    }
  });

  app.get('/:id', (c) => {
    const site = found(ctx, c.req.param('id'));
    return sitePage(c, hereOf(c, ctx, site), site, { notice: DONE[c.req.query('done') ?? ''] });
  });

  // The secret shows only in the answer to this POST: never in a URL, a GET or a cached page.
  app.post('/:id/reveal', (c) => {
    const site = found(ctx, c.req.param('id'));
    return sitePage(c, hereOf(c, ctx, site), site, { reveal: true });
  });

  app.get('/:id/rotate', (c) => {
    const site = found(ctx, c.req.param('id'));
    const here = hereOf(c, ctx, site);
    return page(c, {
      here,
      title: 'Rotate the secret?',
      section: 'sites',
      back: { href: `/console/sites/${site.id}`, label: site.name },
      children: (
        <Confirm here={here} action={`/console/sites/${site.id}/rotate`} label="Rotate the secret" cancel={`/console/sites/${site.id}`}>
          <p>
            {`A new secret replaces the current one of ${site.name} at once: server-side calls with the old secret are refused, and user hashes made with it no longer verify. `}
            Update your backend right after.
          </p>
        </Confirm>
      ),
    });
  });

  app.post('/:id/rotate', async (c) => {
    const before = found(ctx, c.req.param('id'));
    const site = (await ctx.sites.update(before.id, { rotateSecret: true }))!;
    return sitePage(c, hereOf(c, ctx, site), site, { reveal: true, notice: 'New secret made; the old one no longer works. Copy it to your backend now.' });
  });

  app.post('/:id/origins', async (c) => {
    const current = found(ctx, c.req.param('id'));
    const form = await c.req.parseBody();
    try {
      await ctx.sites.update(current.id, { origins: origins({ origins: lines(form.origins) }) ?? [] });
      return c.redirect(sitePath(current.id, 'origins'), 303);
    } catch (error) {
      return sitePage(c, hereOf(c, ctx, current), current, { problem: problemOf(error), originsText: String(form.origins ?? '') }, 400);
    }
  });

  app.post('/:id/settings', async (c) => {
    const current = found(ctx, c.req.param('id'));
    const form = await c.req.parseBody();
    const settings: Partial<SiteSettings> = Object.fromEntries(SETTINGS.map((s) => [s.key, form[s.key] === 'on']));
    const days = String(form.retentionDays ?? '').trim();
    if (days === '') settings.retentionDays = null;
    else if (/^\d{1,4}$/.test(days) && Number(days) >= 1 && Number(days) <= MAX_RETENTION_DAYS) settings.retentionDays = Number(days);
    else {
      const problem = { message: `retentionDays: must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or empty to keep everything` };
      return sitePage(c, hereOf(c, ctx, current), current, { settingsProblem: problem }, 400);
    }
    const timeZone = String(form.timeZone ?? '').trim() || current.settings.timeZone;
    if (!isTimeZone(timeZone)) {
      const problem = { message: 'timeZone: must be an IANA time zone such as Europe/Berlin, or UTC' };
      return sitePage(c, hereOf(c, ctx, current), current, { settingsProblem: problem }, 400);
    }
    settings.timeZone = timeZone;
    await ctx.sites.update(current.id, { settings });
    return c.redirect(sitePath(current.id, 'settings'), 303);
  });

  // The settings automations send by; validated as the API validates them.
  app.post('/:id/mail', async (c) => {
    const current = found(ctx, c.req.param('id'));
    const form = await c.req.parseBody();
    const text = (key: string) => String(form[key] ?? '').trim();
    const whole = (key: string) => (text(key) === '' ? null : /^\d+$/.test(text(key)) ? Number(text(key)) : NaN);
    let smtpUrl: string | null = text('smtpUrl') || null;
    // The password was shown hidden: kept as stored unless a new one was typed.
    if (smtpUrl && current.settings.smtpUrl && smtpUrl === shownSmtpUrl(current.settings.smtpUrl)) smtpUrl = current.settings.smtpUrl;
    const quiet = [whole('quietFrom'), whole('quietTo')];
    const cap = [whole('capSends'), whole('capDays')];
    try {
      const settings = mailSettings({
        smtpUrl,
        mailFrom: text('mailFrom') || null,
        quietHours: quiet[0] === null && quiet[1] === null ? null : { from: quiet[0], to: quiet[1] },
        sendCap: cap[0] === null && cap[1] === null ? null : { sends: cap[0], days: cap[1] },
      });
      await ctx.sites.update(current.id, { settings });
      return c.redirect(sitePath(current.id, 'mail'), 303);
    } catch (error) {
      return sitePage(c, hereOf(c, ctx, current), current, { mailProblem: problemOf(error) }, 400);
    }
  });

  // What customers see on their self-service page (/me/:token); validated as the API validates it.
  app.post('/:id/self-service', async (c) => {
    const current = found(ctx, c.req.param('id'));
    const form = await c.req.parseBody({ all: true });
    const listed = (value: unknown) => (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
    try {
      const selfService = selfServiceSettingsOf(
        {
          editableTraits: lines(form.editableTraits),
          shownSegments: listed(form.shownSegments),
          cssUrl: String(form.cssUrl ?? '').trim() || null,
          logoUrl: String(form.logoUrl ?? '').trim() || null,
        },
        current.settings.selfService,
      );
      checkShownSegments(selfService, await segmentIdsOf(ctx, current.id));
      await ctx.sites.update(current.id, { settings: { selfService } });
      return c.redirect(sitePath(current.id, 'selfService'), 303);
    } catch (error) {
      return sitePage(c, hereOf(c, ctx, current), current, { selfServiceProblem: problemOf(error) }, 400);
    }
  });

  return app;
}

/** The zones this Node knows, offered as the field's suggestions. */
const TIME_ZONES = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((zone) => zone !== 'UTC')];

/** A site's page, with that site chosen in the picker, and what was just done. */
const sitePath = (id: string, done?: keyof typeof DONE) => withQuery(`/console/sites/${id}`, { site: id, done });

function list(c: Context<ConsoleEnv>, here: Here, problem?: Problem, values = { name: '', origins: '' }) {
  return page(
    c,
    {
      here,
      title: 'Sites',
      section: 'sites',
      children: (
        <>
          {here.sites.length ? (
            <Card>
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Site</th>
                    <th scope="col">Allowed origins</th>
                    <th scope="col">Identity verification</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {here.sites.map((s) => (
                    <tr>
                      <td>
                        <a class="strong" href={sitePath(s.id)}>
                          {s.name}
                        </a>
                        <div class="sub">{s.id}</div>
                      </td>
                      <td>{s.origins.length ? s.origins.join(', ') : <span class="muted">none yet</span>}</td>
                      <td>{s.settings.requireUserHash ? <Badge tone="green">required</Badge> : <Badge tone="red" title="Anyone who knows a customer's user id can claim to be them">off</Badge>}</td>
                      <td>{date(s.createdAt, s.settings.timeZone)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          ) : (
            <Card>
              <Empty title="No site yet">Add your shop below: you get the script tag to put on its pages.</Empty>
            </Card>
          )}
          <Card title="Add a site">
            <form method="post" action="/console/sites" class="stack">
              <CsrfField here={here} />
              <Problems problem={problem} />
              <div class="form-grid">
                <label for="site-name">Name</label>
                <input id="site-name" name="name" required maxlength={100} value={values.name} placeholder="e.g. Summer Travel shop" />
                <label for="site-origins">Allowed origins</label>
                <div>
                  <textarea id="site-origins" name="origins" rows={3} placeholder="https://shop.example.com">
                    {values.origins}
                  </textarea>
                  <p class="hint">The addresses your pages are served from, one per line: scheme, host and port, no path.</p>
                </div>
              </div>
              <div class="actions-row">
                <button type="submit" class="button button-primary">
                  Add the site
                </button>
              </div>
            </form>
          </Card>
        </>
      ),
    },
    problem ? 400 : 200,
  );
}

interface SiteView {
  reveal?: boolean;
  notice?: string;
  problem?: Problem;
  /** A bad value in the settings form, shown above it. */
  settingsProblem?: Problem;
  /** A bad value in the email and sending form. */
  mailProblem?: Problem;
  /** A bad value in the self-service form. */
  selfServiceProblem?: Problem;
  /** The site's segments, offered to the self-service page. */
  segments?: Segment[];
  originsText?: string;
}

function renderSitePage(c: Context<ConsoleEnv>, here: Here, site: Site, view: SiteView, status: 200 | 400 = 200) {
  const tag = `<script async src="${here.origin}/sdk.js" data-write-key="${site.writeKey}"></script>`;
  return page(
    c,
    {
      here,
      title: site.name,
      section: 'sites',
      back: { href: '/console/sites', label: 'Sites' },
      notice: view.notice,
      children: (
        <>
          <Card title="Install" actions={<button type="button" class="button button-small js-only" data-copy="script-tag" hidden>Copy</button>}>
            <p>
              Put this tag in the <code>&lt;head&gt;</code> of every page of the site:
            </p>
            <pre class="code-block">
              <code id="script-tag">{tag}</code>
            </pre>
            <p class="hint">
              The write key in it is public: it can only send visits and ask for offers, and only from the allowed origins below.
              Mark personalized places with <code>{'<div data-rapport-slot="home-hero">default content</div>'}</code>.
            </p>
          </Card>
          <div class="grid-2">
            <Card title="Keys">
              <Facts
                rows={[
                  ['Site id', <code>{site.id}</code>],
                  ['Write key', <code>{site.writeKey}</code>],
                  [
                    'Secret',
                    view.reveal ? (
                      <>
                        <code id="site-secret" class="secret">
                          {site.secret}
                        </code>{' '}
                        <button type="button" class="button button-small js-only" data-copy="site-secret" hidden>
                          Copy
                        </button>
                      </>
                    ) : (
                      <span class="secret-hidden" aria-label="hidden">
                        ••••••••••••••••
                      </span>
                    ),
                  ],
                ]}
              />
              <div class="actions-row">
                {view.reveal ? null : <PostButton here={here} action={`/console/sites/${site.id}/reveal`} label="Reveal the secret" />}
                <a class="button button-quiet" href={`/console/sites/${site.id}/rotate`}>
                  Rotate the secret…
                </a>
              </div>
              <p class="hint">
                The secret stays on your servers: it authenticates server-side calls (<code>Authorization: Bearer</code>) and signs user ids for
                identity verification.
              </p>
            </Card>
            <Card title="Allowed origins">
              <form method="post" action={`/console/sites/${site.id}/origins`} class="stack">
                <CsrfField here={here} />
                <Problems problem={view.problem} />
                <label for="origins" class="sr-only">
                  Allowed origins
                </label>
                <textarea id="origins" name="origins" rows={4} class={view.problem ? 'code invalid' : 'code'} placeholder="https://shop.example.com">
                  {view.originsText ?? site.origins.join('\n')}
                </textarea>
                <p class="hint">
                  {`Browsers may send data for this site only from these origins, one per line. ${site.origins.length ? `${plural(site.origins.length, 'origin')} allowed now.` : 'None yet: the script tag cannot send anything.'}`}
                </p>
                <div class="actions-row">
                  <button type="submit" class="button">
                    Save origins
                  </button>
                </div>
              </form>
            </Card>
          </div>
          <Card title="Identity and privacy">
            <form method="post" action={`/console/sites/${site.id}/settings`} class="stack">
              <CsrfField here={here} />
              <Problems problem={view.settingsProblem} />
              {SETTINGS.map((s) => (
                <label class="toggle">
                  <input type="checkbox" name={s.key} checked={site.settings[s.key]} />
                  <span>
                    <strong>{s.label}</strong>
                    <span class="hint">{s.hint}</span>
                    {s.risk && (
                      <span class={site.settings[s.key] ? 'hint' : 'hint hint-risk'} data-risk={s.key}>
                        {site.settings[s.key] ? '' : 'Off now. '}
                        {s.risk}
                      </span>
                    )}
                  </span>
                </label>
              ))}
              <label class="setting-number">
                <strong>Keep events for (days)</strong>
                <input type="number" name="retentionDays" min="1" max={MAX_RETENTION_DAYS} value={site.settings.retentionDays ?? ''} placeholder="forever" />
                <span class="hint">Events older than this are deleted once a day, with their offer events. Empty keeps everything. Profiles stay; erase a person from their page.</span>
              </label>
              <label class="setting-number">
                <strong>Time zone</strong>
                <input type="text" name="timeZone" value={site.settings.timeZone} list="time-zones" required maxlength={64} />
                <datalist id="time-zones">
                  {TIME_ZONES.map((zone) => (
                    <option value={zone} />
                  ))}
                </datalist>
                <span class="hint">The days of charts and reports begin at midnight here. Changing it recounts the site's daily figures.</span>
              </label>
              <div class="actions-row">
                <button type="submit" class="button">
                  Save settings
                </button>
              </div>
            </form>
          </Card>
          <Card title="Automations: email and sending">
            <form method="post" action={`/console/sites/${site.id}/mail`} class="stack">
              <CsrfField here={here} />
              <Problems problem={view.mailProblem} />
              <label class="setting-number">
                <strong>SMTP server</strong>
                <input type="text" name="smtpUrl" value={shownSmtpUrl(site.settings.smtpUrl)} placeholder="smtp://user:password@mail.example.com:587" maxlength={500} autocomplete="off" />
                <span class="hint">Where automation emails go out: smtp:// (STARTTLS when offered) or smtps://. The password is not shown again; leave it hidden to keep it.</span>
              </label>
              <label class="setting-number">
                <strong>From</strong>
                <input type="text" name="mailFrom" value={site.settings.mailFrom ?? ''} placeholder="Shop <shop@example.com>" maxlength={200} />
              </label>
              <fieldset class="setting-number">
                <legend>
                  <strong>Quiet hours</strong>
                </legend>
                <label>
                  from <input type="number" name="quietFrom" min="0" max="23" value={site.settings.quietHours?.from ?? ''} />
                </label>
                <label>
                  to <input type="number" name="quietTo" min="0" max="23" value={site.settings.quietHours?.to ?? ''} />
                </label>
                <span class="hint">Hours of the site's day (its time zone) in which nothing is sent: 22 to 8 is the night. Empty: none.</span>
              </fieldset>
              <fieldset class="setting-number">
                <legend>
                  <strong>Sends per person</strong>
                </legend>
                <label>
                  at most <input type="number" name="capSends" min="1" max="1000" value={site.settings.sendCap?.sends ?? ''} />
                </label>
                <label>
                  in <input type="number" name="capDays" min="1" max="365" value={site.settings.sendCap?.days ?? ''} /> days
                </label>
                <span class="hint">Emails and webhooks of all automations together; the sends past it are skipped. Empty: no cap.</span>
              </fieldset>
              <div class="actions-row">
                <button type="submit" class="button">
                  Save email and sending
                </button>
              </div>
            </form>
          </Card>
          <SelfServiceCard here={here} site={site} view={view} />
        </>
      ),
    },
    status,
  );
}

/** The settings of the customers' self-service page: what they may change and see, and its look. */
function SelfServiceCard(props: { here: Here; site: Site; view: SiteView }) {
  const { here, site, view } = props;
  const settings = site.settings.selfService;
  const segments = view.segments ?? [];
  return (
    <Card title="Customer self-service page">
      <form method="post" action={`/console/sites/${site.id}/self-service`} class="stack">
        <CsrfField here={here} />
        <Problems problem={view.selfServiceProblem} />
        <p class="hint">
          Customers see what is kept about them, correct some traits, change their consent, download their data and erase it, through a link your backend signs with
          the secret (docs/self-service.md). For a test link: <code>{`rapport self-service-link --site ${site.id} --user <userId>`}</code>.
        </p>
        <label class="setting-number">
          <strong>Traits customers may correct</strong>
          <textarea name="editableTraits" rows={4} class="code" maxlength={4000}>
            {settings.editableTraits.join('\n')}
          </textarea>
          <span class="hint">One trait name per line, such as firstName or address. Email and ids cannot be among them: they link profiles.</span>
        </label>
        <fieldset class="setting-number">
          <legend>
            <strong>Segments shown to customers</strong>
          </legend>
          {segments.length ? (
            segments.map((s) => (
              <label class="toggle">
                <input type="checkbox" name="shownSegments" value={s.id} checked={settings.shownSegments.includes(s.id)} />
                <span>{s.name}</span>
              </label>
            ))
          ) : (
            <span class="hint">This site has no segments yet.</span>
          )}
          <span class="hint">A customer sees, by name, the checked segments they are in; never the others.</span>
        </fieldset>
        <label class="setting-number">
          <strong>Stylesheet URL</strong>
          <input type="url" name="cssUrl" value={settings.cssUrl ?? ''} placeholder="https://shop.example.com/rapport-me.css" maxlength={2000} />
          <span class="hint">An https stylesheet loaded after the page's own, to give it your look. Empty: Rapport's.</span>
        </label>
        <label class="setting-number">
          <strong>Logo URL</strong>
          <input type="url" name="logoUrl" value={settings.logoUrl ?? ''} placeholder="https://shop.example.com/logo.svg" maxlength={2000} />
          <span class="hint">An https image shown at the top, with the site's name as its text. Empty: the name.</span>
        </label>
        <div class="actions-row">
          <button type="submit" class="button">
            Save self-service settings
          </button>
        </div>
      </form>
    </Card>
  );
}
