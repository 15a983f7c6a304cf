// Copies the admin UI's static files (plain ES modules, CSS, HTML: no build step) next to the
// compiled server, so `dist/server/ui/admin-ui.js` finds them in `./public/` as the sources do.
// Run after `tsc` by `npm run build`.
import { cp, rm, stat } from 'node:fs/promises';
import { URL, fileURLToPath } from 'node:url';
import process from 'node:process';

const from = fileURLToPath(new URL('../src/server/ui/public/', import.meta.url));
const to = fileURLToPath(new URL('../dist/server/ui/public/', import.meta.url));

try {
  await stat(from);
} catch {
  process.stderr.write(`copy-ui-assets: nothing to copy, ${from} is missing\n`);
  process.exit(1);
}
// Start clean so files removed from the sources do not linger in the build.
await rm(to, { recursive: true, force: true });
await cp(from, to, { recursive: true });
process.stdout.write('copy-ui-assets: admin UI copied to dist/server/ui/public\n');
