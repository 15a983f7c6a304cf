// Builds every workspace package: `tsc -b` compiles each to ESM with declarations
// (dist/esm), in dependency order; then each package gets its CommonJS face (dist/cjs): for
// every entry point a one-line module that `require`s the ESM build (Node >= 20.19 loads ESM
// from require, so there is one copy of the code and no dual-package hazard), and the
// declarations again under a `"type": "commonjs"` folder, so TypeScript's node10 and node16
// resolution see CommonJS types for `require`. The server gets its admin UI files, the CLI an
// executable bin, every package the LICENSE.
import { chmod, copyFile, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { workspaces } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const clean = process.argv.includes('--clean');

if (clean)
  for (const ws of workspaces) await rm(join(root, ws, 'dist'), { recursive: true, force: true });

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(
  process.execPath,
  [tsc, '-b', ...workspaces.map((ws) => join(ws, 'tsconfig.build.json'))],
  {
    cwd: root,
    stdio: 'inherit',
  },
);

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

for (const ws of workspaces) {
  const dir = join(root, ws);
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  const esm = join(dir, 'dist', 'esm');
  const cjs = join(dir, 'dist', 'cjs');
  await rm(cjs, { recursive: true, force: true });
  await mkdir(cjs, { recursive: true });
  await writeFile(join(cjs, 'package.json'), '{ "type": "commonjs" }\n');
  for (const file of await filesUnder(esm)) {
    if (!file.endsWith('.d.ts') || file.endsWith('.test.d.ts')) continue;
    await mkdir(dirname(join(cjs, file)), { recursive: true });
    const text = await readFile(join(esm, file), 'utf8');
    // The declaration maps sit beside the ESM declarations only.
    await writeFile(join(cjs, file), text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'));
  }
  for (const target of Object.values(pkg.exports ?? {})) {
    const required = typeof target === 'object' ? target.require?.default : undefined;
    if (required === undefined) continue;
    const imported = target.import.default;
    const from = join(dir, required);
    const to = relative(dirname(from), join(dir, imported)).split('\\').join('/');
    await writeFile(from, `'use strict';\nmodule.exports = require('./${to}');\n`);
  }
  if (pkg.name === '@causewayjs/server')
    await cp(join(dir, 'src', 'ui', 'public'), join(esm, 'ui', 'public'), { recursive: true });
  for (const bin of Object.values(pkg.bin ?? {})) await chmod(join(dir, bin), 0o755);
  await copyFile(join(root, 'LICENSE'), join(dir, 'LICENSE'));
}
process.stdout.write(`built ${workspaces.length} packages\n`);
