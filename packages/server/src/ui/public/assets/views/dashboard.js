/**
 * Overview: the store's head, throughput and the lag of projections and subscriptions, with
 * charts drawn from `GET /stats`, read every two seconds while the page is shown. Throughput
 * is the server's own series (it samples the head every second); lag is sampled here, and the
 * samples are kept for the whole visit, so going back to the overview keeps the recent history.
 */
import { api, listOf } from '../api.js';
import { formatNumber, h, link, replace } from '../dom.js';
import { errorBox } from '../error-box.js';
import { lineChart } from '../svg.js';
import { lagOf } from './projections.js';

const INTERVAL_MS = 2000;
const WINDOW_MS = 120_000;

/**
 * @typedef {{ t: number, head: number, lags: Map<string, number>, parked: number }} Sample
 */

/** @type {Sample[]} */
const samples = [];

/**
 * Reads the numbers the overview needs from a `/stats` answer:
 * `{ head, throughput: [{ at, head, eventsPerSecond }], projections: [{ name, lag: { events } }],
 * subscriptions: [{ name, lag, parked }], components: [{ kind, name, lag }] }` (components:
 * relays and stream jobs, besides projections and subscriptions).
 * @param {any} stats
 */
export function readStats(stats) {
  const body = stats && typeof stats === 'object' ? stats : {};
  const head = Number(body.head ?? 0);
  /** @type {Map<string, number>} */
  const lags = new Map();
  let parked = 0;
  for (const p of listOf(body.projections ?? [], [])) {
    if (!p || typeof p !== 'object' || typeof p.name !== 'string') continue;
    lags.set(p.name, lagOf(p.lag).events);
    parked += typeof p.parked === 'number' ? p.parked : 0;
  }
  for (const sub of listOf(body.subscriptions ?? [], [])) {
    if (!sub || typeof sub !== 'object' || typeof sub.name !== 'string') continue;
    // A subscription running in another process has no lag here (null): no point to chart.
    if (typeof sub.lag === 'number') lags.set(sub.name, sub.lag);
    parked += typeof sub.parked === 'number' ? sub.parked : 0;
  }
  for (const c of listOf(body.components ?? [], [])) {
    if (!c || typeof c !== 'object' || typeof c.name !== 'string') continue;
    if ((c.kind === 'relay' || c.kind === 'stream-job') && typeof c.lag === 'number')
      lags.set(c.name, c.lag);
  }
  /** @type {Array<{ t: number, v: number }>} */
  const throughput = listOf(body.throughput ?? [], [])
    .map((point) => ({ t: Date.parse(point?.at), v: Number(point?.eventsPerSecond) }))
    .filter((point) => Number.isFinite(point.t) && Number.isFinite(point.v));
  return { head: Number.isFinite(head) ? head : 0, lags, parked, throughput };
}

/** @param {import('../app.js').ViewContext} ctx */
export async function dashboardView(ctx) {
  ctx.title('Overview');
  const tiles = h('div', { class: 'tiles', id: 'tiles' });
  const charts = h('div', { class: 'grid', id: 'charts' });
  const problem = h('div', null);
  replace(
    ctx.root,
    h('h1', null, 'Overview'),
    h(
      'p',
      { class: 'subtitle' },
      'Throughput of the store and lag of its read models, sampled every two seconds.',
    ),
    problem,
    tiles,
    charts,
  );

  /** @param {string} label @param {unknown} value @param {string} [route] */
  const tile = (label, value, route) =>
    h(
      'div',
      { class: 'tile' },
      h('div', { class: 'label' }, label),
      h('div', { class: 'value' }, route ? link(route, null, String(value)) : String(value)),
    );

  /** The server's own throughput series (it samples the head every second). */
  /** @type {Array<{ t: number, v: number }>} */
  let throughput = [];

  function draw() {
    const now = Date.now();
    const last = samples[samples.length - 1];
    const rate = throughput[throughput.length - 1]?.v;
    const names = [...new Set(samples.flatMap((x) => [...x.lags.keys()]))].sort();
    const maxLag = last ? Math.max(0, ...last.lags.values()) : 0;
    replace(
      tiles,
      tile('Head position', formatNumber(last?.head)),
      tile('Events / s', rate === undefined ? '—' : formatNumber(rate, 1)),
      tile('Read models', formatNumber(last?.lags.size ?? 0), '/projections'),
      tile('Largest lag', `${formatNumber(maxLag)} ev`, '/projections'),
      tile('Parked', last ? formatNumber(last.parked) : '—', '/parked'),
    );
    replace(
      charts,
      h(
        'section',
        { class: 'card', id: 'throughput-chart' },
        lineChart({
          title: 'Throughput',
          unit: 'events/s',
          series: [{ name: 'appends', values: throughput }],
          windowMs: WINDOW_MS,
          now,
        }),
      ),
      h(
        'section',
        { class: 'card', id: 'lag-chart' },
        lineChart({
          title: 'Lag',
          unit: 'events',
          series: names.slice(0, 6).map((name) => ({
            name,
            values: samples
              .filter((x) => x.lags.has(name))
              .map((x) => ({ t: x.t, v: /** @type {number} */ (x.lags.get(name)) })),
          })),
          windowMs: WINDOW_MS,
          now,
        }),
      ),
    );
  }

  async function sample() {
    try {
      const stats = await api('/stats', { signal: ctx.signal });
      const t = Date.now();
      const read = readStats(stats);
      throughput = read.throughput;
      samples.push({ t, head: read.head, lags: read.lags, parked: read.parked });
      while (
        samples.length > 0 &&
        /** @type {Sample} */ (samples[0]).t < t - WINDOW_MS - INTERVAL_MS
      )
        samples.shift();
      replace(problem);
      draw();
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      replace(problem, errorBox(error));
    }
  }

  draw();
  await sample();
  ctx.every(INTERVAL_MS, sample);
}
