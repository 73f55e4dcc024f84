// The conformance checks every runtime runs, written against the packed package's public API and
// the Fetch standard only (no `node:` module, no runtime global), so the same file runs in Node,
// Bun, Deno and, bundled, in workerd. The LoginID simulator runs in the host Node process; this
// file reaches it over loopback.
import { createMfaClient, fetchGrantToken, isMfaError, runMfa } from 'loginid-mfa-flow'
import {
  createExternalAuthHandler,
  createManagementClient,
  verifyLoginIDToken,
} from 'loginid-mfa-flow/server'

/** The cross-origin front end the route allows, and one it must refuse. */
export const APP_ORIGIN = 'https://app.example.test'
const FOREIGN_ORIGIN = 'https://evil.example.test'
/** The app's own check: a proof `{ user, secret }` whose secret is this one. */
const SECRET = 'runtime-conformance-secret'

/**
 * The grant-token route under test: `createExternalAuthHandler` minting through the simulator.
 *
 * @param {{ simBaseUrl: string, apiKey: string }} config
 * @returns {(request: Request) => Promise<Response>}
 */
export function createRoute({ simBaseUrl, apiKey }) {
  return createExternalAuthHandler({
    management: createManagementClient({ baseUrl: simBaseUrl, apiKey }),
    allowedOrigins: [APP_ORIGIN],
    authorize: (_request, body) => {
      const proof = body.proof
      if (typeof proof !== 'object' || proof === null || proof.secret !== SECRET) return null
      return typeof proof.user === 'string' ? { username: proof.user } : null
    },
  })
}

/**
 * Run every check against the route served at `routeUrl`. Never throws: each check is recorded as
 * `{ name, ok, detail? }`.
 *
 * @param {{ simBaseUrl: string, routeUrl: string, runId: string }} config
 * @returns {Promise<Array<{ name: string, ok: boolean, detail?: string }>>}
 */
export async function runChecks({ simBaseUrl, routeUrl, runId }) {
  const results = []
  async function check(name, fn) {
    try {
      await fn()
      results.push({ name, ok: true })
    } catch (error) {
      results.push({ name, ok: false, detail: describe(error) })
    }
  }
  const username = `rt-${runId}-${Date.now().toString(36)}@example.com`
  const post = (origin, proof) =>
    fetch(routeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ proof, username }),
    })

  await check('route: preflight from an allowed origin is 204', async () => {
    const res = await fetch(routeUrl, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    await res.arrayBuffer()
    expectEqual(res.status, 204, 'status')
    expectEqual(res.headers.get('access-control-allow-origin'), APP_ORIGIN, 'allow-origin')
    expectEqual(res.headers.get('access-control-allow-methods'), 'POST', 'allow-methods')
  })

  await check('route: an allowed origin with a good proof gets 200 { token }', async () => {
    const res = await post(APP_ORIGIN, { user: username, secret: SECRET })
    const body = await res.json()
    expectEqual(res.status, 200, 'status')
    expectEqual(res.headers.get('access-control-allow-origin'), APP_ORIGIN, 'allow-origin')
    expectEqual(res.headers.get('cache-control'), 'no-store', 'cache-control')
    expectEqual(typeof body.token === 'string' && body.token.length > 0, true, 'token present')
  })

  await check('route: a foreign origin gets 403 ERR_ORIGIN_FORBIDDEN', async () => {
    const res = await post(FOREIGN_ORIGIN, { user: username, secret: SECRET })
    const body = await res.json()
    expectEqual(res.status, 403, 'status')
    expectEqual(body.error, 'ERR_ORIGIN_FORBIDDEN', 'error')
    expectEqual(res.headers.get('access-control-allow-origin'), null, 'allow-origin')
  })

  await check('route: a wrong proof gets 401 ERR_UNAUTHORIZED', async () => {
    const res = await post(APP_ORIGIN, { user: username, secret: 'wrong' })
    const body = await res.json()
    expectEqual(res.status, 401, 'status')
    expectEqual(body.error, 'ERR_UNAUTHORIZED', 'error')
  })

  await check('fetchGrantToken: a refused proof rejects ERR_TOKEN_PROVIDER 401', async () => {
    const provider = fetchGrantToken(routeUrl, { headers: { origin: APP_ORIGIN } })
    const error = await provider({ proof: { user: username, secret: 'wrong' }, username }).then(
      (token) => new Error(`resolved ${typeof token}`),
      (reason) => reason,
    )
    expectEqual(isMfaError(error, 'ERR_TOKEN_PROVIDER'), true, `MfaError (${describe(error)})`)
    expectEqual(error.status, 401, 'status')
    expectEqual(error.msgCode, 'ERR_UNAUTHORIZED', 'msgCode')
  })

  let accessToken
  await check('runMfa: a sign-up completes through fetchGrantToken and the route', async () => {
    const result = await runMfa({
      client: createMfaClient({ baseUrl: simBaseUrl }),
      username,
      externalAuthenticator: () => ({ user: username, secret: SECRET }),
      tokenProvider: fetchGrantToken(routeUrl, { headers: { origin: APP_ORIGIN } }),
    })
    expectEqual(result.status, 'complete', 'status')
    expectEqual(result.flow, 'signUp', 'flow')
    expectEqual(result.steps.map((step) => step.action).join(','), 'external', 'steps')
    expectEqual(typeof result.accessToken, 'string', 'accessToken')
    accessToken = result.accessToken
  })

  await check('verifyLoginIDToken: accepts the access token the flow got', async () => {
    if (accessToken === undefined) throw new Error('no access token (the flow failed)')
    const claims = await verifyLoginIDToken(accessToken, { baseUrl: simBaseUrl, username })
    expectEqual(claims.username, username, 'username')
    expectEqual(claims.iss, simBaseUrl, 'iss')
  })

  await check('verifyLoginIDToken: refuses a tampered signature ERR_TOKEN_INVALID', async () => {
    if (accessToken === undefined) throw new Error('no access token (the flow failed)')
    const [header, payload, signature] = accessToken.split('.')
    // Flip one bit of the first signature byte: still base64url, no longer LoginID's signature.
    const first = signature.charCodeAt(0)
    const flipped = String.fromCharCode(first === 65 ? 66 : 65) // 'A' <-> 'B'
    const tampered = `${header}.${payload}.${flipped}${signature.slice(1)}`
    const error = await verifyLoginIDToken(tampered, { baseUrl: simBaseUrl, username }).then(
      () => new Error('a tampered token was accepted'),
      (reason) => reason,
    )
    expectEqual(isMfaError(error, 'ERR_TOKEN_INVALID'), true, `MfaError (${describe(error)})`)
  })

  return results
}

function expectEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
}

function describe(error) {
  if (isMfaError(error)) return `${error.code}: ${error.message}`
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
