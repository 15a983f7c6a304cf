/* global document, window, setInterval, clearInterval, setTimeout, AbortController, URLSearchParams, Element */
/**
 * The admin UI's shell: a hash router (`#/streams/order-42`), the navigation, a server
 * health indicator, notices, and the life cycle of views (each view gets an abort signal and
 * its timers are stopped when the user navigates away).
 */
import { api } from './api.js';
import { h, replace } from './dom.js';
import { errorBox } from './error-box.js';
import { dashboardView } from './views/dashboard.js';
import { eventView } from './views/event.js';
import { parkedView } from './views/parked.js';
import { projectionsView } from './views/projections.js';
import { sagaView, sagasView } from './views/sagas.js';
import { streamView } from './views/stream.js';
import { streamsView } from './views/streams.js';
import { tailView } from './views/tail.js';
import { timeTravelView } from './views/time-travel.js';

/**
 * @typedef {object} ViewContext
 * @property {HTMLElement} root where the view renders
 * @property {Record<string, string>} params decoded path parameters
 * @property {URLSearchParams} query the route's query
 * @property {AbortSignal} signal aborted when the view is left
 * @property {(fn: () => void) => void} onLeave runs when the view is left
 * @property {(ms: number, fn: () => unknown) => void} every runs fn every ms while shown
 * @property {(route: string, replace?: boolean) => void} navigate
 * @property {(message: string, tone?: string) => void} notify
 * @property {(title: string) => void} title sets the document title
 */

/** @type {Array<{ pattern: RegExp, keys: string[], nav: string, view: (ctx: ViewContext) => unknown }>} */
const ROUTES = [
  route('/', 'dashboard', dashboardView),
  route('/streams', 'streams', streamsView),
  route('/streams/:stream', 'streams', streamView),
  route('/events/:position', 'streams', eventView),
  route('/time-travel', 'time-travel', timeTravelView),
  route('/time-travel/:stream', 'time-travel', timeTravelView),
  route('/tail', 'tail', tailView),
  route('/projections', 'projections', projectionsView),
  route('/parked', 'parked', parkedView),
  route('/sagas', 'sagas', sagasView),
  route('/sagas/:saga/:id', 'sagas', sagaView),
];

/**
 * @param {string} path
 * @param {string} nav
 * @param {(ctx: ViewContext) => unknown} view
 */
function route(path, nav, view) {
  /** @type {string[]} */
  const keys = [];
  const source = path.replace(/:([a-z]+)/g, (_, key) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), keys, nav, view };
}

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const notices = /** @type {HTMLElement} */ (document.getElementById('notices'));

/**
 * Shows a short notice (announced by screen readers), which fades after a while.
 * @param {string} message
 * @param {string} [tone] ok | warn | bad | info
 */
export function notify(message, tone = 'info') {
  const item = h(
    'div',
    { class: `notice notice-${tone}`, role: tone === 'bad' ? 'alert' : 'status' },
    h('span', null, message),
    h(
      'button',
      {
        type: 'button',
        class: 'notice-close',
        'aria-label': 'Dismiss',
        onclick: () => item.remove(),
      },
      '×',
    ),
  );
  notices.appendChild(item);
  setTimeout(() => item.remove(), tone === 'bad' ? 12000 : 5000);
}

/** @type {{ controller: AbortController, cleanups: Array<() => void> } | undefined} */
let current;

function leave() {
  if (!current) return;
  current.controller.abort();
  for (const cleanup of current.cleanups) {
    try {
      cleanup();
    } catch {
      // A failing cleanup must not stop the next view from showing.
    }
  }
  current = undefined;
}

/**
 * @param {string} target
 * @param {boolean} [replaceEntry]
 */
function navigate(target, replaceEntry = false) {
  const hash = `#${target}`;
  if (replaceEntry) {
    window.history.replaceState(null, '', hash);
    void show();
  } else if (window.location.hash === hash) {
    void show();
  } else {
    window.location.hash = hash;
  }
}

async function show() {
  leave();
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = raw.split('?');
  const query = new URLSearchParams(search);
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  const controller = new AbortController();
  /** @type {Array<() => void>} */
  const cleanups = [];
  current = { controller, cleanups };

  for (const item of document.querySelectorAll('[data-nav]')) {
    if (match && item.getAttribute('data-nav') === match.r.nav)
      item.setAttribute('aria-current', 'page');
    else item.removeAttribute('aria-current');
  }
  replace(main);
  if (!match || !match.m) {
    document.title = 'Not found · Causeway';
    replace(
      main,
      h('h1', null, 'Not found'),
      h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Back to the overview.')),
    );
    return;
  }
  /** @type {Record<string, string>} */
  const params = {};
  match.r.keys.forEach((key, i) => {
    try {
      params[key] = decodeURIComponent(match.m?.[i + 1] ?? '');
    } catch {
      params[key] = match.m?.[i + 1] ?? '';
    }
  });
  /** @type {ViewContext} */
  const ctx = {
    root: main,
    params,
    query,
    signal: controller.signal,
    onLeave: (fn) => cleanups.push(fn),
    every: (ms, fn) => {
      const timer = setInterval(() => {
        if (!controller.signal.aborted) void fn();
      }, ms);
      cleanups.push(() => clearInterval(timer));
    },
    navigate,
    notify,
    title: (text) => {
      document.title = `${text} · Causeway`;
    },
  };
  try {
    await match.r.view(ctx);
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error instanceof Error && error.name === 'AbortError') return;
    main.appendChild(errorBox(error));
  }
  // Move focus to the new page's heading so keyboard and screen-reader users land on it,
  // unless the user has already moved on to a control of the new page.
  const active = document.activeElement;
  if (
    !controller.signal.aborted &&
    (!active || active === document.body || !main.contains(active))
  ) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  }
}

/** Polls `/health` to show whether the server answers. */
async function checkHealth() {
  const dot = document.getElementById('health');
  if (!dot) return;
  try {
    const body = await api('/health');
    const ok =
      !body ||
      typeof body !== 'object' ||
      body.status === undefined ||
      body.status === 'ok' ||
      body.ok === true;
    dot.className = `health ${ok ? 'health-ok' : 'health-warn'}`;
    dot.textContent = ok ? 'Server up' : `Server ${String(body.status)}`;
  } catch {
    dot.className = 'health health-bad';
    dot.textContent = 'Server unreachable';
  }
}

const menu = document.getElementById('menu-toggle');
const nav = document.getElementById('nav');
if (menu && nav) {
  menu.addEventListener('click', () => {
    const open = menu.getAttribute('aria-expanded') === 'true';
    menu.setAttribute('aria-expanded', String(!open));
    nav.classList.toggle('open', !open);
  });
  nav.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('a')) {
      menu.setAttribute('aria-expanded', 'false');
      nav.classList.remove('open');
    }
  });
}

// The skip link targets the main region, not a route.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', () => void show());
let healthTimer = setInterval(() => void checkHealth(), 10000);
window.addEventListener('pagehide', () => {
  clearInterval(healthTimer);
  leave();
});
window.addEventListener('pageshow', () => {
  clearInterval(healthTimer);
  healthTimer = setInterval(() => void checkHealth(), 10000);
});
void checkHealth();
void show();
