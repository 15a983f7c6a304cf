// Versions the @causewayjs family from the pending changesets: `changeset version`, then the
// family's peer ranges follow the new version.
//
// All @causewayjs packages share one version (`fixed` in .changeset/config.json). The adapters
// peer-depend on the core, and the core optionally on the SQLite and PostgreSQL adapters. A
// caret range on a 0.x version (`^0.1.0`) excludes the next minor, and changesets bumps a
// peer dependent MAJOR when a release leaves its peer range: every 0.x minor would then become
// 1.0.0 for the whole family. So the family's peer ranges are `>=<version> <1.0.0` before 1.0
// (`^<version>` from 1.0 on), the config only bumps peer dependents whose range is left, and
// this script raises every range's lower bound to the released version: npm still refuses an
// adapter next to an older core.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'node_modules', '@changesets', 'cli', 'bin.js');
execFileSync(process.execPath, [bin, 'version'], { cwd: root, stdio: 'inherit' });

const { workspaces } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const manifests = await Promise.all(
  workspaces.map(async (ws) => {
    const file = join(root, ws, 'package.json');
    return { file, text: await readFile(file, 'utf8') };
  }),
);
const versions = new Map(
  manifests.map(({ text }) => JSON.parse(text)).map((pkg) => [pkg.name, pkg.version]),
);
const family = new Set([...versions.values()]);
if (family.size !== 1)
  throw new Error(`the family has several versions: ${[...family].join(', ')}`);
const [version] = family;
const range = version.startsWith('0.') ? `>=${version} <1.0.0` : `^${version}`;

for (const { file, text } of manifests) {
  const pkg = JSON.parse(text);
  let changed = false;
  for (const name of Object.keys(pkg.peerDependencies ?? {}))
    if (versions.has(name) && pkg.peerDependencies[name] !== range) {
      pkg.peerDependencies[name] = range;
      changed = true;
    }
  if (changed) await writeFile(file, `${JSON.stringify(pkg, null, 2)}\n`);
}
// The version the packages report at run time (OpenTelemetry scope, the server's API) is a
// constant in their sources; test/exports.test.ts checks each equals its package's version.
for (const [file, constant] of [
  ['packages/core/src/observability/version.ts', 'CAUSEWAY_VERSION'],
  ['packages/server/src/mount-causeway.ts', 'SERVER_VERSION'],
]) {
  const path = join(root, file);
  const source = await readFile(path, 'utf8');
  const updated = source.replace(
    new RegExp(`(export const ${constant} = ')[^']*(';)`),
    `$1${version}$2`,
  );
  if (updated === source && !source.includes(`${constant} = '${version}'`))
    throw new Error(`${file}: ${constant} not found`);
  await writeFile(path, updated);
}
process.stdout.write(`@causewayjs ${version}: family peer ranges ${range}\n`);
