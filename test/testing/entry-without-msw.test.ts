// The packed package in a project without msw: `loginid-mfa-flow/testing` imports, serves over
// HTTP and answers through `sim.handle`; only `sim.handlers` needs msw, and says so.
import { execFileSync, spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
}
let work: string
let project: string

/** The consumer's script: what a test in a project without msw would do. */
const CONSUMER = `
import { createLoginIDSimulator, startLoginIDSimulator } from 'loginid-mfa-flow/testing'
const out = {}
const running = await startLoginIDSimulator({ users: [{ username: 'alice' }] })
try {
  const res = await fetch(running.baseUrl + '/fido2/v2/mfa/begin', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username: 'alice', usernameType: 'other' } }),
  })
  out.http = { status: res.status, body: await res.json() }
} finally {
  await running.close()
}
const sim = createLoginIDSimulator()
const jwks = await sim.handle(new Request(sim.baseUrl + '/fido2/v2/.well-known/jwks.json'))
out.handle = { status: jwks.status, body: await jwks.json() }
try {
  sim.handlers
  out.handlers = 'no error'
} catch (error) {
  out.handlers = { name: error.name, code: error.code, message: error.message }
}
try {
  await import('msw')
  out.msw = 'found'
} catch (error) {
  out.msw = error.code
}
console.log(JSON.stringify(out))
`

beforeAll(async () => {
  // Outside the repo, so nothing resolves from the repo's node_modules by walking up.
  work = mkdtempSync(join(tmpdir(), 'lmf-no-msw-'))
  const staged = join(work, 'package')
  mkdirSync(staged)
  cpSync(join(repo, 'package.json'), join(staged, 'package.json'))
  // The published build, without declaration files (the runtime is what this test checks).
  await build({
    config: false,
    silent: true,
    entry: {
      index: join(repo, 'src/index.ts'),
      server: join(repo, 'src/server.ts'),
      testing: join(repo, 'src/testing.ts'),
      cli: join(repo, 'src/cli/simulator.ts'),
    },
    outDir: join(staged, 'dist'),
    format: ['esm'],
    target: 'es2022',
    platform: 'neutral',
    external: [/^node:/],
    splitting: true,
    treeshake: true,
    removeNodeProtocol: false,
  })
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: staged,
    encoding: 'utf8',
  }).trim()
  project = join(work, 'project')
  const installed = join(project, 'node_modules', 'loginid-mfa-flow')
  mkdirSync(installed, { recursive: true })
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', installed, '--strip-components=1'])
  // The package's own dependencies, from the repo's install (no network); no peer dependency.
  for (const name of Object.keys(pkg.dependencies)) {
    const target = join(project, 'node_modules', name)
    mkdirSync(dirname(target), { recursive: true })
    symlinkSync(join(repo, 'node_modules', name), target, 'dir')
  }
  writeFileSync(join(project, 'package.json'), '{"type":"module","private":true}')
  writeFileSync(join(project, 'consumer.js'), CONSUMER)
}, 120_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('loginid-mfa-flow/testing in a project without msw', { timeout: 60_000 }, () => {
  it('imports, serves over HTTP and answers through sim.handle; sim.handlers names msw', () => {
    const run = spawnSync(process.execPath, ['consumer.js'], { cwd: project, encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const out = JSON.parse(run.stdout) as Record<string, unknown>
    expect(out.msw).toBe('ERR_MODULE_NOT_FOUND')
    expect(out.http).toMatchObject({
      status: 200,
      body: { flow: 'signIn', msgCode: 'additional_auth_required' },
    })
    expect(out.handle).toMatchObject({ status: 200, body: { keys: [{ kty: 'EC', alg: 'ES256' }] } })
    expect(out.handlers).toMatchObject({
      name: 'MfaError',
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('msw') as string,
    })
  })
})
