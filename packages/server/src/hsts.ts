import { InvalidArgumentError } from '@causewayjs/core';

/** HTTP Strict Transport Security, sent on every response of a server that speaks HTTPS. */
export interface HstsOptions {
  /**
   * How long browsers keep to HTTPS for this host, in whole seconds. Default one year
   * ({@link DEFAULT_HSTS_MAX_AGE_SECONDS}); `0` tells them to forget it.
   */
  maxAgeSeconds?: number;
  /** Pin every subdomain of the host to HTTPS too. Default false: only this host. */
  includeSubDomains?: boolean;
}

/** Default HSTS max-age: one year, in seconds. */
export const DEFAULT_HSTS_MAX_AGE_SECONDS = 31_536_000;

/**
 * The `Strict-Transport-Security` value for `options`, or `undefined` when it is turned off
 * (`false`). Sent only over TLS: over plain HTTP browsers ignore it, and it must not pin a host
 * whose TLS is served by something else.
 *
 * @throws {InvalidArgumentError} when `maxAgeSeconds` is not a non-negative whole number.
 * @example
 * ```ts
 * hstsHeader({ maxAgeSeconds: 600, includeSubDomains: true }); // 'max-age=600; includeSubDomains'
 * ```
 */
export function hstsHeader(options: HstsOptions | false = {}): string | undefined {
  if (options === false) return undefined;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_HSTS_MAX_AGE_SECONDS;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0)
    throw new InvalidArgumentError('hsts.maxAgeSeconds', 'must be a whole number of seconds >= 0');
  return `max-age=${maxAge}${options.includeSubDomains === true ? '; includeSubDomains' : ''}`;
}
