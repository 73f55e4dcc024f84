// Internal (loginid-mfa-flow/testing): WebAuthn options the simulator issues and the checks of
// what comes back. The two verify functions are the one seam where full cryptographic WebAuthn
// verification plugs in later; today they check shapes, clientDataJSON `type` and `challenge`.
import { base64url } from 'jose'
import type {
  PasskeyCreationOptions,
  PasskeyCredentialDescriptor,
  PasskeyRequestOptions,
} from '../../shared/protocol.js'
import type { SimulatedPasskey } from '../simulator-types.js'
import { isRecord, isStringArray } from './body.js'

const B64URL = /^[A-Za-z0-9_-]+$/
const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000'

/** 32 random bytes, base64url: a fresh WebAuthn challenge. */
export function newChallenge(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
}

/** Base64url (no padding) JSON of an options object, as LoginID puts it into an action option. */
export function encodeOptions(options: PasskeyCreationOptions | PasskeyRequestOptions): string {
  return base64url.encode(JSON.stringify(options))
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

/** A failed check, with a reason for the 401 `msg`. */
export interface PasskeyFailure {
  ok: false
  reason: string
}

function checkClientData(
  value: unknown,
  expectedType: 'webauthn.create' | 'webauthn.get',
  expectedChallenge: string,
): PasskeyFailure | undefined {
  if (typeof value !== 'string' || !B64URL.test(value)) {
    return { ok: false, reason: 'clientDataJSON must be base64url' }
  }
  let clientData: unknown
  try {
    clientData = JSON.parse(new TextDecoder().decode(base64url.decode(value)))
  } catch {
    return { ok: false, reason: 'clientDataJSON is not JSON' }
  }
  if (!isRecord(clientData)) return { ok: false, reason: 'clientDataJSON is not an object' }
  if (clientData.type !== expectedType) {
    return { ok: false, reason: `clientDataJSON.type must be ${expectedType}` }
  }
  if (clientData.challenge !== expectedChallenge) {
    return { ok: false, reason: 'clientDataJSON.challenge does not match the issued challenge' }
  }
  return undefined
}

function checkB64urlFields(
  record: Record<string, unknown>,
  required: readonly string[],
  optional: readonly string[],
): PasskeyFailure | undefined {
  for (const name of required) {
    const value = record[name]
    if (typeof value !== 'string' || !B64URL.test(value)) {
      return { ok: false, reason: `${name} must be a base64url string` }
    }
  }
  for (const name of optional) {
    const value = record[name]
    if (value !== undefined && (typeof value !== 'string' || !B64URL.test(value))) {
      return { ok: false, reason: `${name} must be a base64url string` }
    }
  }
  return undefined
}

/** What a registration check needs. */
export interface PasskeyRegistrationCheck {
  creationResult: Record<string, unknown>
  expectedChallenge: string
  rpId: string
  origin: string
}

/** The credential a successful registration yields. */
export interface RegisteredCredential {
  credentialId: string
  publicKey?: string
  publicKeyAlgorithm?: number
  transports?: string[]
  aaguid: string
}

/** Check a `creationResult` (shape, clientDataJSON type and challenge). */
export async function verifyPasskeyRegistration(
  check: PasskeyRegistrationCheck,
): Promise<{ ok: true; credential: RegisteredCredential } | PasskeyFailure> {
  const result = check.creationResult
  const shape = checkB64urlFields(
    result,
    ['attestationObject', 'clientDataJSON', 'credentialId'],
    ['publicKey', 'authenticatorData'],
  )
  if (shape) return shape
  if (result.publicKeyAlgorithm !== undefined && !Number.isInteger(result.publicKeyAlgorithm)) {
    return { ok: false, reason: 'publicKeyAlgorithm must be an integer' }
  }
  if (result.transports !== undefined && !isStringArray(result.transports)) {
    return { ok: false, reason: 'transports must be an array of strings' }
  }
  const clientData = checkClientData(
    result.clientDataJSON,
    'webauthn.create',
    check.expectedChallenge,
  )
  if (clientData) return clientData
  return {
    ok: true,
    credential: {
      credentialId: result.credentialId as string,
      ...(typeof result.publicKey === 'string' && { publicKey: result.publicKey }),
      ...(typeof result.publicKeyAlgorithm === 'number' && {
        publicKeyAlgorithm: result.publicKeyAlgorithm,
      }),
      ...(isStringArray(result.transports) && { transports: [...result.transports] }),
      aaguid: ZERO_AAGUID,
    },
  }
}

/** What an assertion check needs. `credential` already belongs to the flow's user. */
export interface PasskeyAssertionCheck {
  assertionResult: Record<string, unknown>
  expectedChallenge: string
  rpId: string
  origin: string
  credential: SimulatedPasskey
  userHandle: string
}

/** Check an `assertionResult` (shape, clientDataJSON type and challenge, user handle). */
export async function verifyPasskeyAssertion(
  check: PasskeyAssertionCheck,
): Promise<{ ok: true } | PasskeyFailure> {
  const result = check.assertionResult
  const shape = checkB64urlFields(
    result,
    ['authenticatorData', 'clientDataJSON', 'credentialId', 'signature'],
    ['userHandle'],
  )
  if (shape) return shape
  if (result.userHandle !== undefined && result.userHandle !== check.userHandle) {
    return { ok: false, reason: 'userHandle does not match the user' }
  }
  const clientData = checkClientData(result.clientDataJSON, 'webauthn.get', check.expectedChallenge)
  if (clientData) return clientData
  return { ok: true }
}

export { ZERO_AAGUID }
