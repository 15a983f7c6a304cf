// Child process for the SQLite commit-watch tests: opens the store file given, appends one
// event for every line read on stdin (the line is the stream name), and prints the position
// each append got. Usage: sqlite-append-child <file>
import { createInterface } from 'node:readline';
import { SqliteEventStore } from '@causewayjs/sqlite';

const file = process.argv[2];
if (!file) throw new Error('usage: sqlite-append-child <file>');
const store = SqliteEventStore.open(file);
process.stdout.write('ready\n');
for await (const stream of createInterface({ input: process.stdin })) {
  const { position } = await store.append(stream, [{ type: 'child.appended', data: { stream } }]);
  process.stdout.write(`${position}\n`);
}
await store.close();
