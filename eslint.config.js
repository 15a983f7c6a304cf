// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The arrows of the layout (docs: DESIGN.md §2), enforced on every import of packages/*/src:
// static imports and re-exports (`import type` included) through no-restricted-imports, dynamic
// `import()` and `import('...').T` types through no-restricted-syntax. Each restriction is a
// regular expression on the import's specifier. test/house-rules.test.ts proves each one
// refuses a violating import and accepts a legal one.
//
// Packages import each other by name ('@causewayjs/core', '@causewayjs/sqlite', ...), so the
// arrows between packages are rules on those names and on the drivers each adapter owns. The
// composition roots (open-event-store.ts, open-backend.ts, store-stack.ts) need no rule of their
// own any more: they live in the core package, an adapter can reach them only through
// '@causewayjs/core', and they load an adapter package by a name held in a variable at run time,
// so no static import leads from a root to an adapter and back.

/** The database and broker drivers, by the adapter package that owns each. */
const drivers = {
  sqlite: ['better-sqlite3'],
  postgres: ['pg', 'pg-cursor'],
  nats: ['@nats-io/[^/]+'],
  rabbitmq: ['amqplib'],
  mqtt: ['mqtt'],
};
const adapters = Object.keys(drivers);
const adapterDrivers = Object.values(drivers).flat();

/** One of `names`, as a whole package name or followed by a subpath. */
const oneOf = (names) => `(${names.join('|')})(/|$)`;
/** One of our packages among `names`, by its name or a subpath export. */
const ourPackage = (names) => `@causewayjs/${oneOf(names)}`;

/** Anything of ours seen from packages/core/src/core (which is flat: `../` leaves it). */
const outsideCore = {
  regex: String.raw`^(\.\./|@causewayjs/)`,
  message:
    'core imports nothing of ours: only node: builtins and npm packages (DESIGN.md §2). Move the shared piece into core, or invert the dependency.',
};

/** The packages built on the core, of which `names` are refused by name. */
const aboveCore = (names) => ({
  regex: `^${ourPackage(names)}`,
  message:
    'Modules of the core depend on ports, never on an adapter, the server, the CLI or testing (DESIGN.md §2): those packages import the core, not the other way round.',
});

/** The drivers of every adapter and the server's HTTP framework. */
const driverInCore = {
  regex: `^${oneOf([...adapterDrivers, 'fastify'])}`,
  message:
    'The core is driver-free (DESIGN.md §2): a database or broker driver belongs to its adapter package, fastify to the server.',
};

/** The modules observability reports on, which it must not depend on. */
const observedModule = {
  regex: String.raw`^\.\./(\.\./)*(sagas|projections|bus)(/|$)`,
  message:
    'observability reads sagas, projections and the bus through small interfaces of its own, met structurally, never through their types (DESIGN.md §2).',
};

/** What adapter `name` may not import: other adapters and their drivers, the server, the CLI. */
const foreignToAdapter = (name) => {
  const others = adapters.filter((other) => other !== name);
  return {
    regex: `^(${ourPackage([...others, 'server', 'cli'])}|${oneOf(others.flatMap((other) => drivers[other]))})`,
    message:
      'An adapter implements ports and imports only the core and its own driver (DESIGN.md §2): not another adapter or its driver, the server or the CLI.',
  };
};

/** What the server and the testing package may not import: adapters, their drivers, the CLI. */
const foreignToCoreUser = {
  regex: `^(${ourPackage([...adapters, 'cli'])}|${oneOf(adapterDrivers)})`,
  message:
    'The server and the testing package build on the core and its ports only (DESIGN.md §2): not an adapter or its driver, nor the CLI.',
};

/** Refuses imports matching any of `restrictions` in `files` (but `ignores`). */
const restrictImports = (files, ignores, restrictions) => ({
  files,
  ignores,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: restrictions.map(({ regex, message }) => ({ regex, message })) },
    ],
    'no-restricted-syntax': [
      'error',
      ...restrictions.flatMap(({ regex, message }) => {
        // esquery ends a regular expression at the first '/', so slashes are spelt \x2F.
        const re = `/${regex.replaceAll('/', String.raw`\x2F`)}/`;
        return [
          { selector: `ImportExpression[source.value=${re}]`, message },
          { selector: `TSImportType[source.value=${re}]`, message },
        ];
      }),
    ],
  },
});

// Flat config replaces a rule's options rather than merging them, so the zones below do not
// overlap: each file gets every restriction of its zone from exactly one block. The CLI is the
// composition root of the family and may import every package, so it has no zone.
const core = 'packages/core/src';
// The tests of the core's composition roots open a real adapter to check what the root opens.
const compositionRootTests = ['open-event-store', 'open-backend', 'store-stack'].map(
  (root) => `${core}/${root}.test.ts`,
);
const builtOnCore = [...adapters, 'server', 'cli', 'testing'];
const houseRules = [
  restrictImports([`${core}/core/**`], [], [outsideCore, driverInCore]),
  restrictImports(
    [`${core}/observability/**`],
    [],
    [aboveCore(builtOnCore), driverInCore, observedModule],
  ),
  restrictImports(
    compositionRootTests,
    [],
    [aboveCore(['server', 'cli', 'testing']), driverInCore],
  ),
  restrictImports(
    [`${core}/**`],
    [`${core}/core/**`, `${core}/observability/**`, ...compositionRootTests],
    [aboveCore(builtOnCore), driverInCore],
  ),
  ...adapters.map((name) =>
    restrictImports([`packages/${name}/src/**`], [], [foreignToAdapter(name)]),
  ),
  restrictImports(['packages/server/src/**', 'packages/testing/src/**'], [], [foreignToCoreUser]),
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'bench/node_modules/**',
      'bench/results/**',
      'coverage/**',
      // The glue of the opt-in peers, type-checked only when they are installed
      // (npm run bench:peers), so outside tsconfig.json.
      'bench/peers/emmett-*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tests, benchmarks, examples and scripts talk to the terminal on purpose.
    files: ['test/**', 'bench/**', 'examples/**', '**/*.test.ts', 'packages/cli/src/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  ...houseRules,
);
