import { readFileSync } from 'node:fs';
import { SecurityConfigError, stackBackend } from '@causewayjs/core';
import { CliUsageError } from './cli-errors.js';
import type { StoreContext } from './store-context.js';

/** Options of {@link scavengeTarget}. */
export interface ScavengeTargetOptions {
  /** Path of the Ed25519 private key (PEM) the store's hash chains are signed with. */
  signingKey?: string;
  /** Key id recorded with the signatures (`kid`). */
  keyId?: string;
  /**
   * The error to throw when the anchors are signed and no `signingKey` is given (default: a
   * {@link CliUsageError} asking for `--signing-key`).
   */
  signedWithoutKey?: () => Error;
}

/**
 * The backend to scavenge through: the context itself for a store without chain anchors
 * (the signing key is then not read); for an anchored one, the context stacked with the
 * integrity layer, so each stream's chain start moves (signed with `signingKey` when given)
 * before its first events go and `verify` still passes afterwards. A store whose anchors are
 * signed (looked for in the first page of anchors, 1,000 streams) needs the signing key:
 * without it the new starts would be unsigned, and verifying with the public key would fail.
 *
 * @throws {CliUsageError} for a signed store without `signingKey` (unless
 *   `signedWithoutKey` says otherwise), or a key file that cannot be read or is not an
 *   Ed25519 private key.
 */
export async function scavengeTarget(
  context: StoreContext,
  options: ScavengeTargetOptions = {},
): Promise<StoreContext> {
  const anchors = await context.chainAnchorStore();
  const page = await anchors.list();
  if (page.length === 0) return context;
  let signingKey: string | undefined;
  if (options.signingKey !== undefined) {
    try {
      signingKey = readFileSync(options.signingKey, 'utf8');
    } catch {
      throw new CliUsageError(`cannot read the signing key file "${options.signingKey}"`);
    }
  } else if (page.some((a) => a.head?.sig !== undefined || a.start?.sig !== undefined)) {
    throw (
      options.signedWithoutKey?.() ??
      new CliUsageError(
        "the store's hash chains are signed: give --signing-key so the chain starts a scavenge records are signed too",
      )
    );
  }
  try {
    return await stackBackend(context, {
      integrity: {
        ...(signingKey !== undefined ? { signingKey } : {}),
        ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
      },
    });
  } catch (error) {
    if (error instanceof SecurityConfigError)
      throw new CliUsageError(`"${options.signingKey}" is not an Ed25519 private key (PEM)`);
    throw error;
  }
}
