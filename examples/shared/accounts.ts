/// <reference types="node" />
// The example apps' own authentication, shared by the Express and Hono servers: one password, and
// an in-memory session per browser (an HttpOnly cookie). A real app has its own user store; what
// matters is that the grant route mints only for the user THIS store authenticated.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { build } from 'esbuild'

/** The examples' one password. */
export const EXAMPLE_PASSWORD = 'correct horse'
export const SESSION_COOKIE = 'example_session'

interface Session {
  username: string
  /** `password`: the app checked its password (LoginID's external step may mint for it). */
  /** `signedIn`: LoginID's access token was verified for this user. */
  stage: 'password' | 'signedIn'
  expiresAt: number
}

/** A session store with the password check. */
export function createAccounts(ttlMs = 10 * 60_000) {
  const sessions = new Map<string, Session>()
  return {
    /** The app's password check; a new session id, or undefined. */
    login(username: unknown, password: unknown): string | undefined {
      if (typeof username !== 'string' || !username.trim() || typeof password !== 'string') return
      const a = Buffer.from(password)
      const b = Buffer.from(EXAMPLE_PASSWORD)
      if (a.length !== b.length || !timingSafeEqual(a, b)) return
      return this.start(username.trim(), 'password')
    },
    start(username: string, stage: Session['stage']): string {
      const id = randomBytes(24).toString('base64url')
      sessions.set(id, { username, stage, expiresAt: Date.now() + ttlMs })
      return id
    },
    /** The session behind a cookie header, if it is live. */
    get(cookieHeader: string | null | undefined): Session | undefined {
      const id = readCookie(cookieHeader, SESSION_COOKIE)
      const session = id === undefined ? undefined : sessions.get(id)
      return session && session.expiresAt > Date.now() ? session : undefined
    },
  }
}

export function readCookie(header: string | null | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return rest.join('=')
  }
  return undefined
}

export function sessionCookie(id: string): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=600`
}

const here = new URL('.', import.meta.url)
let page: Promise<{ html: string; js: string }> | undefined

/** The page: its HTML, and page.ts bundled for the browser (loginid-mfa-flow included). */
export function loadPage(): Promise<{ html: string; js: string }> {
  page ??= (async () => {
    const bundle = await build({
      entryPoints: [new URL('page.ts', here).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    })
    return {
      html: await readFile(new URL('index.html', here), 'utf8'),
      js: bundle.outputFiles[0]?.text ?? '',
    }
  })()
  return page
}
