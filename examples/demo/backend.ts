/// <reference types="node" />
// The demo app's backend: serves the page, runs the app's "own authentication" (a password, or a
// demo identity provider that redirects), mints LoginID grant tokens for the user IT
// authenticated (createExternalAuthHandler), and verifies the final LoginID access token.
// Everything is in memory; it is a demo, not a template for storing sessions.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import {
  createExternalAuthHandler,
  createManagementClient,
  toNodeListener,
  verifyLoginIDToken,
} from '../../src/server.js'

/** The demo's one password (the app's own authentication). */
export const DEMO_PASSWORD = 'correct horse'

export interface DemoBackendConfig {
  /** LoginID (or simulator) base URL. */
  loginidBaseUrl: string
  /** The API key with the `external:verify` scope. Stays in this process. */
  apiKey: string
}

export interface DemoBackend {
  server: Server
  /** `http://localhost:<port>` */
  origin: string
  /** Set once the simulator (or real LoginID) is known. */
  configure(config: DemoBackendConfig): void
  close(): Promise<void>
}

const here = fileURLToPath(new URL('.', import.meta.url))

/** One logged-in app session: the app's own proof that it authenticated `username`. */
interface AppSession {
  username: string
  expiresAt: number
}

const SESSION_COOKIE = 'demo_session'
/** A key on a blue tile: the demo's icon (no 404 for /favicon.ico in the console). */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3056d3"/><circle cx="12" cy="16" r="5" fill="none" stroke="#fff" stroke-width="3"/><path d="M17 16h10m-3 0v4m-4-4v3" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>`
const SESSION_TTL_MS = 10 * 60 * 1000

function cookie(req: { headers: { get(name: string): string | null } }, name: string) {
  const header = req.headers.get('cookie') ?? ''
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return rest.join('=')
  }
  return undefined
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

async function readJson(req: IncomingMessage, limit = 16 * 1024): Promise<Record<string, unknown>> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
  if (typeof value !== 'object' || value === null) throw new Error('not an object')
  return value as Record<string, unknown>
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(JSON.stringify(body))
}

function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Start the demo backend on `localhost:port` (0 = any free port). */
export async function startDemoBackend(port = 0): Promise<DemoBackend> {
  let config: DemoBackendConfig | undefined
  let grantHandler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined
  const sessions = new Map<string, AppSession>()
  /** Demo IdP: one-time codes handed back on redirect, each bound to a username. */
  const idpCodes = new Map<string, { username: string; expiresAt: number }>()

  let pageBundle: string | undefined
  async function bundle(): Promise<string> {
    if (pageBundle === undefined) {
      const result = await build({
        entryPoints: [`${here}page/main.ts`],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
      })
      pageBundle = result.outputFiles[0]?.text ?? ''
    }
    return pageBundle
  }

  function startSession(res: ServerResponse, username: string, extra: Record<string, unknown>) {
    const id = randomBytes(24).toString('base64url')
    sessions.set(id, { username, expiresAt: Date.now() + SESSION_TTL_MS })
    send(
      res,
      200,
      { ok: true, ...extra },
      {
        'set-cookie': `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=600`,
      },
    )
  }

  /** The app's own session, from its HttpOnly cookie: the ONLY source of the username to mint for. */
  function sessionUser(request: { headers: { get(name: string): string | null } }) {
    const id = cookie(request, SESSION_COOKIE)
    const session = id === undefined ? undefined : sessions.get(id)
    if (!session || session.expiresAt < Date.now()) return undefined
    return session.username
  }

  const server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      if (process.env.DEMO_DEBUG) console.error(error)
      if (!res.headersSent) send(res, 500, { error: 'ERR_INTERNAL' })
      else res.end()
    })
  })

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', origin)
    const headers = { get: (name: string) => (req.headers[name.toLowerCase()] as string) ?? null }
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(await readFile(`${here}page/index.html`, 'utf8'))
      return
    }
    if (req.method === 'GET' && url.pathname === '/favicon.svg') {
      res.writeHead(200, {
        'content-type': 'image/svg+xml',
        'cache-control': 'public, max-age=86400',
      })
      res.end(FAVICON)
      return
    }
    if (req.method === 'GET' && url.pathname === '/main.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      res.end(await bundle())
      return
    }
    if (req.method === 'GET' && url.pathname === '/api/config') {
      if (!config) return send(res, 503, { error: 'not ready' })
      return send(res, 200, { loginidBaseUrl: config.loginidBaseUrl, demoPassword: DEMO_PASSWORD })
    }
    if (req.method === 'POST' && url.pathname === '/api/login') {
      // The app's own authentication: a password check.
      const body = await readJson(req).catch(() => undefined)
      const username = typeof body?.username === 'string' ? body.username.trim() : ''
      const password = typeof body?.password === 'string' ? body.password : ''
      if (!username || !safeEqual(password, DEMO_PASSWORD)) {
        return send(res, 401, { error: 'wrong username or password' })
      }
      return startSession(res, username, { username })
    }
    if (req.method === 'GET' && url.pathname === '/idp/authorize') {
      // A demo identity provider on another "site": asks who you are, then redirects back with a
      // one-time code and the state it was given.
      const state = url.searchParams.get('state') ?? ''
      const returnTo = url.searchParams.get('return_to') ?? '/'
      const loginHint = url.searchParams.get('login_hint') ?? ''
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<title>Demo IdP: sign in</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;min-height:100vh;display:grid;place-items:center;background:#eef1f8;color:#1d2430}
main{background:#fff;border-radius:12px;box-shadow:0 4px 24px #1d243022;padding:2rem 2.25rem;width:min(24rem,90vw)}
h1{font-size:1.25rem;margin:0 0 .25rem}p{color:#5b6577;margin:0 0 1.25rem}
label{display:block;font-weight:600;margin-bottom:1rem}
input{display:block;box-sizing:border-box;width:100%;font:inherit;margin-top:.35rem;padding:.5rem .65rem;border:1px solid #b9c1cf;border-radius:6px}
button{width:100%;font:inherit;font-weight:600;padding:.6rem;border:0;border-radius:6px;background:#3056d3;color:#fff;cursor:pointer}
small{display:block;margin-top:1rem;color:#5b6577}
</style>
<main>
<h1>Demo identity provider</h1>
<p>Sign in to continue to the loginid-mfa-flow demo.</p>
<form method="post" action="/idp/approve">
<input type="hidden" name="state" value="${html(state)}">
<input type="hidden" name="return_to" value="${html(returnTo)}">
<label>Username <input name="username" value="${html(loginHint)}" autocomplete="username" required></label>
<button id="idp-approve" type="submit">Approve</button>
</form>
<small>A stand-in for your OIDC provider: it sends you back with a one-time code.</small>
</main></html>`)
      return
    }
    if (req.method === 'POST' && url.pathname === '/idp/approve') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
      const username = (form.get('username') ?? '').trim()
      const returnTo = form.get('return_to') ?? '/'
      const target = new URL(returnTo, origin)
      if (!username || target.origin !== origin) return send(res, 400, { error: 'bad request' })
      const code = randomBytes(16).toString('base64url')
      idpCodes.set(code, { username, expiresAt: Date.now() + 60_000 })
      target.searchParams.set('idp_code', code)
      target.searchParams.set('state', form.get('state') ?? '')
      res.writeHead(303, { location: target.pathname + target.search })
      res.end()
      return
    }
    if (req.method === 'POST' && url.pathname === '/api/grant-token') {
      if (!grantHandler) return send(res, 503, { error: 'not ready' })
      return grantHandler(req, res)
    }
    if (req.method === 'POST' && url.pathname === '/api/verify') {
      // After MFA: the backend checks LoginID's access token before trusting the user.
      if (!config) return send(res, 503, { error: 'not ready' })
      const body = await readJson(req).catch(() => undefined)
      const username = sessionUser({ headers })
      const token = typeof body?.accessToken === 'string' ? body.accessToken : ''
      try {
        const claims = await verifyLoginIDToken(token, {
          baseUrl: config.loginidBaseUrl,
          ...(username !== undefined && { username }),
        })
        return send(res, 200, { verified: true, username: claims.username, sub: claims.sub })
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'ERR_TOKEN_INVALID'
        return send(res, 401, { verified: false, error: code })
      }
    }
    send(res, 404, { error: 'not found' })
  }

  await new Promise<void>((resolve) => server.listen(port, 'localhost', resolve))
  const address = server.address()
  const origin = `http://localhost:${typeof address === 'object' && address ? address.port : port}`

  return {
    server,
    origin,
    configure(next) {
      config = next
      const management = createManagementClient({
        baseUrl: next.loginidBaseUrl,
        apiKey: next.apiKey,
      })
      grantHandler = toNodeListener(
        createExternalAuthHandler({
          management,
          // Mint only for the user THIS app authenticated: a one-time code from its identity
          // provider (the redirect path), or its own session cookie (the password path). The
          // username the browser sends is ignored.
          authorize: (request, body) => {
            const proof = body.proof as { idpCode?: unknown } | null | undefined
            if (typeof proof?.idpCode === 'string') {
              const entry = idpCodes.get(proof.idpCode)
              idpCodes.delete(proof.idpCode)
              return entry && entry.expiresAt >= Date.now() ? { username: entry.username } : null
            }
            const username = sessionUser(request)
            return username === undefined ? null : { username }
          },
        }),
      )
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
