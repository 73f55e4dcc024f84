// The server entry over real HTTP: the simulator on a loopback port, the app's grant route
// served by node:http through toNodeListener, and runMfa in between.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMfaClient, fetchGrantToken, runMfa } from '../../src/index.js'
import {
  createExternalAuthHandler,
  createManagementClient,
  toNodeListener,
  verifyLoginIDToken,
} from '../../src/server.js'
import type { ManagementClient } from '../../src/server.js'
import { SIMULATOR_API_KEY, startLoginIDSimulator } from '../../src/testing.js'
import type { RunningLoginIDSimulator } from '../../src/testing.js'

const EXTERNAL_PATH = '/fido2/v2/mgmt/grant/external-auth'

let running: RunningLoginIDSimulator
let app: Server
let appUrl: string
let management: ManagementClient
const authorized: string[] = []

beforeAll(async () => {
  running = await startLoginIDSimulator({ port: 0 })
  management = createManagementClient({
    baseUrl: running.baseUrl,
    apiKey: SIMULATOR_API_KEY,
    retryDelayMs: 1,
  })
  const handler = createExternalAuthHandler({
    management,
    // The app's own check: here a session cookie and a proof the test controls.
    authorize: (request, body) => {
      const user = /(?:^|;\s*)user=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1]
      if (user === undefined || body.proof !== 'password-ok') return null
      authorized.push(decodeURIComponent(user))
      return { username: decodeURIComponent(user) }
    },
  })
  app = createServer(toNodeListener(handler))
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
})
afterEach(() => {
  running.simulator.reset()
  authorized.length = 0
})
afterAll(async () => {
  await new Promise<void>((resolve) => app.close(() => resolve()))
  await running.close()
})

describe('server entry over real HTTP', () => {
  it('runMfa completes with a grant token minted by the handler, and the token verifies', async () => {
    const username = 'http-user@example.com'
    const completion = await runMfa({
      client: createMfaClient({ baseUrl: running.baseUrl }),
      username,
      externalAuthenticator: () => 'password-ok',
      tokenProvider: fetchGrantToken(`${appUrl}/api/loginid/grant`, {
        headers: { origin: appUrl, cookie: `user=${encodeURIComponent(username)}` },
      }),
    })
    expect(authorized).toEqual([username])
    if (completion.status !== 'complete') throw new Error('expected a completed flow')
    const accessToken = completion.accessToken ?? ''
    expect(accessToken).not.toBe('')
    const claims = await verifyLoginIDToken(accessToken, {
      baseUrl: running.baseUrl,
      username,
    })
    expect(claims.aud).toBe(running.simulator.appId)
    await expect(management.verifyToken(accessToken)).resolves.toBe(true)
  })

  it('the handler rejects a cross-origin call and a wrong proof over HTTP', async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${appUrl}/api/loginid/grant`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      })
    const foreign = await post(
      { origin: 'https://evil.example', cookie: 'user=alice' },
      { proof: 'password-ok' },
    )
    expect(foreign.status).toBe(403)
    expect(await foreign.json()).toEqual({ error: 'ERR_ORIGIN_FORBIDDEN' })
    const wrong = await post({ origin: appUrl, cookie: 'user=alice' }, { proof: 'guess' })
    expect(wrong.status).toBe(401)
    expect(running.simulator.requests.filter((r) => r.path === EXTERNAL_PATH)).toHaveLength(0)
  })

  it('retries a 503 over HTTP, not a dropped connection (LoginID may have minted) nor a 500', async () => {
    const sim = running.simulator
    const attempts = () => sim.requests.filter((r) => r.path === EXTERNAL_PATH).length
    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'status', status: 503 } })
    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'status', status: 503 } })
    await expect(management.grantExternalAuth('alice')).resolves.toHaveProperty('token')
    expect(attempts()).toBe(3)
    sim.reset()
    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'drop' } })
    await expect(management.grantExternalAuth('alice')).rejects.toMatchObject({
      code: 'ERR_NETWORK',
    })
    expect(attempts()).toBe(1)
    sim.reset()
    sim.faults.add({ path: EXTERNAL_PATH, fault: { type: 'status', status: 500 } })
    await expect(management.grantExternalAuth('alice')).rejects.toMatchObject({
      code: 'ERR_LOGINID_UNAVAILABLE',
      status: 500,
    })
    expect(attempts()).toBe(1)
  })
})
