// `npm run check:docs`: every ```ts / ```tsx block in README.md, CONTRIBUTING.md and docs/*.md, every ```ts block
// of an `@example` in the TSDoc under src/, and the example apps and testing-guide tests under
// examples/ are type-checked against the BUILT package, imported by name through the package's
// own exports map (dist/*.d.ts), exactly as an app that installed it would. Run after `npm run build`.
//
// Rules (also in CONTRIBUTING.md):
// - A block is a complete module: it imports what it uses and compiles on its own (strict,
//   exactOptionalPropertyTypes, DOM + Node types).
// - A block that deliberately leaves something out has a line `// Partial: <what and why>` and
//   declares what it leaves out (`declare function showPasswordDialog(...): ...`). A block with
//   top-level `declare`s but no marker fails, and so does a marker without a reason.
// - A Markdown block preceded by `<!-- check-docs: file path/to/file.ts -->` must equal that file
//   (it is compiled, and run by the tests, as the file); `--write` copies the files into the docs.
// - A block preceded by `<!-- check-docs: skip <reason> -->` is not compiled (the reason is required).
//
// Failures are printed as `path:line:column - error TSxxxx: message`, where path:line is the line
// of the README/doc/source file the snippet came from.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const root = path.resolve(import.meta.dirname, '..')
const write = process.argv.includes('--write')
// Inside the package, so `import ... from 'loginid-mfa-flow'` resolves to the package itself
// (self-reference through "exports"), i.e. to dist.
const outDir = path.join(root, '.check-docs')
const rel = (file) => path.relative(root, file).split(path.sep).join('/')

const problems = []
const problem = (where, message) => problems.push(`${where} - ${message}`)

for (const entry of ['dist/index.d.ts', 'dist/server.d.ts', 'dist/testing.d.ts']) {
  if (!existsSync(path.join(root, entry))) {
    console.error(`check:docs: ${entry} is missing; run \`npm run build\` first.`)
    process.exit(2)
  }
}

/**
 * A snippet: its code lines and, for each, the source file line (1-based) it came from.
 * @typedef {{ source: string, lines: string[], lineNumbers: number[], tsx: boolean, label: string }} Snippet
 */

/** @type {Snippet[]} */
const snippets = []
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/
const CODE_LANGS = new Set(['ts', 'typescript', 'tsx'])
const DIRECTIVE = /^<!--\s*check-docs:\s*(file|skip)\b\s*(.*?)\s*-->\s*$/

// ---- Markdown: README.md and docs/*.md -----------------------------------------------------------
const markdownFiles = [
  path.join(root, 'README.md'),
  path.join(root, 'CONTRIBUTING.md'),
  ...readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => path.join(root, 'docs', name)),
]
const fileBlocks = [] // { doc, fenceLine, target, startLine, endLine }
let markdownCount = 0
for (const file of markdownFiles) {
  const text = readFileSync(file, 'utf8')
  const lines = text.split('\n')
  let directive
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const d = DIRECTIVE.exec(line.trim())
    if (d) {
      directive = { kind: d[1], arg: d[2], line: i + 1 }
      continue
    }
    const open = FENCE.exec(line)
    if (!open) {
      if (line.trim() !== '') directive = undefined
      continue
    }
    const [, , fence, lang] = open
    let end = i + 1
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++
    const body = lines.slice(i + 1, end)
    const here = `${rel(file)}:${i + 1}`
    if (CODE_LANGS.has(lang)) {
      if (directive?.kind === 'skip') {
        if (!directive.arg) problem(here, 'a `check-docs: skip` directive needs a reason')
      } else if (directive?.kind === 'file') {
        fileBlocks.push({ doc: file, fenceLine: i + 1, target: directive.arg, start: i + 1, end })
      } else {
        markdownCount++
        snippets.push({
          source: rel(file),
          lines: body,
          lineNumbers: body.map((_, k) => i + 2 + k),
          tsx: lang === 'tsx',
          label: here,
        })
      }
    } else if (directive) {
      problem(`${rel(file)}:${directive.line}`, `check-docs directive before a \`${lang}\` block`)
    }
    directive = undefined
    i = end
  }
}

// `<!-- check-docs: file x -->` blocks must equal the file (or are rewritten with --write).
const rewrites = new Map()
for (const block of fileBlocks) {
  const target = path.join(root, block.target)
  const here = `${rel(block.doc)}:${block.fenceLine}`
  if (!block.target || !existsSync(target)) {
    problem(here, `check-docs: file '${block.target}' does not exist`)
    continue
  }
  const want = readFileSync(target, 'utf8').replace(/\n+$/, '').split('\n')
  const docLines = (rewrites.get(block.doc) ?? readFileSync(block.doc, 'utf8')).split('\n')
  const have = docLines.slice(block.start, block.end)
  const first = want.findIndex((line, k) => line !== have[k])
  const differs = first !== -1 || have.length !== want.length
  if (differs && write) {
    // Replace the block body; later blocks of the same doc shift, so recompute from scratch.
    rewrites.set(block.doc, null)
    continue
  }
  if (differs) {
    const at = first === -1 ? Math.min(have.length, want.length) : first
    problem(
      `${rel(block.doc)}:${block.start + at + 1}`,
      `block differs from ${block.target} line ${at + 1}: the doc has ${JSON.stringify(have[at] ?? '<end of block>')}, the file has ${JSON.stringify(want[at] ?? '<end of file>')} (npm run check:docs -- --write copies the file into the doc)`,
    )
  }
}
if (write) {
  for (const doc of rewrites.keys()) {
    const lines = readFileSync(doc, 'utf8').split('\n')
    const out = []
    for (let i = 0; i < lines.length; i++) {
      out.push(lines[i])
      const d = DIRECTIVE.exec(lines[i].trim())
      if (!d || d[1] !== 'file') continue
      let fenceAt = i + 1
      while (fenceAt < lines.length && lines[fenceAt].trim() === '') out.push(lines[fenceAt++])
      const fenceLine = lines[fenceAt] ?? ''
      const open = FENCE.exec(fenceLine)
      if (!open) {
        i = fenceAt - 1
        continue
      }
      let end = fenceAt + 1
      while (end < lines.length && !lines[end].trimStart().startsWith(open[2])) end++
      const body = readFileSync(path.join(root, d[2]), 'utf8').replace(/\n+$/, '')
      out.push(fenceLine, ...body.split('\n'), lines[end] ?? open[2])
      i = end
    }
    writeFileSync(doc, out.join('\n'))
    console.log(`wrote ${rel(doc)}`)
  }
}

// ---- TSDoc @example blocks under src/ -------------------------------------------------------------
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return /\.ts$/.test(entry.name) && !/\.test(-d)?\.ts$/.test(entry.name) ? [full] : []
  })
}
let exampleCount = 0
for (const file of sourceFiles(path.join(root, 'src')).sort()) {
  const lines = readFileSync(file, 'utf8').split('\n')
  let inComment = false
  let inExample = false
  let fence
  let current
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    if (!inComment) {
      if (/^\s*\/\*\*/.test(raw) && !/\*\/\s*$/.test(raw)) inComment = true
      continue
    }
    const end = /\*\/\s*$/.test(raw)
    const text = raw.replace(/^\s*\*\/?\s?/, '').replace(/\s*\*\/\s*$/, '')
    if (fence) {
      if (text.trimStart().startsWith(fence)) {
        fence = undefined
        if (current) snippets.push(current)
        current = undefined
      } else if (current) {
        current.lines.push(text)
        current.lineNumbers.push(i + 1)
      }
    } else if (/^@\w+/.test(text.trimStart())) {
      inExample = /^@example\b/.test(text.trimStart())
    } else if (inExample) {
      const open = FENCE.exec(text)
      if (open) {
        fence = open[2]
        if (CODE_LANGS.has(open[3])) {
          exampleCount++
          current = {
            source: rel(file),
            lines: [],
            lineNumbers: [],
            tsx: open[3] === 'tsx',
            label: `${rel(file)}:${i + 1} (@example)`,
          }
        }
      }
    }
    if (end) {
      inComment = false
      inExample = false
      fence = undefined
      current = undefined
    }
  }
}

// ---- Every value export of the three entries has an @example ---------------------------------------
// (functions, classes, constants; the option and result types are shown through them).
{
  const entries = {
    'loginid-mfa-flow': 'src/index.ts',
    'loginid-mfa-flow/server': 'src/server.ts',
    'loginid-mfa-flow/testing': 'src/testing.ts',
  }
  const files = Object.values(entries).map((file) => path.join(root, file))
  const srcProgram = ts.createProgram(files, {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    types: [],
    skipLibCheck: true,
    noEmit: true,
  })
  const checker = srcProgram.getTypeChecker()
  for (const [specifier, file] of Object.entries(entries)) {
    const moduleSymbol = checker.getSymbolAtLocation(
      srcProgram.getSourceFile(path.join(root, file)),
    )
    for (const exported of moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []) {
      const target =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const value = ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable
      if (!(target.flags & value)) continue
      if (target.getJsDocTags(checker).some((tag) => tag.name === 'example')) continue
      const declaration = target.declarations?.[0]
      const where = declaration
        ? `${rel(declaration.getSourceFile().fileName)}:${declaration.getSourceFile().getLineAndCharacterOfPosition(declaration.getStart()).line + 1}`
        : file
      problem(where, `\`${exported.name}\` (exported from ${specifier}) has no @example`)
    }
  }
}

// ---- The partial-block marker ----------------------------------------------------------------------
const MARKER = /^\s*\/\/\s*Partial:(.*)$/i
for (const snippet of snippets) {
  const markerIndex = snippet.lines.findIndex((line) => MARKER.test(line))
  const marker = markerIndex === -1 ? undefined : MARKER.exec(snippet.lines[markerIndex])[1].trim()
  if (markerIndex !== -1 && !marker) {
    problem(
      `${snippet.source}:${snippet.lineNumbers[markerIndex]}`,
      '`// Partial:` needs to say what the block leaves out',
    )
  }
  const declared = snippet.lines.findIndex((line) => /^declare\s/.test(line))
  if (declared !== -1 && markerIndex === -1) {
    problem(
      `${snippet.source}:${snippet.lineNumbers[declared]}`,
      'a block that declares what it leaves out needs a `// Partial: <what>` line',
    )
  }
}

// ---- Compile everything in one program against dist ------------------------------------------------
rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
/** @type {Map<string, Snippet>} */
const byFile = new Map()
snippets.forEach((snippet, index) => {
  const name = `${String(index).padStart(3, '0')}-${snippet.source.replace(/[^\w.-]+/g, '_')}-L${snippet.lineNumbers[0] ?? 0}.${snippet.tsx ? 'tsx' : 'ts'}`
  const file = path.join(outDir, name)
  // `export {}` makes every block a module (top-level await, no global leaks between blocks).
  writeFileSync(file, `${snippet.lines.join('\n')}\nexport {}\n`)
  byFile.set(file, snippet)
})

// The example apps and the testing guide's tests: compiled against dist too (the repository's own
// typecheck maps the package name to src instead, so both builds of the types are covered).
function exampleFiles(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : exampleFiles(full)
    return /\.tsx?$/.test(entry.name) ? [full] : []
  })
}
const appFiles = ['examples/express', 'examples/hono', 'examples/testing'].flatMap((dir) =>
  exampleFiles(path.join(root, dir)),
)

const options = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: ['node'],
  typeRoots: [path.join(root, 'node_modules/@types')],
  jsx: ts.JsxEmit.ReactJSX,
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  skipLibCheck: true,
  noEmit: true,
  resolveJsonModule: true,
}
const program = ts.createProgram([...byFile.keys(), ...appFiles], options)

// The package must resolve to dist, not to src (that would check nothing a user sees).
for (const file of [...byFile.keys(), ...appFiles]) {
  const sourceFile = program.getSourceFile(file)
  for (const statement of sourceFile?.statements ?? []) {
    if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue
    const spec = statement.moduleSpecifier
    if (!spec || !ts.isStringLiteral(spec) || !/^loginid-mfa-flow(\/|$)/.test(spec.text)) continue
    const resolved = ts.resolveModuleName(spec.text, file, options, ts.sys).resolvedModule
    if (!resolved || !rel(resolved.resolvedFileName).startsWith('dist/')) {
      const snippet = byFile.get(file)
      const where = snippet ? `${snippet.label}` : rel(file)
      problem(
        where,
        `'${spec.text}' did not resolve to dist (got ${resolved ? rel(resolved.resolvedFileName) : 'nothing'})`,
      )
    }
  }
}

const diagnostics = ts.getPreEmitDiagnostics(program)
for (const diagnostic of diagnostics) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')
  if (!diagnostic.file) {
    problem('check:docs', `error TS${diagnostic.code}: ${message}`)
    continue
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
  const snippet = byFile.get(path.resolve(diagnostic.file.fileName))
  if (snippet) {
    const sourceLine = snippet.lineNumbers[line] ?? snippet.lineNumbers.at(-1) ?? 0
    const code = snippet.lines[line] ?? ''
    problems.push(
      `${snippet.source}:${sourceLine}:${character + 1} - error TS${diagnostic.code}: ${message}\n    | ${code.trim()}\n    (snippet at ${snippet.label})`,
    )
  } else {
    problems.push(
      `${rel(diagnostic.file.fileName)}:${line + 1}:${character + 1} - error TS${diagnostic.code}: ${message}`,
    )
  }
}

const summary = `${markdownCount} Markdown blocks, ${exampleCount} @example blocks, ${fileBlocks.length} blocks tied to files, ${appFiles.length} example files`
// The generated files are scratch: failures already name the doc or source line.
rmSync(outDir, { recursive: true, force: true })
if (problems.length > 0) {
  for (const p of problems) console.error(p)
  console.error(`\ncheck:docs: ${problems.length} problem(s) in ${summary}.`)
  process.exit(1)
}
console.log(`check:docs: ok (${summary}, against dist).`)
