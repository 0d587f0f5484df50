// DOM building and formatting for the Cloud Kafka console.
//
// h() is the only way the console puts data into the page: text goes in
// with textContent and attributes with setAttribute, never as markup, so
// names, keys and values that hold HTML are shown as text and the page
// runs under a Content-Security-Policy without 'unsafe-inline'.

// ---------------------------------------------------------------------------
// DOM building
// ---------------------------------------------------------------------------

// h builds an element. props: `class`, `text` (textContent), `on` (event
// listeners), `value` (set after the children, so a select's options exist),
// boolean properties, and anything else as an attribute. Children are nodes
// or strings; strings become text nodes. Null, undefined and false are
// skipped in both, which keeps optional parts inline.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    switch (key) {
      case 'class': el.className = v; break;
      case 'text': el.textContent = String(v); break;
      case 'on':
        for (const [type, fn] of Object.entries(v)) el.addEventListener(type, fn);
        break;
      case 'value': value = v; break;
      case 'checked': case 'disabled': case 'hidden': case 'selected': el[key] = true; break;
      default:
        // Inline handlers and style attributes would break under the CSP and
        // are a way for markup to sneak in; they are a bug in the caller.
        if (key === 'style' || key.toLowerCase().startsWith('on')) throw new Error(`h: attribute ${key} is not allowed`);
        el.setAttribute(key, v === true ? '' : String(v));
    }
  }
  appendAll(el, children);
  if (value !== undefined) el.value = String(value);
  return el;
}

// add appends children to el, leaving out null, undefined and false
// (a control the principal may not use) and flattening arrays.
export function add(el, ...children) {
  appendAll(el, children);
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function cell(cls, text, title) {
  return h('td', { class: cls, text, title });
}

// numCell right-aligns a number; `extra` adds a class such as `warn`.
export function numCell(cls, value, extra) {
  return h('td', { class: `${cls} num${extra ? ` ${extra}` : ''}`, text: String(value) });
}

export function sizeCell(bytes) {
  const known = typeof bytes === 'number' && bytes >= 0;
  return h('td', {
    class: 'size num', 'data-bytes': bytes,
    title: known ? `${bytes} bytes` : 'size unknown', text: fmtBytes(bytes),
  });
}

export function muted(text) {
  return h('span', { class: 'muted', text });
}

export function badge(text, kind) {
  return h('span', { class: kind ? `badge ${kind}` : 'badge', text });
}

export function thead(labels) {
  return h('thead', {}, h('tr', {}, labels.map((label) => h('th', { scope: 'col', text: label }))));
}

// tableWrap gives a table its own scrolling box, so a wide table scrolls
// inside the page instead of widening it.
export function tableWrap(table) {
  return h('div', { class: 'table-wrap' }, table);
}

export function emptyRow(columns, text) {
  return h('tr', { class: 'empty-row' }, h('td', { colspan: columns, class: 'muted', text }));
}

export function dataTable(id, labels, rows, emptyText) {
  const body = h('tbody', {}, rows.length > 0 ? rows : emptyRow(labels.length, emptyText));
  return tableWrap(h('table', { id }, thead(labels), body));
}

// field wraps a control in its label, which ties the two together without ids.
export function field(label, control, cls) {
  return h('label', { class: cls ? `field ${cls}` : 'field' },
    h('span', { class: 'field-label', text: label }), control);
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', { text: title }) : null, children);
}

export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-header' }, h('h1', {}, title), extra);
}

export function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', {}, value));
}

export function readOnlyNote(text) {
  return h('p', { class: 'note read-only' }, badge('read-only'), ' ', text);
}

// filterInput hides the rows of `body` whose data-<attr> does not contain
// the typed text.
export function filterInput(id, placeholder, body, attr) {
  const input = h('input', { id, type: 'search', placeholder, 'aria-label': placeholder, autocomplete: 'off' });
  input.addEventListener('input', () => {
    const needle = input.value.trim().toLowerCase();
    for (const row of body.rows) {
      const key = row.getAttribute(attr);
      if (key !== null) row.hidden = needle !== '' && !key.toLowerCase().includes(needle);
    }
  });
  return h('div', { class: 'toolbar' }, input);
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

// fmtBytes shows a byte count in binary units; -1 (API.md: unknown) and
// anything that is not a count read "unknown".
export function fmtBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return 'unknown';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Number.isInteger(value) ? value : value.toFixed(1)} B`;
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

// fmtTime shows milliseconds since the epoch as ISO 8601 in UTC; Kafka uses
// -1 for a record without a timestamp.
export function fmtTime(ms) {
  if (typeof ms !== 'number' || ms < 0) return 'none';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

// fmtLag shows a lag; null means the group has no commits to measure from.
export function fmtLag(lag) {
  return lag === null || lag === undefined ? '–' : String(lag);
}

export function fmtList(values) {
  return (values || []).join(', ');
}

const pad2 = (n) => String(n).padStart(2, '0');

// clockTime shows the local wall-clock time of `ms` as HH:MM:SS.
export function clockTime(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// localInputToMs reads a datetime-local value (YYYY-MM-DDTHH:MM[:SS[.mmm]])
// as local time. It parses by hand rather than with Date.parse so that the
// meaning does not depend on how a browser treats zone-less strings.
export function localInputToMs(text) {
  const m = /^(\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(text.trim());
  if (!m) return NaN;
  const [, y, mo, d, hh, mm, ss, frac] = m;
  const millis = frac ? Number(frac.padEnd(3, '0')) : 0;
  return new Date(Number(y), Number(mo) - 1, Number(d), Number(hh), Number(mm), Number(ss || 0), millis).getTime();
}

// msToLocalInput is the inverse of localInputToMs, to seconds.
export function msToLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}` +
    `T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// wholeNumber parses a form field that must hold an integer at least `min`.
// It throws an Error that names the field, which the caller shows in #status.
export function wholeNumber(text, what, min = 0) {
  const trimmed = String(text).trim();
  const n = Number(trimmed);
  if (trimmed === '' || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`${what} must be a whole number${min > 0 ? ` of at least ${min}` : ''}.`);
  }
  return n;
}
