/**
 * Saga instances: a list filtered by saga and status, and one instance's step timeline,
 * state and pending timers; both with the parked saga commands that concern them.
 */
import { api, listOf, query, seg } from '../api.js';
import {
  badge,
  countCaption,
  empty,
  formatTime,
  h,
  jsonView,
  link,
  loading,
  replace,
} from '../dom.js';
import { errorBox } from '../error-box.js';
import { parkedCommandsSection } from './saga-commands.js';

const PAGE = 50;
const STATUSES = ['running', 'completed', 'compensating', 'compensated', 'failed'];
/** @type {Record<string, string>} */
const TONES = {
  running: 'info',
  completed: 'ok',
  compensating: 'warn',
  compensated: 'muted',
  failed: 'bad',
};
/** @type {Record<string, string>} */
const KIND_LABELS = {
  received: 'Received',
  sent: 'Sent',
  scheduled: 'Scheduled',
  'timer-fired': 'Timer fired',
  'timer-cancelled': 'Timer cancelled',
  compensation: 'Compensation',
  error: 'Error',
};
/** @type {Record<string, string>} */
const COMPENSATION_OUTCOMES = {
  accepted: 'Compensation settled (accepted)',
  skipped: 'Compensation skipped',
  'retry-requested': 'Compensation retry requested',
};
/** @type {Record<string, string>} */
const COMPENSATION_STATES = {
  'compensation.started': 'Compensation started',
  'compensation.compensated': 'Compensated',
  'compensation.failed': 'Compensation failed',
};

/**
 * What a history entry says happened. A compensation command leaves two entries, one when it
 * is sent and one when it settles (with the outcome in `detail.outcome`); a failed one settles
 * as an `error` marked `compensation`; the instance's own status changes are typed
 * `compensation.<status>`.
 * @param {any} entry
 */
export function historyLabel(entry) {
  const kind = String(entry?.kind);
  const detail = entry?.detail && typeof entry.detail === 'object' ? entry.detail : {};
  if (kind === 'compensation') {
    const state = COMPENSATION_STATES[String(entry.type)];
    if (state) return state;
    const outcome = COMPENSATION_OUTCOMES[String(detail.outcome)];
    return outcome ?? 'Compensation sent';
  }
  if (kind === 'error') {
    // A parked forward command that was skipped or retried by hand.
    if (detail.outcome === 'skipped') return 'Command skipped';
    if (detail.outcome === 'retry-requested') return 'Command retry requested';
    if (detail.compensation === true) return 'Compensation failed';
  }
  return KIND_LABELS[kind] ?? kind;
}

/** @param {import('../app.js').ViewContext} ctx */
export async function sagasView(ctx) {
  ctx.title('Sagas');
  const saga = ctx.query.get('saga') ?? '';
  const status = ctx.query.get('status') ?? '';
  const after = ctx.query.get('after') ?? '';
  const sagaInput = h('input', {
    type: 'search',
    id: 'saga-name',
    name: 'saga',
    value: saga,
    placeholder: 'all sagas',
  });
  const statusSelect = h(
    'select',
    { id: 'saga-status', name: 'status' },
    h('option', { value: '' }, 'any'),
    STATUSES.map((value) => h('option', { value, selected: value === status }, value)),
  );
  const results = h('div', { 'aria-live': 'polite' }, loading('Loading saga instances'));
  replace(
    ctx.root,
    h('h1', null, 'Sagas'),
    h('p', { class: 'subtitle' }, 'Long-running processes and where each instance is.'),
    h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          ctx.navigate(
            `/sagas${query({
              saga: /** @type {HTMLInputElement} */ (sagaInput).value.trim(),
              status: /** @type {HTMLSelectElement} */ (statusSelect).value,
            })}`,
          );
        },
      },
      h('label', { class: 'field grow', for: 'saga-name' }, 'Saga', sagaInput),
      h('label', { class: 'field', for: 'saga-status' }, 'Status', statusSelect),
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
    ),
    results,
    // A retry or skip moves an instance on: the list is read again after each.
    parkedCommandsSection(ctx, { onChange: loadInstances }),
  );
  await loadInstances();

  async function loadInstances() {
    let body;
    try {
      body = await api(`/sagas${query({ saga, status, after, limit: PAGE })}`, {
        signal: ctx.signal,
      });
    } catch (error) {
      replace(results, errorBox(error));
      return;
    }
    const instances = listOf(body, ['instances', 'sagas']);
    if (instances.length === 0) {
      replace(
        results,
        empty(saga || status ? 'No saga instance matches.' : 'No saga instance yet.'),
      );
      return;
    }
    // `next` is the `after` of the next page (null at the end).
    const next =
      body && typeof body === 'object' && !Array.isArray(body) && 'next' in body
        ? typeof body.next === 'string'
          ? body.next
          : undefined
        : instances.length === PAGE
          ? String(instances[instances.length - 1].id)
          : undefined;
    replace(
      results,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'sagas-table' },
          h(
            'caption',
            null,
            countCaption({
              total: body?.total,
              shown: instances.length,
              noun: ['instance', 'instances'],
              paged: Boolean(after),
              rest: after ? ` after “${after}”` : '',
            }),
          ),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Saga'),
              h('th', { scope: 'col' }, 'Instance'),
              h('th', { scope: 'col' }, 'Status'),
              h('th', { scope: 'col' }, 'Step'),
              h('th', { scope: 'col' }, 'Started'),
              h('th', { scope: 'col' }, 'Updated'),
            ),
          ),
          h(
            'tbody',
            null,
            instances.map((instance) =>
              h(
                'tr',
                null,
                h('td', null, instance.saga),
                h(
                  'td',
                  null,
                  link(
                    `/sagas/${seg(instance.saga)}/${seg(instance.id)}`,
                    { class: 'mono' },
                    instance.id,
                  ),
                ),
                h(
                  'td',
                  null,
                  badge(String(instance.status), TONES[String(instance.status)] ?? 'muted'),
                ),
                h('td', null, instance.step ?? '—'),
                h('td', null, formatTime(instance.startedAt)),
                h('td', null, formatTime(instance.updatedAt)),
              ),
            ),
          ),
        ),
      ),
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Pages of saga instances' },
        after ? link(`/sagas${query({ saga, status })}`, { class: 'button' }, 'First page') : null,
        next
          ? link(
              `/sagas${query({ saga, status, after: next })}`,
              { class: 'button' },
              'Next page →',
            )
          : null,
      ),
    );
  }
}

/** @param {import('../app.js').ViewContext} ctx */
export async function sagaView(ctx) {
  const saga = ctx.params.saga ?? '';
  const id = ctx.params.id ?? '';
  ctx.title(`${saga} ${id}`);
  const body = h('div', null, loading('Loading the saga instance'));
  replace(
    ctx.root,
    h('p', { class: 'subtitle' }, link('/sagas', null, '← Sagas')),
    body,
    parkedCommandsSection(ctx, { saga, instance: id, onChange: () => load() }),
  );

  /** `updatedAt` of what is shown: redraw only when the instance moved. */
  let shown;

  async function load() {
    let answer;
    try {
      answer = await api(`/sagas/${seg(saga)}/${seg(id)}`, { signal: ctx.signal });
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      replace(body, h('h1', null, `${saga} · `, h('span', { class: 'mono' }, id)), errorBox(error));
      return;
    }
    const instance =
      answer && typeof answer === 'object' && answer.instance ? answer.instance : answer;
    if (shown !== undefined && shown === instance.updatedAt) return;
    shown = instance.updatedAt;
    const history = Array.isArray(instance.history) ? instance.history : [];
    const timers = Array.isArray(instance.timers) ? instance.timers : [];
    replace(
      body,
      h('h1', null, `${instance.saga} · `, h('span', { class: 'mono' }, instance.id)),
      h(
        'p',
        { class: 'subtitle' },
        badge(String(instance.status), TONES[String(instance.status)] ?? 'muted'),
        ` at step `,
        h('strong', null, instance.step ?? '—'),
        ` · started ${formatTime(instance.startedAt)} · updated ${formatTime(instance.updatedAt)}`,
      ),
      h(
        'div',
        { class: 'grid' },
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'timeline-h' },
          h('h2', { id: 'timeline-h' }, 'Step timeline'),
          history.length === 0
            ? empty('Nothing recorded yet.')
            : h(
                'ol',
                { class: 'timeline', id: 'saga-timeline' },
                history.map((/** @type {any} */ entry) =>
                  h(
                    'li',
                    { class: `kind-${String(entry.kind).replace(/[^a-z-]/g, '')}` },
                    h('div', { class: 'when' }, formatTime(entry.at)),
                    h(
                      'div',
                      { class: 'what' },
                      `${historyLabel(entry)}: `,
                      h('span', { class: 'mono' }, entry.type),
                    ),
                    entry.step ? h('div', null, 'step → ', h('strong', null, entry.step)) : null,
                    entry.detail !== undefined && entry.detail !== null
                      ? h('details', null, h('summary', null, 'Detail'), jsonView(entry.detail))
                      : null,
                  ),
                ),
              ),
        ),
        h(
          'div',
          null,
          h(
            'section',
            { class: 'card', 'aria-labelledby': 'state-h' },
            h('h2', { id: 'state-h' }, 'State'),
            jsonView(instance.state),
          ),
          h(
            'section',
            { class: 'card', 'aria-labelledby': 'timers-h' },
            h('h2', { id: 'timers-h' }, 'Pending timers'),
            timers.length === 0
              ? empty('No timer pending.')
              : h(
                  'ul',
                  null,
                  timers.map((/** @type {any} */ t) =>
                    h('li', null, h('strong', null, t.type), ` due ${formatTime(t.dueAt)}`),
                  ),
                ),
          ),
        ),
      ),
    );
  }

  await load();
  ctx.every(3000, load);
}
