/* global document, CSS, HTMLElement */
/**
 * Parked saga commands: outbox commands a saga (or choreography handler) gave up sending, with
 * retry and skip (skip with an optional reason, recorded in the instance's history). Shown on
 * the sagas page and on an instance's page, because what they change is the instance: a
 * retried or skipped compensation moves a `failed` instance on.
 * API: `GET /saga-commands/parked?source=&instance=&limit=`,
 * `POST /saga-commands/:commandId/retry|skip` with `{}` or `{ reason }`.
 * A server started without `sagaCommands` answers `NOT_CONFIGURED`: the section then hides.
 */
import { ApiError, api, listOf, query, seg } from '../api.js';
import { badge, empty, formatNumber, formatTime, h, link, loading, replace } from '../dom.js';
import { errorBox } from '../error-box.js';

const LIMIT = 100;

/**
 * @typedef {object} ParkedCommandsOptions
 * @property {string} [saga] only the commands of this saga (or choreography handler)
 * @property {string} [instance] only the commands of this instance
 * @property {() => unknown} [onChange] called after a retry or skip succeeded
 */

/**
 * The section listing parked saga commands; it loads itself and stays hidden until the server
 * is known to offer them.
 * @param {import('../app.js').ViewContext} ctx
 * @param {ParkedCommandsOptions} [options]
 * @returns {HTMLElement}
 */
export function parkedCommandsSection(ctx, options = {}) {
  const heading = h('h2', { id: 'parked-commands-h', tabindex: '-1' }, 'Parked commands');
  /** Outcome of the last action, announced politely. */
  const status = h('p', { class: 'visually-hidden', role: 'status', id: 'parked-commands-status' });
  /** The last action's failure, shown in place until the next action. */
  const failure = h('div', { id: 'parked-commands-error' });
  const results = h('div', null, loading('Loading parked commands'));
  const section = h(
    'section',
    {
      class: 'card',
      id: 'parked-commands',
      'aria-labelledby': 'parked-commands-h',
      // loading | ready | error | unavailable (the server offers no saga commands)
      dataset: { state: 'loading' },
    },
    heading,
    h(
      'p',
      { class: 'subtitle' },
      'Commands given up after failing (a parked compensation leaves its instance failed). Retry one once its handler works again, or skip it.',
    ),
    h(
      'p',
      null,
      h('button', { type: 'button', onclick: () => void refresh() }, 'Refresh parked commands'),
    ),
    status,
    failure,
    results,
  );

  /** @type {any[]} */
  let commands = [];
  /** Command ids with an action in flight. */
  const busy = new Set();
  /** The command id whose skip form is open. */
  /** @type {string | undefined} */
  let skipping;

  /**
   * Names a command for people: its type and instance.
   * @param {any} entry
   */
  const describe = (entry) =>
    `${String(entry.command?.type)} of ${String(entry.source)} ${entry.instanceId === null ? '(no instance)' : String(entry.instanceId)}`;

  /**
   * Retries or skips one parked command.
   * @param {any} entry
   * @param {'retry' | 'skip'} action
   * @param {string} [reason]
   */
  async function act(entry, action, reason) {
    const id = String(entry.command.id);
    busy.add(id);
    skipping = undefined;
    replace(failure);
    draw();
    try {
      const answer = await api(`/saga-commands/${seg(id)}/${action}`, {
        method: 'POST',
        body: reason ? { reason } : {},
        signal: ctx.signal,
      });
      const instance =
        answer && typeof answer === 'object' && answer.instance ? answer.instance : undefined;
      const message = `${action === 'retry' ? 'Retry requested for' : 'Skipped'} ${describe(entry)}${
        instance ? `; the instance is ${String(instance.status)}` : ''
      }.`;
      status.textContent = message;
      ctx.notify(message, 'ok');
      if (options.onChange) await options.onChange();
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      status.textContent = `Could not ${action} ${describe(entry)}.`;
      replace(
        failure,
        h('p', null, h('strong', null, `Could not ${action} ${describe(entry)}:`)),
        errorBox(error),
      );
    } finally {
      busy.delete(id);
    }
    await refresh();
    // The row is gone or rebuilt: keep the keyboard in the section.
    if (!section.contains(document.activeElement)) heading.focus({ preventScroll: true });
  }

  /** @param {any} entry */
  function actions(entry) {
    const id = String(entry.command.id);
    const disabled = busy.has(id);
    const what = describe(entry);
    if (skipping === id) {
      const inputId = `skip-reason-${id}`;
      const input = h('input', {
        type: 'text',
        id: inputId,
        name: 'reason',
        maxlength: '1000',
        autocomplete: 'off',
      });
      const form = h(
        'form',
        {
          class: 'skip-form',
          'aria-label': `Skip ${what}`,
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault();
            void act(entry, 'skip', /** @type {HTMLInputElement} */ (input).value.trim());
          },
          onkeydown: (/** @type {KeyboardEvent} */ e) => {
            if (e.key === 'Escape') cancel();
          },
        },
        h('label', { class: 'field', for: inputId }, 'Reason (optional)', input),
        h(
          'div',
          { class: 'actions' },
          h(
            'button',
            { type: 'submit', class: 'danger', 'aria-label': `Confirm skip of ${what}` },
            'Confirm skip',
          ),
          h('button', { type: 'button', onclick: () => cancel() }, 'Cancel'),
        ),
      );
      const cancel = () => {
        skipping = undefined;
        draw();
        const skip = results.querySelector(`[data-skip="${CSS.escape(id)}"]`);
        if (skip instanceof HTMLElement) skip.focus();
      };
      return form;
    }
    return h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          disabled,
          onclick: () => void act(entry, 'retry'),
          'aria-label': `Retry ${what}`,
        },
        'Retry',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          disabled,
          dataset: { skip: id },
          onclick: () => {
            skipping = id;
            draw();
            const field = results.querySelector(`#${CSS.escape(`skip-reason-${id}`)}`);
            if (field instanceof HTMLElement) field.focus();
          },
          'aria-label': `Skip ${what}`,
        },
        'Skip…',
      ),
    );
  }

  function draw() {
    if (commands.length === 0) {
      replace(results, empty('No parked command. Every saga command was delivered or settled.'));
      return;
    }
    replace(
      results,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'parked-commands-table' },
          h(
            'caption',
            null,
            `${commands.length} parked command${commands.length === 1 ? '' : 's'}`,
          ),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Saga'),
              h('th', { scope: 'col' }, 'Instance'),
              h('th', { scope: 'col' }, 'Command'),
              h('th', { scope: 'col', class: 'num' }, 'Attempts'),
              h('th', { scope: 'col' }, 'Error'),
              h('th', { scope: 'col' }, 'Parked'),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          h(
            'tbody',
            null,
            commands.map((entry) =>
              h(
                'tr',
                { dataset: { 'command-id': entry.command.id } },
                h('td', null, entry.source),
                h(
                  'td',
                  null,
                  entry.instanceId === null || entry.instanceId === undefined
                    ? h('span', { class: 'muted' }, 'none (choreography)')
                    : link(
                        `/sagas/${seg(entry.source)}/${seg(entry.instanceId)}`,
                        { class: 'mono' },
                        entry.instanceId,
                      ),
                ),
                h(
                  'td',
                  null,
                  h('strong', { class: 'mono' }, entry.command.type),
                  ' ',
                  entry.compensation ? badge('compensation', 'warn') : badge('forward', 'muted'),
                  h('div', { class: 'mono muted command-id' }, entry.command.id),
                ),
                h('td', { class: 'num' }, formatNumber(entry.attempts)),
                h('td', null, entry.lastError ?? '—'),
                h('td', null, formatTime(entry.settledAt ?? entry.createdAt)),
                h('td', null, actions(entry)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function refresh() {
    let body;
    try {
      body = await api(
        `/saga-commands/parked${query({
          source: options.saga,
          instance: options.instance,
          limit: LIMIT,
        })}`,
        { signal: ctx.signal },
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      if (error instanceof ApiError && error.code === 'NOT_CONFIGURED') {
        // This server does not manage saga commands: nothing to show, nothing to explain.
        section.hidden = true;
        section.dataset.state = 'unavailable';
        return;
      }
      section.hidden = false;
      section.dataset.state = 'error';
      replace(results, errorBox(error));
      return;
    }
    section.hidden = false;
    section.dataset.state = 'ready';
    commands = listOf(body, ['commands']).filter(
      (entry) => entry && entry.command && typeof entry.command.id === 'string',
    );
    if (skipping !== undefined && !commands.some((e) => e.command.id === skipping))
      skipping = undefined;
    draw();
  }

  section.hidden = true;
  void refresh();
  return section;
}
