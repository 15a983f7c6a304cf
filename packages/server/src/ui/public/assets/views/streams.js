/**
 * Streams browser: streams by name, filtered by a prefix, paged with `after`.
 */
import { api, listOf, query, seg } from '../api.js';
import { badge, countCaption, empty, formatNumber, h, link, loading, replace } from '../dom.js';
import { errorBox } from '../error-box.js';

const PAGE = 50;

/** @param {import('../app.js').ViewContext} ctx */
export async function streamsView(ctx) {
  ctx.title('Streams');
  const prefix = ctx.query.get('prefix') ?? '';
  const after = ctx.query.get('after') ?? '';
  const input = h('input', {
    type: 'search',
    id: 'stream-prefix',
    name: 'prefix',
    value: prefix,
    placeholder: 'e.g. order-',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const form = h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        const value = /** @type {HTMLInputElement} */ (input).value.trim();
        ctx.navigate(`/streams${query({ prefix: value })}`);
      },
    },
    h('label', { class: 'field grow', for: 'stream-prefix' }, 'Stream name starts with', input),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
    prefix ? h('a', { class: 'button', href: '#/streams' }, 'Clear') : null,
  );
  const results = h('div', { 'aria-live': 'polite' }, loading('Loading streams'));
  replace(
    ctx.root,
    h('h1', null, 'Streams'),
    h(
      'p',
      { class: 'subtitle' },
      'Every stream in the store, by name. Open one to read its events.',
    ),
    form,
    results,
  );

  let body;
  try {
    body = await api(`/streams${query({ prefix, after, limit: PAGE })}`, { signal: ctx.signal });
  } catch (error) {
    replace(results, errorBox(error));
    return;
  }
  const streams = listOf(body, ['streams']);
  if (streams.length === 0) {
    replace(
      results,
      empty(
        prefix
          ? `No stream starts with “${prefix}”.`
          : after
            ? 'No more streams.'
            : 'The store has no streams yet.',
      ),
    );
    return;
  }
  const rows = streams.map((summary) =>
    h(
      'tr',
      null,
      h('td', null, link(`/streams/${seg(summary.stream)}`, { class: 'mono' }, summary.stream)),
      h('td', { class: 'num' }, formatNumber(summary.revision)),
      h('td', { class: 'num' }, formatNumber(summary.lastPosition)),
      h(
        'td',
        null,
        summary.deleted === 'hard'
          ? badge('tombstoned', 'bad')
          : summary.deleted === 'soft'
            ? badge('deleted', 'warn')
            : badge('live', 'ok'),
      ),
      h(
        'td',
        null,
        link(
          `/time-travel/${seg(summary.stream)}`,
          { 'aria-label': `Time travel through ${summary.stream}` },
          'Time travel',
        ),
      ),
    ),
  );
  // The server says where the next page starts (`next`, null at the end); without it, a full
  // page suggests there may be more after its last name.
  const hasNext = body && typeof body === 'object' && !Array.isArray(body) && 'next' in body;
  const nextAfter = hasNext
    ? typeof body.next === 'string'
      ? body.next
      : undefined
    : streams.length === PAGE
      ? String(streams[streams.length - 1].stream)
      : undefined;
  replace(
    results,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'streams-table' },
        h(
          'caption',
          null,
          countCaption({
            total: body?.total,
            shown: streams.length,
            noun: ['stream', 'streams'],
            paged: Boolean(after),
            rest: `${prefix ? ` starting with “${prefix}”` : ''}${after ? ` after “${after}”` : ''}`,
          }),
        ),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Stream'),
            h('th', { scope: 'col', class: 'num' }, 'Revision'),
            h('th', { scope: 'col', class: 'num' }, 'Last position'),
            h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h('tbody', null, rows),
      ),
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages of streams' },
      after ? link(`/streams${query({ prefix })}`, { class: 'button' }, 'First page') : null,
      nextAfter
        ? link(`/streams${query({ prefix, after: nextAfter })}`, { class: 'button' }, 'Next page →')
        : null,
    ),
  );
}
