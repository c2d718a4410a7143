import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CsrfField, Notice } from './components.js';
import type { Here } from './here.js';

export type Section = 'overview' | 'customers' | 'segments' | 'offers' | 'products' | 'automations' | 'reports' | 'sites';

const SECTIONS: Array<{ id: Section; label: string; path: string; icon: string }> = [
  { id: 'overview', label: 'Overview', path: '/console', icon: 'M4 13h6V4H4zm10 7h6V4h-6zM4 20h6v-4H4z' },
  { id: 'customers', label: 'Customers', path: '/console/customers', icon: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 9c0-3.3 3.1-6 7-6s7 2.7 7 6M17 11a3 3 0 1 0 0-6M22 20c0-2.5-1.8-4.6-4.3-5.3' },
  { id: 'segments', label: 'Segments', path: '/console/segments', icon: 'M12 3v9l7.8 4.5A9 9 0 1 1 12 3zm3 0a9 9 0 0 1 6 8.4h-6z' },
  { id: 'offers', label: 'Offers', path: '/console/offers', icon: 'M3 7h18v4H3zm2 4h14v9H5zm7-4v13M12 7C10 3 6 4 7.5 6.5 8.3 7.5 12 7 12 7zm0 0c2-4 6-3 4.5-.5C15.7 7.5 12 7 12 7z' },
  { id: 'products', label: 'Products', path: '/console/products', icon: 'M3 7.5 12 3l9 4.5v9L12 21l-9-4.5zm0 0 9 4.5 9-4.5M12 12v9' },
  { id: 'automations', label: 'Automations', path: '/console/automations', icon: 'M13 3 5 13.5h6L10 21l8-10.5h-6z' },
  { id: 'reports', label: 'Reports', path: '/console/reports/attribution', icon: 'M4 20V10m6 10V4m6 16v-7m6 7H2' },
  { id: 'sites', label: 'Sites', path: '/console/sites', icon: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z' },
];

const STATIC = '/console/static';

export interface PageProps {
  here: Here;
  title: string;
  section: Section;
  /** Beside the title: buttons such as "New segment". */
  actions?: Child;
  /** Above the title: a way back, e.g. to the list. */
  back?: { href: string; label: string };
  /** Client scripts of the page, from /console/static. */
  scripts?: string[];
  notice?: string | null;
  children?: Child;
}

const Icon = (props: { d: string }) => (
  <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
    <path d={props.d} />
  </svg>
);

/** The start of the head of every page, logged in or not. */
const HeadStart = (props: { title: string }) => (
  <>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>{`${props.title} · Rapport`}</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href={`${STATIC}/console.css`} />
  </>
);

const BrandMark = () => (
  <>
    <svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
      <circle cx="12" cy="16" r="8" />
      <circle cx="20" cy="16" r="8" />
    </svg>
    <span>Rapport</span>
  </>
);

/** The frame of every page after login: navigation, site picker, title. */
function Layout(props: PageProps) {
  const { here } = props;
  const root = SECTIONS.find((s) => s.id === props.section)!;
  return (
    <html lang="en">
      <head>
        <HeadStart title={props.title} />
        <meta name="csrf-token" content={here.csrf} />
        <script src={`${STATIC}/console.js`} defer></script>
        {(props.scripts ?? []).map((s) => (
          <script src={`${STATIC}/${s}`} defer></script>
        ))}
      </head>
      <body>
        <a class="skip" href="#content">
          Skip to content
        </a>
        <div class="shell">
          <aside class="sidebar">
            <a class="brand" href={here.to('/console')}>
              <BrandMark />
            </a>
            <nav class="nav" aria-label="Console">
              {SECTIONS.map((s) => (
                <a class={s.id === props.section ? 'nav-link active' : 'nav-link'} href={here.to(s.path)} aria-current={s.id === props.section ? 'page' : undefined}>
                  <Icon d={s.icon} />
                  <span>{s.label}</span>
                </a>
              ))}
            </nav>
          </aside>
          <div class="main">
            <header class="topbar">
              {here.sites.length > 0 ? (
                <form class="site-picker" method="get" action={root.path} data-autosubmit="">
                  <label for="site-picker">Site</label>
                  <select id="site-picker" name="site">
                    {here.sites.map((s) => (
                      <option value={s.id} selected={s.id === here.site?.id}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                  <button type="submit" class="button button-small js-hide">
                    Show
                  </button>
                </form>
              ) : (
                <span class="muted">No site yet</span>
              )}
              <form class="logout" method="post" action="/console/logout">
                <CsrfField here={here} />
                <button type="submit" class="button button-quiet button-small">
                  Log out
                </button>
              </form>
            </header>
            <main id="content" class="content">
              {props.back ? (
                <a class="back" href={props.back.href}>
                  ← {props.back.label}
                </a>
              ) : null}
              {props.notice ? <Notice>{props.notice}</Notice> : null}
              <div class="page-head">
                <h1>{props.title}</h1>
                {props.actions ? <div class="page-actions">{props.actions}</div> : null}
              </div>
              {props.children}
            </main>
          </div>
        </div>
      </body>
    </html>
  );
}

/** The frame of the pages before login: no navigation, one card in the middle. */
export function Bare(props: { title: string; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <HeadStart title={props.title} />
      </head>
      <body class="bare">
        <main class="bare-main">
          <div class="brand brand-large">
            <BrandMark />
          </div>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** Sends a page: the doctype, then the rendered JSX (which escapes every value). */
export async function send(c: Context, node: unknown, status: ContentfulStatusCode = 200) {
  const body = await (node as { toString(): string | Promise<string> }).toString();
  return c.html(`<!doctype html>${body}`, status);
}

/** A page inside the console frame. */
export const page = (c: Context, props: PageProps, status: ContentfulStatusCode = 200) => send(c, <Layout {...props} />, status);
