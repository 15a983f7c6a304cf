/* global document, window */
/**
 * The credentials dialog: lets the user paste an API key or token for a server started with
 * access control. Saving (or forgetting) reloads the current page's data.
 */
import { getCredential, setCredential } from './credentials.js';

const dialog = /** @type {HTMLDialogElement | null} */ (
  document.getElementById('credentials-dialog')
);
const input = /** @type {HTMLInputElement | null} */ (document.getElementById('credentials-input'));
const button = document.getElementById('credentials-button');

function label() {
  if (button) button.textContent = getCredential() ? 'Credentials set' : 'Credentials';
}

/** Opens the dialog (focus goes to its input; Escape closes it). */
export function openCredentialsDialog() {
  if (!dialog || !input) return;
  input.value = getCredential();
  dialog.showModal();
  input.focus();
}

if (dialog && input) {
  dialog.addEventListener('close', () => {
    const action = dialog.returnValue;
    dialog.returnValue = '';
    if (action === 'save') setCredential(input.value.trim());
    else if (action === 'forget') setCredential('');
    else return;
    input.value = '';
    label();
    // Show the current page again, now with (or without) the credential.
    window.dispatchEvent(new window.HashChangeEvent('hashchange'));
  });
}
button?.addEventListener('click', openCredentialsDialog);
label();
