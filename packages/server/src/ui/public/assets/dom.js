/* global document, Node */
/**
 * Small DOM builders. Everything the UI shows goes through these: strings always become text
 * nodes (never HTML), so event data, stream names and error messages cannot inject markup.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Appends children to a node: strings and numbers become text nodes; null, undefined and
 * false are skipped; arrays are flattened.
 * @param {Node} parent
 * @param {unknown[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Sets attributes and listeners: `on*` functions become listeners, `class` and other keys
 * attributes (true → empty attribute, false/null/undefined → absent).
 * @param {Element} el
 * @param {Record<string, unknown>} attrs
 */
function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    } else if (key === 'dataset' && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) el.setAttribute(`data-${k}`, String(v));
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/**
 * Creates an HTML element.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * A table caption that counts: the server's total when it gave one (`total`, over every page),
 * with how many this page shows when that is fewer; otherwise only the page's count, said as
 * such, never passed off as the total.
 * @param {{ total: unknown, shown: number, noun: [string, string], rest?: string, paged?: boolean }} count
 *   `noun`: singular and plural; `rest`: what follows the noun (a filter, a paging note);
 *   `paged`: past the first page
 */
export function countCaption({ total, shown, noun, rest = '', paged = false }) {
  const named = (/** @type {number} */ n) => `${formatNumber(n)} ${n === 1 ? noun[0] : noun[1]}`;
  if (typeof total === 'number' && Number.isFinite(total)) {
    return total === shown && !paged
      ? `${named(total)}${rest}`
      : `${named(total)}${rest} · showing ${formatNumber(shown)}`;
  }
  return `${named(shown)}${rest} on this page`;
}

/**
 * Creates an SVG element.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children
 * @returns {SVGElement}
 */
export function s(tag, attrs, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * Replaces a node's children.
 * @param {Node} parent
 * @param {...unknown} children
 */
export function replace(parent, ...children) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/**
 * Renders a JSON value as highlighted, indented text (spans with classes, text only).
 * @param {unknown} value
 * @returns {HTMLElement}
 */
export function jsonView(value) {
  const pre = h('pre', { class: 'json', tabindex: '0' });
  writeJson(pre, value, 0);
  return pre;
}

/**
 * @param {Node} out
 * @param {unknown} value
 * @param {number} depth
 */
function writeJson(out, value, depth) {
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (value === null || value === undefined) {
    out.appendChild(h('span', { class: 'j-null' }, 'null'));
  } else if (typeof value === 'string') {
    out.appendChild(h('span', { class: 'j-str' }, JSON.stringify(value)));
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    out.appendChild(h('span', { class: 'j-num' }, String(value)));
  } else if (typeof value === 'boolean') {
    out.appendChild(h('span', { class: 'j-bool' }, String(value)));
  } else if (Array.isArray(value)) {
    if (value.length === 0) return void out.appendChild(document.createTextNode('[]'));
    out.appendChild(document.createTextNode('[\n'));
    value.forEach((item, i) => {
      out.appendChild(document.createTextNode(pad));
      writeJson(out, item, depth + 1);
      out.appendChild(document.createTextNode(i < value.length - 1 ? ',\n' : '\n'));
    });
    out.appendChild(document.createTextNode(`${end}]`));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return void out.appendChild(document.createTextNode('{}'));
    out.appendChild(document.createTextNode('{\n'));
    entries.forEach(([key, item], i) => {
      out.appendChild(document.createTextNode(pad));
      out.appendChild(h('span', { class: 'j-key' }, JSON.stringify(key)));
      out.appendChild(document.createTextNode(': '));
      writeJson(out, item, depth + 1);
      out.appendChild(document.createTextNode(i < entries.length - 1 ? ',\n' : '\n'));
    });
    out.appendChild(document.createTextNode(`${end}}`));
  } else {
    out.appendChild(document.createTextNode(String(value)));
  }
}

/**
 * Formats a time (ISO string, epoch milliseconds or Date) for people, or '—'.
 * @param {unknown} value
 */
export function formatTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const date = value instanceof Date ? value : new Date(/** @type {string|number} */ (value));
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/**
 * Formats the time of day (with milliseconds) of a time, for lists of recent events.
 * @param {unknown} value
 */
export function formatClock(value) {
  const date = new Date(/** @type {string|number} */ (value));
  if (value === null || value === undefined || Number.isNaN(date.getTime())) return '—';
  const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/**
 * Formats a number with the locale's grouping, or '—'.
 * @param {unknown} value
 * @param {number} [digits]
 */
export function formatNumber(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  return value.toLocaleString(undefined, {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  });
}

/**
 * A status badge.
 * @param {string} text
 * @param {string} [tone] ok | warn | bad | info | muted
 */
export function badge(text, tone = 'muted') {
  return h('span', { class: `badge badge-${tone}` }, text);
}

/**
 * A loading placeholder.
 * @param {string} [what]
 */
export function loading(what = 'Loading') {
  return h('p', { class: 'loading', role: 'status' }, `${what}…`);
}

/**
 * An empty-state message.
 * @param {string} text
 */
export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/**
 * A link inside the UI (hash route).
 * @param {string} route e.g. `/streams/order-1`
 * @param {Record<string, unknown> | null} attrs
 * @param {...unknown} children
 */
export function link(route, attrs, ...children) {
  return h('a', { ...(attrs ?? {}), href: `#${route}` }, ...children);
}
