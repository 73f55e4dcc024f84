// The examples' browser page: one form, one runMfa. LoginID decides what happens (sign-up with
// the app's password and a new passkey, or sign-in with the passkey); the app's backend mints the
// grant token and checks LoginID's access token. Bundled by the example server with esbuild.
import {
  browserWebAuthn,
  createMfaClient,
  fetchGrantToken,
  isMfaError,
  runMfa,
} from 'loginid-mfa-flow'

const $ = (id: string) => document.getElementById(id) as HTMLInputElement
const status = $('status')
const show = (kind: 'idle' | 'complete' | 'error', text: string) => {
  status.dataset.status = kind
  status.textContent = text
}

const { loginidBaseUrl } = (await (await fetch('/api/config')).json()) as { loginidBaseUrl: string }
const client = createMfaClient({
  baseUrl: loginidBaseUrl,
  webauthn: browserWebAuthn(),
  storage: localStorage, // LoginID's device id: the next sign-in on this browser uses the passkey
})

$('sign-in').addEventListener('submit', (event) => {
  event.preventDefault()
  void signIn($('username').value.trim())
})

async function signIn(username: string) {
  show('idle', 'Working…')
  try {
    const result = await runMfa({
      client,
      username,
      // LoginID asks the app to authenticate the user itself: the app's password login.
      externalAuthenticator: async () => {
        const response = await fetch('/api/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: $('password').value }),
        })
        return response.ok ? { password: true } : null // null: ERR_EXTERNAL_DENIED
      },
      tokenProvider: fetchGrantToken('/api/loginid/grant'),
    })
    if (result.status !== 'complete') throw new Error('unexpected redirect')
    const session = await fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessToken: result.accessToken }),
    })
    if (!session.ok) throw new Error('the server did not accept the sign-in')
    const { username: who } = (await session.json()) as { username: string }
    show(
      'complete',
      `Signed in as ${who} (${result.flow === 'signUp' ? 'new account' : 'passkey'}).`,
    )
  } catch (error) {
    if (isMfaError(error, 'ERR_EXTERNAL_DENIED')) show('error', 'Wrong username or password.')
    else if (isMfaError(error)) show('error', `Sign-in failed (${error.code}). Please try again.`)
    else show('error', 'Sign-in failed. Please try again.')
  }
}
