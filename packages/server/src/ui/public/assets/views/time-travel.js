/* global window */
/**
 * Time travel: an aggregate's state after any revision of its stream, picked with a slider
 * (`GET /streams/:stream/state?revision=N`), with the event that led to it and what it changed.
 */
import { api, listOf, query, seg } from '../api.js';
import {
  badge,
  empty,
  formatNumber,
  formatTime,
  h,
  jsonView,
  link,
  loading,
  replace,
} from '../dom.js';
import { errorBox } from '../error-box.js';

/** How many events are fetched to label the slider's positions. */
const LABELS = 1000;

/**
 * Top-level keys whose values differ between two states.
 * @param {unknown} before
 * @param {unknown} after
 */
function changedKeys(before, after) {
  const a = before && typeof before === 'object' && !Array.isArray(before) ? before : {};
  const b = after && typeof after === 'object' && !Array.isArray(after) ? after : {};
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter(
    (key) =>
      JSON.stringify(/** @type {Record<string, unknown>} */ (a)[key]) !==
      JSON.stringify(/** @type {Record<string, unknown>} */ (b)[key]),
  );
}

/** @param {import('../app.js').ViewContext} ctx */
export async function timeTravelView(ctx) {
  const stream = ctx.params.stream ?? '';
  ctx.title(stream ? `Time travel: ${stream}` : 'Time travel');
  const input = h('input', {
    type: 'text',
    id: 'tt-stream',
    name: 'stream',
    value: stream,
    placeholder: 'e.g. order-42',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const content = h('div', null);
  replace(
    ctx.root,
    h('h1', null, 'Time travel'),
    h('p', { class: 'subtitle' }, "An aggregate's state as it was after any event of its stream."),
    h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          const value = /** @type {HTMLInputElement} */ (input).value.trim();
          if (value) ctx.navigate(`/time-travel/${seg(value)}`);
        },
      },
      h('label', { class: 'field grow', for: 'tt-stream' }, 'Stream', input),
      h('button', { type: 'submit', class: 'primary' }, 'Open'),
    ),
    content,
  );
  if (!stream) {
    replace(content, empty('Pick a stream to travel through its history.'));
    return;
  }
  replace(content, loading('Loading the stream'));

  let latest;
  let events;
  try {
    // The state without a revision is the latest one, with the stream's revision range.
    const [state, page] = await Promise.all([
      api(`/streams/${seg(stream)}/state`, { signal: ctx.signal }),
      api(`/streams/${seg(stream)}${query({ limit: LABELS })}`, { signal: ctx.signal }),
    ]);
    latest = state;
    events = listOf(page, ['events']);
  } catch (error) {
    replace(content, errorBox(error));
    return;
  }
  const range = latest && typeof latest === 'object' && latest.range ? latest.range : {};
  const lastEvent = events[events.length - 1];
  const max = Number(range.last ?? latest?.revision ?? lastEvent?.revision);
  const min = Number(range.first ?? events[0]?.revision ?? 0);
  if (!Number.isSafeInteger(max) || max < 0) {
    replace(content, empty('This stream has no events.'));
    return;
  }
  /** @type {Map<number, any>} */
  const byRevision = new Map(events.map((e) => [Number(e.revision), e]));
  const requested = Number(ctx.query.get('revision') ?? NaN);
  let revision =
    Number.isSafeInteger(requested) && requested >= min && requested <= max ? requested : max;

  const slider = h('input', {
    type: 'range',
    id: 'tt-revision',
    name: 'revision',
    min,
    max,
    step: 1,
    value: revision,
  });
  const readout = h('output', { id: 'tt-readout', for: 'tt-revision', class: 'mono' });
  const prev = h(
    'button',
    { type: 'button', id: 'tt-prev', 'aria-label': 'Previous revision' },
    '←',
  );
  const next = h('button', { type: 'button', id: 'tt-next', 'aria-label': 'Next revision' }, '→');
  const eventBox = h('div', null);
  const stateBox = h('div', { id: 'tt-state', 'aria-live': 'polite' }, loading('Folding events'));

  /** @type {Map<number, any>} */
  const states = new Map([[max, latest]]);
  /** @param {number} n */
  async function stateAt(n) {
    const cached = states.get(n);
    if (cached) return cached;
    const body = await api(`/streams/${seg(stream)}/state${query({ revision: n })}`, {
      signal: ctx.signal,
    });
    states.set(n, body);
    return body;
  }

  /** @param {any} body */
  const stateOf = (body) =>
    body && typeof body === 'object' && 'state' in body ? body.state : body;

  let shown = 0;
  /** @param {number} n */
  async function show(n) {
    revision = n;
    const ticket = ++shown;
    /** @type {HTMLInputElement} */ (slider).value = String(n);
    const event = byRevision.get(n);
    const label = `revision ${n} of ${max}${event ? `: ${event.type}` : ''}`;
    slider.setAttribute('aria-valuetext', label);
    readout.textContent = `${n} / ${max}`;
    prev.toggleAttribute('disabled', n <= min);
    next.toggleAttribute('disabled', n >= max);
    window.history.replaceState(null, '', `#/time-travel/${seg(stream)}${query({ revision: n })}`);
    replace(
      eventBox,
      event
        ? h(
            'p',
            null,
            'After ',
            link(`/events/${seg(event.position)}`, null, h('strong', null, event.type)),
            ` (revision ${formatNumber(n)}, position ${formatNumber(event.position)}, ${formatTime(event.recordedAt)})`,
          )
        : h('p', null, `After revision ${formatNumber(n)}`),
    );
    try {
      const [now, before] = await Promise.all([
        stateAt(n),
        n > 0 ? stateAt(n - 1) : Promise.resolve(undefined),
      ]);
      if (ticket !== shown) return;
      const changed = before === undefined ? [] : changedKeys(stateOf(before), stateOf(now));
      replace(
        stateBox,
        h(
          'p',
          { class: 'subtitle' },
          `State after ${formatNumber(now && typeof now === 'object' && typeof now.events === 'number' ? now.events : n + 1)} event(s). `,
          changed.length > 0
            ? ['Changed: ', changed.map((key) => [badge(key, 'warn'), ' '])]
            : n > 0
              ? 'No top-level change.'
              : 'Initial event.',
        ),
        jsonView(stateOf(now)),
      );
      stateBox.setAttribute('data-revision', String(n));
    } catch (error) {
      if (ticket !== shown) return;
      if (error instanceof Error && error.name === 'AbortError') return;
      replace(stateBox, errorBox(error));
      stateBox.setAttribute('data-revision', String(n));
    }
  }

  slider.addEventListener(
    'input',
    () => void show(Number(/** @type {HTMLInputElement} */ (slider).value)),
  );
  prev.addEventListener('click', () => void show(Math.max(min, revision - 1)));
  next.addEventListener('click', () => void show(Math.min(max, revision + 1)));

  replace(
    content,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'tt-h' },
      h('h2', { id: 'tt-h' }, link(`/streams/${seg(stream)}`, { class: 'mono' }, stream)),
      h(
        'div',
        { class: 'slider-row' },
        h('label', { for: 'tt-revision' }, 'Revision'),
        prev,
        slider,
        next,
        readout,
      ),
      eventBox,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'tt-state-h' },
      h('h2', { id: 'tt-state-h' }, 'State'),
      stateBox,
    ),
  );
  await show(revision);
}
