// Every answer the simulator gives in complete flows, checked against LoginID's OpenAPI files.
// A deviation is either fixed or allowed below by name (with its reason in
// docs/loginid/PROTOCOL.md §f); any other drift fails, and so does an allowance nothing needs.
import { describe, expect, it } from 'vitest'
import { isRecord } from '../../src/internal/guards.js'
import { createMfaClient } from '../../src/index.js'
import {
  createLoginIDSimulator,
  createSoftwareAuthenticator,
  defaultSimulatorPolicy,
} from '../../src/testing.js'
import type { LoginIDSimulator } from '../../src/testing.js'
import { basic } from '../testing/helpers.js'
import { createSpecChecker } from './openapi.js'
import type { SpecFinding } from './openapi.js'

interface Answer {
  method: string
  path: string
  status: number
  body: unknown
}

/** A `fetch` that sends every request to `sim.handle` and records each answer. */
function recordingFetch(sim: LoginIDSimulator, answers: Answer[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const response = await sim.handle(request)
    const text = await response.clone().text()
    answers.push({
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
    })
    return response
  }
}

/** Drive every flow the simulator offers through the client, plus the backend calls. */
async function runFlows(): Promise<Answer[]> {
  const answers: Answer[] = []
  const sim = createLoginIDSimulator({
    requirePasskeyRegistration: true,
    users: [{ username: 'otto', email: 'otto@example.com', phone: '+15550100' }],
  })
  const fetch = recordingFetch(sim, answers)
  const call = (method: string, path: string, body?: unknown, authorization?: string) =>
    fetch(`${sim.baseUrl}/fido2/v2${path}`, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(authorization !== undefined && { authorization }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
  const phone = createSoftwareAuthenticator()
  const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: phone, fetch })
  const apiKey = basic('sim_demo_api_key')

  // Sign-up through external (a grant from the management API), then passkey registration.
  await client.beginFlow('ada')
  const grant = (await (
    await call('POST', '/mgmt/grant/external-auth', { username: 'ada' }, apiKey)
  ).json()) as { token: string }
  await client.performAction('external', { payload: grant.token })
  const signedUp = await client.performAction('passkey:reg')
  expect(signedUp.isComplete).toBe(true)

  // Passkey sign-in on the known device; then a transaction confirmed with passkey:tx.
  await client.beginFlow('ada', { deviceId: signedUp.deviceId! })
  const signedIn = await client.performAction('passkey:auth')
  expect(signedIn.isComplete).toBe(true)
  await client.beginFlow('ada', { deviceId: signedUp.deviceId!, txPayload: 'pay 10 EUR' })
  const confirmed = await client.performAction('passkey:tx')
  expect(confirmed.payloadSignature).toMatch(/^ey/)

  // A replaced payload (POST /mfa/payload) and a client event.
  const begun = (await (
    await call('POST', '/mfa/begin', {
      user: { username: 'ada', usernameType: 'other' },
      deviceInfo: { deviceId: signedUp.deviceId },
      payload: 'pay 1 EUR',
    })
  ).json()) as { session: string }
  const replaced = (await (
    await call('POST', '/mfa/payload', { payload: 'pay 2 EUR' }, begun.session)
  ).json()) as { session: string }
  await call(
    'POST',
    '/client-events/submit',
    { event: 'ERROR_PASSKEY_ABORTED', isError: true },
    replaced.session,
  )

  // A passkey made on another origin fails verification: 401 MfaNext offering external.
  const elsewhere = createMfaClient({
    baseUrl: sim.baseUrl,
    webauthn: createSoftwareAuthenticator({ origin: 'http://localhost:6666' }),
    fetch,
  })
  await elsewhere.beginFlow('eve')
  await elsewhere.performAction('external', { payload: sim.grantExternalAuth('eve') })
  expect((await elsewhere.performAction('passkey:reg')).nextAction).toBe('external')

  // OTP by email: a wrong code (401), then the right one.
  sim.setPolicy((ctx) =>
    ctx.event === 'begin' ? { next: ['otp:email', 'otp:sms'] } : defaultSimulatorPolicy(ctx),
  )
  await client.beginFlow('otto')
  await client.performAction('otp:email')
  await expect(client.performAction('otp:verify', { payload: '000000x' })).rejects.toThrow()
  const code = sim.inbox('otto').at(-1)!.code
  const otpDone = await client.performAction('otp:verify', { payload: code })
  expect(otpDone.nextAction).toBe('passkey:reg')
  expect((await client.performAction('passkey:reg')).isComplete).toBe(true)
  // OTP by SMS for the same user, now with a passkey: the code completes the flow (200 Mfa).
  await client.beginFlow('otto')
  await client.performAction('otp:sms')
  const sms = sim.inbox('otto').at(-1)!
  expect(sms.channel).toBe('sms')
  expect((await client.performAction('otp:verify', { payload: sms.code })).isComplete).toBe(true)

  // Bad grant tokens at third-party/verify.
  sim.setPolicy(undefined)
  const otto = (await (
    await call('POST', '/mfa/begin', { user: { username: 'otto', usernameType: 'other' } })
  ).json()) as { session: string }
  await call('POST', '/mfa/third-party/verify', { token: 'sim_g_unknown' }, otto.session)
  const used = sim.grantExternalAuth('otto')
  await call('POST', '/mfa/third-party/verify', { token: used }, otto.session)
  const again = (await (
    await call('POST', '/mfa/begin', { user: { username: 'otto', usernameType: 'other' } })
  ).json()) as { session: string }
  await call('POST', '/mfa/third-party/verify', { token: used }, again.session)
  await call('POST', '/mfa/otp/verify', { otp: '123456' }, 'sim_s_not_a_session')

  // Token-authenticated and public routes.
  await call('GET', '/passkeys', undefined, signedIn.accessToken)
  await call('GET', '/passkeys', undefined, 'not-a-token')
  await call('GET', '/.well-known/jwks.json')

  // Management.
  await call('POST', '/mgmt/grant', { grants: ['passkey:read'], username: 'ada' }, apiKey)
  await call('POST', '/mgmt/grant', { grants: ['passkey:read'] }, basic('wrong'))
  await call('POST', '/mgmt/token/verify', { jwtAccess: signedIn.accessToken }, apiKey)
  await call('POST', '/mgmt/token/verify', { jwtAccess: 'not-a-token' }, apiKey)
  return answers
}

/** A deviation from the spec the simulator keeps on purpose (docs/loginid/PROTOCOL.md §f). */
interface Allowance {
  name: string
  allows(answer: Answer, finding: SpecFinding | undefined): boolean
}

const onlyAbout = (finding: SpecFinding | undefined, fields: string[]): boolean =>
  finding !== undefined &&
  finding.errors.length > 0 &&
  finding.errors.every((error) => fields.some((field) => error.includes(field)))

const body = (answer: Answer): Record<string, unknown> => (isRecord(answer.body) ? answer.body : {})

/** The `msgCode`s of refused factor answers the client and server map to distinct errors. */
const FACTOR_MSG_CODES = new Set([
  'invalid_otp',
  'invalid_token',
  'token_used',
  'token_expired',
  'session_expired',
])

const ALLOWANCES: Allowance[] = [
  {
    // PROTOCOL.md §f 2: no LoginID OpenAPI has ever described this endpoint.
    name: 'mgmt-grant-external-auth-undocumented',
    allows: (answer, finding) =>
      finding === undefined && answer.path === '/fido2/v2/mgmt/grant/external-auth',
  },
  {
    // PROTOCOL.md §a.10, §f 5: the spec's own 401 example is this MfaNext body, declared AppError.
    name: 'mfa-next-401-declared-as-app-error',
    allows: (answer, finding) =>
      answer.status === 401 &&
      body(answer).msgCode === 'additional_auth_required' &&
      typeof body(answer).session === 'string' &&
      Array.isArray(body(answer).next) &&
      onlyAbout(finding, ['/msgCode ']),
  },
  {
    // PROTOCOL.md §f 11: payload and payloadSignature only when passkey:tx confirmed a payload.
    name: 'mfa-200-payload-only-after-passkey-tx',
    allows: (answer, finding) =>
      answer.status === 200 &&
      typeof body(answer).accessToken === 'string' &&
      body(answer).payloadSignature === undefined &&
      onlyAbout(finding, ["'payload'", "'payloadSignature'"]),
  },
  {
    // PROTOCOL.md §f 19: refused factors name their reason; the closed enum has no such codes.
    name: 'factor-401-msgcodes-outside-app-error-enum',
    allows: (answer, finding) =>
      answer.status === 401 &&
      FACTOR_MSG_CODES.has(body(answer).msgCode as string) &&
      body(answer).session === undefined &&
      onlyAbout(finding, ['/msgCode ']),
  },
]

// Many flows with real WebAuthn verification: seconds on a loaded machine.
describe('the simulator against LoginID OpenAPI', { timeout: 60_000 }, () => {
  it('answers every request of complete flows as the spec says, but for named deviations', async () => {
    const answers = await runFlows()
    const checker = createSpecChecker()
    const used = new Set<string>()
    const drift: string[] = []
    for (const answer of answers) {
      const { findings, undocumented } = checker.check(
        answer.method,
        answer.path,
        answer.status,
        answer.body,
      )
      const failing: (SpecFinding | undefined)[] = undocumented
        ? [undefined]
        : findings.filter((f) => f.errors.length > 0)
      for (const finding of failing) {
        const allowance = ALLOWANCES.find((a) => a.allows(answer, finding))
        if (allowance) {
          used.add(allowance.name)
          continue
        }
        drift.push(
          `${answer.method} ${answer.path} ${answer.status} ${finding ? `${finding.file} ${finding.operationId}: ${finding.errors.join('; ')}` : 'undocumented'} ${JSON.stringify(answer.body)?.slice(0, 300)}`,
        )
      }
    }
    expect(drift).toEqual([])
    expect([...used].sort()).toEqual(ALLOWANCES.map((a) => a.name).sort())
    // The flows really ran: every operation below answered at least once.
    const seen = new Set(answers.map((a) => `${a.method} ${a.path} ${a.status}`))
    expect([...seen].sort()).toEqual([
      'GET /fido2/v2/.well-known/jwks.json 200',
      'GET /fido2/v2/passkeys 200',
      'GET /fido2/v2/passkeys 401',
      'POST /fido2/v2/client-events/submit 200',
      'POST /fido2/v2/mfa/begin 200',
      'POST /fido2/v2/mfa/otp/request 200',
      'POST /fido2/v2/mfa/otp/verify 200',
      'POST /fido2/v2/mfa/otp/verify 401',
      'POST /fido2/v2/mfa/passkey/auth 200',
      'POST /fido2/v2/mfa/passkey/reg 200',
      'POST /fido2/v2/mfa/passkey/reg 401',
      'POST /fido2/v2/mfa/passkey/tx 200',
      'POST /fido2/v2/mfa/payload 200',
      'POST /fido2/v2/mfa/third-party/verify 200',
      'POST /fido2/v2/mfa/third-party/verify 401',
      'POST /fido2/v2/mgmt/grant 200',
      'POST /fido2/v2/mgmt/grant 401',
      'POST /fido2/v2/mgmt/grant/external-auth 200',
      'POST /fido2/v2/mgmt/token/verify 204',
      'POST /fido2/v2/mgmt/token/verify 401',
    ])
  })
})

describe('the spec checker', () => {
  const checker = createSpecChecker()
  const errorsOf = (method: string, path: string, status: number, value: unknown) =>
    checker
      .check(method, path, status, value)
      .findings.flatMap((f) => f.errors.map((e) => `${f.file}: ${e}`))

  it('checks a body against every file that documents the operation', () => {
    const item = { id: 'p1', name: 'Passkey 1', aaguid: 'a', createdAt: '2026-01-01T00:00:00.000Z' }
    expect(errorsOf('GET', '/fido2/v2/passkeys', 200, [{ ...item, device: 'Chrome' }])).toEqual([])
    expect(errorsOf('GET', '/fido2/v2/passkeys', 200, [item])).toEqual([
      expect.stringMatching(
        /^fido2-v2-2025-01-with-mgmt: \/0 must have required property 'device'/,
      ),
    ])
    expect(
      errorsOf('GET', '/fido2/v2/passkeys', 200, [
        { ...item, device: 'x', createdAt: 'yesterday' },
      ]),
    ).toEqual([
      expect.stringContaining('must match format "date-time"'),
      expect.stringContaining('must match format "date-time"'),
    ])
  })

  it('reports undocumented statuses, bodies and operations', () => {
    expect(errorsOf('GET', '/fido2/v2/.well-known/jwks.json', 418, {})).toEqual([
      'fido2-v2-2025-01-with-mgmt: status 418 is not documented',
    ])
    expect(errorsOf('POST', '/fido2/v2/mgmt/token/verify', 204, { ok: true })).toEqual([
      'fido2-v2-2025-01-with-mgmt: status 204 documents no body',
    ])
    expect(checker.check('POST', '/fido2/v2/nowhere', 200, {}).undocumented).toBe(true)
    expect(
      errorsOf('GET', '/fido2/v2/.well-known/jwks.json', 200, { keys: [{ kty: 'EC' }] }),
    ).toEqual(
      expect.arrayContaining([expect.stringContaining("must have required property 'kid'")]),
    )
  })
})
