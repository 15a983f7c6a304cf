/**
 * Security: authentication (API keys, JWTs), access rules, tenants, encryption of personal
 * fields with crypto-shredding, and tamper-evident hash chains.
 */
export { openAccess } from './access-guard.js';
export type { AccessGuard, GuardRequest, Permission, Principal } from './access-guard.js';
export {
  AccessRules,
  ANY_AUTHENTICATED_ROLE,
  PERMISSIONS,
  TENANT_PLACEHOLDER,
} from './access-rules.js';
export type { AccessDecision, AccessRule } from './access-rules.js';
export {
  API_KEY_PREFIX,
  apiKeyId,
  apiKeyMatches,
  generateApiKey,
  hashApiKey,
  isApiKeyHash,
} from './api-keys.js';
export type { GeneratedApiKey } from './api-keys.js';
export { JwtVerifier } from './jwt-verifier.js';
export type { JwtAlgorithm, JwtConfig } from './jwt-verifier.js';
export { checkSecurityConfig, loadSecurityConfig } from './security-config.js';
export type { ApiKeyConfig, SecurityConfig } from './security-config.js';
export { createAccessGuard } from './create-access-guard.js';
export type {
  AccessGuardOptions,
  Denial,
  DenialCounts,
  SecurityGuard,
  SecurityLogger,
} from './create-access-guard.js';
export {
  AuthenticationError,
  DecryptionError,
  EncryptionError,
  ForbiddenError,
  IntegrityConflictError,
  MasterKeyUnavailableError,
  SecurityConfigError,
  SecurityErrorCode,
  securityErrorStatus,
  SubjectForgottenError,
  TenantForbiddenError,
  WrongMasterKeyError,
} from './security-errors.js';
export {
  assertTenantId,
  belongsToTenant,
  isTenantId,
  TENANT_SEPARATOR,
  tenantFilter,
  tenantOfStream,
  tenantPrefix,
  tenantStream,
} from './tenants.js';
export { tenantScopedStore, TenantScopedStore } from './tenant-scoped-store.js';
export type {
  DataKeyEntry,
  DataKeyStore,
  KeyCheck,
  ListDataKeysOptions,
  StoredDataKey,
} from './data-key-store.js';
export { MemoryDataKeyStore } from './memory-data-key-store.js';
export { generateMasterKey, parseMasterKey } from './master-key.js';
export type { MasterKey, MasterKeyConfig } from './master-key.js';
export {
  EncryptedEventStore,
  encryptedEventStore,
  REDACTED,
  SUBJECT_FORGOTTEN_EVENT,
} from './encrypted-event-store.js';
export type {
  EncryptedEventStoreOptions,
  EncryptionMetadata,
  ForgetResult,
  PersonalDataPolicy,
} from './encrypted-event-store.js';
export { checkErasure, erasableTexts, MIN_ERASED_VALUE_LENGTH } from './subject-eraser.js';
export type { SubjectEraser, SubjectForgottenData } from './subject-eraser.js';
export { canonicalJson } from './canonical-json.js';
export { GENESIS_HASH, linkHash } from './hash-chain.js';
export type { IntegrityMetadata } from './hash-chain.js';
export { IntegrityEventStore, integrityEventStore } from './integrity-event-store.js';
export type { IntegrityEventStoreOptions } from './integrity-event-store.js';
export { exportHeads, verifyStore } from './verify-store.js';
export { anchorDigest } from './chain-anchor.js';
export type { ChainAnchors, ChainHeadAnchor, ChainStartAnchor } from './chain-anchor.js';
export type { ChainAnchorStore, ListChainAnchorsOptions } from './chain-anchor-store.js';
export { MemoryChainAnchorStore } from './memory-chain-anchor-store.js';
export { recordChainStart } from './chain-start.js';
export type { RecordChainStartOptions } from './chain-start.js';
export type {
  BrokenLink,
  BrokenLinkReason,
  VerifyReport,
  VerifyStoreOptions,
} from './verify-store.js';
