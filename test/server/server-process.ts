// A Causeway server in a process of its own, on a SQLite file: the end-to-end tests start it,
// talk to it over HTTP and kill it. Prints its URL on one line once it listens.
import { SqliteEventStore } from '@causewayjs/sqlite';
import { createServer } from '@causewayjs/server';

const file = process.argv[2];
if (!file) throw new Error('usage: server-process.ts <sqlite file>');
const store = SqliteEventStore.open(file);
const server = await createServer({ store, adminUi: false });
const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
console.log(url);
process.on('SIGTERM', () => {
  void server.close().then(() => store.close());
});
