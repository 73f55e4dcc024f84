// The Hono example: the page, the app's password login (LoginID's external step), the grant
// route (createExternalAuthHandler is a Fetch handler: Hono hands it the raw Request) and the
// sign-in route that verifies LoginID's access token before it trusts the user.
import { Hono } from 'hono'
import {
  createExternalAuthHandler,
  createManagementClient,
  isMfaError,
  verifyLoginIDToken,
} from 'loginid-mfa-flow/server'
import { createAccounts, loadPage, sessionCookie } from '../shared/accounts.js'

export interface ExampleAppOptions {
  /** LoginID's base URL (or the simulator's). */
  loginidBaseUrl: string
  /** An API key with the `external:verify` scope. Server only. */
  apiKey: string
}

export function createApp({ loginidBaseUrl, apiKey }: ExampleAppOptions): Hono {
  const accounts = createAccounts()
  const grant = createExternalAuthHandler({
    management: createManagementClient({ baseUrl: loginidBaseUrl, apiKey }),
    // Mint only for the user this app's own password login authenticated (its session cookie);
    // the username the browser sends is never trusted.
    authorize: (request) => {
      const session = accounts.get(request.headers.get('cookie'))
      return session ? { username: session.username } : null
    },
  })

  const app = new Hono()
  app.get('/', async (c) => c.html((await loadPage()).html))
  app.get('/main.js', async (c) =>
    c.body((await loadPage()).js, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  )
  app.get('/api/config', (c) => c.json({ loginidBaseUrl }))
  app.post('/api/loginid/grant', (c) => grant(c.req.raw))
  app.post('/api/login', async (c) => {
    const body: { username?: unknown; password?: unknown } = await c.req.json().catch(() => ({}))
    const id = accounts.login(body.username, body.password)
    if (!id) return c.json({ error: 'wrong username or password' }, 401)
    c.header('set-cookie', sessionCookie(id))
    return c.json({ ok: true })
  })
  app.post('/api/session', async (c) => {
    // After runMfa: LoginID's access token is the proof of the sign-in. Verify it (JWKS, ES256,
    // iss, aud, exp), and when the app's password session exists, that it is for that user.
    const body: { accessToken?: unknown } = await c.req.json().catch(() => ({}))
    const previous = accounts.get(c.req.header('cookie'))
    try {
      const claims = await verifyLoginIDToken(String(body.accessToken ?? ''), {
        baseUrl: loginidBaseUrl,
        ...(previous && { username: previous.username }),
      })
      c.header('set-cookie', sessionCookie(accounts.start(claims.username, 'signedIn')))
      return c.json({ username: claims.username })
    } catch (error) {
      return c.json({ error: isMfaError(error) ? error.code : 'ERR_TOKEN_INVALID' }, 401)
    }
  })
  app.get('/api/me', (c) => {
    const session = accounts.get(c.req.header('cookie'))
    if (session?.stage !== 'signedIn') return c.json({ error: 'signed out' }, 401)
    return c.json({ username: session.username })
  })
  return app
}
