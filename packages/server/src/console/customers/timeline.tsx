import type { JsonObject } from '@rapport/protocol';
import type { Referral, StoredEvent } from '../../store/types.js';
import { Badge, Time, VisitorUrl, type Tone } from '../ui/components.js';
import { truncate, valueText } from '../ui/format.js';

const TYPE_TONES: Record<string, Tone> = { page: 'blue', screen: 'blue', track: 'violet', identify: 'green', alias: 'green', group: 'gray' };

/** Up to `max` key/value pairs of an event's properties or traits, as text. */
function Pairs(props: { values: JsonObject | null | undefined; max?: number }) {
  const entries = Object.entries(props.values ?? {});
  if (!entries.length) return null;
  const max = props.max ?? 8;
  return (
    <ul class="pairs">
      {entries.slice(0, max).map(([key, value]) => (
        <li>
          <span class="pair-key">{truncate(key, 40)}</span>
          <span class="pair-value">{valueText(value, 120)}</span>
        </li>
      ))}
      {entries.length > max ? <li class="muted">{`and ${entries.length - max} more`}</li> : null}
    </ul>
  );
}

/** Where a visit came from, in one line: "Google · search · “thai beach”". */
export function ReferralLine(props: { referral: Referral | null | undefined }) {
  const r = props.referral;
  if (!r || r.medium === 'internal') return null;
  return (
    <div class="referral">
      <span class="muted">from </span>
      <strong>{r.source ?? r.medium}</strong>
      {r.source ? <span class="muted">{` · ${r.medium}`}</span> : null}
      {r.term ? (
        <>
          <span class="muted"> · keyword </span>
          <q class="keyword">{r.term}</q>
        </>
      ) : null}
      {r.campaign ? (
        <>
          <span class="muted"> · campaign </span>
          <span>{r.campaign}</span>
        </>
      ) : null}
      {r.referrer ? (
        <div class="small">
          <span class="muted">referrer </span>
          <VisitorUrl url={r.referrer} max={70} />
        </div>
      ) : null}
    </div>
  );
}

function What(props: { event: StoredEvent }) {
  const e = props.event;
  const page = e.enrichment.page;
  if (e.type === 'page' || e.type === 'screen') return <span class="what">{page?.title ?? e.name ?? page?.path ?? 'Page view'}</span>;
  if (e.type === 'track') return <span class="what">{e.event ?? 'Event'}</span>;
  if (e.type === 'identify') return <span class="what">{e.userId ? `Identified as ${e.userId}` : 'Traits updated'}</span>;
  if (e.type === 'alias') return <span class="what">{`Alias of ${valueText(e.extra.previousId ?? '', 60)}`}</span>;
  return <span class="what">{e.name ?? e.type}</span>;
}

/** One customer's events, newest first: what happened, on which page, from where. */
export function Timeline(props: { events: StoredEvent[]; now: number }) {
  return (
    <table class="table timeline">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => {
          const page = e.enrichment.page;
          return (
            <tr>
              <td class="nowrap">
                <Time at={e.timestamp} now={props.now} />
              </td>
              <td>
                <Badge tone={TYPE_TONES[e.type] ?? 'gray'}>{e.type}</Badge> <What event={e} />
              </td>
              <td class="details">
                {page?.url ? (
                  <div class="small">
                    <VisitorUrl url={page.url} max={90} />
                  </div>
                ) : null}
                {e.type === 'page' || e.type === 'screen' ? <ReferralLine referral={e.enrichment.referral} /> : null}
                <Pairs values={e.type === 'identify' || e.type === 'group' ? e.traits : e.properties} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
