import { CAPTURE_EVENTS } from '@rapport/protocol';
import type { Module } from './types';

export { CAPTURE_EVENTS };

/** Longest `text` of a click, in characters. */
export const MAX_TEXT = 100;

/** `main > div.card > a`: tag, id or first class, up to four levels, enough to tell elements apart. */
export const elementPath = (el: Element | null): string => {
  const parts: string[] = [];
  for (let i = 0; el && el != document.body && i < 4; i++, el = el.parentElement) {
    const tag = el.tagName.toLowerCase();
    if (el.id) {
      parts.unshift(tag + '#' + el.id);
      break;
    }
    parts.unshift(el.classList[0] ? tag + '.' + el.classList[0] : tag);
  }
  return parts.join(' > ');
};

/**
 * Clickstream capture: page views on load and on SPA navigations, clicks on links, buttons and
 * `[data-rapport-track]` elements, and form submits. Values that visitors type are never read:
 * clicks carry visible text only (never of inputs or editable elements), forms their field names.
 * Inside `[data-rapport-ignore]` nothing is recorded.
 *
 * @example
 * <button data-rapport-track="Newsletter Signup">Subscribe</button>
 */
export const capture: Module = (core) => {
  const { options, guard } = core;
  // Capture phase: the page's own handlers cannot hide a click or submit by stopping it.
  const on = (target: EventTarget, type: string, listener: (event: Event) => unknown) =>
    target.addEventListener(type, guard(listener), true);

  if (options.pageviews !== false) {
    let last: string | undefined;
    const view = () => {
      const url = options.hashChanges ? location.href : location.href.split('#')[0];
      if (url != last) {
        last = url;
        core.page();
      }
    };
    view();
    // SPA routers change the URL with the History API, which fires no event: wrap it. The page
    // view waits a task, so that the router can set the new title first.
    for (const method of ['pushState', 'replaceState'] as const) {
      const original = history[method];
      history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
        const result = original.apply(this, args);
        setTimeout(guard(view));
        return result;
      };
    }
    on(window, 'popstate', view);
    if (options.hashChanges) on(window, 'hashchange', view);
  }

  if (options.clicks !== false)
    on(document, 'click', (event) => {
      const target = event.target as Element;
      if (!target.closest) return;
      const el =
        target.closest('[data-rapport-track]') ||
        target.closest('a,button,input[type=submit],input[type=button],[role=button]');
      if (!el || el.closest('[data-rapport-ignore]')) return;
      const link = el.closest('a');
      const text =
        el.tagName == 'INPUT' || (el as HTMLElement).isContentEditable
          ? undefined
          : (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
      core.track(
        el.getAttribute('data-rapport-track') || (link ? CAPTURE_EVENTS.link : CAPTURE_EVENTS.button),
        { text, href: link ? link.href : undefined, path: elementPath(el) },
      );
    });

  if (options.forms !== false)
    on(document, 'submit', (event) => {
      const form = event.target as HTMLFormElement;
      if (form.closest('[data-rapport-ignore]')) return;
      const fields: string[] = [];
      // Attributes, not properties: an input named "id" or "name" shadows form.id and form.name.
      form.querySelectorAll('input,select,textarea').forEach((field) => {
        const name = field.getAttribute('name') || field.id;
        if (name && fields.indexOf(name) < 0) fields.push(name);
      });
      core.track(CAPTURE_EVENTS.form, {
        id: form.getAttribute('id') || undefined,
        name: form.getAttribute('name') || undefined,
        fields,
        path: elementPath(form),
      });
    });
};
