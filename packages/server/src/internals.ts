/**
 * Building blocks that Causeway's own packages share.
 */
export { derivedCloudEventId } from './cloud-events.js';
export { AdminUiErrorCode } from './ui/admin-ui-errors.js';
