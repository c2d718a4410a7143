import type { Hono } from 'hono';
import type { AppContext } from '../../app-context.js';
import { HttpError } from '../../http/errors.js';
import { mergeByOperator, previewMerge } from '../../identity/operator-merge.js';
import { splitProfile } from '../../identity/split.js';
import { refused } from '../../profiles/routes.js';
import type { ProfileRecord } from '../../profiles/types.js';
import type { ConsoleEnv } from '../env.js';
import { Card, Confirm } from '../ui/components.js';
import { personName, plural, valueText } from '../ui/format.js';
import { hereOf, withQuery } from '../ui/here.js';
import { page } from '../ui/layout.js';

/** Who the console records as having repaired a profile: it has one login, so the console itself. */
const CONSOLE = 'console';

/**
 * The console's identity repairs on a customer's page: merging a duplicate into them (a preview
 * first, then a confirmation) and splitting out a profile merged into them.
 */
export function repairRoutes(ctx: AppContext, app: Hono<ConsoleEnv>, profileOf: (c: any) => Promise<ProfileRecord | Response>) {
  app.get('/:id/merge', async (c) => {
    const profile = await profileOf(c);
    if (profile instanceof Response) return profile;
    const here = hereOf(c, ctx, profile.siteId);
    const self = `/console/customers/${profile.id}`;
    const from = c.req.query('from')?.trim() ?? '';
    const site = ctx.sites.get(profile.siteId)!;
    const preview = from ? await refused(() => previewMerge(ctx.store, site, profile.id, from)) : null;
    if (from && !preview) throw new HttpError(404, `There is no customer ${from} in ${site.name}.`);
    return page(c, {
      here,
      title: `Merge a duplicate into ${personName(profile)}`,
      section: 'customers',
      back: { href: self, label: 'Back to the customer' },
      children: (
        <>
          <Card title="The duplicate">
            <form method="get" action={`${self}/merge`} class="actions-row">
              <label for="merge-from">Profile id of the duplicate</label>
              <input id="merge-from" name="from" value={from} required maxlength={64} />
              <button type="submit" class="button">
                Preview
              </button>
            </form>
          </Card>
          {preview ? (
            <Confirm here={here} action={`${self}/merge`} label="Merge" cancel={self} fields={{ from }}>
              <p>
                {`Profile ${from} goes into this one: its ${plural(preview.identities.length, 'identity', 'identities')} and its ${plural(preview.events, 'event')} move here, and it is kept as a pointer to this profile.`}
              </p>
              {preview.retiredUserId ? (
                <p>{`Both are logged-in customers: this one keeps its user id, and ${preview.retiredUserId} finds it too from now on.`}</p>
              ) : null}
              {preview.merges.overCap ? <p class="muted">This passes the site’s cap on merges per profile; an operator may.</p> : null}
              <table class="table compact">
                <caption>Traits after the merge: the value set last wins</caption>
                <thead>
                  <tr>
                    <th scope="col">Trait</th>
                    <th scope="col">Value</th>
                    <th scope="col">From</th>
                    <th scope="col">Replaces</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.traits.map((t) => (
                    <tr>
                      <td>{t.key}</td>
                      <td>{valueText(t.value)}</td>
                      <td>{t.winner === 'into' ? 'this customer' : 'the duplicate'}</td>
                      <td class="muted">{t.other === undefined ? '' : valueText(t.other)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p class="muted">A split from the merge history undoes it.</p>
            </Confirm>
          ) : null}
        </>
      ),
    });
  });

  app.post('/:id/merge', async (c) => {
    const profile = await profileOf(c);
    if (profile instanceof Response) return profile;
    const from = String((await c.req.parseBody()).from ?? '').trim();
    const site = ctx.sites.get(profile.siteId)!;
    const done = await refused(() => mergeByOperator(ctx.store, site, profile.id, from, CONSOLE, ctx.now()));
    if (!done) throw new HttpError(404, `There is no customer ${from} in ${site.name}.`);
    ctx.rankings.invalidate(site.id);
    return c.redirect(withQuery(`/console/customers/${profile.id}`, { done: 'merged' }), 303);
  });

  app.get('/:id/split', async (c) => {
    const profile = await profileOf(c);
    if (profile instanceof Response) return profile;
    const here = hereOf(c, ctx, profile.siteId);
    const self = `/console/customers/${profile.id}`;
    const from = c.req.query('from')?.trim() ?? '';
    const identities = await ctx.store.profileIdentities(profile.siteId, profile.id);
    return page(c, {
      here,
      title: `Split profile ${from} out of ${personName(profile)}?`,
      section: 'customers',
      back: { href: self, label: 'Back to the customer' },
      children: (
        <Confirm here={here} action={`${self}/split`} label="Split" cancel={self} fields={{ from }}>
          <p>
            {`The identities that profile ${from} had when it was merged go back to it, with their events. Both profiles are then counted again from their events (this one has ${plural(identities.length, 'identity', 'identities')} now). Automation runs stay with this customer.`}
          </p>
        </Confirm>
      ),
    });
  });

  app.post('/:id/split', async (c) => {
    const profile = await profileOf(c);
    if (profile instanceof Response) return profile;
    const from = String((await c.req.parseBody()).from ?? '').trim();
    const site = ctx.sites.get(profile.siteId)!;
    const tombstone = from ? await ctx.store.getProfile(site.id, from) : null;
    if (!tombstone || tombstone.mergedInto !== profile.id) throw new HttpError(409, `Profile ${from} is not merged into this customer.`);
    await refused(() => splitProfile(ctx.store, site, from, CONSOLE, ctx.now()));
    ctx.rankings.invalidate(site.id);
    return c.redirect(`/console/customers/${from}`, 303);
  });
}
