// The demo's mailbox: a real SMTP server on 127.0.0.1 that accepts every message, sends nothing
// on, and keeps the last ones in memory for the shop's /outbox page. Rapport sends its automation
// emails here exactly as it would to a shop's mail provider (the demo site's `smtpUrl`), over
// SMTP with nodemailer; nothing in Rapport knows it is a demo.
//
//   const catcher = await startMailCatcher();
//   // site setting smtpUrl = catcher.url; then, later:
//   catcher.mails(); // newest first: [{ to, subject, text, html, receivedAt, ... }]
//   await catcher.close();
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** How many mails are kept: older ones are dropped, so a long demo does not grow without bound. */
export const KEEP_MAILS = 200;
/** A message larger than this is refused (552): automation emails are a few kilobytes. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Headers kept as they were sent, besides the decoded fields. */
const WANTED_HEADERS = ['list-unsubscribe', 'list-unsubscribe-post'];

/**
 * Starts the catcher on a free port (or `port`) of `host` (127.0.0.1: it takes mail from anyone
 * who can reach it, so it is never meant for another address) and resolves once it listens.
 *
 * @returns `{ url: 'smtp://127.0.0.1:<port>', port, mails(), clear(), close() }`; `mails()` is
 *   newest first, each `{ id, receivedAt, envelope: { from, to }, from, to, subject, date,
 *   messageId, text, html, headers }` with the MIME parts decoded.
 * @example
 * const catcher = await startMailCatcher({ keep: 50 });
 * console.log(catcher.url); // smtp://127.0.0.1:40211
 */
export async function startMailCatcher({ host = '127.0.0.1', port = 0, keep = KEEP_MAILS } = {}) {
  /** Oldest first; `mails()` hands out a reversed copy. */
  const kept = [];
  let count = 0;
  const server = new SMTPServer({
    // No TLS and no login: a local catcher, as mail testing tools are.
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    banner: 'Far & Wide demo mail catcher: nothing is delivered',
    // A connection that hangs does not hold close() up for long.
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(Object.assign(new Error('message too large for the demo mail catcher'), { responseCode: 552 }));
        const raw = Buffer.concat(chunks);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        // Kept before the sender hears "250 OK": once a send resolves, its mail is in the outbox.
        // A message that does not parse is kept too, as raw text (`read` does not throw).
        void read(raw).then((parsed) => {
          kept.push({ id: ++count, receivedAt: new Date().toISOString(), envelope, ...parsed });
          if (kept.length > keep) kept.splice(0, kept.length - keep);
          callback();
        });
      });
    },
  });
  server.on('error', (error) => console.error('mail catcher:', error.message));
  await new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const actual = server.server.address().port;
  let closing;
  return {
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    port: actual,
    /** The mails caught, newest first (a copy). */
    mails: () => kept.slice().reverse(),
    clear: () => void kept.splice(0),
    close: () => (closing ??= new Promise((resolve) => server.close(() => resolve()))),
  };
}

/** The message's headers and parts, decoded (charsets, quoted-printable, base64, encoded words). */
async function read(raw) {
  try {
    const mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    return {
      from: mail.from?.text ?? '',
      to: mail.to ? [mail.to].flat().map((a) => a.text).join(', ') : '',
      subject: mail.subject ?? '',
      date: mail.date ? mail.date.toISOString() : null,
      messageId: mail.messageId ?? null,
      text: mail.text ?? '',
      html: typeof mail.html === 'string' ? mail.html : null,
      // As sent (mailparser turns List-* into objects): `List-Unsubscribe: <https://...>`.
      headers: Object.fromEntries(
        mail.headerLines.filter((h) => WANTED_HEADERS.includes(h.key)).map((h) => [h.key, h.line.slice(h.line.indexOf(':') + 1).trim()]),
      ),
    };
  } catch (error) {
    return { from: '', to: '', subject: '(a message the catcher could not read)', date: null, messageId: null, text: raw.toString('utf8'), html: null, headers: {}, error: String(error?.message ?? error) };
  }
}
