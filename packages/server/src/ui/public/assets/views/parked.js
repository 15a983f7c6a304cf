/* global document */
/**
 * Parked events (dead letters) of every subscription and projection: why each was parked,
 * with retry and skip, one by one or all of a source's. A retry hands the event back to its
 * subscription; it leaves the list once handled, so the list is refreshed while shown.
 * API: `GET /parked` (sources with counts), `GET /parked/:source` (its events),
 * `POST /parked/:source/retry|skip` with `{ positions: [..] | 'all' }`.
 */
import { api, listOf, query, seg } from '../api.js';
import { badge, empty, formatNumber, formatTime, h, link, loading, replace } from '../dom.js';
import { errorBox } from '../error-box.js';

/** @param {import('../app.js').ViewContext} ctx */
export async function parkedView(ctx) {
  ctx.title('Parked events');
  const only = ctx.query.get('source') ?? '';
  const results = h('div', null, loading('Loading parked events'));
  replace(
    ctx.root,
    h('h1', null, 'Parked events'),
    h(
      'p',
      { class: 'subtitle' },
      'Events a subscription or projection set aside after its handler kept failing. Retry one once the cause is fixed, or skip it.',
    ),
    only
      ? h(
          'p',
          null,
          'Only ',
          h('strong', { class: 'mono' }, only),
          ' · ',
          link('/parked', null, 'show all'),
        )
      : null,
    results,
  );
  /** Keys (`source position`, or `source *`) of actions in flight. */
  const busy = new Set();
  /** Parked events, each with the `source` it is listed and handled under. */
  /** @type {any[]} */
  let parked = [];
  /** Sources (subscriptions, `projection:<name>`) with parked events. */
  /** @type {Array<{ name: string, kind: string, count: number }>} */
  let sources = [];

  /**
   * Retries or skips parked events of one source: some positions, or all of them.
   * @param {string} source
   * @param {number[] | 'all'} positions
   * @param {'retry' | 'skip'} action
   * @param {string} what how the notice names them
   */
  async function act(source, positions, action, what) {
    const key = `${source} ${positions === 'all' ? '*' : positions.join(',')}`;
    busy.add(key);
    draw();
    try {
      const body = await api(`/parked/${seg(source)}/${action}`, {
        method: 'POST',
        body: { positions },
        signal: ctx.signal,
      });
      const count = typeof body?.count === 'number' ? ` (${body.count})` : '';
      ctx.notify(
        action === 'retry'
          ? `Retry of ${what} requested for ${source}${count}.`
          : `Skipped ${what} for ${source}${count}.`,
        'ok',
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      ctx.notify(
        `Could not ${action} ${what}: ${error instanceof Error ? error.message : String(error)}`,
        'bad',
      );
    } finally {
      busy.delete(key);
    }
    await refresh();
  }

  /** @param {string} source */
  const sourceBusy = (source) => [...busy].some((key) => key.startsWith(`${source} `));

  function draw() {
    if (parked.length === 0) {
      replace(results, empty('No parked events. Every subscription is handling its events.'));
      return;
    }
    const perSource = h(
      'ul',
      { class: 'source-list', 'aria-label': 'Sources with parked events' },
      sources.map((source) =>
        h(
          'li',
          null,
          h('span', { class: 'mono' }, source.name),
          badge(`${formatNumber(source.count)} parked`, 'warn'),
          h(
            'span',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                disabled: sourceBusy(source.name),
                onclick: () => void act(source.name, 'all', 'retry', 'every parked event'),
                'aria-label': `Retry every parked event of ${source.name}`,
              },
              'Retry all',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                disabled: sourceBusy(source.name),
                onclick: () => void act(source.name, 'all', 'skip', 'every parked event'),
                'aria-label': `Skip every parked event of ${source.name}`,
              },
              'Skip all',
            ),
          ),
        ),
      ),
    );
    replace(
      results,
      perSource,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'parked-table' },
          h('caption', null, `${parked.length} parked event${parked.length === 1 ? '' : 's'}`),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Source'),
              h('th', { scope: 'col', class: 'num' }, 'Position'),
              h('th', { scope: 'col' }, 'Event'),
              h('th', { scope: 'col' }, 'Error'),
              h('th', { scope: 'col', class: 'num' }, 'Attempts'),
              h('th', { scope: 'col' }, 'Parked'),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          h(
            'tbody',
            null,
            parked.map((item) => {
              const disabled =
                busy.has(`${item.source} ${item.position}`) || busy.has(`${item.source} *`);
              const error =
                item.error && typeof item.error === 'object'
                  ? item.error
                  : { message: String(item.error ?? '') };
              const what = `#${item.position} (${item.type})`;
              return h(
                'tr',
                { dataset: { source: item.source, position: item.position } },
                h(
                  'td',
                  null,
                  link(`/parked${query({ source: item.source })}`, { class: 'mono' }, item.source),
                ),
                h(
                  'td',
                  { class: 'num' },
                  link(`/events/${seg(item.position)}`, null, formatNumber(item.position)),
                ),
                h(
                  'td',
                  null,
                  h('strong', null, item.type),
                  h(
                    'div',
                    null,
                    link(`/streams/${seg(item.stream)}`, { class: 'mono' }, item.stream),
                  ),
                ),
                h(
                  'td',
                  null,
                  h(
                    'div',
                    null,
                    h('code', null, error.code ?? error.name ?? 'Error'),
                    ' ',
                    error.message ?? '',
                  ),
                  item.reason === 'requested' ? badge('parked by handler', 'muted') : null,
                  item.retryRequested ? badge('retry requested', 'info') : null,
                ),
                h('td', { class: 'num' }, formatNumber(item.attempts)),
                h('td', null, formatTime(item.parkedAt)),
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
                        class: 'primary',
                        disabled: disabled || item.retryRequested === true,
                        onclick: () => void act(item.source, [item.position], 'retry', what),
                        'aria-label': `Retry event ${item.position} for ${item.source}`,
                      },
                      'Retry',
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'danger',
                        disabled,
                        onclick: () => void act(item.source, [item.position], 'skip', what),
                        'aria-label': `Skip event ${item.position} for ${item.source}`,
                      },
                      'Skip',
                    ),
                  ),
                ),
              );
            }),
          ),
        ),
      ),
    );
  }

  async function refresh() {
    try {
      const body = await api('/parked', { signal: ctx.signal });
      sources = listOf(body, ['sources']).filter(
        (s) => s && typeof s.name === 'string' && s.count > 0 && (!only || s.name === only),
      );
      const lists = await Promise.all(
        sources.map(async (source) => {
          const page = await api(`/parked/${seg(source.name)}${query({ limit: 1000 })}`, {
            signal: ctx.signal,
          });
          return listOf(page, ['events']).map((item) => ({ ...item, source: source.name }));
        }),
      );
      parked = lists.flat();
      // The table is rebuilt: put the focus back on the control that had it.
      const focused = document.activeElement?.getAttribute('aria-label');
      draw();
      if (focused) {
        for (const el of results.querySelectorAll('[aria-label]')) {
          if (el.getAttribute('aria-label') === focused) {
            /** @type {HTMLElement} */ (el).focus();
            break;
          }
        }
      }
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      replace(results, errorBox(error));
    }
  }

  await refresh();
  // Retries happen in the subscription, not in this request: keep watching the list.
  ctx.every(2000, refresh);
}
