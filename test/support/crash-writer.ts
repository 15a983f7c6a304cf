// Child process for the crash tests: appends batches in a loop and prints one JSON line per
// acknowledged append, until it is killed. Usage: crash-writer <store-url>
import { newId, openEventStore } from '@causewayjs/core';

const url = process.argv[2];
if (!url) throw new Error('usage: crash-writer <store-url>');
const store = await openEventStore(url);
const revisions = new Map<string, number>();
// A restarted writer continues the streams a killed one left behind.
for (let i = 0; i < 16; i++) {
  const info = await store.streamInfo(`crash-${i}`);
  if (info.revision !== null) revisions.set(`crash-${i}`, info.revision);
}
const run = newId();
let batch = 0;
process.stdout.write('ready\n');
for (;;) {
  // Several appends in flight at once, so group commit is exercised too.
  const calls = Array.from({ length: 4 }, () => {
    batch += 1;
    const key = `${run}/${batch}`;
    const stream = `crash-${batch % 16}`;
    const size = 1 + (batch % 5);
    const ids = Array.from({ length: size }, () => newId());
    const expected = revisions.get(stream);
    revisions.set(stream, (expected ?? -1) + size);
    const events = ids.map((id, i) => ({
      id,
      type: 'crash.tested',
      data: { batch: key, i, of: size, pad: 'x'.repeat(150) },
    }));
    return store
      .append(stream, events, { expectedRevision: expected === undefined ? 'no_stream' : expected })
      .then((r) => process.stdout.write(`${JSON.stringify({ ...r, batch: key, ids })}\n`));
  });
  await Promise.all(calls);
}
