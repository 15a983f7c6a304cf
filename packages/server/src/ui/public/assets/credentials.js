/* global sessionStorage */
/**
 * The caller's credential (an API key `cwk_…` or a bearer token), for servers started with
 * access control. Kept in the tab's session storage only: it is gone when the tab closes, and
 * other sites cannot read it. Sent as `Authorization: ApiKey <key>` or `Bearer <token>`.
 */

const KEY = 'causeway.credential';

/** The credential, or '' when none is set. */
export function getCredential() {
  try {
    return sessionStorage.getItem(KEY) ?? '';
  } catch {
    // Storage can be disabled (privacy settings): then there is simply no credential.
    return '';
  }
}

/**
 * Sets (or, with '', forgets) the credential.
 * @param {string} value
 */
export function setCredential(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    // See getCredential.
  }
}

/**
 * The headers carrying the credential (none without one).
 * @returns {Record<string, string>}
 */
export function authHeaders() {
  const credential = getCredential();
  if (!credential) return {};
  return {
    authorization: credential.startsWith('cwk_') ? `ApiKey ${credential}` : `Bearer ${credential}`,
  };
}
