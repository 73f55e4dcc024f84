// The server entry against the LoginID simulator, over MSW.
import { inspect } from 'node:util'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createMfaClient, fetchGrantToken, runMfa } from '../../src/index.js'
import {
  MfaError,
  createExternalAuthHandler,
  createManagementClient,
  verifyLoginIDToken,
} from '../../src/server.js'
import { SIMULATOR_API_KEY, createLoginIDSimulator } from '../../src/testing.js'

const LIMITED_KEY = 'sim_limited_key_no_external'
const sim = createLoginIDSimulator({
  users: [{ username: 'alice@example.com' }],
  apiKeys: [
    {
      key: SIMULATOR_API_KEY,
      scopes: ['external:verify', 'passkey:read', 'passkey:write', 'reg:write', 'auth:write'],
    },
    { key: LIMITED_KEY, scopes: ['passkey:read'] },
  ],
})
// A second simulator (its own keys) on another host, for short-lived tokens.
const shortSim = createLoginIDSimulator({
  baseUrl: 'https://short-app.api.loginid.test',
  tokenTtlSec: 60,
})
const server = setupServer(...sim.handlers, ...shortSim.handlers)
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  server.resetHandlers()
  sim.reset()
  shortSim.reset()
  vi.useRealTimers()
})
afterAll(() => server.close())

const EXTERNAL_PATH = '/fido2/v2/mgmt/grant/external-auth'
const B64 = (key: string) => Buffer.from(`${key}:`).toString('base64')

function management(apiKey = SIMULATOR_API_KEY, extra = {}) {
  return createManagementClient({ baseUrl: sim.baseUrl, apiKey, retryDelayMs: 1, ...extra })
}

/** Everything an error exposes, nested causes included. */
function exposed(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    parts.push(String(current), JSON.stringify(current) ?? '')
    if (current instanceof Error) parts.push(current.message, current.stack ?? '')
    current = (current as { cause?: unknown }).cause
  }
  return parts.join('\n')
}

async function failure(promise: Promise<unknown>): Promise<MfaError> {
  const error: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(MfaError)
  return error as MfaError
}

/** begin → grant via the management client → third-party/verify, with raw fetch calls. */
async function completeFlow(
  target: { baseUrl: string } = sim,
  username = 'newcomer@example.com',
): Promise<{ accessToken: string; idToken: string }> {
  const begin = await fetch(`${target.baseUrl}/fido2/v2/mfa/begin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username }, deviceInfo: { clientType: 'browser' } }),
  })
  expect(begin.status).toBe(200)
  const { session, next } = (await begin.json()) as {
    session: string
    next: { action: { name: string } }[]
  }
  expect(next.map((n) => n.action.name)).toContain('external')
  const mgmt = createManagementClient({ baseUrl: target.baseUrl, apiKey: SIMULATOR_API_KEY })
  const { token } = await mgmt.grantExternalAuth(username)
  const verify = await fetch(`${target.baseUrl}/fido2/v2/mfa/third-party/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: session },
    body: JSON.stringify({ token }),
  })
  expect(verify.status).toBe(200)
  return (await verify.json()) as { accessToken: string; idToken: string }
}

describe('createManagementClient against the simulator', () => {
  it('mints external-auth grants the simulator accepts, and scoped grants', async () => {
    const { token } = await management().grantExternalAuth('alice@example.com')
    expect(typeof token).toBe('string')
    const scoped = await management().grant('alice@example.com', ['passkey:read'])
    expect(scoped.token.split('.')).toHaveLength(3)
    const [request] = sim.requests.filter((r) => r.path === EXTERNAL_PATH)
    expect(request?.body).toEqual({ username: 'alice@example.com' })
    expect(request?.headers['user-agent']).toMatch(/^loginid-mfa-flow\//)
  })

  it('verifyToken: true for a real access token, typed errors otherwise', async () => {
    const { accessToken } = await completeFlow()
    await expect(management().verifyToken(accessToken)).resolves.toBe(true)
    await expect(management().verifyToken(`${accessToken}x`)).rejects.toMatchObject({
      code: 'ERR_TOKEN_INVALID',
      status: 401,
    })
    await expect(management('wrong-key').verifyToken(accessToken)).rejects.toMatchObject({
      code: 'ERR_API_KEY_INVALID',
    })
  })

  it('maps 401 (unknown key), 403 (scope, named) and 400', async () => {
    const unknown = await failure(management('not-a-key').grantExternalAuth('alice@example.com'))
    expect(unknown).toMatchObject({
      code: 'ERR_API_KEY_INVALID',
      status: 401,
      msgCode: 'unauthorized',
      method: 'POST',
      path: EXTERNAL_PATH,
    })
    const scope = await failure(management(LIMITED_KEY).grantExternalAuth('alice@example.com'))
    expect(scope).toMatchObject({ code: 'ERR_API_KEY_SCOPE', status: 403, msgCode: 'forbidden' })
    expect(scope.message).toContain('external:verify')
    const bad = await failure(management().grant('alice@example.com', ['no:such-grant']))
    expect(bad).toMatchObject({ code: 'ERR_BAD_REQUEST', status: 400, msgCode: 'bad_request' })
  })

  it('does not retry a 500 or a dropped connection (LoginID may have minted), retries a 503', async () => {
    const attempts = () => sim.requests.filter((r) => r.path === EXTERNAL_PATH).length

    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'status', status: 500 } })
    await expect(management().grantExternalAuth('alice@example.com')).rejects.toMatchObject({
      code: 'ERR_LOGINID_UNAVAILABLE',
      status: 500,
    })
    expect(attempts()).toBe(1)

    sim.reset()
    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'status', status: 503 } })
    await expect(management().grantExternalAuth('alice@example.com')).resolves.toHaveProperty(
      'token',
    )
    expect(attempts()).toBe(2)

    sim.reset()
    sim.faults.add({ path: EXTERNAL_PATH, times: 5, fault: { type: 'drop' } })
    await expect(
      management(SIMULATOR_API_KEY, { retries: 2 }).grantExternalAuth('alice@example.com'),
    ).rejects.toMatchObject({ code: 'ERR_NETWORK' })
    expect(attempts()).toBe(1)
  })

  it('times out with ERR_TIMEOUT', async () => {
    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'delay', ms: 5_000 } })
    await expect(
      management(SIMULATOR_API_KEY, { timeoutMs: 50 }).grantExternalAuth('alice@example.com'),
    ).rejects.toMatchObject({ code: 'ERR_TIMEOUT', path: EXTERNAL_PATH })
  })

  it('never leaks the API key: errors, causes, inspect, onError, handler responses, sim.requests', async () => {
    const errors: unknown[] = []
    for (const rule of [
      { type: 'status', status: 500 },
      { type: 'status', status: 502, body: { msg: 'upstream', msgCode: 'bad_gateway' } },
      { type: 'malformed' },
      { type: 'html' },
      { type: 'drop' },
    ] as const) {
      sim.faults.add({ path: EXTERNAL_PATH, times: 3, fault: rule })
      errors.push(
        await failure(management(SIMULATOR_API_KEY, { retries: 1 }).grantExternalAuth('alice')),
      )
      sim.faults.clear()
    }
    errors.push(await failure(management(LIMITED_KEY).grantExternalAuth('alice')))
    errors.push(await failure(management('not-a-key').grantExternalAuth('alice')))

    const reported: unknown[] = []
    const handler = createExternalAuthHandler({
      management: management('not-a-key'),
      authorize: () => ({ username: 'alice@example.com' }),
      onError: (error, info) => reported.push(error, info.code, info.status),
    })
    const response = await handler(
      new Request('https://app.example.com/grant', {
        method: 'POST',
        headers: { origin: 'https://app.example.com', 'content-type': 'application/json' },
        body: '{}',
      }),
    )
    expect(response.status).toBe(502)
    const responseText = `${JSON.stringify([...response.headers])} ${await response.text()}`

    expect(reported).toHaveLength(3)
    const haystack = [
      ...errors.map(exposed),
      ...errors.map((error) => inspect(error, { depth: 20 })),
      exposed(reported[0]),
      inspect(reported, { depth: 20 }),
      responseText,
      JSON.stringify(sim.requests),
    ].join('\n')
    for (const key of [SIMULATOR_API_KEY, LIMITED_KEY, 'not-a-key']) {
      expect(haystack).not.toContain(key)
      expect(haystack).not.toContain(B64(key))
    }
    expect(sim.requests.length).toBeGreaterThan(5)
  })
})

describe('createExternalAuthHandler against the simulator', () => {
  const APP = 'https://app.example.com'

  function appHandler(username = 'newcomer@example.com') {
    return createExternalAuthHandler({
      management: management(),
      authorize: (request, body) =>
        request.headers.get('cookie') === 'sid=valid' && body.proof === 'otp-ok'
          ? { username }
          : null,
    })
  }

  it('mints for the authorized user only; a username in the body is ignored', async () => {
    const handler = appHandler('alice@example.com')
    const response = await handler(
      new Request(`${APP}/grant`, {
        method: 'POST',
        headers: { origin: APP, 'content-type': 'application/json', cookie: 'sid=valid' },
        body: JSON.stringify({ proof: 'otp-ok', username: 'mallory@example.com' }),
      }),
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const grants = sim.requests.filter((r) => r.path === EXTERNAL_PATH).map((r) => r.body)
    expect(grants).toEqual([{ username: 'alice@example.com' }])
  })

  it('tokens minted by the handler complete a runMfa flow end to end', async () => {
    const handler = appHandler()
    const tokenProvider = fetchGrantToken(`${APP}/grant`, {
      headers: { origin: APP, cookie: 'sid=valid' },
      fetch: (input, init) => handler(new Request(input, init)),
    })
    const completion = await runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: 'newcomer@example.com',
      externalAuthenticator: () => 'otp-ok',
      tokenProvider,
    })
    if (completion.status !== 'complete') throw new Error('expected a completed flow')
    const accessToken = completion.accessToken ?? ''
    expect(accessToken).not.toBe('')
    const claims = await verifyLoginIDToken(accessToken, {
      baseUrl: sim.baseUrl,
      username: 'newcomer@example.com',
    })
    expect(claims.username).toBe('newcomer@example.com')
    expect(sim.requests.map((r) => r.path)).toEqual(
      expect.arrayContaining([EXTERNAL_PATH, '/fido2/v2/mfa/third-party/verify']),
    )
  })

  it('a denied proof stops runMfa before any grant is minted', async () => {
    const handler = appHandler()
    const run = runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: 'newcomer@example.com',
      externalAuthenticator: () => 'wrong-proof',
      tokenProvider: fetchGrantToken(`${APP}/grant`, {
        headers: { origin: APP, cookie: 'sid=valid' },
        fetch: (input, init) => handler(new Request(input, init)),
      }),
    })
    await expect(run).rejects.toBeInstanceOf(MfaError)
    expect(sim.requests.filter((r) => r.path === EXTERNAL_PATH)).toHaveLength(0)
  })
})

describe('verifyLoginIDToken against the simulator', () => {
  it('accepts the simulator’s real access tokens', async () => {
    const { accessToken } = await completeFlow()
    const claims = await verifyLoginIDToken(accessToken, {
      baseUrl: sim.baseUrl,
      username: 'newcomer@example.com',
    })
    expect(claims).toMatchObject({
      iss: sim.baseUrl,
      aud: sim.appId,
      username: 'newcomer@example.com',
    })
    expect(typeof claims.sub).toBe('string')
  })

  it('rejects a tampered, wrong-audience or wrong-user token, and id and grant tokens', async () => {
    const { accessToken, idToken } = await completeFlow()
    // The id token has the same issuer, audience, user and key: it is not an access token.
    await expect(verifyLoginIDToken(idToken, { baseUrl: sim.baseUrl })).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIMS',
    })
    // Neither is a scoped grant token the management API minted.
    const { token: grant } = await management().grant('newcomer@example.com', ['passkey:read'])
    await expect(verifyLoginIDToken(grant, { baseUrl: sim.baseUrl })).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIMS',
    })
    const [header, payload, signature] = accessToken.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object
    const forged = Buffer.from(JSON.stringify({ ...claims, username: 'alice@example.com' }))
    await expect(
      verifyLoginIDToken(`${header}.${forged.toString('base64url')}.${signature}`, {
        baseUrl: sim.baseUrl,
      }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    await expect(
      verifyLoginIDToken(accessToken, { baseUrl: sim.baseUrl, appId: 'another-app' }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIMS' })
    await expect(
      verifyLoginIDToken(accessToken, { baseUrl: sim.baseUrl, username: 'alice@example.com' }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIMS' })
    // A token from another LoginID app (other keys, other iss/aud) is not accepted either.
    const other = await completeFlow(shortSim)
    await expect(
      verifyLoginIDToken(other.accessToken, { baseUrl: sim.baseUrl }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_TOKEN_(INVALID|CLAIMS)$/) })
  })

  it('rejects an expired token (short tokenTtlSec, fake clock)', async () => {
    const { accessToken } = await completeFlow(shortSim)
    await expect(
      verifyLoginIDToken(accessToken, { baseUrl: shortSim.baseUrl }),
    ).resolves.toHaveProperty('username')
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    await expect(
      verifyLoginIDToken(accessToken, { baseUrl: shortSim.baseUrl }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_EXPIRED' })
  })

  it('reports a JWKS outage as ERR_LOGINID_UNAVAILABLE', async () => {
    const outage = createLoginIDSimulator({ baseUrl: 'https://outage.api.loginid.test' })
    server.use(...outage.handlers)
    const { accessToken } = await completeFlow(outage)
    outage.faults.add({
      path: '/fido2/v2/.well-known/jwks.json',
      fault: { type: 'status', status: 503 },
    })
    await expect(
      verifyLoginIDToken(accessToken, { baseUrl: outage.baseUrl }),
    ).rejects.toMatchObject({ code: 'ERR_LOGINID_UNAVAILABLE', status: 503 })
  })
})
