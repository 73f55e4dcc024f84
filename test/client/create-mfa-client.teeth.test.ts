// Tests with teeth for the built-in client (issue 16): createMfaClient and fetchGrantToken over a
// scripted `fetch` (the public `fetch` option), so each test sees exactly what was sent and
// chooses what LoginID answers. Each test fails when a deliberate breakage that the other tests let
// through is applied. What an app relies on: the requests (path, headers, body), the results, the
// error codes and fields, what is stored, and that nothing sent comes back in an error.
import { describe, expect, it, vi } from 'vitest'
import { createMfaClient, fetchGrantToken } from '../../src/index.js'
import type {
  CreateMfaClientOptions,
  MfaActionBody,
  MfaStorage,
  WebAuthnAdapter,
} from '../../src/index.js'
import { exposed, failure } from '../support/mfa-errors.js'
import { memoryStorage, passkeyFixtures } from './helpers.js'

const BASE = 'https://tenant.api.loginid.io'
const ADA = 'ada@example.com'
const b64url = (value: unknown): string =>
  btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
const {
  requestOptions: REQUEST_OPTIONS,
  creationOptions: CREATION_OPTIONS,
  assertion: ASSERTION,
} = passkeyFixtures('tenant')

interface Sent {
  url: string
  path: string
  headers: Record<string, string>
  body: Record<string, unknown>
  init: RequestInit
}
type Reply = Response | Error | ((sent: Sent) => Response | Promise<Response>)

const json = (status: number, body: unknown, type = 'application/json'): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } })
const more = (next: MfaActionBody[], session = 'sess-1', flow = 'signIn'): Response =>
  json(401, { flow, msg: 'more', msgCode: 'additional_auth_required', session, next })
const action = (name: string, options: MfaActionBody['options'] = []): MfaActionBody => ({
  action: { name, label: `${name} label` },
  options,
})

/** A fetch answering each request with the next reply (the last one repeats); records requests. */
function scriptedFetch(...replies: Reply[]) {
  const sent: Sent[] = []
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input)
    const entry: Sent = {
      url,
      path: new URL(url, 'http://relative.invalid').pathname,
      headers: { ...(init.headers as Record<string, string>) },
      body: JSON.parse(String(init.body)) as Record<string, unknown>,
      init,
    }
    sent.push(entry)
    const reply = replies[Math.min(sent.length, replies.length) - 1]
    if (reply === undefined) throw new Error('no scripted reply')
    if (reply instanceof Error) throw reply
    // A clone: a scripted answer can be read again (the last one repeats).
    return typeof reply === 'function' ? reply(entry) : reply.clone()
  })
  return {
    fetch: fetch as unknown as typeof globalThis.fetch,
    sent,
    paths: () => sent.map((s) => s.path),
  }
}

function client(f: { fetch: typeof fetch }, extra: Partial<CreateMfaClientOptions> = {}) {
  return createMfaClient({ baseUrl: BASE, fetch: f.fetch, trustId: false, ...extra })
}

const adapter = (
  extra: Partial<WebAuthnAdapter> = {},
): WebAuthnAdapter & {
  create: ReturnType<typeof vi.fn>
  get: ReturnType<typeof vi.fn>
} =>
  ({
    create: vi.fn(async () => ({ id: 'new-cred' })),
    get: vi.fn(async () => ASSERTION),
    ...extra,
  }) as never

describe('createMfaClient: options', () => {
  it.each([
    ['an empty appId', { appId: '' }],
    ['a trustId that is not a boolean', { trustId: 'yes' }],
    ['a webauthn adapter without create', { webauthn: { get() {} } }],
    ['a stateStorage without getItem', { stateStorage: { setItem() {}, removeItem() {} } }],
    ['options that are not an object', null],
  ])('rejects %s with ERR_INVALID_ARGUMENT', (_, extra) => {
    const f = scriptedFetch()
    expect(() =>
      createMfaClient(
        extra === null ? (null as never) : ({ baseUrl: BASE, fetch: f.fetch, ...extra } as never),
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })

  it('derives the app id from the host for its storage keys, or takes the given one', async () => {
    const storage = memoryStorage()
    const f = scriptedFetch(more([action('external')]))
    await client(f, { stateStorage: storage }).beginFlow(ADA)
    expect(storage.map.has('LoginID_tenant_mfa-session')).toBe(true)
    const other = memoryStorage()
    await client(f, { stateStorage: other, appId: 'custom' }).beginFlow(ADA)
    expect(other.map.has('LoginID_custom_mfa-session')).toBe(true)
  })
})

describe('beginFlow: the request', () => {
  it('POSTs the user and device to /begin as JSON, without a session or cookies', async () => {
    const f = scriptedFetch(more([action('external')]))
    const result = await client(f).beginFlow(ADA)
    expect(f.sent).toHaveLength(1)
    const [req] = f.sent
    expect(req!.url).toBe(`${BASE}/fido2/v2/mfa/begin`)
    expect(req!.init).toMatchObject({ method: 'POST', credentials: 'omit', redirect: 'manual' })
    expect(req!.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' })
    expect(req!.body).toEqual({
      user: { username: ADA, usernameType: 'other', displayName: ADA },
      deviceInfo: { clientType: 'other' },
      trustItems: {},
    })
    expect(result).toEqual({
      remainingFactors: [{ type: 'external', label: 'external label' }],
      isComplete: false,
      flow: 'signIn',
      username: ADA,
      session: 'sess-1',
      nextAction: 'external',
    })
  })

  it('sends every begin option LoginIDMfa sends', async () => {
    const f = scriptedFetch(more([action('external')]))
    await client(f).beginFlow(ADA, {
      displayName: 'Ada L.',
      usernameType: 'email',
      name: 'Ada Lovelace',
      phone: '+15550001111',
      deviceId: 'dev-given',
      txPayload: 'pay-me',
      traceId: 'trace-1',
      checkoutId: 'checkout-1',
    })
    expect(f.sent[0]!.body).toEqual({
      user: {
        username: ADA,
        usernameType: 'email',
        displayName: 'Ada L.',
        name: 'Ada Lovelace',
        phone: '+15550001111',
      },
      deviceInfo: { clientType: 'other', deviceId: 'dev-given' },
      trustItems: { merchant: 'checkout-1' },
      payload: 'pay-me',
      traceId: 'trace-1',
    })
  })

  it('prefers merchantTrustId over checkoutId', async () => {
    const f = scriptedFetch(more([action('external')]))
    await client(f).beginFlow(ADA, { merchantTrustId: 'm-1', checkoutId: 'c-1' })
    expect(f.sent[0]!.body.trustItems).toEqual({ merchant: 'm-1' })
  })

  it.each([
    ['a blank username', () => ['  ']],
    ['a non-string username', () => [42]],
    ['options that are not an object', () => [ADA, 'x']],
    ['null options', () => [ADA, null]],
  ])('rejects %s before any request', async (_, args) => {
    const f = scriptedFetch(more([action('external')]))
    const c = client(f) as unknown as { beginFlow: (...a: unknown[]) => Promise<unknown> }
    expect((await failure(c.beginFlow(...args()))).code).toBe('ERR_INVALID_ARGUMENT')
    expect(f.sent).toHaveLength(0)
  })

  it('sends the device id LoginID gave on completion with the next begin', async () => {
    const storage = memoryStorage()
    const f = scriptedFetch(
      more([action('external')]),
      json(200, { accessToken: 'at-1', deviceId: 'dev-from-loginid' }),
      more([action('external')]),
    )
    const c = client(f, { stateStorage: storage })
    await c.beginFlow(ADA)
    await c.performAction('external', { payload: 'grant' })
    expect(storage.map.get('LoginID_tenant_device-id')).toBe('dev-from-loginid')
    await c.beginFlow(ADA)
    expect(f.sent[2]!.body.deviceInfo).toEqual({
      clientType: 'other',
      deviceId: 'dev-from-loginid',
    })
    // A new client (a page load) reads it from the storage.
    const g = scriptedFetch(more([action('external')]))
    await client(g, { stateStorage: storage }).beginFlow(ADA)
    expect(g.sent[0]!.body.deviceInfo).toEqual({
      clientType: 'other',
      deviceId: 'dev-from-loginid',
    })
  })
})

describe('LoginID answers', () => {
  it('a 401 with a session continues; without one it is ERR_SESSION_INVALID with its fields', async () => {
    const f = scriptedFetch(json(401, { msg: 'no', msgCode: 'user_not_found' }))
    const err = await failure(client(f).beginFlow(ADA))
    expect([err.code, err.status, err.msgCode, err.method, err.path]).toEqual([
      'ERR_SESSION_INVALID',
      401,
      'user_not_found',
      'POST',
      '/fido2/v2/mfa/begin',
    ])
  })

  it('a 401 with an empty session is not a continuation', async () => {
    const f = scriptedFetch(json(401, { msgCode: 'x', session: '', next: [] }))
    expect((await failure(client(f).beginFlow(ADA))).code).toBe('ERR_SESSION_INVALID')
  })

  it.each([
    ['a 2xx other than 200', json(201, { accessToken: 'at-201' })],
    ['a 299', json(299, { accessToken: 'at-201' })],
  ])('takes %s as success', async (_, reply) => {
    const f = scriptedFetch(more([action('external')]), reply)
    const c = client(f)
    await c.beginFlow(ADA)
    expect(await c.performAction('external', { payload: 'g' })).toMatchObject({
      isComplete: true,
      accessToken: 'at-201',
    })
  })

  it('a 5xx is ERR_LOGINID_UNAVAILABLE with its status and msgCode', async () => {
    const f = scriptedFetch(json(500, { msg: 'down', msgCode: 'internal' }))
    const err = await failure(client(f).beginFlow(ADA))
    expect([err.code, err.status, err.msgCode]).toEqual([
      'ERR_LOGINID_UNAVAILABLE',
      500,
      'internal',
    ])
  })

  it.each([
    ['a body that is not an object', json(200, 'text')],
    ['a next that is not a list', json(401, { session: 's', next: { action: {} } })],
    ['neither tokens nor a session', json(200, { flow: 'signIn', next: [] })],
    ['an accessToken that is not a string', json(200, { accessToken: 42 })],
    ['an empty idToken', json(200, { accessToken: 'at', idToken: '' })],
    ['a refreshToken object', json(200, { accessToken: 'at', refreshToken: {} })],
    ['a payloadSignature number', json(200, { payloadSignature: 1 })],
  ])('%s is ERR_BAD_RESPONSE naming the path', async (_, reply) => {
    const f = scriptedFetch(reply)
    const err = await failure(client(f).beginFlow(ADA))
    expect([err.code, err.method, err.path]).toEqual([
      'ERR_BAD_RESPONSE',
      'POST',
      '/fido2/v2/mfa/begin',
    ])
  })

  it('null tokens are as absent', async () => {
    const f = scriptedFetch(json(200, { accessToken: 'at', idToken: null, refreshToken: null }))
    expect(await client(f).beginFlow(ADA)).toMatchObject({ isComplete: true, accessToken: 'at' })
  })

  it('completion carries every token, the device id and the passkey info', async () => {
    const passkeyInfo = { passkeyId: 'pk', aaguid: 'a', name: 'n', publicKey: 'k' }
    const f = scriptedFetch(
      more([action('external')], 'sess-1', 'signup'),
      json(200, {
        accessToken: 'at',
        idToken: 'it',
        refreshToken: 'rt',
        payloadSignature: 'ps',
        deviceId: 'dev',
        passkeyInfo,
      }),
    )
    const c = client(f)
    const begun = await c.beginFlow(ADA)
    expect(begun.flow).toBe('signUp')
    const done = await c.performAction('external', { payload: 'g' })
    expect(done).toEqual({
      remainingFactors: [],
      isComplete: true,
      flow: 'signUp',
      username: ADA,
      accessToken: 'at',
      idToken: 'it',
      refreshToken: 'rt',
      payloadSignature: 'ps',
      deviceId: 'dev',
      passkeyCredential: passkeyInfo,
    })
    expect(await c.getMfaSessionDetails()).toEqual(done)
  })

  it('a later flow clears the tokens getMfaSessionDetails reports', async () => {
    const f = scriptedFetch(
      more([action('external')]),
      json(200, { accessToken: 'at' }),
      more([action('otp:email', [{ value: 'e', name: 'email:primary', label: 'a@x' }])], 'sess-2'),
    )
    const c = client(f)
    await c.beginFlow(ADA)
    await c.performAction('external', { payload: 'g' })
    expect((await c.getMfaSessionDetails()).accessToken).toBe('at')
    await c.beginFlow(ADA)
    const details = await c.getMfaSessionDetails()
    expect(details).toMatchObject({ isComplete: false, session: 'sess-2', nextAction: 'otp:email' })
    expect(details.accessToken).toBeUndefined()
  })

  it('never echoes the session or what was sent into an error', async () => {
    const session = 'session-secret-abc'
    const f = scriptedFetch(more([action('external')], session), (sent) =>
      json(400, {
        msg: `bad ${String(sent.body.token)} with ${sent.headers.Authorization}`,
        msgCode: `c-${String(sent.body.token)}`,
      }),
    )
    const c = client(f)
    await c.beginFlow(ADA)
    const err = await failure(c.performAction('external', { payload: 'grant-secret-xyz' }))
    expect(f.sent[1]!.headers.Authorization).toBe(session)
    expect(err.code).toBe('ERR_BAD_REQUEST')
    const text = exposed(err)
    expect(text).not.toContain(session)
    expect(text).not.toContain('grant-secret-xyz')
  })
})

describe('performAction', () => {
  async function begun(next: MfaActionBody[], ...replies: Reply[]) {
    const f = scriptedFetch(more(next), ...replies)
    const webauthn = adapter()
    const c = client(f, { webauthn })
    await c.beginFlow(ADA)
    return { f, c, webauthn }
  }

  it.each([
    ['an unknown factor', ['nope']],
    ['options that are not an object', ['external', 'x']],
    ['null options', ['external', null]],
    ['external without a payload', ['external', {}]],
    ['otp:verify with an empty payload', ['otp:verify', { payload: '' }]],
  ])('rejects %s before any request', async (_, args) => {
    const { f, c } = await begun([action('external')])
    const perform = c.performAction as unknown as (...a: unknown[]) => Promise<unknown>
    expect((await failure(perform(...args))).code).toBe('ERR_INVALID_ARGUMENT')
    expect(f.sent).toHaveLength(1)
  })

  it('needs a session: none before beginFlow', async () => {
    const f = scriptedFetch(json(200, {}))
    expect((await failure(client(f).performAction('external', { payload: 'g' }))).code).toBe(
      'ERR_INVALID_ARGUMENT',
    )
    expect(f.sent).toHaveLength(0)
  })

  it('external sends {token} and otp:verify sends {otp}, each with the session header', async () => {
    const { f, c } = await begun(
      [action('external')],
      more([action('otp:verify')], 'sess-2'),
      json(200, { accessToken: 'at' }),
    )
    await c.performAction('external', { payload: 'grant-1' })
    await c.performAction('otp:verify', { payload: '123456' })
    expect(f.sent.slice(1).map((s) => [s.path, s.headers.Authorization, s.body])).toEqual([
      ['/fido2/v2/mfa/third-party/verify', 'sess-1', { token: 'grant-1' }],
      ['/fido2/v2/mfa/otp/verify', 'sess-2', { otp: '123456' }],
    ])
  })

  describe('OTP request', () => {
    const email = action('otp:email', [
      { value: 'e1', name: 'email:primary', label: 'ada@example.com' },
      { value: 'e2', name: 'email:other', label: 'other@example.com' },
    ])

    it('requests a code for the first contact and keeps the new session', async () => {
      const { f, c } = await begun(
        [email],
        json(200, { session: 'otp-sess' }),
        json(200, { accessToken: 'at' }),
      )
      const requested = await c.performAction('otp:email')
      expect(f.sent[1]).toMatchObject({
        path: '/fido2/v2/mfa/otp/request',
        body: { method: 'email', option: 'ada@example.com' },
        headers: { Authorization: 'sess-1' },
      })
      expect(requested).toMatchObject({
        session: 'otp-sess',
        nextAction: 'otp:email',
        username: ADA,
      })
      expect(requested.remainingFactors[0]!.options).toEqual([
        'ada@example.com',
        'other@example.com',
      ])
      await c.performAction('otp:verify', { payload: '1' })
      expect(f.sent[2]!.headers.Authorization).toBe('otp-sess')
    })

    it('takes the contact from the payload, and sms as its method', async () => {
      const sms = action('otp:sms', [{ value: 's', name: 'phone', label: '+1555' }])
      const { f, c } = await begun([sms], json(200, { session: 'otp-sess' }))
      await c.performAction('otp:sms', { payload: '+1999' })
      expect(f.sent[1]!.body).toEqual({ method: 'sms', option: '+1999' })
    })

    it('fails with ERR_OTP_NO_CONTACT when LoginID lists none, before any request', async () => {
      const { f, c } = await begun([action('otp:email')])
      expect((await failure(c.performAction('otp:email'))).code).toBe('ERR_OTP_NO_CONTACT')
      expect(f.sent).toHaveLength(1)
    })

    it('an answer without a session is ERR_BAD_RESPONSE; a 401 with one continues', async () => {
      const { c } = await begun([email], json(200, { session: '' }))
      const err = await failure(c.performAction('otp:email'))
      expect([err.code, err.path]).toEqual(['ERR_BAD_RESPONSE', '/fido2/v2/mfa/otp/request'])
      const { c: c2 } = await begun([email], more([action('external')], 'sess-9'))
      expect(await c2.performAction('otp:email')).toMatchObject({
        session: 'sess-9',
        nextAction: 'external',
      })
    })
  })

  describe('passkeys', () => {
    const auth = action('passkey:auth', [{ value: b64url(REQUEST_OPTIONS), name: 'passkey' }])
    const reg = action('passkey:reg', [{ value: b64url(CREATION_OPTIONS), name: 'passkey' }])

    it('runs the assertion with the request options and posts it to passkey/auth', async () => {
      const afterSignIn = vi.fn()
      const f = scriptedFetch(more([auth]), json(200, { accessToken: 'at' }))
      const webauthn = adapter({ afterSignIn })
      const c = client(f, { webauthn })
      await c.beginFlow(ADA)
      const signal = new AbortController().signal
      const done = await c.performAction('passkey:auth', { signal, autoFill: true })
      expect(webauthn.get).toHaveBeenCalledWith(REQUEST_OPTIONS, signal, { autoFill: true })
      expect(f.sent[1]).toMatchObject({
        path: '/fido2/v2/mfa/passkey/auth',
        headers: { Authorization: 'sess-1' },
        body: { assertionResult: ASSERTION },
      })
      expect(done.accessToken).toBe('at')
      expect(afterSignIn).toHaveBeenCalledWith(
        expect.objectContaining({ baseUrl: BASE, result: done, options: REQUEST_OPTIONS }),
      )
    })

    it('passes no autoFill extra unless asked', async () => {
      const { c, webauthn } = await begun([auth], json(200, { accessToken: 'at' }))
      await c.performAction('passkey:auth')
      expect(webauthn.get).toHaveBeenCalledWith(REQUEST_OPTIONS, undefined, {})
    })

    it('a throwing afterSignIn does not undo the sign-in', async () => {
      const f = scriptedFetch(more([auth]), json(200, { accessToken: 'at' }))
      const c = client(f, {
        webauthn: adapter({
          afterSignIn: () => {
            throw new Error('bug')
          },
        }),
      })
      await c.beginFlow(ADA)
      expect((await c.performAction('passkey:auth')).accessToken).toBe('at')
    })

    it('registers with the creation options (displayName applied) at passkey/reg, no afterSignIn', async () => {
      const afterSignIn = vi.fn()
      const f = scriptedFetch(more([reg]), json(200, { accessToken: 'at' }))
      const webauthn = adapter({ afterSignIn })
      const c = client(f, { webauthn })
      await c.beginFlow(ADA)
      await c.performAction('passkey:reg', { displayName: 'Ada on laptop' })
      expect(webauthn.create).toHaveBeenCalledWith(
        { ...CREATION_OPTIONS, user: { ...CREATION_OPTIONS.user, displayName: 'Ada on laptop' } },
        undefined,
      )
      expect(f.sent[1]).toMatchObject({
        path: '/fido2/v2/mfa/passkey/reg',
        body: { creationResult: { id: 'new-cred' } },
      })
      expect(afterSignIn).not.toHaveBeenCalled()
    })

    it('a passkey:reg offering request options signs in at passkey/auth', async () => {
      const odd = action('passkey:reg', [{ value: b64url(REQUEST_OPTIONS) }])
      const { f, c, webauthn } = await begun([odd], json(200, { accessToken: 'at' }))
      await c.performAction('passkey:reg')
      expect(webauthn.get).toHaveBeenCalled()
      expect(f.paths()[1]).toBe('/fido2/v2/mfa/passkey/auth')
    })

    it('skips a trust-id option and takes the passkey options after it', async () => {
      const withTrust = action('passkey:auth', [
        { value: 'trust-value', name: 'merchantTrustID' },
        { value: b64url(REQUEST_OPTIONS), name: 'passkey' },
      ])
      const { c, webauthn } = await begun([withTrust], json(200, { accessToken: 'at' }))
      await c.performAction('passkey:auth')
      expect(webauthn.get).toHaveBeenCalledWith(REQUEST_OPTIONS, undefined, {})
    })

    it('uses options given as payload, and refuses a payload that holds none', async () => {
      const { f, c, webauthn } = await begun(
        [action('passkey:auth')],
        json(200, { accessToken: 'at' }),
      )
      const err = await failure(c.performAction('passkey:auth', { payload: b64url({ nope: 1 }) }))
      expect(err.code).toBe('ERR_INVALID_ARGUMENT')
      expect(webauthn.get).not.toHaveBeenCalled()
      await c.performAction('passkey:auth', { payload: b64url(REQUEST_OPTIONS) })
      expect(webauthn.get).toHaveBeenCalledWith(REQUEST_OPTIONS, undefined, {})
      expect(f.sent).toHaveLength(2)
    })

    it('LoginID offering no or bad options: invalid argument vs bad response', async () => {
      const none = await begun([action('passkey:auth')])
      expect((await failure(none.c.performAction('passkey:auth'))).code).toBe(
        'ERR_INVALID_ARGUMENT',
      )
      const bad = await begun([action('passkey:auth', [{ value: b64url({ challenge: 1 }) }])])
      expect((await failure(bad.c.performAction('passkey:auth'))).code).toBe('ERR_BAD_RESPONSE')
      expect(bad.webauthn.get).not.toHaveBeenCalled()
    })

    it('without an adapter: ERR_WEBAUTHN_UNAVAILABLE, nothing posted', async () => {
      const f = scriptedFetch(more([auth]))
      const c = client(f)
      await c.beginFlow(ADA)
      expect((await failure(c.performAction('passkey:auth'))).code).toBe('ERR_WEBAUTHN_UNAVAILABLE')
      expect(f.sent).toHaveLength(1)
    })

    it('a ceremony failure is its ERR_PASSKEY_* code; an abort during it is ERR_ABORTED', async () => {
      const { f, c, webauthn } = await begun([auth])
      webauthn.get.mockRejectedValueOnce(new DOMException('no', 'NotAllowedError'))
      expect((await failure(c.performAction('passkey:auth'))).code).toBe('ERR_PASSKEY_CANCELLED')
      const controller = new AbortController()
      webauthn.get.mockImplementationOnce(async () => {
        controller.abort()
        throw new DOMException('aborted', 'AbortError')
      })
      expect(
        (await failure(c.performAction('passkey:auth', { signal: controller.signal }))).code,
      ).toBe('ERR_ABORTED')
      const reg2 = await begun([reg])
      reg2.webauthn.create.mockRejectedValueOnce(new DOMException('exists', 'InvalidStateError'))
      expect((await failure(reg2.c.performAction('passkey:reg'))).code).toBe('ERR_PASSKEY_EXISTS')
      expect(f.sent).toHaveLength(1)
    })

    it('passkey:tx with txPayload updates the payload first, then signs on the new session', async () => {
      const tx = action('passkey:tx', [{ value: b64url(REQUEST_OPTIONS) }])
      const { f, c, webauthn } = await begun(
        [tx],
        more(
          [action('passkey:tx', [{ value: b64url({ ...REQUEST_OPTIONS, challenge: 'bmV3' }) }])],
          'sess-tx',
        ),
        json(200, { payloadSignature: 'sig' }),
      )
      const done = await c.performAction('passkey:tx', { txPayload: 'pay 10' })
      expect(f.sent.slice(1).map((s) => [s.path, s.headers.Authorization, s.body])).toEqual([
        ['/fido2/v2/mfa/payload', 'sess-1', { payload: 'pay 10' }],
        ['/fido2/v2/mfa/passkey/tx', 'sess-tx', { assertionResult: ASSERTION }],
      ])
      expect(webauthn.get).toHaveBeenCalledWith(
        { ...REQUEST_OPTIONS, challenge: 'bmV3' },
        undefined,
        {},
      )
      expect(done).toMatchObject({ isComplete: true, payloadSignature: 'sig' })
    })
  })
})

describe('sessions and storage', () => {
  it('keeps each flow by its session: an explicit session uses that flow', async () => {
    const f = scriptedFetch(
      more([action('external')], 'sess-a', 'signUp'),
      more([action('external')], 'sess-b', 'signIn'),
      json(200, { accessToken: 'at-a' }),
    )
    const c = client(f)
    await c.beginFlow('a@example.com')
    await c.beginFlow('b@example.com')
    const done = await c.performAction('external', { payload: 'g', session: 'sess-a' })
    expect(f.sent[2]!.headers.Authorization).toBe('sess-a')
    expect(done).toMatchObject({ username: 'a@example.com', flow: 'signUp' })
  })

  it('remembers the last 32 flows by session, and forgets older ones', async () => {
    const replies = Array.from({ length: 33 }, (_, i) =>
      more([action('external')], `sess-${i}`, 'signUp'),
    )
    const f = scriptedFetch(...replies, json(200, { accessToken: 'at' }))
    const c = client(f)
    for (let i = 0; i < 32; i++) await c.beginFlow(`u${i}@example.com`)
    // 32 flows: the first is still known (its username and flow come back).
    const g = scriptedFetch(...replies.slice(0, 32), json(200, { accessToken: 'at' }))
    const c32 = client(g)
    for (let i = 0; i < 32; i++) await c32.beginFlow(`u${i}@example.com`)
    expect(await c32.performAction('external', { payload: 'g', session: 'sess-0' })).toMatchObject({
      username: 'u0@example.com',
      flow: 'signUp',
    })
    // 33 flows: the first is forgotten (its session still works, its details are gone).
    await c.beginFlow('u32@example.com')
    const old = await c.performAction('external', { payload: 'g', session: 'sess-0' })
    expect(old.username).toBeUndefined()
    expect(old.flow).toBeUndefined()
    expect(f.sent.at(-1)!.headers.Authorization).toBe('sess-0')
  })

  it('an unknown explicit session is sent as is', async () => {
    const f = scriptedFetch(more([action('external')], 'sess-1'), json(200, { accessToken: 'at' }))
    const c = client(f)
    await c.beginFlow(ADA)
    const done = await c.performAction('external', { payload: 'g', session: 'elsewhere' })
    expect(f.sent[1]!.headers.Authorization).toBe('elsewhere')
    expect(done.username).toBeUndefined()
  })

  it('a new client resumes the current flow from stateStorage; a corrupt entry is none', async () => {
    const storage = memoryStorage()
    const f = scriptedFetch(
      more([action('external')], 'sess-stored', 'signUp'),
      json(200, { accessToken: 'at' }),
    )
    await client(f, { stateStorage: storage }).beginFlow(ADA)
    const stored = JSON.parse(storage.map.get('LoginID_tenant_mfa-session')!) as Record<
      string,
      unknown
    >
    expect(stored).toMatchObject({ username: ADA, flow: 'signUp', session: 'sess-stored' })
    const next = client(f, { stateStorage: storage })
    expect(await next.getMfaSessionDetails()).toMatchObject({
      session: 'sess-stored',
      nextAction: 'external',
    })
    const done = await next.performAction('external', { payload: 'g' })
    expect(f.sent[1]!.headers.Authorization).toBe('sess-stored')
    expect(done).toMatchObject({ username: ADA, flow: 'signUp', accessToken: 'at' })
    // Completion stores the flow without its session or tokens.
    const after = storage.map.get('LoginID_tenant_mfa-session')!
    expect(after).not.toContain('sess-stored')
    expect(after).not.toContain('"at"')

    for (const raw of ['{not json', '"a string"', '42']) {
      storage.map.set('LoginID_tenant_mfa-session', raw)
      const fresh = client(scriptedFetch(), { stateStorage: storage })
      expect(await fresh.getMfaSessionDetails()).toEqual({
        remainingFactors: [],
        isComplete: false,
      })
      expect((await failure(fresh.performAction('external', { payload: 'g' }))).code).toBe(
        'ERR_INVALID_ARGUMENT',
      )
    }
  })

  it.each(['getItem', 'setItem'] as const)(
    'a storage whose %s throws is ERR_STORAGE with the cause',
    async (method) => {
      const storage: MfaStorage = { ...memoryStorage() }
      const boom = new Error('quota')
      storage[method] = () => {
        throw boom
      }
      const f = scriptedFetch(more([action('external')]))
      const err = await failure(client(f, { stateStorage: storage }).beginFlow(ADA))
      expect(err.code).toBe('ERR_STORAGE')
      expect(err.cause).toBe(boom)
    },
  )
})

describe('requests: the transport', () => {
  it('an already aborted signal sends nothing', async () => {
    const f = scriptedFetch(more([action('external')]))
    const controller = new AbortController()
    controller.abort()
    const err = await failure(client(f).beginFlow(ADA, { signal: controller.signal }))
    expect([err.code, err.method, err.path]).toEqual(['ERR_ABORTED', 'POST', '/fido2/v2/mfa/begin'])
    expect(f.sent).toHaveLength(0)
  })

  it('an abort reason that is an MfaError is kept', async () => {
    const { MfaError } = await import('../../src/index.js')
    const reason = new MfaError('ERR_TIMEOUT', 'deadline')
    const f = scriptedFetch(() => new Promise<Response>(() => undefined))
    const controller = new AbortController()
    const pending = client(f).beginFlow(ADA, { signal: controller.signal })
    await vi.waitFor(() => expect(f.sent).toHaveLength(1))
    controller.abort(reason)
    expect(await failure(pending)).toBe(reason)
    expect(f.sent[0]!.init.signal?.aborted).toBe(true)
  })

  it('times out after timeoutMs and aborts the fetch', async () => {
    vi.useFakeTimers()
    try {
      const f = scriptedFetch(() => new Promise<Response>(() => undefined))
      const pending = failure(client(f, { timeoutMs: 5_000 }).beginFlow(ADA))
      await vi.advanceTimersByTimeAsync(4_999)
      expect(f.sent[0]!.init.signal?.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      const err = await pending
      expect([err.code, err.path]).toEqual(['ERR_TIMEOUT', '/fido2/v2/mfa/begin'])
      expect(f.sent[0]!.init.signal?.aborted).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a network failure is ERR_NETWORK without the fetch error', async () => {
    const leak = new TypeError('failed with Authorization: sess-secret-123')
    const f = scriptedFetch(more([action('external')], 'sess-secret-123'), leak)
    const c = client(f)
    await c.beginFlow(ADA)
    const err = await failure(c.performAction('external', { payload: 'g' }))
    expect([err.code, err.path]).toEqual(['ERR_NETWORK', '/fido2/v2/mfa/third-party/verify'])
    expect(err.cause).toBeUndefined()
    expect(exposed(err)).not.toContain('sess-secret-123')
  })

  it.each([
    [
      'a 302',
      () => new Response(null, { status: 302, headers: { location: 'https://evil.example' } }),
    ],
    ['an opaque redirect', () => opaque()],
  ])('refuses %s with ERR_BAD_RESPONSE', async (_, reply) => {
    const f = scriptedFetch(reply)
    const err = await failure(client(f).beginFlow(ADA))
    expect(err.code).toBe('ERR_BAD_RESPONSE')
    expect(f.sent).toHaveLength(1)
  })

  it('a body cut off is ERR_NETWORK', async () => {
    const body = new ReadableStream({
      start(c) {
        c.error(new Error('reset'))
      },
    })
    const f = scriptedFetch(
      () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
    )
    expect((await failure(client(f).beginFlow(ADA))).code).toBe('ERR_NETWORK')
  })

  it('parses JSON without a content type, keeps text otherwise', async () => {
    const untyped = scriptedFetch(() => {
      const r = new Response(JSON.stringify({ msg: 'm', msgCode: 'json_without_type' }), {
        status: 400,
      })
      r.headers.delete('content-type')
      return r
    })
    expect((await failure(client(untyped).beginFlow(ADA))).msgCode).toBe('json_without_type')
    const text = scriptedFetch(
      () =>
        new Response('{"msgCode":"looks_like_json"}', {
          status: 400,
          headers: { 'content-type': 'text/plain' },
        }),
    )
    const err = await failure(client(text).beginFlow(ADA))
    expect(err.code).toBe('ERR_BAD_REQUEST')
    expect(err.msgCode).toBeUndefined()
  })
})

/** A Response as fetch returns for a redirect with `redirect: 'manual'` in a browser. */
function opaque(): Response {
  const r = new Response(null, { status: 200 })
  Object.defineProperty(r, 'type', { value: 'opaqueredirect' })
  Object.defineProperty(r, 'status', { value: 0 })
  return r
}

describe('fetchGrantToken', () => {
  /** A provider for /api/grant over `f`, asked once. */
  const grant = (f: { fetch: typeof fetch }, extra: Record<string, unknown> = {}) =>
    Promise.resolve(fetchGrantToken('/api/grant', { fetch: f.fetch })(ctx(extra)))
  const ctx = (extra: Record<string, unknown> = {}) =>
    ({
      proof: { password: 'pw' },
      username: ADA,
      session: 'sess-grant-secret',
      flow: 'signIn',
      reason: 'newDevice',
      remainingFactors: [],
      attempt: 1,
      signal: new AbortController().signal,
      ...extra,
    }) as never

  it('POSTs proof, username and session with the cookies, and returns the token', async () => {
    const f = scriptedFetch(json(200, { token: 'grant-1' }))
    const provider = fetchGrantToken('https://app.example/api/grant', {
      fetch: f.fetch,
      headers: { 'x-csrf': 't' },
    })
    expect(await provider(ctx())).toBe('grant-1')
    expect(f.sent[0]).toMatchObject({
      url: 'https://app.example/api/grant',
      headers: { 'content-type': 'application/json', 'x-csrf': 't' },
      body: { proof: { password: 'pw' }, username: ADA, session: 'sess-grant-secret' },
      init: { method: 'POST', credentials: 'include' },
    })
  })

  it('honours credentials and timeoutMs', async () => {
    vi.useFakeTimers()
    try {
      const f = scriptedFetch(() => new Promise<Response>(() => undefined))
      const provider = fetchGrantToken('https://app.example/api/grant', {
        fetch: f.fetch,
        credentials: 'omit',
        timeoutMs: 100,
      })
      const pending = failure(Promise.resolve(provider(ctx())))
      await vi.advanceTimersByTimeAsync(100)
      const err = await pending
      expect(err.code).toBe('ERR_TOKEN_PROVIDER')
      expect((err.cause as { code?: string }).code).toBe('ERR_TIMEOUT')
      expect(f.sent[0]!.init.credentials).toBe('omit')
    } finally {
      vi.useRealTimers()
    }
  })

  it.each([
    ['a 200 without a token', json(200, {}), 200, undefined],
    ['a 200 with an empty token', json(200, { token: '' }), 200, undefined],
    ['a 200 with a numeric token', json(200, { token: 7 }), 200, undefined],
    ['a 302', new Response(null, { status: 302 }), undefined, undefined],
    ['a 403 with LoginID msgCode', json(403, { msgCode: 'forbidden_user' }), 403, 'forbidden_user'],
    ['a 401 with the route error', json(401, { error: 'proof_rejected' }), 401, 'proof_rejected'],
    ['a 500 with an empty error', json(500, { error: '' }), 500, undefined],
    ['a 400 text body', new Response('nope', { status: 400 }), 400, undefined],
    [
      'a 300-299 boundary (a 2xx with a token is fine only below 300)',
      json(300, { token: 't' }),
      undefined,
      undefined,
    ],
  ])('%s is ERR_TOKEN_PROVIDER with its status and msgCode', async (_, reply, status, msgCode) => {
    const f = scriptedFetch(reply)
    const err = await failure(grant(f))
    expect(err.code).toBe('ERR_TOKEN_PROVIDER')
    expect(err.status).toBe(status)
    expect(err.msgCode).toBe(msgCode)
    if (status !== undefined) expect([err.method, err.path]).toEqual(['POST', '/api/grant'])
  })

  it('redacts the session from an echoed msgCode', async () => {
    const f = scriptedFetch(json(401, { msgCode: 'bad sess-grant-secret here' }))
    const err = await failure(grant(f))
    expect(exposed(err)).not.toContain('sess-grant-secret')
  })

  it('an abort of the run is ERR_ABORTED, a network failure ERR_TOKEN_PROVIDER', async () => {
    const controller = new AbortController()
    const f = scriptedFetch(() => {
      controller.abort()
      return new Promise<Response>(() => undefined)
    })
    const err = await failure(grant(f, { signal: controller.signal }))
    expect(err.code).toBe('ERR_ABORTED')
    const g = scriptedFetch(new TypeError('offline'))
    const net = await failure(grant(g))
    expect(net.code).toBe('ERR_TOKEN_PROVIDER')
    expect((net.cause as { code?: string }).code).toBe('ERR_NETWORK')
  })

  it.each([
    ['an empty url', ['']],
    ['a blank url', ['  ']],
    ['a url that is not a string', [42]],
    ['timeoutMs 0', ['/api', { timeoutMs: 0 }]],
  ])('rejects %s at once', (_, args) => {
    expect(() => (fetchGrantToken as (...a: unknown[]) => unknown)(...args)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })
})

describe('results as LoginIDMfa derives them', () => {
  it('maps odd actions and options as the SDK does', async () => {
    const f = scriptedFetch(
      json(401, {
        flow: 'SIGNIN',
        session: 's',
        deviceId: 'dev-on-incomplete',
        next: [
          { action: { name: 'external', label: 7, desc: '' } },
          {
            action: { name: 'otp:email', label: 'Email' },
            options: [{ label: '' }, { label: 3 }, { label: 'a@x' }],
          },
          { action: { name: 'otp:sms', label: 'SMS' }, options: [{ label: '' }] },
          {
            action: { name: 'passkey:tx', label: 'Tx' },
            options: [
              { value: '' },
              { name: 'walletTrustID', value: 'w' },
              { value: 5 },
              { value: 'opts' },
            ],
          },
          {
            action: { name: 'passkey:reg', label: 'Reg' },
            options: [{ name: 'merchantTrustID', value: 'm' }],
          },
        ],
      }),
    )
    const result = await client(f).beginFlow(ADA)
    expect(result).toEqual({
      flow: 'signIn',
      session: 's',
      username: ADA,
      isComplete: false,
      nextAction: 'passkey:reg',
      remainingFactors: [
        { type: 'external', label: 'external' },
        { type: 'otp:email', label: 'Email', options: ['a@x'] },
        { type: 'otp:sms', label: 'SMS' },
        { type: 'passkey:tx', label: 'Tx', value: 'opts' },
        { type: 'passkey:reg', label: 'Reg' },
      ],
    })
  })

  it('keeps the flow it knows when a later answer names none it understands', async () => {
    const f = scriptedFetch(
      more([action('external')], 's1', 'signUp'),
      json(401, { flow: 'somethingElse', session: 's2', next: [action('otp:sms')] }),
    )
    const c = client(f)
    await c.beginFlow(ADA)
    expect(await c.performAction('external', { payload: 'g' })).toMatchObject({
      flow: 'signUp',
      session: 's2',
      nextAction: 'otp:sms',
    })
  })

  it('an answer with no known action has no nextAction and no flow', async () => {
    const f = scriptedFetch(
      json(401, { session: 's', next: [{ action: { name: 'face:scan', label: 'F' } }] }),
    )
    const result = await client(f).beginFlow(ADA)
    expect(result).toEqual({
      session: 's',
      username: ADA,
      isComplete: false,
      remainingFactors: [{ type: 'face:scan', label: 'F' }],
    })
  })
})

describe('the built-in client, more', () => {
  const email = action('otp:email', [
    { value: 'e1', name: 'email:primary', label: 'ada@example.com' },
  ])

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['options', { $replace: 1 }, /options object/],
    ['appId', { appId: '' }, /appId/],
    ['timeoutMs', { timeoutMs: -1 }, /timeoutMs/],
    ['fetch', { fetch: 1 }, /fetch/],
    ['trustId', { trustId: 1 }, /trustId/],
    ['webauthn', { webauthn: {} }, /webauthn/],
    [
      'stateStorage without setItem',
      { stateStorage: { getItem() {}, removeItem() {} } },
      /stateStorage/,
    ],
  ])('createMfaClient names a bad %s', (_, extra, pattern) => {
    const options = '$replace' in extra ? extra.$replace : { baseUrl: BASE, ...extra }
    expect(() => createMfaClient(options as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(pattern),
      }),
    )
  })

  it('names what is wrong in a call', async () => {
    const f = scriptedFetch(more([action('external')]))
    const c = client(f)
    const perform = c.performAction as unknown as (...a: unknown[]) => Promise<unknown>
    expect((await failure(c.beginFlow(''))).message).toMatch(/username/)
    expect((await failure(c.beginFlow(ADA, 'x' as never))).message).toMatch(/beginFlow options/)
    expect((await failure(perform('nope'))).message).toMatch(/"nope"/)
    expect((await failure(perform('external', {}))).message).toMatch(/no MFA session/)
    await c.beginFlow(ADA)
    expect((await failure(perform('external', 'x'))).message).toMatch(/performAction options/)
    expect((await failure(perform('otp:verify', {}))).message).toMatch(
      /otp:verify needs options\.payload/,
    )
  })

  it('a 4xx or 5xx carrying a session is an error, not a continuation', async () => {
    for (const status of [400, 403, 500]) {
      const f = scriptedFetch(
        json(status, { msgCode: 'x', session: 'sess-x', next: [action('external')] }),
      )
      const err = await failure(client(f).beginFlow(ADA))
      expect(err.status).toBe(status)
    }
  })

  it('a 401 whose session is not a string is an error', async () => {
    const f = scriptedFetch(json(401, { msgCode: 'x', session: 5, next: [] }))
    expect((await failure(client(f).beginFlow(ADA))).code).toBe('ERR_SESSION_INVALID')
  })

  it('a 200 whose session is not a string is ERR_BAD_RESPONSE', async () => {
    const f = scriptedFetch(json(200, { session: 5, next: [] }))
    const err = await failure(client(f).beginFlow(ADA))
    expect(err.code).toBe('ERR_BAD_RESPONSE')
    expect(err.message).toMatch(/neither tokens nor a session/)
  })

  it('a device id that is not a string is not kept', async () => {
    const storage = memoryStorage()
    const f = scriptedFetch(
      more([action('external')]),
      json(200, { accessToken: 'at', deviceId: 123 }),
      more([action('external')]),
    )
    const c = client(f, { stateStorage: storage })
    await c.beginFlow(ADA)
    await c.performAction('external', { payload: 'g' })
    expect(storage.map.has('LoginID_tenant_device-id')).toBe(false)
    await c.beginFlow(ADA)
    expect(f.sent[2]!.body.deviceInfo).toEqual({ clientType: 'other' })
  })

  it('a replaced session is forgotten; the stored current one is known to a new client', async () => {
    const f = scriptedFetch(
      more([action('external')], 'sess-1', 'signUp'),
      more([action('external')], 'sess-2', 'signUp'),
      json(200, { accessToken: 'at' }),
    )
    const storage = memoryStorage()
    const c = client(f, { stateStorage: storage })
    await c.beginFlow(ADA)
    await c.performAction('external', { payload: 'g' })
    const old = await c.performAction('external', { payload: 'g', session: 'sess-1' })
    expect(old.username).toBeUndefined()
    const g = scriptedFetch(json(200, { accessToken: 'at' }))
    const h = scriptedFetch(more([action('external')], 'sess-3', 'signUp'))
    await client(h, { stateStorage: storage }).beginFlow(ADA)
    const fresh = await client(g, { stateStorage: storage }).performAction('external', {
      payload: 'g',
      session: 'sess-3',
    })
    expect(fresh).toMatchObject({ username: ADA, flow: 'signUp' })
  })

  it('factors LoginID does not offer: no passkey options, no contact', async () => {
    const f = scriptedFetch(more([action('external')]))
    const c = client(f, { webauthn: adapter() })
    await c.beginFlow(ADA)
    expect((await failure(c.performAction('passkey:auth'))).message).toMatch(
      /no passkey options for passkey:auth/,
    )
    const err = await failure(c.performAction('otp:sms'))
    expect(err.code).toBe('ERR_OTP_NO_CONTACT')
    expect(err.message).toMatch(/otp:sms/)
    expect(f.sent).toHaveLength(1)
  })

  it('an OTP request refuses options that are not an object, before any request', async () => {
    const f = scriptedFetch(more([email]))
    const c = client(f)
    await c.beginFlow(ADA)
    const perform = c.performAction as unknown as (...a: unknown[]) => Promise<unknown>
    expect((await failure(perform('otp:email', 'x'))).code).toBe('ERR_INVALID_ARGUMENT')
    expect(f.sent).toHaveLength(1)
  })

  it('an OTP session that is not a string is ERR_BAD_RESPONSE', async () => {
    const f = scriptedFetch(more([email]), json(200, { session: 5 }))
    const c = client(f)
    await c.beginFlow(ADA)
    const err = await failure(c.performAction('otp:email'))
    expect(err.code).toBe('ERR_BAD_RESPONSE')
    expect(err.message).toMatch(/OTP session/)
  })

  it('a txPayload on another passkey factor updates nothing; no displayName changes nothing', async () => {
    const auth = action('passkey:auth', [{ value: b64url(REQUEST_OPTIONS) }])
    const reg = action('passkey:reg', [{ value: b64url(CREATION_OPTIONS) }])
    const f = scriptedFetch(
      more([auth, reg]),
      more([reg], 'sess-2'),
      json(200, { accessToken: 'at' }),
    )
    const webauthn = adapter()
    const c = client(f, { webauthn })
    await c.beginFlow(ADA)
    await c.performAction('passkey:auth', { txPayload: 'pay' })
    await c.performAction('passkey:reg')
    expect(f.paths().slice(1)).toEqual(['/fido2/v2/mfa/passkey/auth', '/fido2/v2/mfa/passkey/reg'])
    expect(webauthn.create).toHaveBeenCalledWith(CREATION_OPTIONS, undefined)
  })

  it('a bad options value from LoginID says so', async () => {
    const f = scriptedFetch(more([action('passkey:auth', [{ value: b64url({ challenge: 1 }) }])]))
    const c = client(f, { webauthn: adapter() })
    await c.beginFlow(ADA)
    expect((await failure(c.performAction('passkey:auth'))).message).toMatch(
      /invalid passkey options/,
    )
    expect((await failure(c.performAction('passkey:auth', { payload: 'e30' }))).message).toMatch(
      /payload holds no passkey options/,
    )
  })

  it('a desc that is not a string is no description', async () => {
    const f = scriptedFetch(
      json(401, { session: 's', next: [{ action: { name: 'external', label: 'E', desc: 5 } }] }),
    )
    expect((await client(f).beginFlow(ADA)).remainingFactors).toEqual([
      { type: 'external', label: 'E' },
    ])
  })
})

describe('the transport, more', () => {
  it('leaves no timer or listener behind, after a success and after a failure', async () => {
    vi.useFakeTimers()
    try {
      const controller = new AbortController()
      const added = vi.spyOn(controller.signal, 'addEventListener')
      const removed = vi.spyOn(controller.signal, 'removeEventListener')
      const f = scriptedFetch(more([action('external')]), new TypeError('offline'))
      const c = client(f)
      await c.beginFlow(ADA, { signal: controller.signal })
      expect(vi.getTimerCount()).toBe(0)
      await failure(c.performAction('external', { payload: 'g', signal: controller.signal }))
      expect(vi.getTimerCount()).toBe(0)
      expect(added).toHaveBeenCalledTimes(2)
      expect(removed.mock.calls.map((c) => c.slice(0, 2))).toEqual(
        added.mock.calls.map((c) => c.slice(0, 2)),
      )
    } finally {
      vi.useRealTimers()
    }
  })

  it('a fetch rejecting with nothing is ERR_NETWORK naming the request', async () => {
    const f = scriptedFetch(() => Promise.reject(null))
    const err = await failure(client(f).beginFlow(ADA))
    expect([err.code, err.method, err.path]).toEqual(['ERR_NETWORK', 'POST', '/fido2/v2/mfa/begin'])
  })

  it("a network error names the fetch error's kind, clipped", async () => {
    const f = scriptedFetch(Object.assign(new Error('x'), { name: 'ConnectTimeoutError' }))
    expect((await failure(client(f).beginFlow(ADA))).message).toMatch(
      /could not reach the server \(ConnectTimeoutError\)/,
    )
    const long = `${'N'.repeat(40)}SECRETSECRET`
    const g = scriptedFetch(Object.assign(new Error('x'), { name: long }))
    const err = await failure(client(g).beginFlow(ADA))
    expect(err.message).toContain('N'.repeat(40))
    expect(err.message).not.toContain('SECRET')
  })

  it('a timeout names the request and its limit', async () => {
    vi.useFakeTimers()
    try {
      const f = scriptedFetch(() => new Promise<Response>(() => undefined))
      const pending = failure(client(f, { timeoutMs: 250 }).beginFlow(ADA))
      await vi.advanceTimersByTimeAsync(250)
      const err = await pending
      expect([err.method, err.path]).toEqual(['POST', '/fido2/v2/mfa/begin'])
      expect(err.message).toMatch(/250 ms/)
    } finally {
      vi.useRealTimers()
    }
  })

  it.each<[string, () => Response]>([
    [
      'an opaque redirect reported with status 200',
      () =>
        Object.defineProperty(json(200, { accessToken: 'at' }), 'type', {
          value: 'opaqueredirect',
        }),
    ],
    [
      'a status under 200',
      () => Object.defineProperty(json(200, { accessToken: 'at' }), 'status', { value: 199 }),
    ],
  ])('refuses %s', async (_, reply) => {
    const f = scriptedFetch(() => reply())
    const err = await failure(client(f).beginFlow(ADA))
    expect(err.code).toBe('ERR_BAD_RESPONSE')
    expect(err.message).toMatch(/refused a redirect/)
  })
})

describe('fetchGrantToken, more', () => {
  const base = {
    proof: 1,
    username: ADA,
    flow: 'signIn',
    reason: 'newDevice',
    remainingFactors: [],
    attempt: 1,
  }
  const ask = (f: { fetch: typeof fetch }, ctx: Record<string, unknown> = {}) =>
    Promise.resolve(fetchGrantToken('/api/grant', { fetch: f.fetch })({ ...base, ...ctx } as never))

  it('a token in a refusal is not used', async () => {
    const err = await failure(
      ask(scriptedFetch(json(403, { token: 'not-for-you', error: 'denied' })), { session: 's' }),
    )
    expect([err.code, err.status, err.msgCode]).toEqual(['ERR_TOKEN_PROVIDER', 403, 'denied'])
    expect(err.message).toMatch(/refused/)
  })

  it('a null body is no token', async () => {
    const ok = await failure(ask(scriptedFetch(json(200, null)), { session: 's' }))
    expect([ok.status, ok.msgCode]).toEqual([200, undefined])
    expect(ok.message).toMatch(/sent no token/)
    const refused = await failure(ask(scriptedFetch(json(401, null)), { session: 's' }))
    expect(refused.status).toBe(401)
  })

  it('works without a signal or a session', async () => {
    const net = await failure(ask(scriptedFetch(new TypeError('offline'))))
    expect(net.code).toBe('ERR_TOKEN_PROVIDER')
    expect(net.message).toMatch(/grant token/)
    const err = await failure(ask(scriptedFetch(json(401, { error: 'proof_rejected' }))))
    expect(err.msgCode).toBe('proof_rejected')
  })

  it('names a bad url or timeoutMs', () => {
    expect(() => fetchGrantToken('')).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/url/) }),
    )
    expect(() => fetchGrantToken('/a', { timeoutMs: 0 })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/timeoutMs/) }),
    )
  })
})
