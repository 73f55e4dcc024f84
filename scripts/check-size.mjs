// Size budgets per entry, and a check that no server code reaches the client bundle.
// Each entry of dist/ is bundled with esbuild (runtime dependencies and node: builtins stay
// external, as they do for an app's bundler), minified and gzipped; the result must fit its budget.
import { build } from 'esbuild'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const external = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
  'node:*',
]

/**
 * Budgets in bytes, gzip. The client entry started at 4 KB for the skeleton; it now holds the
 * whole driver (passkeys with fallback, OTP, external, redirect/resume, abort, deadlines, events),
 * the LoginID client and the browser WebAuthn adapter, measured at 10.3 KB (0.1.0). The budget
 * leaves a little headroom so that growth is a decision, not an accident.
 */
const budgets = {
  'dist/index.js': 11 * 1024,
  'dist/server.js': 6.5 * 1024,
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

/** Bundle as an app's bundler would: minified code and its gzip -9 size. */
async function bundle(options) {
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

let failed = false
for (const [entry, budget] of Object.entries(budgets)) {
  const { code, gz } = await bundle({
    entryPoints: [entry],
    plugins: [dynamicImportsExternal(entry)],
  })
  const ok = gz <= budget
  if (!ok) failed = true
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${entry}: ${(gz / 1024).toFixed(2)} KB gzip (budget ${(budget / 1024).toFixed(2)} KB), ${(code.length / 1024).toFixed(1)} KB minified`,
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
  const base = await bundle({ entryPoints: [entry], plugins: [dynamicImportsExternal(entry)] })
  const both = await bundle({
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
    `${ok ? 'ok  ' : 'FAIL'} ${name}, loaded lazily by ${entry}: adds ${(added / 1024).toFixed(2)} KB gzip (budget ${(lazyBudget / 1024).toFixed(2)} KB)`,
  )
}
process.exit(failed ? 1 : 0)
