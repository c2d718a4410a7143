import { dayIn, isoDate, PRESET_RANGES, rangeOf, type DayRange } from '../../reports/days.js';
import type { Site } from '../../store/types.js';
import { HttpError } from '../../http/errors.js';
import type { Here } from './here.js';

/**
 * The range of a console report from its query (`days`, or `from` and `to`), in the site's time
 * zone: 30 days ending today by default. A bad date is a 400 page naming the field.
 */
export function consoleRange(query: Record<string, string | undefined>, here: Here, site: Site): DayRange {
  const q = { days: query.days || undefined, from: query.from || undefined, to: query.to || undefined };
  try {
    return rangeOf(q, here.now, site.settings.timeZone);
  } catch (error) {
    if (error instanceof RangeError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** A range as words: "30 days to 2026-12-02" or "2026-11-01 to 2026-11-30". */
export function rangeLabel(range: DayRange): string {
  return `${isoDate(range.from)} to ${isoDate(range.to)}`;
}

/**
 * The range picker of a report: presets as links, and a custom range as a GET form that keeps the
 * page's other parameters (`keep`). Days are the site's, in its time zone.
 */
export function RangePicker(props: { here: Here; path: string; range: DayRange; site: Site; keep?: Record<string, string> }) {
  const { here, range } = props;
  const today = dayIn(here.now, props.site.settings.timeZone);
  const keep = props.keep ?? {};
  return (
    <form class="range-picker" method="get" action={props.path}>
      <input type="hidden" name="site" value={props.site.id} />
      {Object.entries(keep).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <span class="range-presets">
        {PRESET_RANGES.map((days) => {
          const current = range.to - range.from + 1 === days && range.to === today;
          return (
            <a class={current ? 'button button-small is-current' : 'button button-small'} href={here.to(props.path, { ...keep, days })} aria-current={current ? 'true' : undefined}>
              {`${days} days`}
            </a>
          );
        })}
      </span>
      <label>
        From <input type="date" name="from" value={isoDate(range.from)} required />
      </label>
      <label>
        to <input type="date" name="to" value={isoDate(range.to)} required />
      </label>
      <button type="submit" class="button button-small">
        Show
      </button>
      <span class="muted small">{`Days in ${props.site.settings.timeZone}`}</span>
    </form>
  );
}
