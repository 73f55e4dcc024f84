// Size budgets, measured the way an app ships the package (issue 9 §1): one consumer file per row,
// importing from the BUILT package (dist/), bundled with its dependencies by esbuild
// (--bundle --minify --format=esm --platform=browser), then gzip -9. Also: the per-entry sizes
// with dependencies external (what this package's own code weighs), and a check that no server
// code reaches the client bundle. Exits non-zero over any budget. `npm run build` first.
import { build } from 'esbuild'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

/**
 * What an app imports, the gzip size it must not exceed (`budget`, enforced), and issue 9's
 * target. The targets are not met yet (see docs/performance.md): the budgets are a ratchet at the
 * measured size plus ~1%, to be lowered as the client shrinks, down to the targets, never raised.
 * `--strict` enforces the targets instead.
 */
const strict = process.argv.includes('--strict')
const rows = [
  {
    name: 'runMfa + fetchGrantToken (over an app’s own LoginIDMfa)',
    imports: ['runMfa', 'fetchGrantToken'],
    budget: 7_300,
    target: 4_000,
  },
  {
    name: 'runMfa + createMfaClient + fetchGrantToken',
    imports: ['runMfa', 'createMfaClient', 'fetchGrantToken'],
    budget: 10_950,
    target: 7_000,
  },
  {
    name: 'the same + browserWebAuthn',
    imports: ['runMfa', 'createMfaClient', 'fetchGrantToken', 'browserWebAuthn'],
    budget: 12_500,
    target: 10_000,
  },
]
/** Measured once with this script's settings; websdk3 3.5.0 cannot be installed here (issue 9). */
const reference = { name: 'LoginIDMfa from @loginid/websdk3 3.5.0 (reference)', gzip: 11_385 }

/** Bundle `contents` as an app would, resolving `loginid-mfa-flow` to the built package. */
async function bundle(contents, external = []) {
  const result = await build({
    stdin: { contents, resolveDir: root, sourcefile: 'consumer.js', loader: 'js' },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    alias: { 'loginid-mfa-flow': './dist/index.js' },
    external,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0].text
  return { code, minified: code.length, gzip: gzipSync(code, { level: 9 }).length }
}

let failed = false
const pad = (s, n) => String(s).padEnd(n)
const num = (n) => n.toLocaleString('en-US')
console.log(
  `${pad('what the app imports', 62)} ${pad('min', 8)} ${pad('gzip', 8)} ${pad('budget', 9)} target (issue 9)`,
)
for (const row of rows) {
  // Use every import so that nothing is tree-shaken away.
  const contents = `import { ${row.imports.join(', ')} } from 'loginid-mfa-flow'\nexport default [${row.imports.join(', ')}]\n`
  const { minified, gzip, code } = await bundle(contents)
  const limit = strict ? row.target : row.budget
  const ok = gzip <= limit
  if (!ok) failed = true
  const met = gzip <= row.target ? 'met' : `over by ${num(gzip - row.target)}`
  console.log(
    `${pad(row.name, 62)} ${pad(num(minified), 8)} ${pad(num(gzip), 8)} ${pad(`≤ ${num(row.budget)}`, 9)} ≤ ${num(row.target)} (${met}) ${ok ? 'ok' : 'FAIL'}`,
  )
  if (
    !row.imports.includes('browserWebAuthn') &&
    /WebAuthnAbortService|startRegistration/.test(code)
  ) {
    failed = true
    console.log('FAIL   @simplewebauthn/browser code is in a bundle without browserWebAuthn')
  }
}
console.log(`${pad(reference.name, 62)} ${pad('', 8)} ${pad(num(reference.gzip), 8)} —`)

// The package's own code per entry, dependencies external (as an app's bundler sees the files).
const external = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
  'node:*',
]
const budgets = {
  'dist/index.js': 13.5 * 1024,
  // Own code only (dependencies external): since issue 11 the grant route has its own Node path
  // (no Fetch objects per request), the JWKS cache, the hardened management client (on ofetch,
  // which is external here and loaded lazily on the first request) and runDoctor's entry code.
  'dist/server.js': 9.25 * 1024,
  'dist/testing.js': 20 * 1024,
}
/**
 * What `import` of an entry loads: code behind a relative dynamic `import()` (the server entry's
 * `runDoctor` checks) is a chunk the app loads only when it calls it, so the entry budget leaves
 * it out; what loading it adds (bytes not already in the entry) is measured against `lazyBudget`.
 */
const lazyChunks = new Map()
const lazyBudget = 8 * 1024
function dynamicImportsExternal(entry) {
  return {
    name: 'dynamic-imports-external',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined
        lazyChunks.set(new URL(args.path, `file://${args.resolveDir}/`).pathname, entry)
        return { path: args.path, external: true }
      })
    },
  }
}

/** One entry of dist/ bundled with dependencies external: the package's own code. */
async function entryBundle(options) {
  const result = await build({
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    external,
    logLevel: 'silent',
    ...options,
  })
  const code = result.outputFiles[0].text
  return { code, gz: gzipSync(code, { level: 9 }).length }
}

/** Strings that only server code contains; none may appear in the client bundle. */
const serverOnly = ['/mgmt/', 'Basic ', 'node:', 'apiKey', 'createManagementClient']
for (const [entry, budget] of Object.entries(budgets)) {
  const { code, gz } = await entryBundle({
    entryPoints: [entry],
    plugins: [dynamicImportsExternal(entry)],
  })
  const ok = gz <= budget
  if (!ok) failed = true
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${entry} (dependencies external): ${num(gz)} B gzip (budget ${num(budget)}), ${num(code.length)} B minified`,
  )
  if (entry === 'dist/index.js') {
    const leaks = serverOnly.filter((s) => code.includes(s))
    if (leaks.length > 0) {
      failed = true
      console.log(`FAIL dist/index.js contains server-only code: ${leaks.join(', ')}`)
    } else {
      console.log('ok   dist/index.js contains no server-only code')
    }
  }
}
for (const [chunk, entry] of lazyChunks) {
  const base = await entryBundle({ entryPoints: [entry], plugins: [dynamicImportsExternal(entry)] })
  const both = await entryBundle({
    stdin: {
      contents: `import * as a from './${entry}'; import * as b from '${chunk}'; export { a, b }`,
      resolveDir: process.cwd(),
    },
  })
  const added = both.gz - base.gz
  const ok = added <= lazyBudget
  if (!ok) failed = true
  const name = chunk.slice(chunk.lastIndexOf('/dist/') + 1)
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${name}, loaded lazily by ${entry}: adds ${num(added)} B gzip (budget ${num(lazyBudget)})`,
  )
}
process.exit(failed ? 1 : 0)
