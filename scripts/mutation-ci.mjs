// The CI mutation check (`npm run test:mutation:ci`, started on Node 22 by with-node22.mjs).
//
// Runs Stryker with stryker.ci.config.mjs in incremental mode against the committed results in
// test/mutation/ci-baseline.json: a mutant is tested again when its code or the tests that cover
// it changed; every other result is reused. Stryker diffs only the mutated files and the test
// files. Anything else a result depends on (the code the tests import but Stryker does not
// mutate, test helpers, the simulator, configs, the lockfile) is fingerprinted here into
// test/mutation/ci-inputs.json; when one of those files changed, every mutant is tested again
// (`--force`). After a passing run the fingerprint is written, so a local run refreshes both files
// and they are committed together.
//
// Arguments go to Stryker (`npm run test:mutation:ci -- --force` tests every mutant).
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runStrykerWithGroups } from './mutation-groups.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const CONFIG = 'stryker.ci.config.mjs'
const INPUTS = 'test/mutation/ci-inputs.json'
// Files outside src/ and test/ that change what the tests do or how Stryker runs them.
const CONFIG_FILES = [
  'package-lock.json',
  'tsconfig.json',
  'vitest.config.ts',
  'vitest.stryker.config.ts',
  'stryker.config.mjs',
  CONFIG,
]

// Importing the config also sets its default STRYKER_TESTS (the test files of the check).
const { default: config } = await import(path.join(root, CONFIG))
const baseline = config.incrementalFile
const testGlobs = process.env.STRYKER_TESTS.split(',').filter(Boolean)

const matches = (file, globs) => {
  const positive = globs.filter((glob) => !glob.startsWith('!'))
  const negative = globs.filter((glob) => glob.startsWith('!')).map((glob) => glob.slice(1))
  return (
    positive.some((glob) => path.matchesGlob(file, glob)) &&
    !negative.some((glob) => path.matchesGlob(file, glob))
  )
}

/** Every file under `dir`, as a path relative to the project with forward slashes. */
const walk = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) =>
      path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'),
    )

// The files the check's tests load: its test files, then every file they reach through relative
// imports (static, re-exports, `import('...')` with a literal path). `.js` specifiers name the
// `.ts` sources.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm
const testFiles = [...walk('src'), ...walk('test')].filter(
  (file) => /\.test\.ts$/.test(file) && matches(file, testGlobs),
)
const reached = new Set(testFiles)
for (const file of reached) {
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
    const target = path.posix.join(path.posix.dirname(file), specifier)
    const source = target.replace(/\.js$/, '.ts')
    reached.add(existsSync(source) ? source : target)
  }
}

// Stryker diffs the mutated files and the test files itself; the rest is fingerprinted here.
const inputs = [...[...reached].filter((file) => !testFiles.includes(file)), ...CONFIG_FILES]
  .filter((file) => !matches(file, config.mutate))
  .sort()
const hashes = Object.fromEntries(
  inputs.map((file) => [file, createHash('sha256').update(readFileSync(file)).digest('hex')]),
)

const recorded = existsSync(INPUTS) ? JSON.parse(readFileSync(INPUTS, 'utf8')).files : undefined
const args = process.argv.slice(2)
if (!existsSync(baseline) || recorded === undefined) {
  console.log(`mutation-ci: no baseline (${baseline}, ${INPUTS}): testing every mutant`)
  args.push('--force')
} else {
  const changed = inputs.filter((file) => recorded[file] !== hashes[file])
  if (changed.length > 0) {
    const shown = changed.slice(0, 10).join(', ') + (changed.length > 10 ? ', ...' : '')
    console.log(
      `mutation-ci: ${changed.length} file(s) Stryker does not diff changed since the baseline ` +
        `(${shown}): testing every mutant`,
    )
    args.push('--force')
  } else if (!args.includes('--force')) {
    console.log(
      `mutation-ci: reusing ${baseline} for mutants whose code and covering tests are unchanged`,
    )
  }
}

const status = runStrykerWithGroups(CONFIG, args, config.jsonReporter.fileName)
if (status === 0) {
  writeFileSync(INPUTS, `${JSON.stringify({ files: hashes }, null, 2)}\n`)
}
process.exit(status)
