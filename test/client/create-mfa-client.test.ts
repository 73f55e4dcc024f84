import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient } from '../../src/index.js'
import type { MfaActionBody, MfaStorage, WebAuthnAdapter } from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'
import { passkeyFixtures } from './helpers.js'

const ADA = 'ada@example.com'
const sim = createLoginIDSimulator({ users: [{ username: ADA, email: ADA }] })
const server = serveSimulator(sim)

const url = (path: string): string => `${sim.baseUrl}/fido2/v2/mfa/${path}`
const b64url = (value: unknown): string =>
  btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
const nextBody = (next: MfaActionBody[], session = 'sess-1') => ({
  flow: 'signIn',
  msg: 'more',
  msgCode: 'additional_auth_required',
  session,
  next,
})
const {
  requestOptions: REQUEST_OPTIONS,
  creationOptions: CREATION_OPTIONS,
  assertion: ASSERTION,
} = passkeyFixtures('localhost')
const TOKENS = { flow: 'signIn', accessToken: 'at', idToken: 'it', deviceId: 'dev-9' }

/** Serve `begin` with the given actions and record what factor endpoints receive. */
function serveBegin(next: MfaActionBody[]): void {
  server.use(http.post(url('begin'), () => HttpResponse.json(nextBody(next))))
}

describe('createMfaClient options', () => {
  it.each([
    ['no options', undefined],
    ['an http base URL that is not loopback', { baseUrl: 'http://app.api.loginid.io' }],
    ['a relative base URL', { baseUrl: '/api' }],
    ['timeoutMs 0', { baseUrl: sim.baseUrl, timeoutMs: 0 }],
    [
      'a storage without removeItem',
      { baseUrl: sim.baseUrl, storage: { getItem() {}, setItem() {} } },
    ],
    ['a webauthn adapter without get', { baseUrl: sim.baseUrl, webauthn: { create() {} } }],
    ['a fetch that is not a function', { baseUrl: sim.baseUrl, fetch: 'fetch' }],
  ])('rejects %s', (_name, options) => {
    expect(() => createMfaClient(options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })
})

describe('beginFlow', () => {
  it('sends the user, best-effort device info and no session', async () => {
    const calls: RequestInit[] = []
    const client = createMfaClient({
      baseUrl: sim.baseUrl,
      fetch: (input, init) => (calls.push(init ?? {}), fetch(input, init)),
    })
    const result = await client.beginFlow(ADA, { displayName: 'Ada', traceId: 't-1' })
    expect(result).toMatchObject({
      flow: 'signIn',
      isComplete: false,
      nextAction: 'external',
      username: ADA,
    })
    expect(result.session).toEqual(expect.any(String))
    expect(sim.requests[0]?.body).toEqual({
      user: { username: ADA, usernameType: 'other', displayName: 'Ada' },
      deviceInfo: { clientType: 'other' },
      trustItems: {},
      traceId: 't-1',
    })
    expect(sim.requests[0]?.headers.authorization).toBeUndefined()
    expect(calls[0]?.credentials).toBe('omit')
  })

  it("reports clientType 'browser' and the screen size in a browser", async () => {
    vi.stubGlobal('window', { screen: { width: 1280, height: 800 } })
    vi.stubGlobal('navigator', {})
    await createMfaClient({ baseUrl: sim.baseUrl }).beginFlow(ADA)
    expect((sim.requests[0]?.body as { deviceInfo: unknown }).deviceInfo).toEqual({
      clientType: 'browser',
      screenWidth: 1280,
      screenHeight: 800,
    })
  })

  it('rejects an empty username before any request', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl })
    await expect(client.beginFlow('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(sim.requests).toHaveLength(0)
  })

  it('computes nextAction by LoginID priority and maps remainingFactors like LoginIDMfa', async () => {
    serveBegin([
      { action: { name: 'external', label: 'External', desc: 'Your own login' } },
      { action: { name: 'otp:sms', label: 'SMS' }, options: [{ label: '+1555', value: 'u1' }] },
      {
        action: { name: 'passkey:auth', label: 'Passkey' },
        options: [
          { name: 'merchantTrustID', value: 'trust' },
          { name: 'assertionOptions', value: 'opts' },
        ],
      },
      { action: { name: 'face:scan', label: 'Face' } },
    ])
    const result = await createMfaClient({ baseUrl: sim.baseUrl }).beginFlow(ADA)
    expect(result.nextAction).toBe('passkey:auth')
    expect(result.remainingFactors).toEqual([
      { type: 'external', label: 'External', description: 'Your own login' },
      { type: 'otp:sms', label: 'SMS', options: ['+1555'] },
      { type: 'passkey:auth', label: 'Passkey', value: 'opts' },
      { type: 'face:scan', label: 'Face' },
    ])
  })

  it.each([
    ['a 200 without tokens or session', { msg: 'x', msgCode: 'x' }],
    ['a next that is not a list', { session: 's', next: 'external' }],
  ])('rejects %s with ERR_BAD_RESPONSE', async (_name, body) => {
    server.use(http.post(url('begin'), () => HttpResponse.json(body)))
    await expect(createMfaClient({ baseUrl: sim.baseUrl }).beginFlow(ADA)).rejects.toMatchObject({
      code: 'ERR_BAD_RESPONSE',
    })
  })

  it('decodes tolerantly: skips nameless actions and odd options, accepts a lower-case flow', async () => {
    server.use(
      http.post(url('begin'), () =>
        HttpResponse.json({
          flow: 'signup',
          session: 's',
          next: [
            { action: {} },
            null,
            { action: { name: 'otp:email', label: 'Email' }, options: [null, { label: ADA }] },
            { action: { name: 'otp:sms', label: 'SMS' }, options: null },
            { action: { name: 'passkey:auth' }, options: [7, { value: 'opts' }] },
          ],
        }),
      ),
    )
    const result = await createMfaClient({ baseUrl: sim.baseUrl }).beginFlow(ADA)
    expect(result).toMatchObject({ flow: 'signUp', nextAction: 'passkey:auth', session: 's' })
    expect(result.remainingFactors).toEqual([
      { type: 'otp:email', label: 'Email', options: [ADA] },
      { type: 'otp:sms', label: 'SMS' },
      { type: 'passkey:auth', label: 'passkey:auth', value: 'opts' },
    ])
  })

  it('fails with ERR_TIMEOUT after timeoutMs and with ERR_ABORTED on its signal', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl, timeoutMs: 50 })
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'delay', ms: 300 } })
    await expect(client.beginFlow(ADA)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    await expect(client.beginFlow(ADA, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    })
  })
})

describe('performAction', () => {
  it('validates before any request', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl })
    await expect(client.performAction('external', { payload: 't' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: /session/,
    })
    await expect(client.performAction('nope' as never, { session: 's' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
    await expect(client.performAction('otp:verify', { session: 's' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
    expect(sim.requests).toHaveLength(0)
  })

  it('sends the raw session, treats 401 with a session as continue and 401 without as an error', async () => {
    const headers: (string | null)[] = []
    server.use(
      http.post(url('third-party/verify'), ({ request }) => {
        headers.push(request.headers.get('authorization'))
        return headers.length === 1
          ? HttpResponse.json(nextBody([{ action: { name: 'otp:email', label: 'E' } }], 'sess-2'), {
              status: 401,
            })
          : HttpResponse.json({ msg: 'no', msgCode: 'unauthorized' }, { status: 401 })
      }),
    )
    serveBegin([{ action: { name: 'external', label: 'X' } }])
    const client = createMfaClient({ baseUrl: sim.baseUrl })
    await client.beginFlow(ADA)
    const next = await client.performAction('external', { payload: 'tok' })
    expect(next).toMatchObject({
      isComplete: false,
      session: 'sess-2',
      nextAction: 'otp:email',
      username: ADA,
    })
    await expect(client.performAction('external', { payload: 'tok' })).rejects.toMatchObject({
      code: 'ERR_SESSION_INVALID',
      status: 401,
      msgCode: 'unauthorized',
    })
    expect(headers).toEqual(['sess-1', 'sess-2'])
  })

  it('decodes passkey options given as a bare segment or a JWT and picks the endpoint by shape', async () => {
    const seen: string[] = []
    const adapter: WebAuthnAdapter = {
      create: async (o) => (
        seen.push(`create ${o.user.displayName}`),
        { ...ASSERTION, attestationObject: 'AA' }
      ),
      get: async (o) => (seen.push(`get ${o.rpId}`), ASSERTION),
    }
    server.use(
      http.post(url('passkey/reg'), () => (seen.push('reg'), HttpResponse.json(TOKENS))),
      http.post(url('passkey/auth'), () => (seen.push('auth'), HttpResponse.json(TOKENS))),
      http.post(
        url('passkey/tx'),
        () => (seen.push('tx'), HttpResponse.json({ payloadSignature: 'sig' })),
      ),
    )
    const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: adapter })
    serveBegin([
      {
        action: { name: 'passkey:auth', label: 'P' },
        options: [{ value: `eyJhbGciOiJub25lIn0.${b64url(REQUEST_OPTIONS)}.sig` }],
      },
    ])
    await client.beginFlow(ADA)
    expect(await client.performAction('passkey:auth')).toMatchObject({
      isComplete: true,
      accessToken: 'at',
      deviceId: 'dev-9',
    })

    serveBegin([
      {
        action: { name: 'passkey:reg', label: 'P' },
        options: [{ value: b64url(CREATION_OPTIONS) }],
      },
    ])
    await client.beginFlow(ADA)
    await client.performAction('passkey:reg', { displayName: 'Ada L.' })

    serveBegin([
      { action: { name: 'passkey:tx', label: 'P' }, options: [{ value: b64url(REQUEST_OPTIONS) }] },
    ])
    await client.beginFlow(ADA)
    const tx = await client.performAction('passkey:tx')
    expect(tx).toMatchObject({ isComplete: true, payloadSignature: 'sig' })
    expect(tx.accessToken).toBeUndefined()
    expect(seen).toEqual(['get localhost', 'auth', 'create Ada L.', 'reg', 'get localhost', 'tx'])
  })

  it.each([
    ['NotAllowedError', 'ERR_PASSKEY_CANCELLED'],
    ['AbortError', 'ERR_PASSKEY_CANCELLED'],
    ['InvalidStateError', 'ERR_PASSKEY_EXISTS'],
    ['NotSupportedError', 'ERR_PASSKEY_UNSUPPORTED'],
    ['SecurityError', 'ERR_PASSKEY_DOMAIN'],
    ['UnknownError', 'ERR_PASSKEY_FAILED'],
  ])('maps a %s from the adapter to %s', async (name, code) => {
    const adapter: WebAuthnAdapter = {
      create: () => Promise.reject(new DOMException('no', name)),
      get: () => Promise.reject(new DOMException('no', name)),
    }
    serveBegin([
      {
        action: { name: 'passkey:reg', label: 'P' },
        options: [{ value: b64url(CREATION_OPTIONS) }],
      },
    ])
    const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: adapter })
    await client.beginFlow(ADA)
    await expect(client.performAction('passkey:reg')).rejects.toMatchObject({ code })
  })

  it('fails a passkey factor without an adapter, and bad options, before any request', async () => {
    serveBegin([
      {
        action: { name: 'passkey:auth', label: 'P' },
        options: [{ value: b64url(REQUEST_OPTIONS) }],
      },
      { action: { name: 'passkey:tx', label: 'P' }, options: [{ value: '!!not base64!!' }] },
    ])
    const bare = createMfaClient({ baseUrl: sim.baseUrl })
    await bare.beginFlow(ADA)
    await expect(bare.performAction('passkey:auth')).rejects.toMatchObject({
      code: 'ERR_WEBAUTHN_UNAVAILABLE',
    })
    await expect(bare.performAction('passkey:tx')).rejects.toMatchObject({
      code: 'ERR_BAD_RESPONSE',
    })
    await expect(
      bare.performAction('passkey:auth', { payload: b64url({ x: 1 }) }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
  })

  it('updates the transaction payload before passkey:tx', async () => {
    const bodies: unknown[] = []
    server.use(
      http.post(url('payload'), async ({ request }) => {
        bodies.push(await request.json())
        return HttpResponse.json(
          nextBody(
            [
              {
                action: { name: 'passkey:tx', label: 'P' },
                options: [{ value: b64url(REQUEST_OPTIONS) }],
              },
            ],
            'sess-tx',
          ),
        )
      }),
      http.post(url('passkey/tx'), ({ request }) =>
        HttpResponse.json({ payloadSignature: request.headers.get('authorization') }),
      ),
    )
    serveBegin([
      { action: { name: 'passkey:tx', label: 'P' }, options: [{ value: b64url(REQUEST_OPTIONS) }] },
    ])
    const client = createMfaClient({
      baseUrl: sim.baseUrl,
      webauthn: { create: () => Promise.reject(new Error('unused')), get: async () => ASSERTION },
    })
    await client.beginFlow(ADA)
    const result = await client.performAction('passkey:tx', { txPayload: 'pay 10 EUR' })
    expect(bodies).toEqual([{ payload: 'pay 10 EUR' }])
    expect(result.payloadSignature).toBe('sess-tx')
  })

  it('keeps passkey:tx on its own flow while another flow on the client moves on', async () => {
    let begun = 0
    server.use(
      http.post(url('begin'), () =>
        HttpResponse.json(
          nextBody(
            [
              {
                action: { name: 'passkey:tx', label: 'P' },
                options: [{ value: b64url(REQUEST_OPTIONS) }],
              },
            ],
            `sess-${++begun}`,
          ),
        ),
      ),
      http.post(url('payload'), ({ request }) =>
        HttpResponse.json(
          nextBody(
            [
              {
                action: { name: 'passkey:tx', label: 'P' },
                options: [{ value: b64url(REQUEST_OPTIONS) }],
              },
            ],
            `tx-${request.headers.get('authorization') ?? ''}`,
          ),
        ),
      ),
      http.post(url('passkey/tx'), ({ request }) =>
        HttpResponse.json({ payloadSignature: request.headers.get('authorization') }),
      ),
    )
    // The first flow's write after /mfa/payload hangs until the second flow has updated too.
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    let writes = 0
    const storage: MfaStorage = {
      getItem: () => null,
      setItem: async () => {
        if (++writes === 3) await held
      },
      removeItem: () => undefined,
    }
    const client = createMfaClient({
      baseUrl: sim.baseUrl,
      storage,
      webauthn: { create: () => Promise.reject(new Error('unused')), get: async () => ASSERTION },
    })
    const a = await client.beginFlow(ADA)
    const b = await client.beginFlow(ADA)
    const first = client.performAction('passkey:tx', { session: a.session ?? '', txPayload: 'A' })
    await vi.waitFor(() => expect(writes).toBe(3))
    await client.performAction('passkey:tx', { session: b.session ?? '', txPayload: 'B' })
    release()
    expect((await first).payloadSignature).toBe('tx-sess-1')
  })

  it('runs a real flow with the simulator and a software authenticator', async () => {
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['passkey:reg'] } : { complete: true }))
    const client = createMfaClient({
      baseUrl: sim.baseUrl,
      webauthn: createSoftwareAuthenticator(),
    })
    const begun = await client.beginFlow('new@example.com')
    expect(begun.nextAction).toBe('passkey:reg')
    const done = await client.performAction('passkey:reg', { session: begun.session ?? '' })
    expect(done).toMatchObject({ isComplete: true, flow: 'signUp' })
    expect(done.passkeyCredential?.creationResult).toBeDefined()
  })
})

describe('state', () => {
  function memoryStorage(): MfaStorage & { data: Map<string, string> } {
    const data = new Map<string, string>()
    return {
      data,
      getItem: async (k) => data.get(k) ?? null,
      setItem: (k, v) => void data.set(k, v),
      removeItem: (k) => void data.delete(k),
    }
  }

  it('keeps the flow in storage so another client can resume it, and remembers the device id', async () => {
    const storage = memoryStorage()
    const first = createMfaClient({ baseUrl: sim.baseUrl, storage })
    await first.beginFlow(ADA)
    expect(JSON.parse(storage.data.get('LoginID_sim-app_mfa-session') ?? '{}')).toMatchObject({
      username: ADA,
      session: expect.any(String),
    })
    const second = createMfaClient({ baseUrl: sim.baseUrl, storage })
    expect(await second.getMfaSessionDetails()).toMatchObject({
      nextAction: 'external',
      isComplete: false,
    })
    const done = await second.performAction('external', { payload: sim.grantExternalAuth(ADA) })
    expect(done).toMatchObject({ isComplete: true, username: ADA })
    expect(storage.data.get('LoginID_sim-app_device-id')).toBe(done.deviceId)
    expect([...storage.data.values()].join()).not.toContain(done.accessToken)
    expect(await second.getMfaSessionDetails()).toMatchObject({
      isComplete: true,
      accessToken: done.accessToken,
    })

    await createMfaClient({ baseUrl: sim.baseUrl, storage }).beginFlow(ADA)
    const begin = sim.requests.filter((r) => r.path.endsWith('/begin'))[1]
    expect((begin?.body as { deviceInfo: { deviceId?: string } }).deviceInfo.deviceId).toBe(
      done.deviceId,
    )
  })

  it('maps a failing storage to ERR_STORAGE', async () => {
    const storage: MfaStorage = {
      getItem: () => null,
      setItem: () => {
        throw new Error('quota')
      },
      removeItem: () => undefined,
    }
    await expect(
      createMfaClient({ baseUrl: sim.baseUrl, storage }).beginFlow(ADA),
    ).rejects.toMatchObject({
      code: 'ERR_STORAGE',
    })
  })

  it('keeps concurrent flows apart by session', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl })
    const a = await client.beginFlow(ADA)
    const b = await client.beginFlow('new@example.com')
    const doneA = await client.performAction('external', {
      session: a.session ?? '',
      payload: sim.grantExternalAuth(ADA),
    })
    expect(doneA).toMatchObject({ isComplete: true, username: ADA, flow: 'signIn' })
    const doneB = await client.performAction('external', {
      session: b.session ?? '',
      payload: sim.grantExternalAuth('new@example.com'),
    })
    expect(doneB).toMatchObject({ isComplete: true, username: 'new@example.com', flow: 'signUp' })
  })
})
