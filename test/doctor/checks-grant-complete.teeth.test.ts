// The doctor's checks 5 to 7 in process (the simulator through MSW, one route replaced or proxied
// per test): each way minting a grant, completing the flow and verifying the access token can go
// wrong, the evidence and the fix shown for it, and every secret LoginID answers kept out of it.
import { http, HttpResponse } from 'msw'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { runDoctor } from '../../src/server.js'
import type { DoctorCheck, DoctorOptions, DoctorReport } from '../../src/server.js'
import { isMfaError } from '../../src/shared/errors.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import type { SimulatorPolicy } from '../../src/testing.js'
import { serveSimulator } from '../support/serve-simulator.js'
import { API_KEY } from './helpers.js'

const APP = 'https://gcapp.api.loginid.io'
const GRANT = `${APP}/fido2/v2/mgmt/grant/external-auth`
const VERIFY = `${APP}/fido2/v2/mfa/third-party/verify`
const USER = 'grace@example.com'
const NO_SCOPE_KEY = 'doctor_key_without_scope_51c0'
const sim = createLoginIDSimulator({
  baseUrl: APP,
  apiKeys: [
    { key: API_KEY, scopes: ['external:verify'] },
    { key: NO_SCOPE_KEY, scopes: [] },
  ],
})
const server = serveSimulator(sim)
afterEach(() => {
  vi.useRealTimers()
})

/** External, then done: a flow the doctor can complete. */
const externalOnly: SimulatorPolicy = (ctx) =>
  ctx.done.includes('external') ? { complete: true } : { next: ['external'] }

const run = (options: Partial<DoctorOptions> = {}): Promise<DoctorReport> =>
  runDoctor({ baseUrl: APP, apiKey: API_KEY, username: USER, complete: true, ...options })
const checkOf = (report: DoctorReport, id: string): DoctorCheck =>
  report.checks.find((c) => c.id === id)!

describe('check 5: the grant token', () => {
  it('passes, naming the user, and skips without an API key', async () => {
    sim.setPolicy(externalOnly)
    const report = await run()
    expect(checkOf(report, 'grant')).toEqual({
      id: 'grant',
      number: 5,
      title: 'grant token',
      status: 'pass',
      evidence: `minted an external-auth grant token for "${USER}" (the key has external:verify)`,
    })
    const without = await runDoctor({ baseUrl: APP })
    expect(checkOf(without, 'grant')).toMatchObject({
      status: 'skip',
      evidence: 'no API key (--api-key-env NAME)',
    })
  })

  it.each([
    [
      'an unknown key',
      { apiKey: 'doctor_unknown_key_93ab' },
      undefined,
      "use an API key of this app: LoginID does not know the key (revoked, mistyped, or another app's)",
    ],
    [
      'a key without the scope',
      { apiKey: NO_SCOPE_KEY },
      undefined,
      'give the API key the external:verify scope in the LoginID dashboard (or create a key that has it)',
    ],
    [
      'no answer',
      {},
      () => HttpResponse.error(),
      "check the host name and your network (DNS, proxy, firewall): LoginID's base URL is https://<app-id>.api.loginid.io",
    ],
    [
      'a 404',
      {},
      () => HttpResponse.json({ msgCode: 'not_found' }, { status: 404 }),
      'check the base URL: LoginID does not know the management route for this app',
    ],
    [
      'a 500',
      {},
      () => HttpResponse.json({ msgCode: 'internal_error' }, { status: 500 }),
      'retry; if it persists, contact LoginID support with the evidence',
    ],
  ])('fails %s with its fix; check 6 then skips', async (_, options, answer, fix) => {
    sim.setPolicy(externalOnly)
    if (answer) server.use(http.post(GRANT, answer))
    const report = await run(options)
    const grant = checkOf(report, 'grant')
    expect(grant).toMatchObject({ status: 'fail', fix })
    // The evidence is the management client's message for that error, without the prefix.
    expect(grant.evidence).toMatch(/^(?!\[loginid-mfa-flow\])\S/)
    expect(checkOf(report, 'complete')).toMatchObject({
      status: 'skip',
      evidence: 'needs a grant token (check 5)',
    })
  })

  it('passes the signal to the grant request: an abort there cancels it', async () => {
    sim.setPolicy(externalOnly)
    const controller = new AbortController()
    let inFlight: AbortSignal | undefined
    server.use(
      http.post(GRANT, async ({ request }) => {
        inFlight = request.signal
        controller.abort()
        await new Promise((resolve) => setTimeout(resolve, 3_000))
        return HttpResponse.json({ token: 'late' })
      }),
    )
    const error = await run({ signal: controller.signal }).catch((e: unknown) => e)
    expect(isMfaError(error, 'ERR_ABORTED')).toBe(true)
    expect(inFlight?.aborted).toBe(true)
  })
})

describe('check 6: completing the flow', () => {
  it('skips without the session of check 3', async () => {
    server.use(http.post(`${APP}/fido2/v2/mfa/begin`, () => HttpResponse.json({}, { status: 500 })))
    const report = await run()
    expect(checkOf(report, 'complete')).toMatchObject({
      status: 'skip',
      evidence: 'needs the MFA session of check 3',
    })
  })

  it('fails when external is not offered, naming what was', async () => {
    server.use(
      http.post(`${APP}/fido2/v2/mfa/begin`, () =>
        HttpResponse.json({
          session: 'sess-otp-6a5b4c',
          next: [{ action: { name: 'otp:email' } }, { action: { name: 'otp:sms' } }],
        }),
      ),
    )
    const report = await run()
    expect(checkOf(report, 'complete')).toEqual({
      id: 'complete',
      number: 6,
      title: 'complete flow',
      status: 'fail',
      evidence: 'mfa/begin offered otp:email, otp:sms, not external',
      fix: "enable the external factor in the app's MFA settings in the LoginID dashboard (or use a --username whose flow offers it)",
    })
  })

  it('fails when LoginID asks for more after external, naming the actions', async () => {
    sim.setPolicy((ctx) =>
      ctx.done.includes('external')
        ? { next: ['passkey:reg', 'otp:email'] }
        : { next: ['external'] },
    )
    const report = await run()
    expect(checkOf(report, 'complete')).toMatchObject({
      status: 'fail',
      evidence:
        'POST /fido2/v2/mfa/third-party/verify accepted the grant but asks for more: passkey:reg, otp:email',
      fix: 'the app asks for more factors after external (e.g. passkey registration), which a CLI cannot perform: check with a test app without that requirement',
    })
  })

  it('names "?" for an entry without an action, and "nothing named" for none', async () => {
    sim.setPolicy(externalOnly)
    const session = 'sess-more-7d1e0a'
    server.use(
      http.post(VERIFY, () =>
        HttpResponse.json({ session, next: [{ type: 'x' }, 'y'] }, { status: 401 }),
      ),
    )
    expect(checkOf(await run(), 'complete').evidence).toBe(
      'POST /fido2/v2/mfa/third-party/verify accepted the grant but asks for more: ?, ?',
    )
    server.use(http.post(VERIFY, () => HttpResponse.json({ session, next: 'x' }, { status: 401 })))
    expect(checkOf(await run(), 'complete').evidence).toBe(
      'POST /fido2/v2/mfa/third-party/verify accepted the grant but asks for more: nothing named',
    )
  })

  it.each([
    [401, 'LoginID refused the grant token: check that the API key belongs to this app'],
    [403, "check the app's settings in the LoginID dashboard (MFA enabled, allowed origins)"],
    [
      500,
      'LoginID is failing: retry later; if it persists, contact LoginID support with the evidence',
    ],
  ])('fails an HTTP %i from verify (no session in it) with its fix', async (status, fix) => {
    sim.setPolicy(externalOnly)
    server.use(http.post(VERIFY, () => HttpResponse.json({ msgCode: 'nope' }, { status })))
    expect(checkOf(await run(), 'complete')).toMatchObject({
      status: 'fail',
      evidence: `POST /fido2/v2/mfa/third-party/verify answered HTTP ${status} nope`,
      fix,
    })
  })

  it('fails a 200 without an access token, and a verify that gets no answer', async () => {
    sim.setPolicy(externalOnly)
    server.use(http.post(VERIFY, () => HttpResponse.json({ flow: 'signIn' })))
    expect(checkOf(await run(), 'complete')).toMatchObject({
      status: 'fail',
      evidence: 'POST /fido2/v2/mfa/third-party/verify answered 200 without an accessToken',
      fix: 'report the evidence to loginid-mfa-flow: the library needs the access token',
    })
    server.use(http.post(VERIFY, () => HttpResponse.error()))
    expect(checkOf(await run(), 'complete')).toMatchObject({
      status: 'fail',
      evidence: 'POST /fido2/v2/mfa/third-party/verify: connection failed',
      fix: 'retry; if it persists, contact LoginID support',
    })
  })

  it('sends the grant token with the session of check 3', async () => {
    sim.setPolicy(externalOnly)
    const seen: { authorization: string | null; body: unknown }[] = []
    server.use(
      http.post(VERIFY, async ({ request }) => {
        seen.push({
          authorization: request.headers.get('authorization'),
          body: await request.clone().json(),
        })
        return sim.handle(request)
      }),
    )
    const report = await run()
    expect(checkOf(report, 'complete').status).toBe('pass')
    const begin = sim.requests.find((r) => r.path === '/fido2/v2/mfa/begin')
    expect(begin).toBeDefined()
    expect(seen).toHaveLength(1)
    expect(seen[0]!.authorization).toMatch(/\S/)
    expect(seen[0]!.body).toEqual({ token: expect.stringMatching(/\S/) })
  })

  it.each(['session', 'accessToken', 'idToken', 'refreshToken', 'payloadSignature'])(
    'never shows the %s of a verify answer',
    async (field) => {
      sim.setPolicy(externalOnly)
      const secret = `${field}-value-0f9e8d7c`
      server.use(
        http.post(VERIFY, () =>
          HttpResponse.json({ [field]: secret, msg: `echo ${secret}` }, { status: 400 }),
        ),
      )
      const report = await run()
      expect(checkOf(report, 'complete').evidence).toBe(
        'POST /fido2/v2/mfa/third-party/verify answered HTTP 400 (echo [REDACTED])',
      )
      expect(JSON.stringify(report)).not.toContain(secret)
    },
  )

  it('never shows the session of check 3, even when LoginID echoes it', async () => {
    sim.setPolicy(externalOnly)
    server.use(
      http.post(VERIFY, ({ request }) =>
        HttpResponse.json(
          { msg: `bad ${request.headers.get('authorization') ?? 'none'}` },
          { status: 400 },
        ),
      ),
    )
    expect(checkOf(await run(), 'complete').evidence).toBe(
      'POST /fido2/v2/mfa/third-party/verify answered HTTP 400 (bad [REDACTED])',
    )
  })

  it('never shows the grant token, even when LoginID echoes it', async () => {
    sim.setPolicy(externalOnly)
    server.use(
      http.post(VERIFY, async ({ request }) => {
        const { token } = (await request.json()) as { token: string }
        return HttpResponse.json({ msg: `bad ${token}` }, { status: 400 })
      }),
    )
    const report = await run()
    expect(checkOf(report, 'complete').evidence).toBe(
      'POST /fido2/v2/mfa/third-party/verify answered HTTP 400 (bad [REDACTED])',
    )
  })
})

describe('check 6: verifying the access token', () => {
  it('fails a token for another app, naming its aud and the fix', async () => {
    // Its own host, so that no key set cached by an earlier test is used.
    const base = 'https://audapp.api.loginid.io'
    const other = createLoginIDSimulator({
      baseUrl: base,
      appId: 'otherapp',
      apiKeys: [{ key: API_KEY, scopes: ['external:verify'] }],
    })
    other.setPolicy(externalOnly)
    server.use(...other.handlers)
    const report = await run({ baseUrl: base })
    expect(checkOf(report, 'complete')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(
        /^verifyLoginIDToken: .*: aud is "otherapp", expected "audapp"$/,
      ),
      fix: `if "otherapp" is this app's id, pass it as appId to verifyLoginIDToken (--app-id here); otherwise the base URL names another app`,
    })
    // With the app id given, the same kind of token verifies.
    const given = await run({ baseUrl: base, appId: 'otherapp' })
    expect(checkOf(given, 'complete').status).toBe('pass')
  })

  it('fails a token of another issuer, naming it', async () => {
    // The doctor checks the dev host; LoginID answers from (and signs tokens as) the live one.
    const dev = 'https://gcapp.api.dev.loginid.io'
    sim.setPolicy(externalOnly)
    server.use(
      http.all(`${dev}/*`, async ({ request }) => {
        const url = request.url.replace(dev, APP)
        const body =
          request.method === 'GET' || request.method === 'HEAD' ? null : await request.text()
        return sim.handle(
          new Request(url, { method: request.method, headers: request.headers, body }),
        )
      }),
    )
    const report = await run({ baseUrl: dev })
    expect(checkOf(report, 'complete')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(new RegExp(`: iss is "${APP}", expected "${dev}"$`)),
      fix: 'use the issuer as baseUrl in your backend (and here): it must be the exact base URL LoginID signs tokens for',
    })
  })

  it("fails an expired token with the fix to check the machine's clock", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    sim.setPolicy(externalOnly)
    server.use(
      http.post(VERIFY, async ({ request }) => {
        const response = await sim.handle(request)
        // The token left LoginID; it arrives two hours later.
        vi.setSystemTime(Date.now() + 2 * 3600_000)
        return response
      }),
    )
    const report = await run()
    expect(checkOf(report, 'complete')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/^verifyLoginIDToken: /),
      fix: "check this machine's clock (or allow skew with clockToleranceSec)",
    })
  })

  it('fails a token that does not verify at all, as a report to this library', async () => {
    sim.setPolicy(externalOnly)
    server.use(
      http.post(VERIFY, () =>
        HttpResponse.json({ flow: 'signIn', accessToken: 'not.a-valid.token-9a8b7c' }),
      ),
    )
    expect(checkOf(await run(), 'complete')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/^verifyLoginIDToken: /),
      fix: 'report the evidence to loginid-mfa-flow: a LoginID access token should verify',
    })
  })
})

describe('check 7: the response shapes', () => {
  it('compares every answer with a declared schema, and names them', async () => {
    sim.setPolicy(externalOnly)
    const report = await run()
    expect(checkOf(report, 'response-schemas')).toEqual({
      id: 'response-schemas',
      number: 7,
      title: 'response shapes',
      status: 'pass',
      evidence:
        "5 answer(s) match LoginID's OpenAPI: GET .well-known/jwks.json 200, POST mfa/begin 200, POST mgmt/grant/external-auth 200, POST mfa/third-party/verify 200",
    })
  })

  it('counts an empty body as not JSON', async () => {
    server.use(
      http.get(
        `${APP}/fido2/v2/.well-known/jwks.json`,
        () => new HttpResponse('  ', { status: 200 }),
      ),
    )
    const shapes = checkOf(await runDoctor({ baseUrl: APP }), 'response-schemas')
    expect(shapes.status).toBe('fail')
    expect(shapes.details).toContain(
      'GET /fido2/v2/.well-known/jwks.json 200: the body is not JSON',
    )
  })

  it('fails with the first difference and counts the rest; skips when nothing was compared', async () => {
    server.use(
      http.post(`${APP}/fido2/v2/mfa/begin`, () =>
        HttpResponse.json({
          session: 'sess-shape-2b3c4d',
          next: [{ action: { name: 'external' } }],
        }),
      ),
    )
    const report = await runDoctor({ baseUrl: APP })
    const shapes = checkOf(report, 'response-schemas')
    expect(shapes).toMatchObject({
      status: 'fail',
      fix: 'report it to loginid-mfa-flow with the details (--json lists every difference) so the library can follow LoginID',
    })
    expect(shapes.details!.length).toBeGreaterThan(1)
    expect(shapes.evidence).toBe(
      `LoginID answered differently from what loginid-mfa-flow assumes: ${shapes.details![0]} (and ${shapes.details!.length - 1} more)`,
    )
    server.use(http.get(`${APP}/fido2/v2/.well-known/jwks.json`, () => HttpResponse.error()))
    expect(checkOf(await runDoctor({ baseUrl: APP }), 'response-schemas')).toMatchObject({
      status: 'skip',
      evidence: 'no answer with a declared schema to compare',
    })
  })
})
