/// <reference types="node" />
// `npm run demo`: the demo page and its backend against the built-in LoginID simulator (or a real
// LoginID app when LOGINID_BASE_URL and LOGINID_API_KEY are set), until Ctrl-C.
// `npm run demo -- --once`: the same backend, the four flows run headless in Node with the
// software authenticator, and the IdP redirect path, printed step by step; exits 0 when all
// complete.
import { parseArgs } from 'node:util'
import { createMfaClient, fetchGrantToken, resumeMfa, runMfa } from '../../src/index.js'
import type { MfaEvent, MfaStorage, RunMfaResult } from '../../src/index.js'
import { createSoftwareAuthenticator } from '../../src/testing.js'
import { DEMO_PASSWORD } from './backend.js'
import { startDemo } from './start-demo.js'

const { values } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
  },
})

const realBaseUrl = process.env.LOGINID_BASE_URL
const realApiKey = process.env.LOGINID_API_KEY
const demo = await startDemo({
  port: values.once ? 0 : Number(values.port),
  ...(realBaseUrl && realApiKey && { loginid: { baseUrl: realBaseUrl, apiKey: realApiKey } }),
})
const backend = { origin: demo.origin }
const loginidBaseUrl = demo.loginidBaseUrl
console.log(
  demo.simulator
    ? `LoginID simulator: ${loginidBaseUrl}`
    : `LoginID: ${loginidBaseUrl} (LOGINID_BASE_URL)`,
)

async function shutdown(code: number): Promise<never> {
  await demo.close()
  process.exit(code)
}

if (!values.once) {
  console.log(`Demo: ${backend.origin}  (app password: "${DEMO_PASSWORD}"; Ctrl-C to stop)`)
  process.once('SIGINT', () => void shutdown(0))
  process.once('SIGTERM', () => void shutdown(0))
} else {
  if (!demo.simulator) {
    console.error('--once runs against the simulator only (its passkeys are software).')
    await shutdown(1)
  }
  const code = await runOnce().then(
    () => 0,
    (error: unknown) => {
      console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`)
      return 1
    },
  )
  await shutdown(code)
}

/** One browser profile: its localStorage (LoginID session and device id) and its cookie. */
function memoryStorage(): MfaStorage & { clear(): void } {
  const map = new Map<string, string>()
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
    clear: () => map.clear(),
  }
}

function onEvent(event: MfaEvent) {
  if (event.type === 'step:start') console.log(`   step ${event.step}: ${event.action}`)
  if (event.type === 'step:done') console.log(`   step ${event.step}: ${event.outcome}`)
  if (event.type === 'fallback')
    console.log(`   ${event.action} failed: ${event.error.code}, fallback to ${event.to}`)
  if (event.type === 'redirect') console.log('   the flow is suspended while the page is away')
}

/** What the demo backend says of LoginID's access token: the last check before trusting a user. */
async function verifyAndPrint(title: string, result: RunMfaResult, cookie = '') {
  if (result.status !== 'complete') throw new Error(`${title}: unexpected ${result.status}`)
  const verified = (await fetch(`${backend.origin}/api/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ accessToken: result.accessToken }),
  }).then((r) => r.json())) as { verified: boolean; username?: string; error?: string }
  if (!verified.verified)
    throw new Error(`${title}: the backend rejected the token (${verified.error})`)
  console.log(`   complete (${result.flow}); backend verified the token for ${verified.username}`)
  console.log(`   steps: ${result.steps.map((s) => `${s.action}:${s.outcome}`).join(' → ')}`)
}

async function runOnce(): Promise<void> {
  const authenticator = createSoftwareAuthenticator({ origin: backend.origin, rpId: 'localhost' })
  const storage = memoryStorage()
  const username = `demo-${Date.now().toString(36)}@example.com`
  const grantUrl = `${backend.origin}/api/grant-token`

  async function flow(title: string, options: { newDevice?: boolean; cancelPasskey?: boolean }) {
    console.log(`\n== ${title}`)
    if (options.newDevice) storage.clear()
    if (options.cancelPasskey) authenticator.fail('cancel', { ceremony: 'get' })
    let cookie = ''
    const client = createMfaClient({ baseUrl: loginidBaseUrl, webauthn: authenticator, storage })
    const result = await runMfa({
      client,
      username,
      externalAuthenticator: async (ctx) => {
        console.log(`   LoginID hands the decision to the app (reason: ${ctx.reason})`)
        const response = await fetch(`${backend.origin}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: ctx.username, password: DEMO_PASSWORD }),
        })
        if (!response.ok) return false
        cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
        console.log('   the app checked its own password')
        return { method: 'password' }
      },
      tokenProvider: (ctx) =>
        fetchGrantToken(grantUrl, { headers: { cookie, origin: backend.origin } })(ctx),
      onEvent,
    })
    await verifyAndPrint(title, result, cookie)
  }

  /** The IdP path: runMfa suspends, the "browser" visits the IdP, resumeMfa finishes. */
  async function idpFlow(title: string) {
    console.log(`\n== ${title}`)
    const pending = memoryStorage() // the tab's sessionStorage
    const client = createMfaClient({ baseUrl: loginidBaseUrl, webauthn: authenticator, storage })
    const tokenProvider = fetchGrantToken<{ idpCode: string }>(grantUrl, {
      headers: { origin: backend.origin },
    })
    const suspended = await runMfa({
      client,
      username,
      storage: pending,
      chooseAction: (r) =>
        r.remainingFactors.some((f) => f.type === 'external') ? 'external' : undefined,
      externalAuthenticator: (ctx) => {
        const url = new URL('/idp/authorize', backend.origin)
        url.searchParams.set('login_hint', ctx.username)
        url.searchParams.set('state', ctx.resumeNonce)
        return ctx.redirect(url)
      },
      tokenProvider,
      onEvent,
    })
    if (suspended.status !== 'redirect') throw new Error(`${title}: expected a redirect`)
    // The user approves at the IdP, which redirects back with a one-time code and the state.
    const approve = await fetch(`${backend.origin}/idp/approve`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({
        username,
        state: new URL(suspended.url).searchParams.get('state') ?? '',
        return_to: '/',
      }),
    })
    const back = new URL(approve.headers.get('location') ?? '/', backend.origin)
    console.log(`   the IdP sent the user back to ${back.pathname}?idp_code=…&state=…`)
    const result = await resumeMfa({
      client,
      storage: pending,
      proof: { idpCode: back.searchParams.get('idp_code') ?? '' },
      nonce: back.searchParams.get('state') ?? '',
      tokenProvider,
      onEvent,
    })
    await verifyAndPrint(title, result)
  }

  console.log(`Demo user: ${username}`)
  await flow('1. Sign up: external (the app password), then passkey registration', {})
  await flow('2. Sign in with the passkey', {})
  await flow('3. Sign in on a new device: external', { newDevice: true })
  await flow('4. Sign in, cancel the passkey prompt: fallback to external', { cancelPasskey: true })
  await idpFlow('5. Sign in with the IdP: the flow leaves the page and resumes')
  console.log('\nAll five flows completed.')
}
