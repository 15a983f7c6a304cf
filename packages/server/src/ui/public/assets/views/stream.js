/**
 * One stream: its events (paged, oldest or newest first) and its metadata.
 */
import { api, listOf, query, seg } from '../api.js';
import { empty, formatNumber, formatTime, h, jsonView, link, loading, replace } from '../dom.js';
import { errorBox } from '../error-box.js';

const PAGE = 50;

/**
 * A one-line preview of event data.
 * @param {unknown} data
 */
export function preview(data) {
  let text;
  try {
    text = JSON.stringify(data) ?? '';
  } catch {
    text = String(data);
  }
  return text.length > 90 ? `${text.slice(0, 89)}…` : text;
}

/** @param {import('../app.js').ViewContext} ctx */
export async function streamView(ctx) {
  const stream = ctx.params.stream ?? '';
  ctx.title(stream);
  const direction = ctx.query.get('direction') === 'backward' ? 'backward' : 'forward';
  const from = ctx.query.get('from') ?? '';
  const results = h('div', { 'aria-live': 'polite' }, loading('Loading events'));
  const metadata = h('div', null);
  const base = `/streams/${seg(stream)}`;
  replace(
    ctx.root,
    h('p', { class: 'subtitle' }, link('/streams', null, '← Streams')),
    h('h1', { class: 'mono' }, stream),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'div',
        { class: 'actions', role: 'group', 'aria-label': 'Order' },
        link(
          base,
          { class: 'button', 'aria-current': direction === 'forward' ? 'true' : null },
          'Oldest first',
        ),
        link(
          `${base}${query({ direction: 'backward' })}`,
          { class: 'button', 'aria-current': direction === 'backward' ? 'true' : null },
          'Newest first',
        ),
        link(`/time-travel/${seg(stream)}`, { class: 'button' }, 'Time travel'),
      ),
    ),
    results,
    h('h2', null, 'Stream metadata'),
    metadata,
  );

  void api(`/streams/${seg(stream)}/metadata`, { signal: ctx.signal }).then(
    (body) => replace(metadata, jsonView(body ?? {})),
    (error) => {
      if (error instanceof Error && error.name === 'AbortError') return;
      replace(metadata, errorBox(error));
    },
  );

  let body;
  try {
    body = await api(`/streams/${seg(stream)}${query({ from, direction, limit: PAGE })}`, {
      signal: ctx.signal,
    });
  } catch (error) {
    replace(results, errorBox(error));
    return;
  }
  const events = listOf(body, ['events']);
  if (events.length === 0) {
    replace(results, empty(from ? 'No more events.' : 'This stream has no events.'));
    return;
  }
  // `next` is the `from` of the next page (null at the end).
  const last = events[events.length - 1];
  const hasNext = body && typeof body === 'object' && !Array.isArray(body) && 'next' in body;
  const nextFrom = hasNext
    ? typeof body.next === 'number'
      ? body.next
      : undefined
    : events.length === PAGE
      ? direction === 'forward'
        ? last.revision + 1
        : last.revision - 1
      : undefined;
  const more = nextFrom !== undefined && nextFrom >= 0;
  replace(
    results,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'events-table' },
        h(
          'caption',
          null,
          `${events.length} event${events.length === 1 ? '' : 's'}, ${direction === 'forward' ? 'oldest' : 'newest'} first`,
        ),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col', class: 'num' }, 'Revision'),
            h('th', { scope: 'col', class: 'num' }, 'Position'),
            h('th', { scope: 'col' }, 'Type'),
            h('th', { scope: 'col' }, 'Data'),
            h('th', { scope: 'col' }, 'Recorded'),
          ),
        ),
        h(
          'tbody',
          null,
          events.map((event) =>
            h(
              'tr',
              null,
              h('td', { class: 'num' }, formatNumber(event.revision)),
              h(
                'td',
                { class: 'num' },
                link(
                  `/events/${seg(event.position)}`,
                  { 'aria-label': `Event ${event.type} at position ${event.position}` },
                  formatNumber(event.position),
                ),
              ),
              h('td', null, link(`/events/${seg(event.position)}`, null, event.type)),
              h('td', { class: 'mono' }, preview(event.data)),
              h('td', null, formatTime(event.recordedAt)),
            ),
          ),
        ),
      ),
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages of events' },
      from
        ? link(
            `${base}${query({ direction: direction === 'backward' ? 'backward' : undefined })}`,
            { class: 'button' },
            'First page',
          )
        : null,
      more
        ? link(
            `${base}${query({ direction: direction === 'backward' ? 'backward' : undefined, from: nextFrom })}`,
            { class: 'button' },
            'Next page →',
          )
        : null,
    ),
  );
}
