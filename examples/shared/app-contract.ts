/// <reference types="node" />
// The one test both example apps pass (Express and Hono): the page is served, a new user signs
// up (the app's password, then a passkey), then signs in with the passkey, all through the app's
// HTTP routes against the LoginID simulator over real HTTP.
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isMfaError } from 'loginid-mfa-flow'
import { SIMULATOR_API_KEY, startLoginIDSimulator } from 'loginid-mfa-flow/testing'
import type { RunningLoginIDSimulator } from 'loginid-mfa-flow/testing'
import { createBrowser } from './flows.js'

export interface ExampleApp {
  /** The app's origin, `http://localhost:<port>`. */
  origin: string
  close(): Promise<void>
}

/** A Node server that is listening (or about to) on localhost, as an {@link ExampleApp}. */
export async function exampleApp(server: Server): Promise<ExampleApp> {
  if (!server.listening) await once(server, 'listening')
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function describeExampleApp(
  name: string,
  start: (options: { loginidBaseUrl: string; apiKey: string }) => Promise<ExampleApp>,
): void {
  describe(`the ${name} example`, () => {
    let simulator: RunningLoginIDSimulator
    let app: ExampleApp
    const username = `${name.toLowerCase()}-${Date.now().toString(36)}@example.com`
    const thirdPartyVerifies = () =>
      simulator.simulator.requests.filter((r) => r.path.endsWith('/mfa/third-party/verify')).length

    beforeAll(async () => {
      simulator = await startLoginIDSimulator({ requirePasskeyRegistration: true })
      app = await start({ loginidBaseUrl: simulator.baseUrl, apiKey: SIMULATOR_API_KEY })
    })
    afterAll(async () => {
      await app?.close()
      await simulator?.close()
    })

    it('serves the page and its bundle (loginid-mfa-flow included)', async () => {
      const page = await fetch(app.origin)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await page.text()).toContain('<form id="sign-in">')
      const js = await fetch(`${app.origin}/main.js`)
      expect(js.headers.get('content-type')).toMatch(/javascript/)
      expect(await js.text()).toContain('/fido2/v2/mfa/') // the client's LoginID calls
    })

    const browser = () => createBrowser(app.origin)
    let device: ReturnType<typeof createBrowser>

    it('signs a new user up: the app password, then a passkey', async () => {
      device = browser()
      const { completion, session, me } = await device.signIn(username)
      expect(completion.flow).toBe('signUp')
      expect(completion.steps.map((s) => `${s.action}:${s.outcome}`)).toEqual([
        'external:continue',
        'passkey:reg:complete',
      ])
      expect(session).toEqual({ status: 200, body: { username } })
      expect(me).toEqual({ status: 200, body: { username } })
      expect(device.authenticator.credentials).toHaveLength(1)
    })

    it('signs the user in with the passkey, without the password', async () => {
      const before = thirdPartyVerifies()
      const { completion, session, me } = await device.signIn(username, 'not the password')
      expect(completion.flow).toBe('signIn')
      expect(completion.steps.map((s) => `${s.action}:${s.outcome}`)).toEqual([
        'passkey:auth:complete',
      ])
      expect(session).toEqual({ status: 200, body: { username } })
      expect(me).toEqual({ status: 200, body: { username } })
      expect(thirdPartyVerifies()).toBe(before)
    })

    it('denies a wrong password, and mints nothing without the app session', async () => {
      await expect(browser().signIn(`new-${username}`, 'wrong')).rejects.toSatisfy((error) =>
        isMfaError(error, 'ERR_EXTERNAL_DENIED'),
      )
      const grant = await browser().call('/api/loginid/grant', {
        method: 'POST',
        body: JSON.stringify({ proof: { password: true }, username, session: 'x' }),
      })
      expect(grant.status).toBe(401)
      expect(await grant.json()).toEqual({ error: 'ERR_UNAUTHORIZED' })
    })

    it('refuses a sign-in with a token LoginID did not sign', async () => {
      const forged = `${btoa('{"alg":"ES256"}')}.${btoa(`{"username":"${username}"}`)}.c2ln`
      const session = await browser().call('/api/session', {
        method: 'POST',
        body: JSON.stringify({ accessToken: forged }),
      })
      expect(session.status).toBe(401)
      expect(((await session.json()) as { error: string }).error).toMatch(/^ERR_TOKEN_/)
    })
  })
}
