/* global document */
/**
 * Projections: state, position, lag and parked events of each, refreshed while shown, with a
 * rebuild button (asked twice, as a rebuild replays the whole log).
 */
import { api, listOf, seg } from '../api.js';
import { badge, empty, formatNumber, h, link, loading, replace } from '../dom.js';
import { errorBox } from '../error-box.js';

/** @type {Record<string, string>} */
const TONES = {
  running: 'ok',
  'catching-up': 'info',
  rebuilding: 'info',
  standby: 'muted',
  stopped: 'bad',
};

/**
 * @param {unknown} lag
 * @returns {{ events: number, seconds: number }}
 */
export function lagOf(lag) {
  if (typeof lag === 'number') return { events: lag, seconds: 0 };
  if (lag && typeof lag === 'object') {
    const value = /** @type {Record<string, unknown>} */ (lag);
    return {
      events: typeof value.events === 'number' ? value.events : 0,
      seconds: typeof value.seconds === 'number' ? value.seconds : 0,
    };
  }
  return { events: 0, seconds: 0 };
}

/**
 * A build in progress as the page shows it: a progress bar of its position against the head,
 * and the same in words.
 * @param {string} name
 * @param {any} rebuild the status's `rebuild` (`{ version, build, position, lag, parked }`)
 * @param {number} head
 */
function rebuildProgress(name, rebuild, head) {
  const position = Math.max(0, Number(rebuild.position) || 0);
  const max = Math.max(position, Number(head) || 0);
  const percent = max === 0 ? 100 : Math.floor((position * 100) / max);
  const parked = Number(rebuild.parked) || 0;
  return h(
    'div',
    { class: 'rebuild-progress' },
    h('progress', {
      value: String(position),
      max: String(max),
      'aria-label': `Rebuild of ${name}`,
    }),
    h(
      'div',
      { class: 'subtitle' },
      `Rebuilding v${rebuild.version}, build ${rebuild.build}: ${formatNumber(position)} of ${formatNumber(max)} (${percent}%)`,
      parked > 0 ? `, waiting on ${formatNumber(parked)} parked` : '',
      rebuild.error ? ` — stopped: ${errorText(rebuild.error)}` : '',
    ),
  );
}

/**
 * An error as the API serialises it (an Error becomes `{}` in JSON, or a message string).
 * @param {unknown} error
 */
function errorText(error) {
  if (!error) return '';
  if (typeof error === 'string') return error;
  if (typeof error === 'object') {
    const value = /** @type {Record<string, unknown>} */ (error);
    return String(value.message ?? value.code ?? JSON.stringify(error));
  }
  return String(error);
}

/** @param {import('../app.js').ViewContext} ctx */
export async function projectionsView(ctx) {
  ctx.title('Projections');
  const results = h('div', null, loading('Loading projections'));
  replace(
    ctx.root,
    h('h1', null, 'Projections'),
    h(
      'p',
      { class: 'subtitle' },
      'Read models and how far behind the log they are. Refreshed every two seconds.',
    ),
    results,
  );
  /** Names whose rebuild button waits for confirmation. */
  const confirming = new Set();
  /** Builds seen in progress (or started here), by projection: watched until they serve. */
  /** @type {Map<string, number>} */
  const watching = new Map();
  /** Builds that switched in while the page was open, by projection. */
  /** @type {Map<string, number>} */
  const finished = new Map();
  /** @type {any[]} */
  let projections = [];

  /** @param {string} name */
  async function rebuild(name) {
    if (!confirming.has(name)) {
      confirming.add(name);
      draw();
      document.getElementById(`rebuild-${name}`)?.focus();
      return;
    }
    confirming.delete(name);
    try {
      const started = await api(`/projections/${seg(name)}/rebuild`, {
        method: 'POST',
        body: {},
        signal: ctx.signal,
      });
      const build = Number(started?.build?.build);
      if (Number.isSafeInteger(build)) watching.set(name, build);
      finished.delete(name);
      ctx.notify(`Rebuild of ${name} started.`, 'ok');
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      ctx.notify(
        `Rebuild of ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
        'bad',
      );
    }
    await refresh();
  }

  function draw() {
    if (projections.length === 0) {
      replace(results, empty('No projection is registered with this server.'));
      return;
    }
    replace(
      results,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'projections-table' },
          h(
            'caption',
            null,
            `${projections.length} projection${projections.length === 1 ? '' : 's'}`,
          ),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Name'),
              h('th', { scope: 'col' }, 'Mode'),
              h('th', { scope: 'col' }, 'State'),
              h('th', { scope: 'col', class: 'num' }, 'Version'),
              h('th', { scope: 'col', class: 'num' }, 'Position / head'),
              h('th', { scope: 'col', class: 'num' }, 'Lag'),
              h('th', { scope: 'col', class: 'num' }, 'Parked'),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          h(
            'tbody',
            null,
            projections.map((p) => {
              const lag = lagOf(p.lag);
              const name = String(p.name);
              const waiting = confirming.has(name);
              const rebuilding = p.rebuild && typeof p.rebuild === 'object';
              return h(
                'tr',
                { dataset: { projection: name } },
                h('th', { scope: 'row', class: 'mono' }, name),
                h('td', null, p.mode ?? '—'),
                h(
                  'td',
                  null,
                  badge(String(p.state ?? 'unknown'), TONES[String(p.state)] ?? 'muted'),
                  p.error ? h('div', { class: 'subtitle' }, errorText(p.error)) : null,
                  rebuilding ? rebuildProgress(name, p.rebuild, p.head) : null,
                  !rebuilding && finished.has(name)
                    ? h(
                        'div',
                        { class: 'subtitle rebuild-finished' },
                        badge(`Rebuild finished: build ${finished.get(name)} serves`, 'ok'),
                      )
                    : null,
                ),
                h(
                  'td',
                  { class: 'num' },
                  p.version === undefined || p.version === null
                    ? '—'
                    : `v${p.version}${p.build > 1 ? ` · build ${p.build}` : ''}`,
                ),
                h('td', { class: 'num' }, `${formatNumber(p.position)} / ${formatNumber(p.head)}`),
                h(
                  'td',
                  { class: 'num' },
                  badge(
                    `${formatNumber(lag.events)} events`,
                    lag.events === 0 ? 'ok' : lag.events > 1000 ? 'bad' : 'warn',
                  ),
                  lag.seconds > 0
                    ? h('div', { class: 'subtitle' }, `${formatNumber(lag.seconds, 1)} s`)
                    : null,
                ),
                h(
                  'td',
                  { class: 'num' },
                  p.parked
                    ? link('/parked', null, formatNumber(p.parked))
                    : formatNumber(p.parked ?? 0),
                ),
                h(
                  'td',
                  null,
                  h(
                    'div',
                    { class: 'actions' },
                    h(
                      'button',
                      {
                        type: 'button',
                        id: `rebuild-${name}`,
                        class: waiting ? 'danger' : '',
                        onclick: () => void rebuild(name),
                        'aria-label': waiting ? `Confirm rebuild of ${name}` : `Rebuild ${name}`,
                      },
                      waiting ? 'Confirm rebuild' : 'Rebuild',
                    ),
                    waiting
                      ? h(
                          'button',
                          {
                            type: 'button',
                            onclick: () => {
                              confirming.delete(name);
                              draw();
                            },
                          },
                          'Cancel',
                        )
                      : null,
                  ),
                ),
              );
            }),
          ),
        ),
      ),
    );
  }

  /** Notes builds in progress, and which of the watched ones now serve. */
  function track() {
    for (const p of projections) {
      const name = String(p?.name);
      if (p?.rebuild && typeof p.rebuild === 'object') {
        watching.set(name, Number(p.rebuild.build));
        continue;
      }
      const build = watching.get(name);
      if (build === undefined) continue;
      watching.delete(name);
      if (Number(p.build) === build) finished.set(name, build);
    }
  }

  async function refresh() {
    try {
      const body = await api('/projections', { signal: ctx.signal });
      projections = listOf(body, ['projections']);
      track();
      // Keep focus where it was across the redraw (the table is rebuilt).
      const focused = document.activeElement?.id;
      draw();
      if (focused) document.getElementById(focused)?.focus();
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      replace(results, errorBox(error));
    }
  }

  await refresh();
  ctx.every(2000, refresh);
}
