/// <reference types="node" />
// `npm run demo`: the demo page and its backend against the built-in LoginID simulator (or a real
// LoginID app when LOGINID_BASE_URL and LOGINID_API_KEY are set), until Ctrl-C.
// `npm run demo -- --once`: the same backend, the four flows run headless in Node with the
// software authenticator, printed step by step; exits 0 when all four complete.
import { parseArgs } from 'node:util'
import { createMfaClient, fetchGrantToken, runMfa } from '../../src/index.js'
import type { MfaStorage } from '../../src/index.js'
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

async function runOnce(): Promise<void> {
  const authenticator = createSoftwareAuthenticator({ origin: backend.origin, rpId: 'localhost' })
  const storage = memoryStorage()
  const username = `demo-${Date.now().toString(36)}@example.com`

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
        fetchGrantToken(`${backend.origin}/api/grant-token`, {
          headers: { cookie, origin: backend.origin },
        })(ctx),
      onEvent: (event) => {
        if (event.type === 'step:start') console.log(`   step ${event.step}: ${event.action}`)
        if (event.type === 'step:done') console.log(`   step ${event.step}: ${event.outcome}`)
        if (event.type === 'fallback')
          console.log(`   ${event.action} failed: ${event.error.code}, fallback to ${event.to}`)
      },
    })
    if (result.status !== 'complete') throw new Error(`unexpected ${result.status}`)
    const completion = result
    const verified = (await fetch(`${backend.origin}/api/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ accessToken: completion.accessToken }),
    }).then((r) => r.json())) as { verified: boolean; username?: string; error?: string }
    if (!verified.verified)
      throw new Error(`${title}: the backend rejected the token (${verified.error})`)
    const steps = completion.steps.map((s) => `${s.action}:${s.outcome}`).join(' → ')
    console.log(
      `   complete (${completion.flow}); backend verified the token for ${verified.username}`,
    )
    console.log(`   steps: ${steps}`)
    return completion
  }

  console.log(`Demo user: ${username}`)
  await flow('1. Sign up: external (the app password), then passkey registration', {})
  await flow('2. Sign in with the passkey', {})
  await flow('3. Sign in on a new device: external', { newDevice: true })
  await flow('4. Sign in, cancel the passkey prompt: fallback to external', { cancelPasskey: true })
  console.log('\nAll four flows completed.')
}
