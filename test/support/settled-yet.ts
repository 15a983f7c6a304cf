/**
 * Whether `promise` settles once every callback already queued has run (a macrotask turn runs
 * them all): a promise that settles later waits for something the test has not done yet.
 */
export async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}
