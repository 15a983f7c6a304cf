/**
 * One event: its envelope, data and metadata, and the chain of events that caused it, drawn
 * as a graph.
 */
import { api, listOf, seg } from '../api.js';
import { formatNumber, formatTime, h, jsonView, link, loading, replace } from '../dom.js';
import { errorBox } from '../error-box.js';
import { causationGraph } from '../svg.js';

/** @param {import('../app.js').ViewContext} ctx */
export async function eventView(ctx) {
  const position = ctx.params.position ?? '';
  ctx.title(`Event ${position}`);
  const body = h('div', null, loading('Loading the event'));
  replace(ctx.root, h('p', { class: 'subtitle' }, link('/streams', null, '← Streams')), body);

  let answer;
  try {
    answer = await api(`/events/${seg(position)}`, { signal: ctx.signal });
  } catch (error) {
    replace(body, h('h1', null, `Event ${position}`), errorBox(error));
    return;
  }
  const event = answer && typeof answer === 'object' && answer.event ? answer.event : answer;
  // `causedBy`: the causes, nearest first; `caused`: what it led to, directly or not.
  const causedBy = listOf(answer?.causedBy, []);
  const caused = listOf(answer?.caused, []);
  const chain = [...causedBy, event, ...caused].filter(
    (e) => e && typeof e === 'object' && typeof e.id === 'string',
  );
  const metadata = event.metadata && typeof event.metadata === 'object' ? event.metadata : {};
  const causeInChain = chain.find((e) => e.id === metadata.causationId && e.id !== event.id);
  const pos = Number(event.position);

  ctx.title(`${event.type} #${event.position}`);
  replace(
    body,
    h('h1', null, event.type),
    h(
      'p',
      { class: 'subtitle' },
      `Position ${formatNumber(event.position)} · revision ${formatNumber(event.revision)} of `,
      link(`/streams/${seg(event.stream)}`, { class: 'mono' }, event.stream),
    ),
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'envelope-h' },
        h('h2', { id: 'envelope-h' }, 'Envelope'),
        h(
          'dl',
          { class: 'dl' },
          h('dt', null, 'Id'),
          h('dd', { class: 'mono' }, event.id),
          h('dt', null, 'Stream'),
          h('dd', null, link(`/streams/${seg(event.stream)}`, { class: 'mono' }, event.stream)),
          h('dt', null, 'Revision'),
          h('dd', null, formatNumber(event.revision)),
          h('dt', null, 'Position'),
          h('dd', null, formatNumber(event.position)),
          h('dt', null, 'Recorded'),
          h('dd', null, formatTime(event.recordedAt)),
          h('dt', null, 'Schema version'),
          h('dd', null, event.schemaVersion === undefined ? '—' : String(event.schemaVersion)),
          h('dt', null, 'Correlation'),
          h('dd', { class: 'mono' }, metadata.correlationId ?? '—'),
          h('dt', null, 'Caused by'),
          h(
            'dd',
            { class: 'mono' },
            causeInChain
              ? link(
                  `/events/${seg(causeInChain.position)}`,
                  null,
                  `${causeInChain.type} #${causeInChain.position}`,
                )
              : (metadata.causationId ?? '—'),
          ),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'data-h' },
        h('h2', { id: 'data-h' }, 'Data'),
        jsonView(event.data),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'metadata-h' },
      h('h2', { id: 'metadata-h' }, 'Metadata'),
      jsonView(metadata),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'chain-h' },
      h('h2', { id: 'chain-h' }, 'Causation chain'),
      h(
        'p',
        { class: 'subtitle' },
        chain.length > 1
          ? `${causedBy.length} cause${causedBy.length === 1 ? '' : 's'} above this event, ${caused.length} consequence${caused.length === 1 ? '' : 's'} below. Select an event to open it.`
          : 'No event in the store caused this one, and it has caused none yet.',
      ),
      h(
        'div',
        { class: 'graph-wrap', id: 'causation-graph' },
        causationGraph(chain, event.id, (e) => `#/events/${seg(e.position)}`),
      ),
    ),
    Number.isSafeInteger(pos)
      ? h(
          'nav',
          { class: 'pager', 'aria-label': 'Neighbouring events in the log' },
          pos > 1 ? link(`/events/${pos - 1}`, { class: 'button' }, '← Previous in log') : null,
          link(`/events/${pos + 1}`, { class: 'button' }, 'Next in log →'),
        )
      : null,
  );
}
