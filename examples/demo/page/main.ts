// The demo page: runMfa with the built-in client and the browser's WebAuthn, the app's own
// authentication for LoginID's `external` step, and a backend that mints grant tokens.
import {
  browserWebAuthn,
  createMfaClient,
  fetchGrantToken,
  isMfaError,
  runMfa,
} from '../../../src/index.js'
import type { MfaEvent, MfaStorage } from '../../../src/index.js'

interface Config {
  loginidBaseUrl: string
  demoPassword: string
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T
const logList = $('log')
const status = $('status')
const buttons = [...document.querySelectorAll('button')]

function log(text: string) {
  const item = document.createElement('li')
  item.textContent = text
  logList.append(item)
}

function setStatus(kind: 'idle' | 'running' | 'complete' | 'error', text: string) {
  status.dataset.status = kind
  status.textContent = text
}

function describe(event: MfaEvent): string | undefined {
  switch (event.type) {
    case 'step:start':
      return `Step ${event.step}: ${event.action} (attempt ${event.attempt})`
    case 'step:done':
      return `Step ${event.step}: ${event.action} → ${event.outcome}`
    case 'fallback':
      return `${event.action} failed (${event.error.code}); falling back to ${event.to}`
    case 'complete':
      return `LoginID completed the ${event.completion.flow ?? ''} flow in ${event.elapsedMs} ms`
    case 'error':
      return `Failed: ${event.error.code}`
  }
}

const config: Config = await fetch('/api/config').then((r) => r.json() as Promise<Config>)
$('loginid').textContent = config.loginidBaseUrl
$('demo-password').textContent = config.demoPassword

/** This browser's LoginID state (session, device id) lives in localStorage; "new device" forgets it. */
function storage(forgetDevice: boolean): MfaStorage {
  if (forgetDevice) {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith('LoginID_')) localStorage.removeItem(key)
    }
  }
  return localStorage
}

/** The app's own authentication: the password form, checked by the app's backend. */
async function passwordLogin(username: string): Promise<{ method: 'password' } | false> {
  const response = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: $<HTMLInputElement>('password').value }),
  })
  if (!response.ok) {
    log('The app rejected the password.')
    return false
  }
  log('The app authenticated you with its password.')
  return { method: 'password' }
}

async function run(kind: 'signup' | 'signin' | 'newdevice' | 'cancel') {
  const username = $<HTMLInputElement>('username').value.trim()
  logList.replaceChildren()
  setStatus('running', `Running (${kind})…`)
  for (const button of buttons) button.disabled = true
  try {
    const client = createMfaClient({
      baseUrl: config.loginidBaseUrl,
      webauthn: browserWebAuthn(),
      storage: storage(kind === 'newdevice'),
    })
    const result = await runMfa({
      client,
      username,
      externalAuthenticator: (ctx) => {
        log(`LoginID hands the decision to the app (reason: ${ctx.reason}).`)
        return passwordLogin(ctx.username)
      },
      tokenProvider: fetchGrantToken('/api/grant-token'),
      onEvent: (event) => {
        const text = describe(event)
        if (text) log(text)
      },
    })
    if (result.status !== 'complete') throw new Error(`unexpected ${result.status}`)
    const completion = result
    const verified = (await fetch('/api/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessToken: completion.accessToken }),
    }).then((r) => r.json())) as { verified: boolean; username?: string; error?: string }
    if (!verified.verified) throw new Error(`backend rejected the token: ${verified.error}`)
    log(`The backend verified LoginID's access token for ${verified.username}.`)
    setStatus('complete', `Signed in as ${verified.username} (${completion.flow ?? 'done'}).`)
  } catch (error) {
    const text = isMfaError(error) ? `${error.code}: ${error.message}` : String(error)
    log(text)
    setStatus('error', `Failed: ${isMfaError(error) ? error.code : 'error'}`)
  } finally {
    for (const button of buttons) button.disabled = false
  }
}

for (const kind of ['signup', 'signin', 'newdevice', 'cancel'] as const) {
  $(kind).addEventListener('click', () => void run(kind))
}
