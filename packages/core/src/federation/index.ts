/** Federation: bridges that share events between stores and buses, through translations. */
export {
  FederationErrorCode,
  InvalidTranslationError,
  TranslationFailedError,
} from './federation-errors.js';
export {
  bridgedEvent,
  composeTranslations,
  identityTranslation,
  runTranslation,
} from './translation.js';
export type {
  BridgedEvent,
  TranslatedEvent,
  Translation,
  TranslationContext,
  TranslationOutput,
} from './translation.js';
export {
  enrichEvents,
  fieldMapper,
  filterEvents,
  mapFields,
  renameTypes,
  routeStreams,
} from './translation-steps.js';
export type { Enrichment, FieldSource } from './translation-steps.js';
export { contextMap, mappingTranslation } from './context-map.js';
export type { ContextMapEntry, ContextMapOptions, EventMapping } from './context-map.js';
export { BRIDGE_ID_NAMESPACE, bridgedEventId } from './bridged-event-id.js';
export { bridgeAppends, originOf } from './bridge-appends.js';
export type { BridgeAppendsOptions, BridgeOrigin } from './bridge-appends.js';
export { StoreBridge } from './store-bridge.js';
export type { StoreBridgeOptions, StoreBridgeStatus } from './store-bridge.js';
export { refusedByTarget, storeTarget } from './store-target.js';
export type { BridgeTarget, StoreTargetOptions } from './store-target.js';
export { translatingTarget } from './translating-target.js';
export type { TranslatingTargetOptions } from './translating-target.js';
export { busBridge } from './bus-bridge.js';
export type { BusBridgeOptions } from './bus-bridge.js';
export { busToStoreHandler } from './bus-to-store-handler.js';
export type { BusToStoreOptions } from './bus-to-store-handler.js';
