/**
 * Inline SVG drawings: line charts (throughput, lag) and the causation graph of an event.
 * Built element by element with text nodes, so labels taken from event data stay text.
 */
import { h, s } from './dom.js';

/**
 * A "nice" upper bound for an axis (1, 2, 2.5 or 5 times a power of ten).
 * @param {number} max
 */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (max <= step * power) return step * power;
  return 10 * power;
}

/**
 * @param {number} value
 */
function short(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1).replace(/\.0$/, '')}k`;
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}

/**
 * @typedef {{ name: string, values: Array<{ t: number, v: number }> }} Series
 */

/**
 * A line chart over time, sized by its container (viewBox), with a text summary for screen
 * readers and a legend.
 * @param {{ title: string, unit: string, series: Series[], windowMs: number, now: number }} options
 * @returns {HTMLElement}
 */
export function lineChart({ title, unit, series, windowMs, now }) {
  const width = 640;
  const height = 220;
  const pad = { left: 48, right: 16, top: 14, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const start = now - windowMs;
  const all = series.flatMap((line) => line.values.map((p) => p.v));
  const top = niceMax(Math.max(0, ...all));
  const x = (/** @type {number} */ t) => pad.left + ((t - start) / windowMs) * plotW;
  const y = (/** @type {number} */ v) => pad.top + plotH - (v / top) * plotH;

  const latest = series
    .map((line) => {
      const last = line.values[line.values.length - 1];
      return last ? `${line.name}: ${short(last.v)} ${unit}` : `${line.name}: no data`;
    })
    .join('; ');

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': `${title}. Latest: ${latest || 'no data yet'}`,
  });
  svg.appendChild(s('title', null, title));

  for (let i = 0; i <= 4; i++) {
    const value = (top / 4) * i;
    const gy = y(value);
    svg.appendChild(
      s('line', { x1: pad.left, x2: width - pad.right, y1: gy, y2: gy, class: 'chart-grid' }),
    );
    svg.appendChild(
      s(
        'text',
        { x: pad.left - 6, y: gy + 4, class: 'chart-label', 'text-anchor': 'end' },
        short(value),
      ),
    );
  }
  const ticks = [windowMs, (windowMs * 2) / 3, windowMs / 3, 0];
  for (const ago of ticks) {
    const tx = x(now - ago);
    svg.appendChild(
      s(
        'text',
        { x: tx, y: height - 8, class: 'chart-label', 'text-anchor': ago === 0 ? 'end' : 'middle' },
        ago === 0 ? 'now' : `-${Math.round(ago / 1000)}s`,
      ),
    );
  }

  series.forEach((line, index) => {
    const points = line.values.filter((p) => p.t >= start);
    if (points.length === 0) return;
    const d = points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
      .join(' ');
    if (points.length > 1) {
      const first = points[0];
      const last = points[points.length - 1];
      const area = `${d} L${x(last.t).toFixed(1)},${y(0)} L${x(first.t).toFixed(1)},${y(0)} Z`;
      svg.appendChild(s('path', { d: area, class: `chart-area series-${index % 6}` }));
    }
    svg.appendChild(s('path', { d, class: `chart-line series-${index % 6}` }));
    const last = points[points.length - 1];
    svg.appendChild(
      s('circle', { cx: x(last.t), cy: y(last.v), r: 3, class: `chart-dot series-${index % 6}` }),
    );
  });

  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((line, index) => {
      const last = line.values[line.values.length - 1];
      return h(
        'li',
        null,
        h('span', { class: `swatch series-${index % 6}`, 'aria-hidden': 'true' }),
        line.name,
        h('strong', null, last ? ` ${short(last.v)} ${unit}` : ' —'),
      );
    }),
  );
  return h('figure', { class: 'chart-figure' }, h('figcaption', null, title), svg, legend);
}

/**
 * @typedef {{ id: string, type: string, stream: string, position: number,
 *   metadata?: { causationId?: string, correlationId?: string } }} GraphEvent
 */

/**
 * Lays out events as a causation graph: an edge runs from each event to the events it caused
 * (`metadata.causationId`), layered by depth from the first cause. Events whose cause is not
 * in the set start a layer of their own. Each node links to its event.
 * @param {GraphEvent[]} events
 * @param {string} currentId the event being looked at (highlighted)
 * @param {(event: GraphEvent) => string} hrefOf
 * @returns {SVGElement}
 */
export function causationGraph(events, currentId, hrefOf) {
  const byId = new Map(events.map((e) => [e.id, e]));
  /** @type {Map<string, number>} */
  const depth = new Map();
  const depthOf = (/** @type {GraphEvent} */ event, /** @type {Set<string>} */ seen) => {
    const known = depth.get(event.id);
    if (known !== undefined) return known;
    const causeId = event.metadata?.causationId;
    const cause = causeId && causeId !== event.id ? byId.get(causeId) : undefined;
    // A cycle cannot happen with well-formed ids; stop on one rather than recurse forever.
    const d = cause && !seen.has(cause.id) ? depthOf(cause, new Set([...seen, event.id])) + 1 : 0;
    depth.set(event.id, d);
    return d;
  };
  for (const event of events) depthOf(event, new Set());

  /** @type {GraphEvent[][]} */
  const layers = [];
  for (const event of [...events].sort((a, b) => a.position - b.position)) {
    const d = depth.get(event.id) ?? 0;
    (layers[d] ??= []).push(event);
  }
  const nodeW = 220;
  const nodeH = 54;
  const gapX = 24;
  const gapY = 40;
  const widest = Math.max(1, ...layers.map((layer) => layer.length));
  const width = widest * nodeW + (widest - 1) * gapX + 20;
  const height = layers.length * nodeH + (layers.length - 1) * gapY + 20;
  /** @type {Map<string, { x: number, y: number }>} */
  const place = new Map();
  layers.forEach((layer, d) => {
    const rowW = layer.length * nodeW + (layer.length - 1) * gapX;
    const left = (width - rowW) / 2;
    layer.forEach((event, i) => {
      place.set(event.id, { x: left + i * (nodeW + gapX), y: 10 + d * (nodeH + gapY) });
    });
  });

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    class: 'graph',
    role: 'group',
    'aria-label': `Causation graph of ${events.length} event${events.length === 1 ? '' : 's'}`,
  });
  const defs = s(
    'defs',
    null,
    s(
      'marker',
      {
        id: 'arrow',
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: 'auto-start-reverse',
      },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'graph-arrowhead' }),
    ),
  );
  svg.appendChild(defs);

  for (const event of events) {
    const causeId = event.metadata?.causationId;
    const from = causeId ? place.get(causeId) : undefined;
    const to = place.get(event.id);
    if (!from || !to || causeId === event.id) continue;
    const x1 = from.x + nodeW / 2;
    const y1 = from.y + nodeH;
    const x2 = to.x + nodeW / 2;
    const y2 = to.y;
    const mid = (y1 + y2) / 2;
    svg.appendChild(
      s('path', {
        d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2 - 2}`,
        class: 'graph-edge',
        'marker-end': 'url(#arrow)',
      }),
    );
  }

  for (const event of events) {
    const at = place.get(event.id);
    if (!at) continue;
    const current = event.id === currentId;
    const label = `${event.type} in ${event.stream} at position ${event.position}${current ? ' (this event)' : ''}`;
    const node = s(
      'a',
      { href: hrefOf(event), class: `graph-node${current ? ' current' : ''}`, 'aria-label': label },
      s('title', null, label),
      s('rect', { x: at.x, y: at.y, width: nodeW, height: nodeH, rx: 8 }),
      s('text', { x: at.x + 12, y: at.y + 22, class: 'graph-type' }, clip(event.type, 26)),
      s(
        'text',
        { x: at.x + 12, y: at.y + 41, class: 'graph-sub' },
        clip(`#${event.position} · ${event.stream}`, 30),
      ),
    );
    svg.appendChild(node);
  }
  return svg;
}

/**
 * @param {string} text
 * @param {number} max
 */
function clip(text, max) {
  const value = String(text);
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
