import { parseCount } from './cli-arguments.js';
import { CliUsageError } from './cli-errors.js';
import type { RunShopOptions } from './demo-command.js';

/** Parses a share between 0 and 1 (`--payment-failure-rate`). */
function parseRate(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new CliUsageError(`${what} must be a number from 0 to 1, got "${text}"`);
  return n;
}

/** Parses a positive number (`--rate`). */
function parsePositive(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new CliUsageError(`${what} must be a number >= 0, got "${text}"`);
  return n;
}

/** The flags of `demo` and `serve`. */
export interface ShopFlags {
  store?: string;
  json?: boolean;
  port: string;
  host: string;
  rate?: string;
  orders?: string;
  duration?: string;
  paymentFailureRate: string;
  paymentTimeout: string;
  seed?: string;
  memberId?: string;
  bus?: string;
  logLevel: string;
  statusEvery: string;
}

/** `demo` and `serve --shop`: the shop's options from the command-line flags. */
export function shopOptions(o: ShopFlags, defaultRate: number): RunShopOptions {
  return {
    port: parseCount(o.port, '--port'),
    host: o.host,
    rate: o.rate === undefined ? defaultRate : parsePositive(o.rate, '--rate'),
    ...(o.orders === undefined ? {} : { orders: parseCount(o.orders, '--orders', 1) }),
    ...(o.duration === undefined
      ? {}
      : { durationMs: parsePositive(o.duration, '--duration') * 1000 }),
    paymentFailureRate: parseRate(o.paymentFailureRate, '--payment-failure-rate'),
    paymentTimeoutMs: parsePositive(o.paymentTimeout, '--payment-timeout') * 1000,
    ...(o.seed === undefined ? {} : { seed: parseCount(o.seed, '--seed') }),
    ...(o.memberId === undefined ? {} : { memberId: o.memberId }),
    ...(o.bus === undefined ? {} : { bus: o.bus }),
    logLevel: o.logLevel,
    statusEveryMs: parsePositive(o.statusEvery, '--status-every') * 1000,
    json: o.json === true,
  };
}

/**
 * `serve --shop` runs the shop's own server, which takes none of the security, TLS and HSTS
 * flags: refuse them rather than serve without the protection they ask for. Returns the
 * shop's default traffic rate for `serve` (0).
 */
export function refuseServerFlagsWithShop(o: {
  security?: string;
  tlsCert?: string;
  tlsKey?: string;
  hstsMaxAge?: string;
}): number {
  const given = [
    ['--security', o.security],
    ['--tls-cert', o.tlsCert],
    ['--tls-key', o.tlsKey],
    ['--hsts-max-age', o.hstsMaxAge],
  ].filter(([, value]) => value !== undefined);
  if (given.length > 0)
    throw new CliUsageError(
      `${given.map(([flag]) => flag).join(', ')} cannot be used with --shop (its server would ignore them)`,
    );
  return 0;
}
