import { CausewayError } from '@causewayjs/core';

/**
 * Stable error codes of the admin UI. Like the core's `ErrorCode`, a code never changes
 * meaning once published.
 */
export const AdminUiErrorCode = {
  /** The UI's files are not where the server looks for them (a build without them). */
  ADMIN_UI_MISSING: 'ADMIN_UI_MISSING',
} as const;

/** One of the values of {@link AdminUiErrorCode}. */
export type AdminUiErrorCode = (typeof AdminUiErrorCode)[keyof typeof AdminUiErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '@causewayjs/core' {
  interface CausewayErrorCodes {
    adminUi: AdminUiErrorCode;
  }
}

/**
 * The admin UI's files are missing: a build that compiled the server without copying
 * `server/ui/public` next to it. Refusing to start says so at once, where serving nothing
 * would only show up as a 404 in someone's browser.
 */
export class AdminUiMissingError extends CausewayError {
  constructor(readonly root: string) {
    super(
      AdminUiErrorCode.ADMIN_UI_MISSING,
      `The admin UI's files are missing: no index.html in ${root}. Copy packages/server/src/ui/public there (npm run build does), or start the server with adminUi: false`,
    );
  }
}
