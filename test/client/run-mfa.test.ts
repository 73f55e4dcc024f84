import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import {
  createMfaClient,
  fetchGrantToken,
  isMfaError,
  runMfa as runMfaResult,
} from '../../src/index.js'
import type {
  ExternalAuthContext,
  MfaEvent,
  RunMfaOptions,
  WebAuthnAdapter,
} from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'
import { signUpThenRegister, completed } from './helpers.js'

/** runMfa for runs that must complete (these tests never redirect). */
const runMfa = <P>(options: RunMfaOptions<P>) => completed(runMfaResult(options))

const ADA = 'ada@example.com'
const BOB = 'bob@example.com'
const sim = createLoginIDSimulator({
  users: [
    { username: ADA, email: ADA, phone: '+15551234567' },
    { username: BOB, email: BOB },
    { username: 'pat@example.com', passkey: true, devices: ['dev-pat'] },
    { username: 'nocontact@example.com' },
  ],
})
const server = serveSimulator(sim)

const paths = (): string[] => sim.requests.map((r) => r.path)
const grant = (ctx: { username: string }): string => sim.grantExternalAuth(ctx.username)

/** A run against the simulator with an external step that always succeeds. */
function options(extra: Partial<RunMfaOptions<true>> = {}): RunMfaOptions<true> {
  return {
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    username: ADA,
    externalAuthenticator: () => true,
    tokenProvider: grant,
    ...extra,
  }
}

/** A promise plus its resolver, to hold a callback open. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Let pending microtasks and MSW's handler chain run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20))

describe('the seed cases', () => {
  it('signs a new user up through external, then registers a passkey', async () => {
    sim.setPolicy(signUpThenRegister)
    const authenticator = createSoftwareAuthenticator()
    const contexts: ExternalAuthContext[] = []
    const completion = await runMfa({
      ...options(),
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator }),
      username: 'new@example.com',
      externalAuthenticator: (ctx) => {
        contexts.push(ctx)
        return true
      },
    })
    expect(contexts.map((c) => [c.reason, c.flow, c.attempt])).toEqual([['signUp', 'signUp', 1]])
    expect(completion.flow).toBe('signUp')
    expect(completion.username).toBe('new@example.com')
    expect(completion.accessToken).toMatch(/^ey/)
    expect(completion.passkeyCredential?.passkeyId).toBeTruthy()
    expect(completion.steps.map((s) => [s.action, s.outcome])).toEqual([
      ['external', 'continue'],
      ['passkey:reg', 'complete'],
    ])
    expect(authenticator.credentials).toHaveLength(1)
    expect(paths()).toEqual([
      '/fido2/v2/mfa/begin',
      '/fido2/v2/mfa/third-party/verify',
      '/fido2/v2/mfa/passkey/reg',
    ])
  })

  it('signs an existing user in on a new device through external, then with the passkey on the same device', async () => {
    const authenticator = createSoftwareAuthenticator()
    const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator })
    sim.setPolicy((ctx) =>
      ctx.event === 'begin'
        ? ctx.user?.passkeys.length && ctx.deviceKnown
          ? { next: ['passkey:auth', 'external'] }
          : { next: ['external'] }
        : ctx.factor === 'external' && !ctx.user?.passkeys.length
          ? { next: ['passkey:reg'] }
          : { complete: true },
    )
    const reasons: string[] = []
    const first = await runMfa({
      ...options({ client }),
      externalAuthenticator: ({ reason }) => (reasons.push(reason), true),
    })
    expect(reasons).toEqual(['newDevice'])
    expect(first.deviceId).toBeTruthy()
    // The client remembers the device id and sends it with the next begin.
    const second = await runMfa({ ...options({ client }) })
    expect(second.steps.map((s) => s.action)).toEqual(['passkey:auth'])
    expect(second.accessToken).toMatch(/^ey/)
    const begins = sim.requests.filter((r) => r.path === '/fido2/v2/mfa/begin')
    expect((begins[1]?.body as { deviceInfo: { deviceId?: string } }).deviceInfo.deviceId).toBe(
      first.deviceId,
    )
  })

  it('falls back to external when the passkey ceremony fails', async () => {
    const events: MfaEvent[] = []
    const reasons: string[] = []
    const completion = await runMfa({
      ...options(),
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: createSoftwareAuthenticator() }),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
      externalAuthenticator: ({ reason }) => (reasons.push(reason), true),
      onEvent: (e) => events.push(e),
    })
    expect(reasons).toEqual(['passkeyFailed'])
    expect(completion.steps.map((s) => [s.action, s.outcome, s.error])).toEqual([
      ['passkey:auth', 'failed', 'ERR_PASSKEY_CANCELLED'],
      ['external', 'complete', undefined],
    ])
    const fallback = events.find((e) => e.type === 'fallback')
    expect(fallback).toMatchObject({ action: 'passkey:auth', to: 'external' })
    expect(events.map((e) => e.type)).toEqual([
      'step:start',
      'fallback',
      'step:done',
      'step:start',
      'step:done',
      'complete',
    ])
    // The ceremony failed in the client: nothing was sent to passkey/auth.
    expect(paths()).not.toContain('/fido2/v2/mfa/passkey/auth')
  })

  it('falls back when LoginID rejects the assertion (wrong challenge: 401 offering only external)', async () => {
    const forged: WebAuthnAdapter = {
      create: () => Promise.reject(new Error('unused')),
      get: async (opts) => ({
        credentialId: opts.allowCredentials[0]?.id ?? 'x',
        clientDataJSON: btoa(
          JSON.stringify({
            type: 'webauthn.get',
            challenge: `${opts.challenge}x`,
            origin: 'http://localhost',
          }),
        ).replace(/=+$/, ''),
        authenticatorData: 'AAAA',
        signature: 'AAAA',
      }),
    }
    const reasons: string[] = []
    const completion = await runMfa({
      ...options(),
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: forged }),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
      externalAuthenticator: ({ reason }) => (reasons.push(reason), true),
    })
    expect(paths()).toContain('/fido2/v2/mfa/passkey/auth')
    expect(reasons).toEqual(['passkeyFailed'])
    expect(completion.steps.map((s) => [s.action, s.outcome, s.error])).toEqual([
      ['passkey:auth', 'failed', 'ERR_PASSKEY_FAILED'],
      ['external', 'complete', undefined],
    ])
  })

  it("rethrows the passkey error with passkey.onError 'throw'", async () => {
    const run = runMfa({
      ...options(),
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: createSoftwareAuthenticator() }),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
      passkey: { onError: 'throw' },
    })
    await expect(run).rejects.toMatchObject({ code: 'ERR_PASSKEY_CANCELLED' })
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('treats a client without a WebAuthn adapter as a passkey failure', async () => {
    const completion = await runMfa({
      ...options(),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
    })
    expect(completion.steps[0]).toMatchObject({
      action: 'passkey:auth',
      outcome: 'failed',
      error: 'ERR_WEBAUTHN_UNAVAILABLE',
    })
    await expect(
      runMfa({
        ...options(),
        username: 'pat@example.com',
        beginOptions: { deviceId: 'dev-pat' },
        passkey: { onError: 'throw' },
      }),
    ).rejects.toMatchObject({ code: 'ERR_WEBAUTHN_UNAVAILABLE' })
  })
})

describe('the external step', () => {
  it('fails with ERR_EXTERNAL_DENIED when the authenticator denies, before any token is used', async () => {
    for (const denial of [false, null, undefined]) {
      const provider = vi.fn(grant)
      await expect(
        runMfa({ ...options(), externalAuthenticator: () => denial, tokenProvider: provider }),
      ).rejects.toMatchObject({ code: 'ERR_EXTERNAL_DENIED' })
      expect(provider).not.toHaveBeenCalled()
    }
    expect(paths()).not.toContain('/fido2/v2/mfa/third-party/verify')
  })

  it('keeps what the authenticator threw as the cause', async () => {
    const boom = new Error('user closed the dialog')
    const err = await runMfa({
      ...options(),
      externalAuthenticator: () => {
        throw boom
      },
    }).catch((e: unknown) => e)
    expect(isMfaError(err, 'ERR_EXTERNAL_DENIED')).toBe(true)
    expect((err as Error).cause).toBe(boom)
  })

  it('fails with ERR_TOKEN_PROVIDER when the provider throws, keeping its own ERR_TOKEN_PROVIDER', async () => {
    const boom = new Error('backend down')
    const err = await runMfa({
      ...options(),
      tokenProvider: () => Promise.reject(boom),
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_TOKEN_PROVIDER', cause: boom })

    server.use(
      http.post('https://app.example.test/api/grant', () =>
        HttpResponse.json({ msg: 'no session', msgCode: 'unauthenticated' }, { status: 403 }),
      ),
    )
    const err2 = await runMfa({
      ...options(),
      tokenProvider: fetchGrantToken('https://app.example.test/api/grant'),
    }).catch((e: unknown) => e)
    expect(err2).toMatchObject({
      code: 'ERR_TOKEN_PROVIDER',
      status: 403,
      msgCode: 'unauthenticated',
    })
    expect(paths()).not.toContain('/fido2/v2/mfa/third-party/verify')
  })

  it('gets the token from the backend with fetchGrantToken', async () => {
    const bodies: unknown[] = []
    server.use(
      http.post('https://app.example.test/api/grant', async ({ request }) => {
        const body = (await request.json()) as { username: string }
        bodies.push(body)
        return HttpResponse.json({ token: sim.grantExternalAuth(body.username) })
      }),
    )
    const completion = await runMfa({
      ...options(),
      externalAuthenticator: () => ({ otp: '123' }),
      tokenProvider: fetchGrantToken('https://app.example.test/api/grant'),
    })
    expect(completion.accessToken).toMatch(/^ey/)
    expect(bodies).toEqual([{ proof: { otp: '123' }, username: ADA, session: expect.any(String) }])
  })

  it.each([
    ['another user', () => sim.grantExternalAuth(BOB), 'invalid_token'],
    ['an unknown', () => 'sim_g_not_a_token', 'invalid_token'],
  ])('rejects %s token with ERR_TOKEN_REJECTED', async (_name, token, msgCode) => {
    await expect(runMfa({ ...options(), tokenProvider: token })).rejects.toMatchObject({
      code: 'ERR_TOKEN_REJECTED',
      status: 401,
      msgCode,
    })
  })

  it('rejects a used token with ERR_TOKEN_REJECTED', async () => {
    const token = sim.grantExternalAuth(ADA)
    await runMfa({ ...options(), tokenProvider: () => token })
    await expect(runMfa({ ...options(), tokenProvider: () => token })).rejects.toMatchObject({
      code: 'ERR_TOKEN_REJECTED',
      msgCode: 'token_used',
    })
  })

  it('retries once with a fresh token when LoginID says the token expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let calls = 0
    const completion = await runMfa({
      ...options(),
      tokenProvider: ({ username }) => {
        const token = sim.grantExternalAuth(username)
        if (++calls === 1) vi.setSystemTime(Date.now() + 60_000) // the first token expires
        return token
      },
    })
    expect(calls).toBe(2)
    expect(completion.accessToken).toMatch(/^ey/)
    expect(paths().filter((p) => p.endsWith('third-party/verify'))).toHaveLength(2)
  })

  it('fails with ERR_TOKEN_REJECTED when the fresh token expired too', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const provider = vi.fn(({ username }: { username: string }) => {
      const token = sim.grantExternalAuth(username)
      vi.setSystemTime(Date.now() + 60_000)
      return token
    })
    const authenticator = vi.fn(() => true as const)
    await expect(
      runMfa({ ...options(), externalAuthenticator: authenticator, tokenProvider: provider }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_REJECTED', msgCode: 'token_expired' })
    expect(provider).toHaveBeenCalledTimes(2)
    expect(authenticator).toHaveBeenCalledTimes(1)
  })

  it('keeps ERR_SESSION_INVALID for a bad session on third-party/verify', async () => {
    sim.faults.add({
      path: '/mfa/third-party/verify',
      fault: { type: 'status', status: 401, body: { msg: 'expired', msgCode: 'session_expired' } },
    })
    await expect(runMfa(options())).rejects.toMatchObject({
      code: 'ERR_SESSION_INVALID',
      msgCode: 'session_expired',
    })
  })
})

describe('OTP', () => {
  const otpFirst = (): void =>
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['otp:email'] } : { complete: true }))

  it('requests a code, takes a wrong one, then the right one', async () => {
    otpFirst()
    const attempts: number[] = []
    const completion = await runMfa({
      ...options(),
      otp: {
        getCode: ({ attempt, contact, action }) => {
          attempts.push(attempt)
          expect([contact, action]).toEqual([ADA, 'otp:email'])
          return attempt === 1 ? '000000x' : (sim.inbox(ADA).at(-1)?.code ?? '')
        },
      },
    })
    expect(attempts).toEqual([1, 2])
    expect(completion.steps).toMatchObject([{ action: 'otp:email', outcome: 'complete' }])
    expect(paths()).toEqual([
      '/fido2/v2/mfa/begin',
      '/fido2/v2/mfa/otp/request',
      '/fido2/v2/mfa/otp/verify',
      '/fido2/v2/mfa/otp/verify',
    ])
    expect(sim.requests[1]?.body).toEqual({ method: 'email', option: ADA })
  })

  it('resends a code', async () => {
    otpFirst()
    const completion = await runMfa({
      ...options(),
      otp: {
        getCode: async ({ resend }) => {
          await resend()
          return sim.inbox(ADA).at(-1)?.code ?? ''
        },
      },
    })
    expect(completion.accessToken).toMatch(/^ey/)
    expect(sim.inbox(ADA)).toHaveLength(2)
  })

  it('lets the app pick the contact and runs otp:sms', async () => {
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['otp:sms'] } : { complete: true }))
    const pick = vi.fn((contacts: readonly string[]) => contacts[0] ?? '')
    await runMfa({
      ...options(),
      otp: { pickContact: pick, getCode: () => sim.inbox(ADA).at(-1)?.code ?? '' },
    })
    expect(pick).toHaveBeenCalledWith(
      ['+15551234567'],
      expect.objectContaining({ type: 'otp:sms' }),
    )
    expect(sim.inbox(ADA)[0]?.channel).toBe('sms')
  })

  it('fails with ERR_OTP_FAILED after maxAttempts wrong codes', async () => {
    otpFirst()
    const getCode = vi.fn(() => 'wrong')
    await expect(runMfa({ ...options(), otp: { getCode, maxAttempts: 2 } })).rejects.toMatchObject({
      code: 'ERR_OTP_FAILED',
      msgCode: 'invalid_otp',
    })
    expect(getCode).toHaveBeenCalledTimes(2)
  })

  it('fails with ERR_OTP_NO_CONTACT when LoginID lists no contact', async () => {
    server.use(
      http.post(`${sim.baseUrl}/fido2/v2/mfa/begin`, () =>
        HttpResponse.json({
          flow: 'signIn',
          msg: 'more',
          msgCode: 'additional_auth_required',
          session: 's1',
          next: [{ action: { name: 'otp:email', label: 'Email' } }],
        }),
      ),
    )
    await expect(runMfa({ ...options(), otp: { getCode: () => '1' } })).rejects.toMatchObject({
      code: 'ERR_OTP_NO_CONTACT',
    })
  })

  it('fails with ERR_UNSUPPORTED_ACTION without the otp option', async () => {
    otpFirst()
    await expect(runMfa(options())).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_ACTION' })
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })
})

describe('actions', () => {
  it('fails with ERR_MAX_STEPS on a looping policy', async () => {
    sim.setPolicy(() => ({ next: ['external'] }))
    await expect(runMfa({ ...options(), maxSteps: 3 })).rejects.toMatchObject({
      code: 'ERR_MAX_STEPS',
    })
    expect(paths().filter((p) => p.endsWith('third-party/verify'))).toHaveLength(3)
  })

  it('fails with ERR_UNKNOWN_ACTION for an action name the library does not know', async () => {
    server.use(
      http.post(`${sim.baseUrl}/fido2/v2/mfa/begin`, () =>
        HttpResponse.json({
          msg: 'more',
          msgCode: 'additional_auth_required',
          session: 's1',
          next: [{ action: { name: 'face:scan', label: 'Face' } }],
        }),
      ),
    )
    await expect(runMfa(options())).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTION' })
  })

  it('fails with ERR_UNKNOWN_ACTION when chooseAction returns an unknown name', async () => {
    await expect(
      runMfa({ ...options(), chooseAction: () => 'face:scan' as never }),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTION' })
  })

  it('fails with ERR_NO_ACTION when LoginID offers nothing', async () => {
    server.use(
      http.post(`${sim.baseUrl}/fido2/v2/mfa/begin`, () =>
        HttpResponse.json({ msg: 'more', msgCode: 'x', session: 's1', next: [] }),
      ),
    )
    await expect(runMfa(options())).rejects.toMatchObject({ code: 'ERR_NO_ACTION' })
  })

  it('lets chooseAction override the recommendation', async () => {
    const completion = await runMfa({
      ...options(),
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: createSoftwareAuthenticator() }),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
      chooseAction: (result) => {
        expect(result.nextAction).toBe('passkey:auth')
        return 'external'
      },
    })
    expect(completion.steps.map((s) => s.action)).toEqual(['external'])
  })

  it('fails with ERR_UNSUPPORTED_ACTION for external without callbacks', async () => {
    await expect(
      runMfa({ client: createMfaClient({ baseUrl: sim.baseUrl }), username: ADA }),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_ACTION' })
  })
})

describe('LoginID failures', () => {
  it.each([
    [{ type: 'status', status: 503 } as const, 'ERR_LOGINID_UNAVAILABLE', 503],
    [{ type: 'html' } as const, 'ERR_LOGINID_UNAVAILABLE', 502],
    [{ type: 'html', status: 200 } as const, 'ERR_BAD_RESPONSE', undefined],
    [{ type: 'malformed' } as const, 'ERR_BAD_RESPONSE', undefined],
    [{ type: 'drop' } as const, 'ERR_NETWORK', undefined],
  ])('maps %o on begin to %s', async (fault, code, status) => {
    sim.faults.add({ path: '/mfa/begin', fault })
    const err = await runMfa(options()).catch((e: unknown) => e)
    expect(err).toMatchObject({ code, path: '/fido2/v2/mfa/begin' })
    expect((err as { status?: number }).status).toBe(status)
  })

  it('maps a 5xx on a factor call', async () => {
    sim.faults.add({ path: '/mfa/third-party/verify', fault: { type: 'status', status: 500 } })
    await expect(runMfa(options())).rejects.toMatchObject({
      code: 'ERR_LOGINID_UNAVAILABLE',
      status: 500,
      msgCode: 'internal_error',
    })
  })

  it('never puts the session or a token in the error', async () => {
    sim.faults.add({ path: '/mfa/third-party/verify', fault: { type: 'status', status: 500 } })
    let session = ''
    let token = ''
    const err = await runMfa({
      ...options(),
      tokenProvider: (ctx) => {
        session = ctx.session ?? ''
        return (token = grant(ctx))
      },
    }).catch((e: unknown) => e)
    const text = `${String(err)} ${JSON.stringify(err)} ${String((err as Error).stack)}`
    expect(session).not.toBe('')
    expect(text).not.toContain(session)
    expect(text).not.toContain(token)
  })
})

describe('causes', () => {
  /** What ofetch throws for a network failure: it references the request and its headers. */
  const fetchError = (): Error =>
    Object.assign(new Error('[POST] "/x": <no response> fetch failed'), {
      name: 'FetchError',
      options: { headers: { Authorization: 'sess-secret' } },
      request: '/x',
      cause: new TypeError('fetch failed'),
    })
  const causes = (err: unknown): unknown[] => {
    const all: unknown[] = []
    for (let c = (err as Error).cause; c !== undefined; c = (c as Error).cause) all.push(c)
    return all
  }

  it('never keeps a FetchError a client threw as cause', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl })
    const thrown = fetchError()
    const err = await runMfa({
      ...options(),
      client: { beginFlow: client.beginFlow, performAction: () => Promise.reject(thrown) },
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_NETWORK' })
    expect(causes(err)).not.toContain(thrown)
    expect(causes(err)[0]).toBeInstanceOf(TypeError)
  })

  it("never keeps a FetchError from the app's token provider as cause", async () => {
    const thrown = fetchError()
    const err = await runMfa({
      ...options(),
      tokenProvider: () => Promise.reject(thrown),
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_TOKEN_PROVIDER' })
    expect(causes(err)).not.toContain(thrown)
  })
})

describe('abort', () => {
  it('sends nothing when the signal is already aborted', async () => {
    await expect(runMfa({ ...options(), signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    })
    expect(sim.requests).toHaveLength(0)
  })

  it('abandons a pending begin', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'delay', ms: 300 } })
    const controller = new AbortController()
    const run = runMfa({ ...options(), signal: controller.signal })
    await vi.waitFor(() => expect(sim.requests).toHaveLength(1))
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await new Promise((r) => setTimeout(r, 350))
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it.each(['externalAuthenticator', 'tokenProvider'] as const)(
    'abandons a pending %s and sends nothing after',
    async (which) => {
      const controller = new AbortController()
      const hold = deferred<true>()
      const entered = deferred()
      const cb = (): Promise<true> => (entered.resolve(), hold.promise)
      const signals: AbortSignal[] = []
      const run = runMfa({
        ...options(),
        signal: controller.signal,
        ...(which === 'externalAuthenticator'
          ? { externalAuthenticator: (ctx) => (signals.push(ctx.signal), cb()) }
          : {
              tokenProvider: async (ctx) => {
                signals.push(ctx.signal)
                await cb()
                return grant(ctx)
              },
            }),
      })
      await entered.promise
      controller.abort()
      await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
      expect(signals[0]?.aborted).toBe(true)
      hold.resolve(true)
      await settle()
      expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
    },
  )

  it('abandons a pending third-party/verify', async () => {
    sim.faults.add({ path: '/mfa/third-party/verify', fault: { type: 'delay', ms: 300 } })
    const controller = new AbortController()
    const run = runMfa({ ...options(), signal: controller.signal })
    await vi.waitFor(() => expect(sim.requests).toHaveLength(2))
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await new Promise((r) => setTimeout(r, 350))
    expect(sim.requests).toHaveLength(2)
  })

  it('abandons a pending passkey ceremony without calling passkey/auth', async () => {
    const controller = new AbortController()
    const entered = deferred()
    const authenticator = createSoftwareAuthenticator({
      onCeremony: () => {
        entered.resolve()
        return new Promise(() => undefined)
      },
    })
    const external = vi.fn(() => true as const)
    const run = runMfa({
      ...options(),
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator }),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
      externalAuthenticator: external,
      signal: controller.signal,
    })
    await entered.promise
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await settle()
    expect(external).not.toHaveBeenCalled()
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('abandons a pending OTP code and ignores a late resend', async () => {
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['otp:email'] } : { complete: true }))
    const controller = new AbortController()
    const entered = deferred<() => Promise<void>>()
    const run = runMfa({
      ...options(),
      signal: controller.signal,
      otp: {
        getCode: ({ resend }) => {
          entered.resolve(resend)
          return new Promise<string>(() => undefined)
        },
      },
    })
    const resend = await entered.promise
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await expect(resend()).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await settle()
    expect(paths()).toEqual(['/fido2/v2/mfa/begin', '/fido2/v2/mfa/otp/request'])
  })
})

describe('deadlines', () => {
  it('fails a step that takes longer than stepMs with ERR_TIMEOUT', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const entered = deferred()
    const run = runMfa({
      ...options(),
      timeouts: { stepMs: 5_000 },
      externalAuthenticator: () => (entered.resolve(), new Promise<true>(() => undefined)),
    })
    const failed = expect(run).rejects.toMatchObject({ code: 'ERR_TIMEOUT', message: /step/ })
    await entered.promise
    await vi.advanceTimersByTimeAsync(5_000)
    await failed
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('fails a run that takes longer than runMs with ERR_TIMEOUT', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const entered = deferred()
    const run = runMfa({
      ...options(),
      timeouts: { runMs: 60_000, stepMs: 120_000 },
      externalAuthenticator: () => (entered.resolve(), new Promise<true>(() => undefined)),
    })
    const failed = expect(run).rejects.toMatchObject({ code: 'ERR_TIMEOUT', message: /run/ })
    await entered.promise
    await vi.advanceTimersByTimeAsync(59_999)
    let settled = false
    void run.catch(() => (settled = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await failed
  })
})

describe('concurrency and events', () => {
  it('runs two flows on one client without sharing sessions', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl })
    const both = deferred()
    let waiting = 0
    const gate = async (): Promise<true> => {
      if (++waiting === 2) both.resolve()
      await both.promise
      return true
    }
    const [a, b] = await Promise.all([
      runMfa({ ...options({ client }), username: ADA, externalAuthenticator: gate }),
      runMfa({ ...options({ client }), username: BOB, externalAuthenticator: gate }),
    ])
    const sub = (jwt: string | undefined): unknown =>
      JSON.parse(atob((jwt ?? '').split('.')[1]?.replace(/-/g, '+').replace(/_/g, '/') ?? ''))
    expect(sub(a.accessToken)).toMatchObject({ username: ADA })
    expect(sub(b.accessToken)).toMatchObject({ username: BOB })
  })

  it('emits typed events and survives a throwing listener', async () => {
    const events: MfaEvent[] = []
    const completion = await runMfa({
      ...options(),
      onEvent: (e) => {
        events.push(e)
        throw new Error('listener bug')
      },
    })
    expect(events.map((e) => e.type)).toEqual(['step:start', 'step:done', 'complete'])
    expect(events[0]).toMatchObject({ action: 'external', attempt: 1, step: 1 })
    const { accessToken, idToken, refreshToken, ...summary } = completion
    expect(events[2]).toEqual(expect.objectContaining({ type: 'complete', completion: summary }))
    for (const e of events) expect(e.elapsedMs).toBeGreaterThanOrEqual(0)
    // Events feed telemetry: no token of any kind in them.
    const text = JSON.stringify(events)
    for (const token of [accessToken, idToken, refreshToken]) {
      expect(token).toBeTruthy()
      expect(text).not.toContain(token)
    }
  })

  it('emits an error event before rejecting', async () => {
    const events: MfaEvent[] = []
    const err = await runMfa({
      ...options(),
      externalAuthenticator: () => false,
      onEvent: (e) => events.push(e),
    }).catch((e: unknown) => e)
    expect(events.at(-1)).toEqual(
      expect.objectContaining({ type: 'error', action: 'external', attempt: 1, error: err }),
    )
  })
})

describe('invalid arguments', () => {
  it.each<[string, Partial<RunMfaOptions<true>>]>([
    ['an empty username', { username: ' ' }],
    ['a client without methods', { client: {} as never }],
    ['an authenticator without a provider', { tokenProvider: undefined as never }],
    ['maxSteps 0', { maxSteps: 0 }],
    ['a negative deadline', { timeouts: { stepMs: -1 } }],
    ['otp without getCode', { otp: {} as never }],
    ['otp.maxAttempts 0', { otp: { getCode: () => '1', maxAttempts: 0 } }],
    ['an unknown passkey policy', { passkey: { onError: 'retry' as never } }],
  ])('rejects %s before any request', async (_name, extra) => {
    await expect(runMfa({ ...options(), ...extra })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
    expect(sim.requests).toHaveLength(0)
  })
})
