import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../../app-context.js';
import { sameSecret } from '../../http/auth.js';
import { clientIp, clientKey } from '../../http/client-ip.js';
import type { ConsoleEnv } from '../env.js';
import { Notice } from '../ui/components.js';
import { Bare, send } from '../ui/layout.js';
import type { LoginThrottle } from './login-throttle.js';
import { checkSameOrigin, csrfProtection, formBody, isHttps } from './security.js';
import type { ConsoleSessions } from './sessions.js';

const SESSION_COOKIE = 'rapport_console';

/** Where to go after login: a console path only, never another site (`//evil.example`). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/console') || next.startsWith('/console/login')) return '/console';
  // A path of this server only: no backslash or control character that a browser might read as another host.
  if (/[\\\u0000-\u0020]/.test(next)) return '/console';
  return next;
}

function LoginPage(props: { next: string; error?: string; loggedOut?: boolean }) {
  return (
    <Bare title="Log in">
      <form class="card login" method="post" action="/console/login">
        <h1>Log in to the console</h1>
        {props.loggedOut ? <Notice>You are logged out.</Notice> : null}
        {props.error ? (
          <div class="alert alert-error" role="alert">
            {props.error}
          </div>
        ) : null}
        <input type="hidden" name="next" value={props.next} />
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        <p class="hint">
          The token that <code>rapport serve</code> printed on its first start, or the one given with <code>--admin-token</code> or{' '}
          <code>RAPPORT_ADMIN_TOKEN</code>.
        </p>
        <button type="submit" class="button button-primary button-wide">
          Log in
        </button>
      </form>
    </Bare>
  );
}

/**
 * Login and logout. Login compares the admin token in constant time, counts failures per
 * client (`LoginThrottle`), and on success starts a server-side session whose id travels in an
 * HttpOnly, SameSite=Strict cookie limited to /console (Secure over https).
 */
export function loginRoutes(ctx: AppContext, sessions: ConsoleSessions, throttle: LoginThrottle) {
  const app = new Hono<ConsoleEnv>();
  const trustProxy = ctx.options.trustProxy;

  app.get('/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (await sessions.get(getCookie(c, SESSION_COOKIE))) return c.redirect(next, 302);
    return send(c, <LoginPage next={next} loggedOut={c.req.query('status') === 'out'} />);
  });

  app.post('/login', async (c) => {
    checkSameOrigin(c, trustProxy);
    const form = await formBody(c);
    const next = safeNext(form.next);
    const client = clientKey(clientIp(c, ctx.options.proxies));
    const wait = throttle.retryAfter(client);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return send(c, <LoginPage next={next} error={`Too many failed attempts. Try again in ${wait} seconds.`} />, 429);
    }
    const token = typeof form.token === 'string' ? form.token : '';
    if (!token || !sameSecret(token, ctx.adminToken)) {
      throttle.fail(client);
      return send(c, <LoginPage next={next} error="That is not the admin token." />, 401);
    }
    throttle.succeed(client);
    // A new session on every login: an id planted before login is worth nothing.
    await sessions.delete(getCookie(c, SESSION_COOKIE));
    const session = await sessions.create();
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/console',
      secure: isHttps(c, trustProxy),
      maxAge: sessions.secondsLeft(session),
    });
    return c.redirect(next, 303);
  });

  return app;
}

/** Logout deletes the session on the server, not only the cookie. Registered behind the session check. */
export function logoutRoute(ctx: AppContext, sessions: ConsoleSessions) {
  const app = new Hono<ConsoleEnv>();
  app.post('/logout', async (c) => {
    await sessions.delete(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: isHttps(c, ctx.options.trustProxy) });
    return c.redirect('/console/login?status=out', 303);
  });
  return app;
}

/** Script calls under /console/api answer 401 in JSON; pages send the browser to the login form. */
const wantsJson = (c: Context) => c.req.path.startsWith('/console/api/');

/**
 * Everything behind this needs a live session; then every POST passes the CSRF check.
 * Without a session, a page is redirected to the login form (which comes back here after).
 */
export function requireSession(ctx: AppContext, sessions: ConsoleSessions): MiddlewareHandler<ConsoleEnv> {
  const csrf = csrfProtection(ctx.options.trustProxy);
  return async (c, next) => {
    const session = await sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (wantsJson(c)) return c.json({ error: 'log in to the console first: the session is missing or has expired' }, 401);
      const url = new URL(c.req.url);
      const next = c.req.method === 'GET' ? safeNext(url.pathname + url.search) : '/console';
      return c.redirect(`/console/login?next=${encodeURIComponent(next)}`, c.req.method === 'GET' ? 302 : 303);
    }
    c.set('session', session);
    return csrf(c, next);
  };
}
