import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { fillTemplate } from '../decisions/placeholders.js';
import type { Action } from './definition.js';
import { trackHtml } from './mail-links.js';
import { COUPON_TRAIT } from './profile-actions.js';
import type { ActionHandler, ActionInput, ActionResult } from './runner.js';

/** Where a site's mail goes out: its SMTP URL (`smtp://user:pass@host:587`) and sender. */
export interface MailSettings {
  smtpUrl: string;
  from: string;
}

export interface EmailActionOptions {
  /** A site's mail settings, or null when it has none (its email steps fail with the reason). */
  settings: (siteId: string) => MailSettings | null;
  /**
   * The one-click unsubscribe link of a person for a site: it goes in `List-Unsubscribe`, with
   * `List-Unsubscribe-Post` (RFC 8058), so that mail clients show an unsubscribe button.
   */
  unsubscribeUrl: (input: ActionInput) => string | Promise<string>;
  /**
   * Links that count opens and clicks (see `MailLinks`): the HTML part's links go through
   * `click` and it gets the pixel of `open`. Without them, the HTML goes out as written.
   */
  tracking?: { open(input: ActionInput): Promise<string>; click(input: ActionInput, url: string): Promise<string> };
  /** Per attempt, for the connection, the greeting and the whole exchange. @default 10_000 */
  timeoutMs?: number;
}

const CR_LF = /[\r\n]+/g;
const ONE_ADDRESS = /^[^\s@,;:<>()\[\]"\\]{1,64}@[^\s@,;:<>()\[\]"\\]{1,255}$/;

/**
 * The email action: the step's subject, text and optional HTML filled with the person's traits
 * (escaped for where they land), sent over the site's SMTP server with one-click unsubscribe
 * headers and a Message-ID from the step's key, so that a repeat after a crash is recognisable
 * as the same mail. A 4xx reply or a lost connection asks for a retry; a 5xx reply (a refused
 * address, say) is final.
 *
 * @example
 * new Runner({ ..., actions: { email: emailAction({ settings: (id) => mailOf(id), unsubscribeUrl }) } });
 */
export function emailAction(options: EmailActionOptions): ActionHandler {
  const transports = new Map<string, Transporter>();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transportOf = (url: string) => {
    let transport = transports.get(url);
    if (!transport) {
      const smtp: SMTPTransport.Options = { url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs };
      transport = nodemailer.createTransport(smtp);
      transports.set(url, transport);
    }
    return transport;
  };
  return async (action: Action, input: ActionInput): Promise<ActionResult> => {
    if (!('email' in action)) return { kind: 'failed', error: 'not an email step' };
    const settings = options.settings(input.run.siteId);
    if (!settings) return { kind: 'failed', error: 'the site has no SMTP server set' };
    const to = input.profile.email;
    if (!to) return { kind: 'failed', error: 'the person has no email address' };
    // A visitor sets their own email trait with the public write key: a list of addresses, or a
    // display name around one, must not turn a follow-up into mail to strangers; nor may an
    // address no one vouched for, or anyone could have the shop write to anyone.
    if (!ONE_ADDRESS.test(to)) return { kind: 'failed', error: 'the email trait is not one email address' };
    if (input.profile.computed?.vouchedEmail !== to) {
      return { kind: 'failed', error: 'the email address was not set by a trusted or verified message (the site secret, or a userHash)' };
    }
    const traits = { ...input.profile.traits, ...contextTraits(input) };
    try {
      const unsubscribe = await options.unsubscribeUrl(input);
      const html = action.email.html === undefined ? undefined : await htmlOf(fillTemplate(action.email.html, traits, 'html'), input, unsubscribe, options);
      await transportOf(settings.smtpUrl).sendMail({
        from: settings.from,
        to,
        subject: fillTemplate(action.email.subject, traits, 'text').replace(CR_LF, ' '),
        // Besides the header, a link the reader can see: not every mail client shows the button.
        text: `${fillTemplate(action.email.text, traits, 'text')}\n\n--\nUnsubscribe: ${unsubscribe}\n`,
        html,
        messageId: `<${input.key.replace(/[^A-Za-z0-9._:/-]/g, '_')}@rapport>`,
        headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      });
      return { kind: 'done' };
    } catch (error) {
      const e = error as Error & { responseCode?: number };
      const message = (e.message ?? String(error)).slice(0, 300);
      if (e.responseCode !== undefined && e.responseCode >= 500) return { kind: 'failed', error: message };
      return { kind: 'retry', error: message, retryAfterMs: null };
    }
  };
}

/** The HTML part: its links tracked, the pixel added, and a visible unsubscribe link (not tracked) at the end. */
async function htmlOf(html: string, input: ActionInput, unsubscribe: string, options: EmailActionOptions): Promise<string> {
  const tracked = options.tracking ? await trackHtml(html, (url) => options.tracking!.click(input, url), await options.tracking.open(input)) : html;
  const footer = `<p style="font-size:12px;color:#666"><a href="${unsubscribe.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">Unsubscribe</a></p>`;
  return /<\/body>/i.test(tracked) ? tracked.replace(/<\/body>/i, `${footer}</body>`) : tracked + footer;
}

/** A coupon given earlier in the run fills `{{traits.coupon}}` even before the profile is re-read. */
function contextTraits(input: ActionInput) {
  const coupon = input.run.context[COUPON_TRAIT];
  return typeof coupon === 'string' ? { [COUPON_TRAIT]: coupon } : {};
}
