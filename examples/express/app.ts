/// <reference types="node" />
// The Express example: the page, the app's password login (LoginID's external step), the grant
// route (createExternalAuthHandler through toNodeListener) and the sign-in route that verifies
// LoginID's access token before it trusts the user.
import express from 'express'
import {
  createExternalAuthHandler,
  createManagementClient,
  isMfaError,
  toNodeListener,
  verifyLoginIDToken,
} from 'loginid-mfa-flow/server'
import { createAccounts, loadPage, sessionCookie } from '../shared/accounts.js'

export interface ExampleAppOptions {
  /** LoginID's base URL (or the simulator's). */
  loginidBaseUrl: string
  /** An API key with the `external:verify` scope. Server only. */
  apiKey: string
}

export function createApp({ loginidBaseUrl, apiKey }: ExampleAppOptions): express.Express {
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

  const app = express()
  app.get('/', async (_req, res) => {
    res.type('html').send((await loadPage()).html)
  })
  app.get('/main.js', async (_req, res) => {
    res.type('js').send((await loadPage()).js)
  })
  app.get('/api/config', (_req, res) => {
    res.json({ loginidBaseUrl })
  })
  app.post('/api/loginid/grant', toNodeListener(grant))
  app.post('/api/login', express.json(), (req, res) => {
    const id = accounts.login(req.body?.username, req.body?.password)
    if (!id) return void res.status(401).json({ error: 'wrong username or password' })
    res.setHeader('set-cookie', sessionCookie(id)).json({ ok: true })
  })
  app.post('/api/session', express.json(), async (req, res) => {
    // After runMfa: LoginID's access token is the proof of the sign-in. Verify it (JWKS, ES256,
    // iss, aud, exp), and when the app's password session exists, that it is for that user.
    const previous = accounts.get(req.headers.cookie)
    try {
      const claims = await verifyLoginIDToken(String(req.body?.accessToken ?? ''), {
        baseUrl: loginidBaseUrl,
        ...(previous && { username: previous.username }),
      })
      const id = accounts.start(claims.username, 'signedIn')
      res.setHeader('set-cookie', sessionCookie(id)).json({ username: claims.username })
    } catch (error) {
      res.status(401).json({ error: isMfaError(error) ? error.code : 'ERR_TOKEN_INVALID' })
    }
  })
  app.get('/api/me', (req, res) => {
    const session = accounts.get(req.headers.cookie)
    if (session?.stage !== 'signedIn') return void res.status(401).json({ error: 'signed out' })
    res.json({ username: session.username })
  })
  return app
}
