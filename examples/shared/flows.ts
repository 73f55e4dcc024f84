/// <reference types="node" />
// What the examples' tests do through each app's HTTP routes, as the page does in a browser: one
// "browser" (a cookie jar, a localStorage for LoginID's device id, a software passkey), runMfa
// with the app's password login as the external step and the app's grant route as the token
// provider, then the app's sign-in route with LoginID's access token.
import { createMfaClient, fetchGrantToken, runMfa } from 'loginid-mfa-flow'
import type { MfaCompletion, MfaStorage } from 'loginid-mfa-flow'
import { createSoftwareAuthenticator } from 'loginid-mfa-flow/testing'
import { EXAMPLE_PASSWORD } from './accounts.js'

export interface SignInOutcome {
  completion: MfaCompletion
  /** The app's answer to POST /api/session. */
  session: { status: number; body: { username?: string; error?: string } }
  /** The app's answer to GET /api/me afterwards. */
  me: { status: number; body: { username?: string } }
}

/** One browser profile against the app at `origin`. */
export function createBrowser(origin: string) {
  const authenticator = createSoftwareAuthenticator() // origin http://localhost, rpId localhost
  const local = new Map<string, string>()
  const storage: MfaStorage = {
    getItem: (key) => local.get(key) ?? null,
    setItem: (key, value) => void local.set(key, value),
    removeItem: (key) => void local.delete(key),
  }
  let cookie = ''

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(new URL(path, origin), {
      ...init,
      headers: { 'content-type': 'application/json', origin, cookie, ...init.headers },
    })
    const set = response.headers.get('set-cookie')
    if (set) cookie = set.split(';')[0] ?? ''
    return response
  }

  return {
    authenticator,
    call,
    /** runMfa as the page runs it, then the app's sign-in route. */
    async signIn(username: string, password = EXAMPLE_PASSWORD): Promise<SignInOutcome> {
      const config = (await (await call('/api/config')).json()) as { loginidBaseUrl: string }
      const client = createMfaClient({
        baseUrl: config.loginidBaseUrl,
        webauthn: authenticator,
        storage,
      })
      const result = await runMfa({
        client,
        username,
        externalAuthenticator: async () => {
          const login = await call('/api/login', {
            method: 'POST',
            body: JSON.stringify({ username, password }),
          })
          return login.ok ? { password: true } : null
        },
        // Node's fetch sends no Origin and keeps no cookies: add what a browser would send.
        tokenProvider: (ctx) =>
          fetchGrantToken(new URL('/api/loginid/grant', origin).href, {
            headers: { origin, cookie },
          })(ctx),
      })
      if (result.status !== 'complete') throw new Error(`unexpected ${result.status}`)
      const session = await call('/api/session', {
        method: 'POST',
        body: JSON.stringify({ accessToken: result.accessToken }),
      })
      const me = await call('/api/me')
      return {
        completion: result,
        session: {
          status: session.status,
          body: (await session.json()) as SignInOutcome['session']['body'],
        },
        me: { status: me.status, body: (await me.json()) as SignInOutcome['me']['body'] },
      }
    },
  }
}
