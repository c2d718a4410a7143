// The shop's own script: product lists, the cart, checkout and login, and the Segment
// e-commerce events that tell Rapport what happens (Product Viewed, Product Added, Cart Viewed,
// Checkout Started, Order Completed, ...). Rapport's script tag loads async and may be blocked or
// down: the shop works without it, and only the calls to `rapport` wait for it.
(function () {
  'use strict';

  const CART = 'shop_cart';
  const CART_ID = 'shop_cart_id';
  const USER = 'shop_user';
  const LAST_ORDER = 'shop_last_order';
  const page = document.body.dataset.page;

  // --- Rapport ---------------------------------------------------------------------------------

  let loaded;
  /** Resolves with `window.rapport` once the script tag has run, or null if it failed to load. */
  const sdk = () =>
    (loaded ||= new Promise((resolve) => {
      const ready = () => resolve(window.rapport && window.rapport.track ? window.rapport : null);
      const tag = document.querySelector('script[data-write-key]');
      if ((window.rapport && window.rapport.track) || !tag) return ready();
      tag.addEventListener('load', ready);
      tag.addEventListener('error', ready);
    }));
  const track = (event, properties) => sdk().then((rapport) => rapport && rapport.track(event, properties));
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * Sends what the SDK holds right now, before the shop moves to another page whose offers depend
   * on it (a login, an order). At most 3 s: the shop never waits longer on its analytics. Two
   * flushes: when a batch is already in flight, `flush()` resolves with that one, and what was
   * queued since goes with the next.
   */
  const deliver = () =>
    Promise.race([
      sdk().then(async (rapport) => {
        if (!rapport) return;
        await rapport.flush();
        await rapport.flush();
      }),
      wait(3000),
    ]);

  // --- Small helpers ---------------------------------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);
  const money = (n) => new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' }).format(n);
  const read = (storage, key, fallback) => {
    try {
      return JSON.parse(storage.getItem(key)) ?? fallback;
    } catch {
      return fallback;
    }
  };
  const write = (storage, key, value) => {
    try {
      value === undefined ? storage.removeItem(key) : storage.setItem(key, JSON.stringify(value));
    } catch {}
  };

  /** An element with attributes and children (strings become text: nothing is parsed as HTML). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value == null) continue;
      if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    node.append(...children.flat().filter((c) => c != null));
    return node;
  }

  async function getJson(url, init) {
    const res = await fetch(url, init);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error || `HTTP ${res.status}`), { status: res.status });
    return body;
  }
  const postJson = (url, body) =>
    getJson(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** A product as the e-commerce spec names its fields. */
  const productProperties = (p, extra) => ({
    product_id: p.id,
    sku: p.sku,
    category: p.category,
    name: p.name,
    price: p.price,
    currency: p.currency,
    url: new URL(p.url, location.origin).href,
    image_url: new URL(p.image, location.origin).href,
    ...extra,
  });

  // --- Header: account and cart ----------------------------------------------------------------

  const cart = () => read(localStorage, CART, []).filter((line) => line && typeof line.id == 'string');
  const saveCart = (lines) => {
    write(localStorage, CART, lines.length ? lines : undefined);
    $('[data-cart-count]').textContent = String(lines.reduce((n, l) => n + l.quantity, 0));
  };
  /** The cart's id in the events (spec: `cart_id`), one per browser until an order is placed. */
  const cartId = () => {
    let id = read(localStorage, CART_ID, null);
    if (!id) write(localStorage, CART_ID, (id = 'cart_' + Math.random().toString(36).slice(2, 10)));
    return id;
  };

  /** A new anonymous id for this browser, so that the next person here is not taken for the last (at most 1 s). */
  const forgetVisitor = () => Promise.race([sdk().then((rapport) => rapport && rapport.reset()), wait(1000)]);

  function header() {
    saveCart(cart());
    const user = read(localStorage, USER, null);
    $('[data-signed-in]').hidden = !user;
    $('[data-signed-out]').hidden = !!user;
    if (user) $('[data-user-name]').textContent = user.firstName;
    $('[data-logout]').addEventListener('click', async () => {
      // Logout: the shop forgets the customer, and so does Rapport in this browser.
      write(localStorage, USER, undefined);
      await forgetVisitor();
      location.assign('/');
    });
    $('[data-start-over]').addEventListener('click', async () => {
      for (const key of [USER, CART, CART_ID]) write(localStorage, key, undefined);
      write(sessionStorage, LAST_ORDER, undefined);
      await forgetVisitor();
      location.assign('/stories');
    });
  }

  // --- Pages -----------------------------------------------------------------------------------

  const card = (p) =>
    el(
      'a',
      { class: 'card', href: p.url },
      el('img', { src: p.image, alt: '' }),
      el('span', { class: 'card-name' }, p.name),
      el('span', { class: 'card-price' }, money(p.price)),
    );

  async function home() {
    const { products } = await getJson('/api/products?featured=1');
    $('[data-products="featured"]').replaceChildren(...products.map(card));
  }

  async function category() {
    const path = location.pathname.split('/')[1];
    const { categories } = await getJson('/api/products');
    const current = categories.find((c) => c.path === path);
    const { products } = await getJson('/api/products?category=' + encodeURIComponent(current.id));
    $('[data-category-blurb]').textContent = current.blurb;
    $('[data-products="category"]').replaceChildren(...products.map(card));
    track('Product List Viewed', {
      list_id: current.path,
      category: current.name,
      products: products.map((p, i) => productProperties(p, { position: i + 1 })),
    });
  }

  async function product() {
    const id = location.pathname.split('/')[2];
    const { product: p, category: c } = await getJson('/api/products/' + encodeURIComponent(id));
    const link = $('[data-category-link]');
    link.textContent = c.name;
    link.href = '/' + c.path;
    $('[data-product-image]').src = p.image;
    $('[data-product-price]').textContent = money(p.price);
    $('[data-product-description]').textContent = p.description;
    track('Product Viewed', productProperties(p));

    const button = $('[data-add-to-cart]');
    button.disabled = false;
    button.addEventListener('click', () => {
      const lines = cart();
      const line = lines.find((l) => l.id === p.id);
      if (line) line.quantity = Math.min(line.quantity + 1, 20);
      else lines.push({ id: p.id, quantity: 1 });
      saveCart(lines);
      $('[data-added]').hidden = false;
      track('Product Added', productProperties(p, { cart_id: cartId(), quantity: 1 }));
    });
  }

  /** The cart's lines with their products, from the catalogue (prices are never kept in the browser). */
  async function cartLines() {
    const { products } = await getJson('/api/products');
    const byId = new Map(products.map((p) => [p.id, p]));
    const lines = cart().filter((l) => byId.has(l.id));
    return lines.map((l) => ({ product: byId.get(l.id), quantity: l.quantity }));
  }
  const emptyCart = () => el('p', null, 'Your cart is empty. ', el('a', { href: '/trips' }, 'Find a trip'), '.');
  const lineProperties = (lines) => lines.map((l, i) => productProperties(l.product, { quantity: l.quantity, position: i + 1 }));
  const sum = (lines) => Math.round(lines.reduce((n, l) => n + l.product.price * l.quantity, 0) * 100) / 100;

  async function cartPage() {
    const box = $('[data-cart]');
    const render = (lines) => {
      if (!lines.length) return box.replaceChildren(emptyCart());
      const remove = (line) => () => {
        saveCart(cart().filter((l) => l.id !== line.product.id));
        track('Product Removed', productProperties(line.product, { cart_id: cartId(), quantity: line.quantity }));
        render(lines.filter((l) => l !== line));
      };
      box.replaceChildren(
        el(
          'table',
          { class: 'lines' },
          lines.map((l) =>
            el(
              'tr',
              null,
              el('td', null, el('a', { href: l.product.url }, l.product.name)),
              el('td', { class: 'num' }, '× ' + l.quantity),
              el('td', { class: 'num' }, money(l.product.price * l.quantity)),
              el('td', null, el('button', { type: 'button', class: 'link', onclick: remove(l) }, 'Remove')),
            ),
          ),
          el('tr', { class: 'total' }, el('td', null, 'Total'), el('td'), el('td', { class: 'num' }, money(sum(lines))), el('td')),
        ),
        el('p', null, el('a', { class: 'button', href: '/checkout' }, 'Checkout')),
      );
    };
    const lines = await cartLines();
    render(lines);
    track('Cart Viewed', { cart_id: cartId(), products: lineProperties(lines) });
  }

  async function checkout() {
    const lines = await cartLines();
    const summary = $('[data-summary]');
    const form = $('#checkout-form');
    if (!lines.length) {
      summary.replaceChildren(emptyCart());
      form.hidden = true;
      return;
    }
    summary.replaceChildren(
      el('h2', null, 'Your order'),
      el('ul', { class: 'summary' }, lines.map((l) => el('li', null, `${l.product.name} × ${l.quantity}`, el('span', null, money(l.product.price * l.quantity))))),
      el('p', { class: 'total' }, 'Total ', el('strong', null, money(sum(lines)))),
    );
    const user = read(localStorage, USER, null);
    if (user) {
      form.elements.name.value = user.name || '';
      form.elements.email.value = user.email || '';
    }
    track('Checkout Started', { cart_id: cartId(), value: sum(lines), revenue: sum(lines), currency: 'EUR', products: lineProperties(lines) });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type=submit]');
      const error = $('[data-error]');
      button.disabled = true;
      error.hidden = true;
      try {
        // The shop's server prices the order; the page reports what the server decided.
        const order = await postJson('/api/orders', {
          items: lines.map((l) => ({ id: l.product.id, quantity: l.quantity })),
          coupon: form.elements.coupon.value,
        });
        if (order.coupon) track('Coupon Applied', { order_id: order.order_id, coupon_id: order.coupon, coupon_name: order.coupon, discount: order.discount });
        if (order.couponDenied) track('Coupon Denied', { order_id: order.order_id, coupon_id: order.couponDenied, reason: 'unknown code' });
        track('Order Completed', {
          order_id: order.order_id,
          total: order.total,
          revenue: order.revenue,
          discount: order.discount,
          coupon: order.coupon || undefined,
          currency: order.currency,
          products: order.products.map((p) => ({ ...p, url: new URL(p.url, location.origin).href, image_url: new URL(p.image_url, location.origin).href })),
        });
        // What the order was about, as a trait: segment rules read a profile's traits and event
        // counts, not the properties of past events, so this is how "a cross-sell for what was
        // bought" becomes expressible (see seed.mjs). Newest wins, which is what "last" means.
        const tags = [...new Set(order.products.flatMap((p) => p.tags))];
        const categories = [...new Set(order.products.map((p) => p.category))];
        const firstName = form.elements.name.value.trim().split(/\s+/)[0];
        sdk().then(
          (rapport) =>
            rapport &&
            rapport.identify({
              email: form.elements.email.value.trim(),
              ...(user ? {} : { firstName }),
              lastOrder: { id: order.order_id, total: order.total, categories, tags, at: new Date().toISOString() },
            }),
        );
        await deliver();
        write(sessionStorage, LAST_ORDER, order);
        write(localStorage, CART, undefined);
        write(localStorage, CART_ID, undefined);
        location.assign('/thanks?order=' + encodeURIComponent(order.order_id));
      } catch (e) {
        error.textContent = 'The order did not go through: ' + e.message;
        error.hidden = false;
        button.disabled = false;
      }
    });
  }

  function thanks() {
    const order = read(sessionStorage, LAST_ORDER, null);
    if (!order) return;
    $('[data-order]').replaceChildren(
      el('p', null, 'Order ', el('strong', { 'data-order-id': true }, order.order_id), ' is confirmed.'),
      el('ul', { class: 'summary' }, order.products.map((p) => el('li', null, `${p.name} × ${p.quantity}`, el('span', null, money(p.price * p.quantity))))),
      order.discount ? el('p', null, `Code ${order.coupon}: −${money(order.discount)}`) : null,
      el('p', { class: 'total' }, 'Total ', el('strong', null, money(order.total))),
    );
  }

  function login() {
    const form = $('#login-form');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const error = $('[data-error]');
      error.hidden = true;
      try {
        // The shop's server checks the password and signs the user id with the site's secret.
        const { userId, traits, userHash } = await postJson('/api/login', {
          username: form.elements.username.value,
          password: form.elements.password.value,
        });
        write(localStorage, USER, { userId, name: traits.name, firstName: traits.firstName, email: traits.email });
        sdk().then((rapport) => rapport && rapport.identify(userId, traits, { userHash }));
        await deliver();
        // Only a path of this shop: `?next=https://evil.example` must not send anyone away.
        const next = new URLSearchParams(location.search).get('next') || '/';
        location.assign(/^\/(?![/\\])/.test(next) ? next : '/');
      } catch (e) {
        error.textContent = e.status === 401 ? 'Unknown user name or wrong password.' : 'Could not log in: ' + e.message;
        error.hidden = false;
      }
    });
  }

  header();
  const pages = { home, category, product, cart: cartPage, checkout, thanks, login };
  Promise.resolve(pages[page] && pages[page]()).catch((error) => {
    const main = $('main');
    main.append(el('p', { class: 'error' }, 'Something went wrong: ' + error.message));
  });
})();
