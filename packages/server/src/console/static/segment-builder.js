// The segment editor's rule builder: conditions as rows inside "all / any / none of" groups,
// kept in sync with the JSON textarea that the form posts (the JSON view for power users), and
// a live count of the matching customers from the console's JSON endpoint, which validates the
// rule with the same messages as the API. Everything is built with the DOM API and textContent:
// no markup from strings.
(() => {
  'use strict';
  const root = document.getElementById('rule-builder');
  const textarea = document.getElementById('rule');
  if (!root || !textarea) return;

  const schema = JSON.parse(root.dataset.schema);
  const site = root.dataset.site;
  const countUrl = root.dataset.countUrl;
  const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  const output = document.getElementById('live-count');
  const problems = document.getElementById('rule-problems');
  const jsonView = document.getElementById('rule-json');
  const toggle = document.getElementById('rule-toggle');
  const fields = new Map(schema.fields.map((f) => [f.key, f]));
  const opLabels = new Map(schema.operators.map((o) => [o.key, o.label]));
  const NUMBER_OPS = ['gt', 'gte', 'lt', 'lte'];
  const EVENT = '@event';
  const TRAIT = '@trait';

  // ---- The model: groups and conditions, values kept as typed (text) until turned into JSON.
  const group = (mode, children) => ({ kind: 'group', mode, children });
  const newCondition = () => ({ kind: 'field', field: 'computed.orders', op: 'gte', value: '1' });
  const newEvent = () => ({ kind: 'event', event: 'Order Completed', op: 'gte', value: '1', withinDays: '30' });

  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const only = (o, keys) => Object.keys(o).every((k) => keys.includes(k));
  const textOf = (v) => (v === undefined || v === null ? '' : Array.isArray(v) ? v.join(', ') : String(v));

  /** A rule (JSON) as the builder's model; throws for what the builder cannot show. */
  function fromRule(r) {
    if (!isObject(r)) throw new Error('not a rule');
    const keys = Object.keys(r);
    if (keys.length === 1 && Array.isArray(r.all)) return group('all', r.all.map(fromRule));
    if (keys.length === 1 && Array.isArray(r.any)) return group('any', r.any.map(fromRule));
    if (keys.length === 1 && 'not' in r) {
      const inner = r.not;
      if (isObject(inner) && Object.keys(inner).length === 1 && Array.isArray(inner.any)) return group('none', inner.any.map(fromRule));
      return group('none', [fromRule(inner)]);
    }
    if (typeof r.event === 'string' && only(r, ['event', 'op', 'value', 'withinDays'])) {
      return { kind: 'event', event: r.event, op: String(r.op), value: textOf(r.value), withinDays: textOf(r.withinDays) };
    }
    if (typeof r.field === 'string' && only(r, ['field', 'op', 'value'])) {
      return { kind: 'field', field: r.field, op: String(r.op), value: r.op === 'exists' ? String(r.value !== false) : textOf(r.value) };
    }
    throw new Error('not a rule');
  }

  const kindOf = (field) => (field.startsWith('traits.') ? 'any' : fields.has(field) ? fields.get(field).kind : 'any');
  const numberOr = (text) => {
    const t = String(text).trim();
    return t !== '' && Number.isFinite(Number(t)) ? Number(t) : text;
  };

  /** The model as a rule (JSON); wrong values are left for the server to name. */
  function toRule(n) {
    if (n.kind === 'group') {
      const children = n.children.map(toRule);
      if (n.mode === 'none') return children.length === 1 ? { not: children[0] } : { not: { any: children } };
      return { [n.mode]: children };
    }
    if (n.kind === 'event') {
      const out = { event: n.event, op: n.op, value: numberOr(n.value) };
      if (n.withinDays.trim() !== '') out.withinDays = numberOr(n.withinDays);
      return out;
    }
    const kind = kindOf(n.field);
    const out = { field: n.field, op: n.op };
    if (n.op === 'exists') out.value = n.value !== 'false';
    else if (n.op === 'in') {
      const parts = n.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
      out.value = kind === 'number' ? parts.map(numberOr) : parts;
    } else if (kind === 'boolean') out.value = n.value === 'true' ? true : n.value === 'false' ? false : n.value;
    else if (kind === 'number' || (kind === 'any' && NUMBER_OPS.includes(n.op))) out.value = numberOr(n.value);
    else out.value = n.value;
    return out;
  }

  /** Where a node sits in the rule's JSON, as the server names paths (`rule.all[1].op`). */
  function childPath(parent, path, i) {
    if (parent.mode === 'none') return parent.children.length === 1 ? `${path}.not` : `${path}.not.any[${i}]`;
    return `${path}.${parent.mode}[${i}]`;
  }

  let model = null;
  let jsonMode = false;
  const rows = []; // [{ path, el }] of the rendered conditions and groups, for error messages

  // ---- Rendering
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function select(className, label, options, value, onChange) {
    const s = el('select', className);
    s.setAttribute('aria-label', label);
    for (const option of options) {
      if (option.group) {
        const g = el('optgroup');
        g.label = option.group;
        for (const o of option.options) g.appendChild(optionOf(o, value));
        s.appendChild(g);
      } else s.appendChild(optionOf(option, value));
    }
    s.addEventListener('change', () => onChange(s.value));
    return s;
  }

  function optionOf(o, value) {
    const opt = el('option', '', o.label);
    opt.value = o.value;
    if (o.value === value) opt.selected = true;
    return opt;
  }

  function input(className, label, value, onInput, attrs) {
    const i = el('input', className);
    i.type = 'text';
    i.value = value;
    i.setAttribute('aria-label', label);
    for (const [k, v] of Object.entries(attrs || {})) i.setAttribute(k, v);
    i.addEventListener('input', () => {
      onInput(i.value);
      changed(false);
    });
    return i;
  }

  function fieldOptions() {
    const groups = new Map();
    for (const f of schema.fields) {
      if (!groups.has(f.group)) groups.set(f.group, []);
      groups.get(f.group).push({ value: f.key, label: f.label });
    }
    return [
      { group: 'Customer data', options: [{ value: TRAIT, label: 'Trait…' }, { value: EVENT, label: 'Event count…' }] },
      ...[...groups].map(([name, options]) => ({ group: name, options })),
    ];
  }

  const opsFor = (node) =>
    (node.kind === 'event' ? schema.eventOperators : schema.byKind[kindOf(node.field)] || schema.byKind.any).map((key) => ({ value: key, label: opLabels.get(key) || key }));

  function renderCondition(node, parent, path) {
    const row = el('div', 'rb-row');
    row.dataset.path = path;
    rows.push({ path, el: row });
    const current = node.kind === 'event' ? EVENT : node.field.startsWith('traits.') ? TRAIT : node.field;
    row.appendChild(
      select('rb-field', 'Condition on', fieldOptions(), current, (value) => {
        if (value === EVENT) {
          Object.assign(node, newEvent());
          delete node.field;
        } else {
          if (node.kind === 'event') {
            Object.assign(node, { kind: 'field', value: '' });
            delete node.event;
            delete node.withinDays;
          }
          node.field = value === TRAIT ? 'traits.' : value;
        }
        const ops = opsFor(node).map((o) => o.value);
        if (!ops.includes(node.op)) node.op = ops[0];
        changed(true);
      }),
    );
    if (node.kind === 'event') {
      row.appendChild(input('rb-event', 'Event name', node.event, (v) => (node.event = v), { list: 'rb-event-names', placeholder: 'Event name' }));
      row.appendChild(select('rb-op', 'Comparison', opsFor(node), node.op, (v) => ((node.op = v), changed(true))));
      row.appendChild(input('rb-count', 'Times', node.value, (v) => (node.value = v), { inputmode: 'numeric' }));
      row.appendChild(el('span', 'rb-word', 'times in the last'));
      row.appendChild(input('rb-days', 'Days (empty: ever)', node.withinDays, (v) => (node.withinDays = v), { inputmode: 'numeric', placeholder: 'all' }));
      row.appendChild(el('span', 'rb-word', 'days'));
    } else {
      if (node.field.startsWith('traits.')) {
        row.appendChild(input('rb-trait', 'Trait name', node.field.slice(7), (v) => (node.field = `traits.${v.trim()}`), { placeholder: 'trait, e.g. plan' }));
      }
      row.appendChild(select('rb-op', 'Comparison', opsFor(node), node.op, (v) => ((node.op = v), changed(true))));
      const kind = kindOf(node.field);
      if (node.op === 'exists' || kind === 'boolean') {
        if (node.value !== 'false') node.value = 'true';
        row.appendChild(select('rb-value', 'Value', [{ value: 'true', label: 'yes' }, { value: 'false', label: 'no' }], node.value, (v) => ((node.value = v), changed(false))));
      } else {
        const hint = node.op === 'in' ? 'a, b, c' : kind === 'number' || NUMBER_OPS.includes(node.op) ? 'a number' : 'text';
        row.appendChild(input('rb-value', 'Value', node.value, (v) => (node.value = v), { placeholder: hint, inputmode: kind === 'number' ? 'decimal' : 'text' }));
      }
    }
    row.appendChild(removeButton('Remove condition', parent, node));
    return row;
  }

  function removeButton(label, parent, node) {
    const b = el('button', 'button button-quiet button-small rb-remove', '✕');
    b.type = 'button';
    b.setAttribute('aria-label', label);
    b.title = label;
    b.addEventListener('click', () => {
      parent.children.splice(parent.children.indexOf(node), 1);
      changed(true);
    });
    return b;
  }

  function renderGroup(node, parent, path, depth) {
    const box = el('div', 'rb-group');
    box.dataset.path = path;
    rows.push({ path, el: box });
    const head = el('div', 'rb-head');
    head.appendChild(
      select(
        'rb-mode',
        'Match',
        [
          { value: 'all', label: 'All of these' },
          { value: 'any', label: 'Any of these' },
          { value: 'none', label: 'None of these' },
        ],
        node.mode,
        (v) => ((node.mode = v), changed(true)),
      ),
    );
    if (parent) head.appendChild(removeButton('Remove group', parent, node));
    box.appendChild(head);
    const children = el('div', 'rb-children');
    node.children.forEach((child, i) => {
      const p = childPath(node, path, i);
      children.appendChild(child.kind === 'group' ? renderGroup(child, node, p, depth + 1) : renderCondition(child, node, p));
    });
    box.appendChild(children);
    const add = el('div', 'rb-add');
    const adder = (label, make) => {
      const b = el('button', 'button button-small', label);
      b.type = 'button';
      b.addEventListener('click', () => {
        node.children.push(make());
        changed(true);
      });
      add.appendChild(b);
    };
    adder('+ Condition', newCondition);
    adder('+ Event count', newEvent);
    if (depth < schema.maxNesting) adder('+ Group', () => group('any', [newCondition()]));
    box.appendChild(add);
    return box;
  }

  function render() {
    rows.length = 0;
    root.textContent = '';
    if (!model) return;
    root.appendChild(renderGroup(model, null, 'rule', 1));
    const names = el('datalist');
    names.id = 'rb-event-names';
    for (const name of schema.eventNames) {
      const o = el('option');
      o.value = name;
      names.appendChild(o);
    }
    root.appendChild(names);
  }

  // ---- Syncing and counting
  /** After every edit: the JSON follows the builder; a structural change redraws the rows. */
  function changed(redraw) {
    textarea.value = JSON.stringify(toRule(model), null, 2);
    if (redraw) render();
    schedule();
  }

  let timer = 0;
  let sequence = 0;
  function schedule() {
    clearTimeout(timer);
    output.classList.add('stale');
    timer = setTimeout(count, 300);
  }

  function showProblems(list) {
    problems.textContent = '';
    for (const r of rows) {
      r.el.classList.remove('rb-invalid');
      const old = r.el.querySelector(':scope > .rb-problem');
      if (old) old.remove();
    }
    for (const p of list) {
      problems.appendChild(el('li', '', p.field ? `${p.field}: ${p.message}` : p.message));
      if (!p.field) continue;
      // The deepest row whose path starts the problem's path is where it is.
      const hit = rows.filter((r) => p.field === r.path || p.field.startsWith(`${r.path}.`) || p.field.startsWith(`${r.path}[`)).sort((a, b) => b.path.length - a.path.length)[0];
      if (hit && hit.el.classList.contains('rb-row')) {
        hit.el.classList.add('rb-invalid');
        hit.el.appendChild(el('div', 'rb-problem', p.message));
      }
    }
  }

  async function count() {
    const mine = ++sequence;
    let rule;
    try {
      rule = JSON.parse(textarea.value);
    } catch (error) {
      output.textContent = 'Not valid JSON yet';
      output.classList.remove('stale');
      output.classList.add('invalid-rule');
      showProblems([{ field: 'rule', message: `is not valid JSON (${error.message})` }]);
      return;
    }
    output.textContent = 'Counting…';
    try {
      const res = await fetch(countUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ site, rule }),
      });
      const body = await res.json().catch(() => ({}));
      if (mine !== sequence) return;
      output.classList.remove('stale');
      output.classList.toggle('invalid-rule', !res.ok);
      if (res.ok) {
        output.textContent = `${body.count.toLocaleString('en-US')} ${body.count === 1 ? 'customer matches' : 'customers match'} now`;
        showProblems([]);
      } else if (res.status === 401) {
        output.textContent = 'Your session has ended: log in again';
      } else {
        output.textContent = 'Not a valid rule yet';
        const details = Array.isArray(body.details) && body.details.length ? body.details : [{ message: body.error || `error ${res.status}` }];
        showProblems(details);
      }
    } catch {
      if (mine === sequence) output.textContent = 'Could not count: is the server running?';
    }
  }

  // ---- The JSON view
  /** The textarea's rule into the builder; throws when the builder cannot show it. */
  function load() {
    const parsed = fromRule(JSON.parse(textarea.value));
    model = parsed.kind === 'group' ? parsed : group('all', [parsed]);
    render();
  }

  function setJsonMode(on) {
    jsonMode = on;
    jsonView.classList.toggle('folded', !on);
    root.hidden = on;
    toggle.textContent = on ? 'Use the builder' : 'Edit as JSON';
  }

  textarea.addEventListener('input', () => {
    try {
      load();
      toggle.disabled = false;
    } catch {
      toggle.disabled = true; // the builder cannot show this (yet): stay in the JSON view
    }
    schedule();
  });

  toggle.addEventListener('click', () => {
    if (jsonMode && toggle.disabled) return;
    setJsonMode(!jsonMode);
    if (!jsonMode) changed(true);
  });

  // ---- Start: the builder when it can show the rule, the JSON view otherwise.
  toggle.hidden = false;
  try {
    load();
    setJsonMode(false);
  } catch {
    setJsonMode(true);
    toggle.disabled = true;
  }
  count();
})();
