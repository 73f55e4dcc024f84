// The demo page: runMfa with the built-in client and the browser's WebAuthn, the app's own
// authentication for LoginID's `external` step, and a backend that mints grant tokens.
import {
  browserWebAuthn,
  createMfaClient,
  fetchGrantToken,
  isMfaError,
  peekPendingMfa,
  resumeMfa,
  runMfa,
} from '../../../src/index.js'
import type { MfaEvent, MfaStorage, RunMfaResult } from '../../../src/index.js'
import { describeError } from './messages.js'

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
      if (event.outcome === 'continue') {
        // LoginID's "more factors needed" is an HTTP 401 carrying a new session: browsers print
        // it in red in the console, although nothing failed.
        return `Step ${event.step}: ${event.action} → continue (LoginID wants another factor. It says so with an HTTP 401 that carries a new session, so the browser console shows a red "401" for this request: expected, not an error.)`
      }
      return `Step ${event.step}: ${event.action} → ${event.outcome}`
    case 'fallback':
      return `${event.action} failed (${event.error.code}); falling back to ${event.to}`
    case 'complete':
      return `LoginID completed the ${event.completion.flow ?? ''} flow in ${event.elapsedMs} ms`
    case 'error':
      return `Failed at ${event.action} (${event.error.code})`
  }
}

const config: Config = await fetch('/api/config').then((r) => r.json() as Promise<Config>)
$('loginid').textContent = config.loginidBaseUrl
$('demo-password').textContent = config.demoPassword

/**
 * This browser's LoginID state (session, device id) lives in localStorage, its Trust ID key in
 * IndexedDB; "new device" forgets both (IndexedDB runs the delete before the client's next open).
 */
function storage(forgetDevice: boolean): MfaStorage {
  if (forgetDevice) {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith('LoginID_')) localStorage.removeItem(key)
    }
    indexedDB.deleteDatabase('loginid-trust-store')
  }
  return localStorage
}

/** What the app's own authentication hands its backend: a password login, or an IdP code. */
type DemoProof = { method: 'password' } | { idpCode: string }

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

const onEvent = (event: MfaEvent) => {
  const text = describe(event)
  if (text) log(text)
}

function newClient(forgetDevice = false) {
  return createMfaClient({
    baseUrl: config.loginidBaseUrl,
    webauthn: browserWebAuthn(),
    stateStorage: storage(forgetDevice),
  })
}

/** Run one flow (or resume one) with the page's UI around it. */
async function withUi(title: string, flow: () => Promise<RunMfaResult>) {
  logList.replaceChildren()
  setStatus('running', `${title}…`)
  for (const button of buttons) button.disabled = true
  try {
    const result = await flow()
    if (result.status === 'redirect') {
      log('The app sends you to its identity provider…')
      location.assign(result.url)
      return
    }
    // After MFA the backend checks LoginID's access token before it trusts the user.
    const verified = (await fetch('/api/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessToken: result.accessToken }),
    }).then((r) => r.json())) as { verified: boolean; username?: string; error?: string }
    if (!verified.verified) throw new Error(`backend rejected the token: ${verified.error}`)
    log(`The backend verified LoginID's access token for ${verified.username}.`)
    setStatus('complete', `Signed in as ${verified.username} (${result.flow ?? 'done'}).`)
  } catch (error) {
    // The user gets a sentence; the developer gets the code (and the message in the log).
    const { sentence, code } = describeError(error)
    log(isMfaError(error) ? `For developers: ${error.code}: ${error.message}` : String(error))
    setStatus('error', code ? `${sentence} (${code})` : sentence)
  } finally {
    for (const button of buttons) button.disabled = false
  }
}

/** A sign-in button with a username LoginID does not know starts a sign-up: say so. */
function noteSignUp(reason: string, username: string) {
  if (reason !== 'signUp') return
  log(
    `LoginID does not know "${username}", so this sign-in becomes a sign-up: the app authenticates you its own way, then LoginID continues (in this demo: a new passkey).`,
  )
}

function run(kind: 'signup' | 'signin' | 'newdevice' | 'cancel') {
  const username = $<HTMLInputElement>('username').value.trim()
  return withUi(`Running (${kind})`, () =>
    runMfa({
      client: newClient(kind === 'newdevice'),
      username,
      externalAuthenticator: (ctx) => {
        if (kind !== 'signup') noteSignUp(ctx.reason, ctx.username)
        log(`LoginID hands the decision to the app (reason: ${ctx.reason}).`)
        return passwordLogin(ctx.username)
      },
      tokenProvider: fetchGrantToken('/api/grant-token'),
      onEvent,
    }),
  )
}

/** The app's own authentication through its identity provider: the page leaves and comes back. */
function signInWithIdp() {
  const username = $<HTMLInputElement>('username').value.trim()
  return withUi('Signing in with the IdP', () =>
    runMfa({
      client: newClient(),
      username,
      // Prefer the IdP over a passkey for this button, when LoginID offers external.
      chooseAction: (result) =>
        result.remainingFactors.some((f) => f.type === 'external') ? 'external' : undefined,
      externalAuthenticator: (ctx) => {
        noteSignUp(ctx.reason, ctx.username)
        log(`LoginID hands the decision to the app (reason: ${ctx.reason}).`)
        const url = new URL('/idp/authorize', location.origin)
        url.searchParams.set('login_hint', ctx.username)
        url.searchParams.set('return_to', '/')
        url.searchParams.set('state', ctx.resumeNonce) // the IdP hands it back; resumeMfa checks it
        return ctx.redirect(url, { username: ctx.username })
      },
      tokenProvider: fetchGrantToken('/api/grant-token'),
      onEvent,
    }),
  )
}

/** Back from the IdP: `?idp_code=...&state=<nonce>`. */
async function resumeFromIdp(params: URLSearchParams) {
  history.replaceState(null, '', '/') // the code is single-use; keep it out of the history
  const pending = await peekPendingMfa<{ username: string }>()
  if (pending) $<HTMLInputElement>('username').value = pending.username
  await withUi('Back from the IdP', async () => {
    log('Returned from the identity provider; resuming the LoginID flow.')
    return resumeMfa<DemoProof>({
      client: newClient(),
      proof: { idpCode: params.get('idp_code') ?? '' },
      nonce: params.get('state') ?? '',
      tokenProvider: fetchGrantToken('/api/grant-token'),
      externalAuthenticator: (ctx) => passwordLogin(ctx.username),
      onEvent,
    })
  })
}

for (const kind of ['signup', 'signin', 'newdevice', 'cancel'] as const) {
  $(kind).addEventListener('click', () => void run(kind))
}
$('idp').addEventListener('click', () => void signInWithIdp())

const params = new URLSearchParams(location.search)
if (params.has('idp_code')) await resumeFromIdp(params)
