// browserWebAuthn (its real ceremony code path) over a navigator.credentials
// backed by the software authenticator, checked by the passkey verifier: proves that the
// browser adapter decodes LoginID's options and encodes its results so that real signatures
// verify, and that the software authenticator's DOMExceptions map to the right MfaError codes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { browserWebAuthn } from '../../src/client/browser-webauthn.js'
import type {
  PasskeyCredentialDescriptor,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
} from '../../src/shared/protocol.js'
import { createPasskeyVerifier } from '../../src/testing/passkey-verifier.js'
import type { PasskeyCredentialRecord } from '../../src/testing/passkey-verifier.js'
import { createSoftwareAuthenticator } from '../../src/testing/software-authenticator.js'
import type { SoftwareAuthenticator } from '../../src/testing/software-authenticator.js'

const toB64 = (value: BufferSource): string =>
  Buffer.from(
    value instanceof ArrayBuffer
      ? new Uint8Array(value)
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
  ).toString('base64url')
const toBuffer = (value: string): ArrayBuffer =>
  new Uint8Array(Buffer.from(value, 'base64url')).buffer
const challenge = (): string => toB64(crypto.getRandomValues(new Uint8Array(32)))

const descriptors = (
  list?: readonly PublicKeyCredentialDescriptor[],
): PasskeyCredentialDescriptor[] =>
  (list ?? []).map((d) => ({ type: 'public-key', id: toB64(d.id) }))

/** A browser's navigator.credentials, implemented with the software authenticator. */
function installNavigator(authenticator: SoftwareAuthenticator): void {
  vi.stubGlobal('PublicKeyCredential', function PublicKeyCredential() {})
  vi.stubGlobal('location', { hostname: 'localhost' })
  vi.stubGlobal('navigator', {
    credentials: {
      async create({ publicKey, signal }: CredentialCreationOptions) {
        const o = publicKey!
        const result = await authenticator.create(
          {
            rp: { name: o.rp.name, ...(o.rp.id && { id: o.rp.id }) },
            user: { id: toB64(o.user.id), name: o.user.name, displayName: o.user.displayName },
            challenge: toB64(o.challenge),
            pubKeyCredParams: o.pubKeyCredParams.map((p) => ({ type: 'public-key', alg: p.alg })),
            excludeCredentials: descriptors(o.excludeCredentials),
          },
          signal ?? undefined,
        )
        return {
          id: result.credentialId,
          rawId: toBuffer(result.credentialId),
          type: 'public-key',
          authenticatorAttachment: 'platform',
          getClientExtensionResults: () => ({}),
          response: {
            attestationObject: toBuffer(result.attestationObject),
            clientDataJSON: toBuffer(result.clientDataJSON),
            getTransports: () => result.transports,
            getPublicKey: () => toBuffer(result.publicKey!),
            getPublicKeyAlgorithm: () => result.publicKeyAlgorithm,
            getAuthenticatorData: () => toBuffer(result.authenticatorData!),
          },
        }
      },
      async get({ publicKey, signal, mediation }: CredentialRequestOptions) {
        const o = publicKey!
        const result = await authenticator.get(
          {
            challenge: toB64(o.challenge),
            rpId: o.rpId ?? 'localhost',
            allowCredentials: descriptors(o.allowCredentials),
            userVerification: o.userVerification ?? 'preferred',
          },
          signal ?? undefined,
          { autoFill: mediation === 'conditional' },
        )
        return {
          id: result.credentialId,
          rawId: toBuffer(result.credentialId),
          type: 'public-key',
          authenticatorAttachment: 'platform',
          getClientExtensionResults: () => ({}),
          response: {
            authenticatorData: toBuffer(result.authenticatorData),
            clientDataJSON: toBuffer(result.clientDataJSON),
            signature: toBuffer(result.signature),
            userHandle: result.userHandle ? toBuffer(result.userHandle) : null,
          },
        }
      },
    },
  })
}

function creationOptions(overrides: Partial<PasskeyCreationOptions> = {}): PasskeyCreationOptions {
  return {
    rp: { id: 'localhost', name: 'Demo' },
    user: { id: toB64(new TextEncoder().encode('user-42')), name: 'ada', displayName: 'Ada' },
    challenge: challenge(),
    pubKeyCredParams: [
      { type: 'public-key', alg: -7 },
      { type: 'public-key', alg: -257 },
    ],
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    attestation: 'none',
    ...overrides,
  }
}

function requestOptions(allow: PasskeyCredentialDescriptor[] = []): PasskeyRequestOptions {
  return {
    challenge: challenge(),
    rpId: 'localhost',
    allowCredentials: allow,
    userVerification: 'required',
  }
}

let authenticator: SoftwareAuthenticator
const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })

beforeEach(() => {
  authenticator = createSoftwareAuthenticator()
  installNavigator(authenticator)
})

afterEach(() => {
  vi.unstubAllGlobals()
})

async function register(): Promise<PasskeyCredentialRecord> {
  const options = creationOptions()
  const creationResult = await browserWebAuthn().create(options)
  const reg = await verifier.verifyRegistration({
    creationResult,
    expectedChallenge: options.challenge,
  })
  expect(reg).toMatchObject({ verified: true, fmt: 'none' })
  if (!reg.verified) throw new Error(reg.reason)
  return reg.credential
}

describe('browserWebAuthn over a software authenticator', () => {
  it('registers and signs in with real signatures', async () => {
    const credential = await register()
    expect(credential.id).toBe(authenticator.credentials[0]!.id)

    const options = requestOptions([{ type: 'public-key', id: credential.id }])
    const assertionResult = await browserWebAuthn().get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential,
      expectedUserHandle: toB64(new TextEncoder().encode('user-42')),
    })
    expect(auth).toMatchObject({ verified: true, newSignCount: 1, credentialId: credential.id })
  })

  it('signs in through conditional UI', async () => {
    const credential = await register()
    vi.stubGlobal(
      'PublicKeyCredential',
      Object.assign(function PublicKeyCredential() {}, {
        isConditionalMediationAvailable: async () => true,
      }),
    )
    vi.stubGlobal('document', { querySelectorAll: () => [{}] })
    const options = requestOptions()
    const assertionResult = await browserWebAuthn().get(options, undefined, { autoFill: true })
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential,
    })
    expect(auth.verified).toBe(true)
  })

  it('fails verification for a wrong challenge, another origin and a stale counter', async () => {
    const credential = await register()
    const options = requestOptions()
    const assertionResult = await browserWebAuthn().get(options)
    const wrongChallenge = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: challenge(),
      credential,
    })
    expect(wrongChallenge).toMatchObject({ verified: false, reason: 'challenge_mismatch' })
    const otherOrigin = await createPasskeyVerifier({
      rpId: 'localhost',
      origin: 'https://localhost:8443',
    }).verifyAssertion({ assertionResult, expectedChallenge: options.challenge, credential })
    expect(otherOrigin).toMatchObject({ verified: false, reason: 'origin_mismatch' })
    const replay = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential: { ...credential, signCount: 1 },
    })
    expect(replay).toMatchObject({ verified: false, reason: 'sign_count' })
  })

  it('maps a registration of an excluded credential to ERR_PASSKEY_EXISTS', async () => {
    const credential = await register()
    await expect(
      browserWebAuthn().create(
        creationOptions({ excludeCredentials: [{ type: 'public-key', id: credential.id }] }),
      ),
    ).rejects.toMatchObject({ name: 'MfaError', code: 'ERR_PASSKEY_EXISTS' })
  })

  it.each([
    ['cancel', 'ERR_PASSKEY_CANCELLED'],
    ['abort', 'ERR_PASSKEY_CANCELLED'],
    ['security', 'ERR_PASSKEY_DOMAIN'],
    ['unsupported', 'ERR_PASSKEY_UNSUPPORTED'],
    ['error', 'ERR_PASSKEY_FAILED'],
  ] as const)('maps the authenticator failing with %s to %s', async (failure, code) => {
    await register()
    authenticator.fail(failure)
    await expect(browserWebAuthn().get(requestOptions())).rejects.toMatchObject({ code })
  })

  it('maps "no passkey on this device" to ERR_PASSKEY_CANCELLED', async () => {
    await expect(browserWebAuthn().get(requestOptions())).rejects.toMatchObject({
      code: 'ERR_PASSKEY_CANCELLED',
    })
  })
})
