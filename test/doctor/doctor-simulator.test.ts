// runDoctor and the built `loginid-mfa-flow doctor` CLI against the real-HTTP simulator: all
// checks pass, then one failure per check, produced with the simulator's options and faults.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/server.js'
import type { DoctorCheckId, DoctorOptions, DoctorReport } from '../../src/server.js'
import { startLoginIDSimulator } from '../../src/testing.js'
import type {
  LoginIDSimulator,
  RunningLoginIDSimulator,
  StartLoginIDSimulatorOptions,
} from '../../src/testing.js'
import { API_KEY, KEY_ENV, buildCli, closedPort, expectNoKey, runCli } from './helpers.js'

let cli: { file: string; remove: () => void }
const running: RunningLoginIDSimulator[] = []

beforeAll(async () => {
  cli = await buildCli()
})
afterAll(() => cli.remove())
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()))
})

async function simulator(
  options: StartLoginIDSimulatorOptions = {},
): Promise<RunningLoginIDSimulator> {
  const sim = await startLoginIDSimulator({
    apiKeys: [{ key: API_KEY, scopes: ['external:verify'] }],
    ...options,
  })
  running.push(sim)
  return sim
}

/** CLI arguments for the same run as `options` (the key goes through the environment). */
function argsFor(options: DoctorOptions): string[] {
  return [
    'doctor',
    '--base-url',
    options.baseUrl,
    ...(options.allowInsecureLocal ? ['--allow-insecure-local'] : []),
    ...(options.apiKey !== undefined ? ['--api-key-env', KEY_ENV] : []),
    ...(options.origin !== undefined ? ['--origin', options.origin] : []),
    ...(options.username !== undefined ? ['--username', options.username] : []),
    ...(options.complete ? ['--complete'] : []),
  ]
}

/** The next `mfa/begin` answers an MfaNext with these `next` entries (an injected answer). */
function answerBegin(sim: LoginIDSimulator, next: unknown[]): void {
  sim.faults.add({
    path: '/mfa/begin',
    method: 'POST',
    fault: {
      type: 'status',
      status: 200,
      body: {
        msg: 'Additional authentication is required.',
        msgCode: 'additional_auth_required',
        flow: 'signUp',
        session: 'sim-session-from-a-fault',
        next,
      },
    },
  })
}

const statuses = (report: DoctorReport): Record<string, string> =>
  Object.fromEntries(report.checks.map((check) => [check.id, check.status]))

describe('doctor against the simulator: every check passes', { timeout: 60_000 }, () => {
  it('passes checks 2-7 (check 1 warns about the loopback http URL); exit 0', async () => {
    const sim = await simulator()
    const options: DoctorOptions = {
      baseUrl: sim.baseUrl,
      allowInsecureLocal: true,
      apiKey: API_KEY,
      origin: 'https://app.example',
      username: 'doctor@example.com',
      complete: true,
    }
    const report = await runDoctor(options)
    expect(statuses(report)).toEqual({
      'base-url': 'warn',
      jwks: 'pass',
      'mfa-begin': 'pass',
      cors: 'pass',
      grant: 'pass',
      complete: 'pass',
      'response-schemas': 'pass',
    })
    expect(report).toMatchObject({
      version: 1,
      ok: true,
      baseUrl: sim.baseUrl,
      appId: '127',
      username: 'doctor@example.com',
      summary: { pass: 6, warn: 1, fail: 0, skip: 0 },
    })
    expect(report.checks[0]!.fix).toBe(
      'point the doctor at https://<app-id>.api.loginid.io before going live',
    )
    expect(report.checks[5]!.evidence).toBe(
      'completed (signUp) for "doctor@example.com" through external; verifyLoginIDToken accepted the access token',
    )
    // The simulator saw the whole flow, with the key only in the Authorization header.
    const paths = sim.simulator.requests.map((r) => `${r.method} ${r.path}`)
    expect(paths).toEqual([
      'GET /fido2/v2/.well-known/jwks.json',
      'POST /fido2/v2/mfa/begin',
      'OPTIONS /fido2/v2/mfa/begin',
      'POST /fido2/v2/mgmt/grant/external-auth',
      'POST /fido2/v2/mgmt/grant/external-auth',
      'POST /fido2/v2/mfa/third-party/verify',
      'GET /fido2/v2/.well-known/jwks.json',
    ])
    expect(sim.simulator.users.get('doctor@example.com')).toBeDefined()
    expectNoKey(JSON.stringify(report))

    const text = await runCli(cli.file, argsFor(options), { [KEY_ENV]: API_KEY })
    expect(text.code).toBe(0)
    expect(text.stderr).toBe('')
    const lines = text.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(10) // header, 7 checks, 1 fix line (the warning), summary
    expect(lines[1]).toMatch(/^WARN {2}1\. base URL {9}http on loopback 127\.0\.0\.1:\d+/)
    expect(lines.slice(3, 9).every((line) => line.startsWith('PASS  '))).toBe(true)
    expect(lines[9]).toBe('0 failed, 1 warning(s), 6 passed, 0 skipped')
    expect(text.stdout).not.toContain('\u001b[') // no colour when stdout is not a TTY
    expectNoKey(text.stdout, text.stderr)

    const json = await runCli(cli.file, [...argsFor(options), '--json'], { [KEY_ENV]: API_KEY })
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.stdout) as DoctorReport
    expect(statuses(parsed)).toEqual(statuses(report))
    expect(Object.keys(parsed)).toEqual([
      'version',
      'ok',
      'baseUrl',
      'appId',
      'username',
      'checks',
      'summary',
    ])
    expectNoKey(json.stdout, json.stderr)
  })

  it('colours the status words when FORCE_COLOR asks (as on a TTY)', async () => {
    const sim = await simulator()
    const run = await runCli(
      cli.file,
      ['doctor', '--base-url', sim.baseUrl, '--allow-insecure-local'],
      {
        FORCE_COLOR: '1',
      },
    )
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('\u001b[32mPASS\u001b[0m  2. JWKS')
    expect(run.stdout).toContain('\u001b[33mWARN\u001b[0m  1. base URL')
  })

  it('skips what was not asked for: origin, API key, --complete', async () => {
    const sim = await simulator()
    const report = await runDoctor({ baseUrl: sim.baseUrl, allowInsecureLocal: true })
    expect(statuses(report)).toMatchObject({ cors: 'skip', grant: 'skip', complete: 'skip' })
    expect(report.checks.find((c) => c.id === 'complete')!.evidence).toBe(
      'off by default: --complete signs a user in (or up) on the application',
    )
    expect(report.username).toMatch(/^loginid-mfa-flow-doctor-[0-9a-f]{12}$/)
    expect(report.ok).toBe(true)
  })
})

interface FailureCase {
  name: string
  check: DoctorCheckId
  fix: string | ((sim: RunningLoginIDSimulator) => string)
  evidence: RegExp
  simulatorOptions?: StartLoginIDSimulatorOptions
  /** Faults (one run's worth): applied before the function run and again before the CLI run. */
  faults?: (sim: LoginIDSimulator) => void
  options?: Partial<DoctorOptions>
  /** Checks other than `check` that are skipped rather than passed/warned. */
  skipped?: DoctorCheckId[]
  unreachable?: boolean
}

const failures: FailureCase[] = [
  {
    name: 'LoginID unreachable',
    check: 'base-url',
    unreachable: true,
    evidence: /^could not reach 127\.0\.0\.1:\d+: ECONNREFUSED$/,
    fix: "check the host name and your network (DNS, proxy, firewall): LoginID's base URL is https://<app-id>.api.loginid.io",
    skipped: ['jwks', 'mfa-begin', 'cors', 'grant', 'complete', 'response-schemas'],
  },
  {
    name: 'a JWKS fault',
    check: 'jwks',
    faults: (sim) =>
      sim.faults.add({
        path: '/.well-known/jwks.json',
        method: 'GET',
        fault: { type: 'status', status: 503 },
      }),
    evidence:
      /^GET \/fido2\/v2\/\.well-known\/jwks\.json answered HTTP 503 internal_error \(injected fault\)$/,
    fix: 'LoginID is failing: retry later; if it persists, contact LoginID support with the evidence',
  },
  {
    name: 'a custom policy that breaks mfa/begin',
    check: 'mfa-begin',
    simulatorOptions: {
      policy: () => {
        throw new Error('policy bug')
      },
    },
    evidence:
      /^POST \/fido2\/v2\/mfa\/begin answered HTTP 500 internal_error \(the simulator policy threw\)$/,
    fix: 'LoginID is failing: retry later; if it persists, contact LoginID support with the evidence',
    skipped: ['complete'],
  },
  {
    name: 'an origin the app does not allow',
    check: 'cors',
    simulatorOptions: { allowedOrigins: ['https://elsewhere.example'] },
    evidence:
      /^preflight from https:\/\/app\.example answered HTTP 403 with no Access-Control-Allow-Origin$/,
    fix: "add https://app.example to the app's allowed origins in the LoginID dashboard",
  },
  {
    name: 'a key without the external:verify scope',
    check: 'grant',
    simulatorOptions: { apiKeys: [{ key: API_KEY, scopes: ['passkey:read'] }] },
    evidence:
      /^POST \/fido2\/v2\/mgmt\/grant\/external-auth: 403 forbidden: the API key lacks the external:verify scope \(LoginID: the API key lacks the external:verify scope\)$/,
    fix: 'give the API key the external:verify scope in the LoginID dashboard (or create a key that has it)',
    skipped: ['complete'],
  },
  {
    name: 'a token with the wrong audience',
    check: 'complete',
    simulatorOptions: { appId: 'another-app' },
    evidence:
      /^verifyLoginIDToken: the token's "aud" claim is not valid: aud is "another-app", expected "127"$/,
    fix: `if "another-app" is this app's id, pass it as appId to verifyLoginIDToken (--app-id here); otherwise the base URL names another app`,
  },
  {
    name: 'an answer of another shape',
    check: 'response-schemas',
    faults: (sim) => answerBegin(sim, [{ action: { name: 'external' } }]),
    evidence:
      /^LoginID answered differently from what loginid-mfa-flow assumes: POST \/fido2\/v2\/mfa\/begin 200 \/next\/0\/action\/label: is missing \(required\)$/,
    fix: 'report it to loginid-mfa-flow with the details (--json lists every difference) so the library can follow LoginID',
    options: { complete: false },
    skipped: ['complete'],
  },
]

describe('doctor against the simulator: one failure per check', { timeout: 60_000 }, () => {
  it.each(failures)('$name fails check "$check" only (function and CLI)', async (c) => {
    const sim = await simulator(c.simulatorOptions)
    const baseUrl = c.unreachable ? `http://127.0.0.1:${await closedPort()}` : sim.baseUrl
    const options: DoctorOptions = {
      baseUrl,
      allowInsecureLocal: true,
      apiKey: API_KEY,
      origin: 'https://app.example',
      complete: true,
      ...c.options,
    }
    const fix = typeof c.fix === 'string' ? c.fix : c.fix(sim)

    c.faults?.(sim.simulator)
    const report = await runDoctor(options)
    const failed = report.checks.filter((check) => check.status === 'fail')
    expect(failed.map((check) => check.id)).toEqual([c.check])
    expect(failed[0]!.evidence).toMatch(c.evidence)
    expect(failed[0]!.fix).toBe(fix)
    const skipped = report.checks.filter((check) => check.status === 'skip').map((x) => x.id)
    expect(skipped).toEqual(c.skipped ?? [])
    expect(report.ok).toBe(false)
    expectNoKey(JSON.stringify(report))

    const env = { [KEY_ENV]: API_KEY }
    c.faults?.(sim.simulator)
    const text = await runCli(cli.file, argsFor(options), env)
    expect(text.code).toBe(1)
    const number = failed[0]!.number
    const lines = text.stdout.split('\n')
    const at = lines.findIndex((line) => line.startsWith(`FAIL  ${number}. `))
    expect(at).toBeGreaterThan(0)
    expect(lines.filter((line) => line.startsWith('FAIL'))).toHaveLength(1)
    expect(lines[at + 1]).toBe(`         fix: ${fix}`)
    expectNoKey(text.stdout, text.stderr)

    c.faults?.(sim.simulator)
    const json = await runCli(cli.file, [...argsFor(options), '--json'], env)
    expect(json.code).toBe(1)
    const parsed = JSON.parse(json.stdout) as DoctorReport
    const failedJson = parsed.checks.filter((check) => check.status === 'fail')
    expect(failedJson.map((check) => [check.id, check.fix])).toEqual([[c.check, fix]])
    expectNoKey(json.stdout, json.stderr)
  })

  it('reports an unknown action from LoginID as a warning that names it (exit 0)', async () => {
    const sim = await simulator()
    // The simulator's policies only offer factor names it knows, so the unknown action comes
    // from an injected answer.
    const unknownAction = (): void =>
      answerBegin(sim.simulator, [
        { action: { name: 'external', label: 'External' } },
        { action: { name: 'passkey:magic', label: 'Magic' } },
      ])
    const options: DoctorOptions = { baseUrl: sim.baseUrl, allowInsecureLocal: true }
    unknownAction()
    const report = await runDoctor(options)
    const begin = report.checks.find((check) => check.id === 'mfa-begin')!
    expect(begin.status).toBe('warn')
    expect(begin.evidence).toContain('unknown action "passkey:magic"')
    expect(begin.fix).toBe(
      'loginid-mfa-flow skips actions it does not know: upgrade it, or report the action to its maintainers',
    )
    expect(report.ok).toBe(true)
    unknownAction()
    const run = await runCli(cli.file, argsFor(options))
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^WARN {2}3\. mfa\/begin .*unknown action "passkey:magic"$/m)
  })

  it('fails check 3 when mfa/begin offers only actions the library does not know', async () => {
    const sim = await simulator()
    sim.simulator.faults.add({
      path: '/mfa/begin',
      fault: {
        type: 'status',
        status: 200,
        body: {
          msg: 'm',
          msgCode: 'c',
          session: 's',
          next: [{ action: { name: 'x:y', label: 'X' } }],
        },
      },
    })
    const report = await runDoctor({ baseUrl: sim.baseUrl, allowInsecureLocal: true })
    expect(report.checks[2]).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('no action loginid-mfa-flow can run'),
    })
  })
})
