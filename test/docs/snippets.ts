import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** A fenced TypeScript block of a Markdown file. */
export interface Snippet {
  /** The Markdown file, relative to the repository root (`docs/sagas.md`). */
  doc: string;
  /** 1-based line of the block's first code line in `doc`. */
  line: number;
  code: string;
  /** Marked ```ts no-check: shown, never compiled. */
  noCheck: boolean;
}

/** A compile error of a snippet, placed in its Markdown file. */
export interface SnippetDiagnostic {
  /** `docs/sagas.md:42`. */
  where: string;
  message: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/;

/**
 * The ```ts (or ```typescript) blocks of `markdown`, in order. A block whose info string
 * carries `no-check` after the language is marked as such.
 */
export function extractSnippets(doc: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  let open: { fence: string; lang: string; meta: string; start: number; body: string[] } | null =
    null;
  for (const [i, text] of lines.entries()) {
    const m = FENCE.exec(text);
    if (open === null) {
      if (m)
        open = { fence: m[2] ?? '```', lang: m[3] ?? '', meta: m[4] ?? '', start: i + 2, body: [] };
      continue;
    }
    if (m && (m[2] ?? '').startsWith(open.fence) && (m[3] ?? '') === '' && (m[4] ?? '') === '') {
      if (open.lang === 'ts' || open.lang === 'typescript')
        snippets.push({
          doc,
          line: open.start,
          code: open.body.join('\n'),
          noCheck: open.meta.split(/\s+/).includes('no-check'),
        });
      open = null;
      continue;
    }
    open.body.push(text);
  }
  return snippets;
}

/** The Markdown files whose snippets are compiled: README.md and docs/*.md. */
export function markdownFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/**
 * Type-checks every snippet (not marked no-check) as its own module, all in one program with
 * the compiler options of the repository's tsconfig.json (so '@causewayjs/*' resolve to the
 * package sources). Each snippet lives in memory at the repository root, so a relative import
 * such as './examples/shop/index.js' means what it says from there. The reader's own objects
 * that snippets take as given (a `store`, a `backend`, a `bus`...) are declared, typed, in
 * snippet-context.ts. Returns the diagnostics by Markdown file.
 */
export function checkSnippets(
  root: string,
  snippets: readonly Snippet[],
): Map<string, SnippetDiagnostic[]> {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.json could not be read');
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, incremental: false };
  const files = new Map<string, Snippet>();
  const sources = new Map<string, string>();
  for (const snippet of snippets) {
    if (snippet.noCheck) continue;
    const name = join(
      root,
      `__snippet__${snippet.doc.replace(/[^a-z0-9]+/gi, '_')}_${snippet.line}.ts`,
    );
    files.set(name, snippet);
    // `export {}` after the last line makes every block a module (top-level await, no clash
    // between the names of two blocks) without moving the lines.
    sources.set(name, `${snippet.code}\nexport {};\n`);
  }
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, language, onError, shouldCreate) => {
    const text = sources.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, language, true);
    return getSourceFile(fileName, language, onError, shouldCreate);
  };
  host.fileExists = (fileName) => sources.has(fileName) || fileExists(fileName);
  host.readFile = (fileName) => sources.get(fileName) ?? readFile(fileName);
  // The members of SnippetContext become globals of this program only.
  const contextModule = join(root, 'test/docs/snippet-context.ts');
  const context = join(root, '__snippet_context__.d.ts');
  sources.set(context, globalsOf(contextModule));
  const program = ts.createProgram({ rootNames: [context, ...files.keys()], options, host });

  const byDoc = new Map<string, SnippetDiagnostic[]>();
  const add = (doc: string, d: SnippetDiagnostic): void => {
    const list = byDoc.get(doc) ?? [];
    list.push(d);
    byDoc.set(doc, list);
  };
  const contextFile = program.getSourceFile(context);
  const programWide = [
    ...program.getGlobalDiagnostics(),
    ...(contextFile ? program.getSemanticDiagnostics(contextFile) : []),
    ...program.getSemanticDiagnostics(program.getSourceFile(contextModule)),
  ];
  for (const d of programWide)
    add('(program)', {
      where: d.file ? relative(root, d.file.fileName) : '(program)',
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    });
  for (const [name, snippet] of files) {
    const source = program.getSourceFile(name);
    if (!source) throw new Error(`${snippet.doc}:${snippet.line}: not in the program`);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    for (const d of diagnostics) {
      const at =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const line = snippet.line + (at?.line ?? 0);
      add(snippet.doc, {
        where: `${snippet.doc}:${line}${at ? `:${at.character + 1}` : ''}`,
        message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n  ')}`,
      });
    }
  }
  return byDoc;
}

/** Reads the snippets of every Markdown file checked. */
export function allSnippets(root: string): Snippet[] {
  return markdownFiles(root).flatMap((doc) =>
    extractSnippets(relative(root, join(root, doc)), readFileSync(join(root, doc), 'utf8')),
  );
}

/** A declaration file making each member of the `SnippetContext` interface a global const. */
function globalsOf(contextModule: string): string {
  const source = ts.createSourceFile(
    contextModule,
    readFileSync(contextModule, 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const names: string[] = [];
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement) && statement.name.text === 'SnippetContext')
      for (const member of statement.members)
        if (member.name && ts.isIdentifier(member.name)) names.push(member.name.text);
  }
  if (names.length === 0) throw new Error(`${contextModule}: no SnippetContext members`);
  return [
    "import type { SnippetContext } from './test/docs/snippet-context.js';",
    'declare global {',
    ...names.map((name) => `  const ${name}: SnippetContext['${name}'];`),
    '}',
  ].join('\n');
}
