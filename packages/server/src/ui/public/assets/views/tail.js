/**
 * Live tail of the global log over server-sent events (`GET /subscribe`). The browser's
 * EventSource reconnects by itself and sends `Last-Event-ID`, so the server resumes with no
 * gap and no duplicate; pausing and resuming does the same by hand with the last id seen.
 */
import { query, seg } from '../api.js';
import { badge, formatClock, h, link, replace } from '../dom.js';
import { openEventStream } from '../event-stream.js';
import { preview } from './stream.js';

const KEEP = 200;

/** @param {import('../app.js').ViewContext} ctx */
export function tailView(ctx) {
  ctx.title('Live tail');
  const prefix = ctx.query.get('prefix') ?? '';
  const types = ctx.query.get('types') ?? '';
  /** Closes the open stream, if any. */
  let close = () => {};
  /** Position of the last event shown: a resume starts after it. */
  let lastId = '';
  let received = 0;
  let paused = false;

  const status = h('span', { id: 'tail-status', role: 'status' }, badge('connecting', 'info'));
  const notice = h('p', { class: 'subtitle', role: 'alert' });
  const count = h('span', { id: 'tail-count', class: 'subtitle' }, '0 events received');
  const list = h('ol', {
    class: 'tail-list',
    id: 'tail-list',
    'aria-label': 'Events, newest first',
    reversed: true,
  });
  const placeholder = h(
    'p',
    { class: 'empty' },
    'Waiting for events… New events appear here as they are appended.',
  );
  const pause = h('button', { type: 'button', id: 'tail-pause', onclick: () => toggle() }, 'Pause');
  const prefixInput = h('input', {
    type: 'search',
    id: 'tail-prefix',
    name: 'prefix',
    value: prefix,
    placeholder: 'e.g. order-',
  });
  const typesInput = h('input', {
    type: 'search',
    id: 'tail-types',
    name: 'types',
    value: types,
    placeholder: 'e.g. order.placed,order.paid',
  });

  /** @param {string} text @param {string} tone */
  const setStatus = (text, tone) => replace(status, badge(text, tone));

  function connect() {
    // A resume after a pause starts after the last event shown; the server reads the same
    // value from the Last-Event-ID header when the browser reconnects by itself.
    const from = /^\d+$/.test(lastId) ? Number(lastId) + 1 : undefined;
    const url = `/subscribe${query({ prefix, types, from })}`;
    setStatus('connecting', 'info');
    close = openEventStream(url, {
      onOpen: () => {
        setStatus('live', 'ok');
        notice.textContent = '';
      },
      onReconnecting: () => setStatus('reconnecting', 'warn'),
      onFail: (error) => {
        setStatus('disconnected', 'bad');
        notice.textContent = `The live tail stopped: ${error.message}${error.status ? ` (${error.status} ${error.code})` : ''}`;
      },
      onMessage: (data, id) => show(data, id),
    });
  }

  /**
   * Shows one event of the stream.
   * @param {string} data the event as JSON
   * @param {string} id its position
   */
  function show(data, id) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (!event || typeof event !== 'object') return;
    if (id) lastId = id;
    else if (event.position !== undefined) lastId = String(event.position);
    received++;
    count.textContent = `${received} event${received === 1 ? '' : 's'} received`;
    placeholder.remove();
    const item = h(
      'li',
      { class: 'fresh', dataset: { position: event.position } },
      link(`/events/${seg(event.position)}`, { class: 'mono' }, `#${event.position}`),
      h(
        'span',
        null,
        h('strong', null, event.type),
        ' ',
        link(`/streams/${seg(event.stream)}`, { class: 'mono' }, event.stream),
      ),
      h('span', { class: 'mono hide-narrow' }, preview(event.data)),
      h('span', { class: 'subtitle hide-narrow' }, formatClock(event.recordedAt)),
    );
    list.insertBefore(item, list.firstChild);
    while (list.children.length > KEEP) list.lastChild?.remove();
  }

  function disconnect() {
    close();
    close = () => {};
  }

  function toggle() {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (paused) {
      disconnect();
      setStatus('paused', 'muted');
    } else {
      connect();
    }
  }

  const form = h(
    'form',
    {
      class: 'toolbar',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        ctx.navigate(
          `/tail${query({
            prefix: /** @type {HTMLInputElement} */ (prefixInput).value.trim(),
            types: /** @type {HTMLInputElement} */ (typesInput).value.replace(/\s+/g, ''),
          })}`,
        );
      },
    },
    h('label', { class: 'field grow', for: 'tail-prefix' }, 'Stream prefix', prefixInput),
    h(
      'label',
      { class: 'field grow', for: 'tail-types' },
      'Event types (comma-separated)',
      typesInput,
    ),
    h('button', { type: 'submit' }, 'Apply filters'),
  );

  replace(
    ctx.root,
    h('h1', null, 'Live tail'),
    h('p', { class: 'subtitle' }, 'Events as they are appended to the store, newest first.'),
    form,
    h('div', { class: 'status-row' }, status, pause, count),
    notice,
    h('div', { class: 'table-wrap' }, placeholder, list),
  );
  ctx.onLeave(disconnect);
  connect();
}
