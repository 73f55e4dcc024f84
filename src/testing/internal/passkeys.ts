// Internal (loginid-mfa-flow/testing): the WebAuthn options the simulator issues. What comes back
// is verified for real by `createPasskeyVerifier` (../passkey-verifier.ts), the one seam.
import { encodeBase64Url, encodeBase64UrlText } from '../../internal/base64url.js'
import type {
  PasskeyCreationOptions,
  PasskeyCredentialDescriptor,
  PasskeyRequestOptions,
} from '../../shared/protocol.js'
import type { SimulatedPasskey } from '../simulator-types.js'

/** The AAGUID of authenticators that do not tell (and of `none` attestations). */
export const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000'

/**
 * A fresh WebAuthn challenge, base64url: 32 random bytes, followed for `passkey:tx` by
 * `payloadHash` (the SHA-256 of the transaction payload), so the signed `clientDataJSON`
 * commits to the payload.
 */
export function newChallenge(payloadHash?: Uint8Array): string {
  const nonce = crypto.getRandomValues(new Uint8Array(32))
  if (payloadHash === undefined) return encodeBase64Url(nonce)
  const out = new Uint8Array(nonce.length + payloadHash.length)
  out.set(nonce)
  out.set(payloadHash, nonce.length)
  return encodeBase64Url(out)
}

/** SHA-256 of a transaction payload (UTF-8). */
export async function payloadHashOf(payload: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(payload)))
}

/** Base64url (no padding) JSON of an options object, as LoginID puts it into an action option. */
export function encodeOptions(options: PasskeyCreationOptions | PasskeyRequestOptions): string {
  return encodeBase64UrlText(JSON.stringify(options))
}

function descriptor(passkey: SimulatedPasskey): PasskeyCredentialDescriptor {
  return {
    type: 'public-key',
    id: passkey.credentialId,
    ...(passkey.transports !== undefined && { transports: [...passkey.transports] }),
  }
}

/** Registration options for `passkey:reg`. */
export function creationOptions(input: {
  rpId: string
  rpName: string
  userHandle: string
  username: string
  displayName: string
  challenge: string
  existing: readonly SimulatedPasskey[]
}): PasskeyCreationOptions {
  return {
    rp: { id: input.rpId, name: input.rpName },
    user: { id: input.userHandle, name: input.username, displayName: input.displayName },
    challenge: input.challenge,
    pubKeyCredParams: [
      { type: 'public-key', alg: -7 },
      { type: 'public-key', alg: -257 },
    ],
    timeout: 60000,
    excludeCredentials: input.existing.map(descriptor),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    attestation: 'none',
  }
}

/** Authentication options for `passkey:auth` / `passkey:tx`. */
export function requestOptions(input: {
  rpId: string
  challenge: string
  credentials: readonly SimulatedPasskey[]
}): PasskeyRequestOptions {
  return {
    challenge: input.challenge,
    rpId: input.rpId,
    allowCredentials: input.credentials.map(descriptor),
    userVerification: 'required',
    timeout: 60000,
  }
}
