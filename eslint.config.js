// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The arrows of the layout (docs: DESIGN.md §2), enforced on every import of src/: static
// imports and re-exports (`import type` included) through no-restricted-imports, dynamic
// `import()` and `import('...').T` types through no-restricted-syntax. Each restriction is a
// regular expression on the import's specifier. test/house-rules.test.ts proves each one
// refuses a violating import and accepts a legal one.

/** Anything of ours seen from src/core (which is flat: `../` leaves it). */
const outsideCore = {
  regex: String.raw`^(\.\./|causeway(/|$))`,
  message:
    'core imports nothing of ours: only node: builtins and npm packages (DESIGN.md §2). Move the shared piece into core, or invert the dependency.',
};

/** An adapter, by relative path or by its package entry point. */
const adapter = {
  regex: String.raw`^(\.{1,2}/(\.\./)*adapters(/|$)|causeway/(sqlite|postgres|nats|mqtt)$)`,
  message:
    'Modules depend on ports, never on adapters (DESIGN.md §2): only the composition roots (src/open-event-store.ts, src/open-backend.ts, src/store-stack.ts, src/cli/) choose an adapter.',
};

/** The modules observability reports on, which it must not depend on. */
const observedModule = {
  regex: String.raw`^\.\./(\.\./)*(sagas|projections|bus)(/|$)`,
  message:
    'observability reads sagas, projections and the bus through small interfaces of its own, met structurally, never through their types (DESIGN.md §2).',
};

/** The database and broker drivers, by the adapter that owns each. */
const drivers = {
  sqlite: ['better-sqlite3'],
  postgres: ['pg', 'pg-cursor'],
  nats: ['@nats-io/[^/]+'],
  mqtt: ['mqtt'],
};

/** What adapter `name` may not import: other adapters and their drivers, the server, the CLI. */
const foreignToAdapter = (name) => {
  const others = Object.keys(drivers).filter((other) => other !== name);
  return {
    regex: String.raw`^(\.\./(${others.join('|')})(/|$)|\.\./\.\./(server|cli)(/|$)|(${others.flatMap((other) => drivers[other]).join('|')})(/|$))`,
    message:
      'An adapter implements ports and imports only core modules and its own driver (DESIGN.md §2): not another adapter or its driver, the server or the CLI.',
  };
};

/** The composition roots, which import adapters: an adapter importing one would loop back. */
const compositionRoot = {
  regex: String.raw`^\.\./\.\./(open-event-store|open-backend|store-stack)\.js$`,
  message:
    'An adapter does not import a composition root, which imports adapters (DESIGN.md §2); only its tests may, to check what the root opens.',
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
// overlap: each file gets every restriction of its zone from exactly one block.
const compositionRoots = [
  'src/open-event-store.ts',
  'src/open-event-store.test.ts',
  'src/open-backend.ts',
  'src/open-backend.test.ts',
  'src/store-stack.ts',
  'src/store-stack.test.ts',
  'src/cli/**',
];
const houseRules = [
  restrictImports(['src/core/**'], [], [outsideCore]),
  restrictImports(['src/observability/**'], [], [adapter, observedModule]),
  restrictImports(
    ['src/**'],
    ['src/core/**', 'src/observability/**', 'src/adapters/**', ...compositionRoots],
    [adapter],
  ),
  ...Object.keys(drivers).flatMap((name) => [
    restrictImports(
      [`src/adapters/${name}/**`],
      ['**/*.test.ts'],
      [foreignToAdapter(name), compositionRoot],
    ),
    restrictImports([`src/adapters/${name}/**/*.test.ts`], [], [foreignToAdapter(name)]),
  ]),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'coverage/**'] },
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
    files: ['test/**', 'bench/**', 'examples/**', '**/*.test.ts', 'src/cli/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  ...houseRules,
);
