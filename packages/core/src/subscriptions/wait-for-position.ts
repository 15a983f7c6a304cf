import { WaitTimeoutError } from './subscription-errors.js';
import { assertPosition } from './validation.js';

/** The status a position wait watches: how far a runner got, and whether it stopped. */
export interface PositionStatus {
  position: number;
  state: string;
  error?: Error | undefined;
}

/** A runner (subscription, relay) whose status can be read and followed. */
export interface PositionStatusSource<S extends PositionStatus> {
  readonly name: string;
  /** The status now. */
  current(): S;
  onStatus(listener: (status: S) => void): () => void;
}

/**
 * Resolves once `source` reports a position at or past `position`; rejects with the error it
 * stopped on (or a {@link WaitTimeoutError} saying `stoppedReason`) if it stops first, or with
 * a {@link WaitTimeoutError} once `timeoutMs` passes (default 30,000). Shared by every runner
 * with a `waitForPosition`.
 */
export function waitForStatusPosition<S extends PositionStatus>(
  source: PositionStatusSource<S>,
  position: number,
  options: { timeoutMs?: number },
  stoppedReason: string,
): Promise<void> {
  assertPosition(position);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const wait: { timer?: ReturnType<typeof setTimeout> } = {};
    const check = (status: S): boolean => {
      if (status.position >= position) {
        finish();
        resolve();
        return true;
      }
      if (status.state === 'stopped') {
        finish();
        reject(
          status.error ??
            new WaitTimeoutError(source.name, position, status.position, stoppedReason),
        );
        return true;
      }
      return false;
    };
    const unsubscribe = source.onStatus((status) => void check(status));
    const finish = () => {
      unsubscribe();
      clearTimeout(wait.timer);
    };
    if (check(source.current())) return;
    wait.timer = setTimeout(() => {
      finish();
      reject(
        new WaitTimeoutError(
          source.name,
          position,
          source.current().position,
          `${timeoutMs} ms passed`,
        ),
      );
    }, timeoutMs);
  });
}
