/**
 * How the UI shows a failure: the API's error code, message and details, in place.
 */
import { ApiError } from './api.js';
import { openCredentialsDialog } from './credentials-dialog.js';
import { h, jsonView } from './dom.js';

/**
 * An error shown in place: the API's code, message and details.
 * @param {unknown} error
 * @returns {HTMLElement}
 */
export function errorBox(error) {
  if (error instanceof ApiError) {
    return h(
      'div',
      { class: 'error-box', role: 'alert' },
      h(
        'p',
        { class: 'error-title' },
        h('strong', null, error.status ? `Error ${error.status}` : 'Error'),
        ' ',
        h('code', null, error.code),
      ),
      h('p', { class: 'error-message' }, error.message),
      error.status === 401 || error.status === 403
        ? h(
            'p',
            null,
            h(
              'button',
              { type: 'button', class: 'primary', onclick: () => openCredentialsDialog() },
              error.status === 401 ? 'Enter credentials' : 'Use other credentials',
            ),
          )
        : null,
      error.details !== undefined && error.details !== null
        ? h('details', null, h('summary', null, 'Details'), jsonView(error.details))
        : null,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return h(
    'div',
    { class: 'error-box', role: 'alert' },
    h('p', { class: 'error-title' }, h('strong', null, 'Error')),
    h('p', { class: 'error-message' }, message),
  );
}
