// Over 400 lines: one case per verification failure reason, each needing its own forged input.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { PasskeyCreationOptions, PasskeyRequestOptions } from '../shared/protocol.js'
import { createPasskeyVerifier } from './passkey-verifier.js'
import type { PasskeyCredentialRecord } from './passkey-verifier.js'
import { createSoftwareAuthenticator } from './software-authenticator.js'

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
const challenge = (): string => b64url(crypto.getRandomValues(new Uint8Array(32)))

function creationOptions(overrides: Partial<PasskeyCreationOptions> = {}): PasskeyCreationOptions {
  return {
    rp: { id: 'localhost', name: 'Test' },
    user: { id: b64url(new TextEncoder().encode('user-1')), name: 'ada', displayName: 'Ada' },
    challenge: challenge(),
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    attestation: 'none',
    ...overrides,
  }
}

function requestOptions(overrides: Partial<PasskeyRequestOptions> = {}): PasskeyRequestOptions {
  return {
    challenge: challenge(),
    rpId: 'localhost',
    allowCredentials: [],
    userVerification: 'required',
    ...overrides,
  }
}

/** Flip one bit in the middle of a base64url value. */
function tamper(value: string): string {
  const bytes = Buffer.from(value, 'base64url')
  const i = Math.floor(bytes.length / 2)
  bytes[i] = (bytes[i] ?? 0) ^ 0x01
  return bytes.toString('base64url')
}

async function registered(verifierOrigin = 'http://localhost') {
  const authenticator = createSoftwareAuthenticator()
  const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: verifierOrigin })
  const options = creationOptions()
  const creationResult = await authenticator.create(options)
  const reg = await verifier.verifyRegistration({
    creationResult,
    expectedChallenge: options.challenge,
  })
  if (!reg.verified) throw new Error(`registration failed: ${reg.reason}`)
  return { authenticator, verifier, credential: reg.credential as PasskeyCredentialRecord, reg }
}

describe('createPasskeyVerifier: registration', () => {
  it('verifies a software-authenticator registration and returns the COSE key', async () => {
    const { reg, authenticator } = await registered()
    expect(reg).toMatchObject({
      verified: true,
      fmt: 'none',
      aaguid: '00000000-0000-0000-0000-000000000000',
      userVerified: true,
      backedUp: false,
      credential: { id: authenticator.credentials[0]!.id, signCount: 0, transports: ['internal'] },
    })
    expect(reg.credential.publicKey).toBe(authenticator.credentials[0]!.cosePublicKey)
  })

  it('tolerates a padded / standard-base64 expected challenge', async () => {
    const authenticator = createSoftwareAuthenticator()
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const bytes = new Uint8Array(32).fill(0xfb)
    const options = creationOptions({ challenge: Buffer.from(bytes).toString('base64') })
    const creationResult = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: Buffer.from(bytes).toString('base64'),
    })
    expect(reg.verified).toBe(true)
  })

  it('rejects a wrong challenge', async () => {
    const authenticator = createSoftwareAuthenticator()
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const creationResult = await authenticator.create(creationOptions())
    const reg = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: challenge(),
    })
    expect(reg).toMatchObject({ verified: false, reason: 'challenge_mismatch' })
  })

  it('rejects a wrong origin', async () => {
    const authenticator = createSoftwareAuthenticator({ origin: 'http://localhost:5173' })
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const options = creationOptions()
    const creationResult = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: options.challenge,
    })
    expect(reg).toMatchObject({ verified: false, reason: 'origin_mismatch' })
  })

  it('accepts any of several origins', async () => {
    const authenticator = createSoftwareAuthenticator({ origin: 'http://localhost:5173' })
    const verifier = createPasskeyVerifier({
      rpId: 'localhost',
      origin: ['http://localhost', 'http://localhost:5173'],
    })
    const options = creationOptions()
    const creationResult = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: options.challenge,
    })
    expect(reg.verified).toBe(true)
  })

  it('rejects a credential made for another rpId', async () => {
    const authenticator = createSoftwareAuthenticator({ origin: 'https://app.example.com' })
    const verifier = createPasskeyVerifier({
      rpId: 'example.com',
      origin: 'https://app.example.com',
    })
    const options = creationOptions({ rp: { id: 'app.example.com', name: 'x' } })
    const creationResult = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: options.challenge,
    })
    expect(reg).toMatchObject({ verified: false, reason: 'rp_id_mismatch' })
  })

  it('rejects a create result replayed as an assertion type', async () => {
    const { verifier } = await registered()
    const authenticator = createSoftwareAuthenticator()
    await authenticator.create(creationOptions())
    const options = requestOptions()
    const assertion = await authenticator.get(options)
    const reg = await verifier.verifyRegistration({
      creationResult: {
        attestationObject: assertion.authenticatorData,
        clientDataJSON: assertion.clientDataJSON,
        credentialId: assertion.credentialId,
      },
      expectedChallenge: options.challenge,
    })
    expect(reg).toMatchObject({ verified: false, reason: 'wrong_type' })
  })

  it('rejects a credentialId that is not the attested one', async () => {
    const authenticator = createSoftwareAuthenticator()
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const options = creationOptions()
    const creationResult = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult: { ...creationResult, credentialId: b64url(new Uint8Array(32)) },
      expectedChallenge: options.challenge,
    })
    expect(reg).toMatchObject({ verified: false, reason: 'credential_mismatch' })
  })

  it('requires user verification unless told otherwise', async () => {
    const authenticator = createSoftwareAuthenticator({ userVerified: false })
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const options = creationOptions()
    const creationResult = await authenticator.create(options)
    const strict = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: options.challenge,
    })
    expect(strict).toMatchObject({ verified: false, reason: 'user_verification' })
    const lenient = await verifier.verifyRegistration({
      creationResult,
      expectedChallenge: options.challenge,
      requireUserVerification: false,
    })
    expect(lenient).toMatchObject({ verified: true, userVerified: false })
  })

  it.each([
    ['null', null],
    ['a string', 'abc'],
    ['missing attestationObject', { clientDataJSON: 'e30', credentialId: 'AA' }],
    [
      'non-base64url field',
      { attestationObject: '***', clientDataJSON: 'e30', credentialId: 'AA' },
    ],
    [
      'clientDataJSON not JSON',
      { attestationObject: 'AA', clientDataJSON: 'AAAA', credentialId: 'AA' },
    ],
  ])('reports a malformed creationResult (%s)', async (_label, creationResult) => {
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const reg = await verifier.verifyRegistration({ creationResult, expectedChallenge: 'AAAA' })
    expect(reg).toMatchObject({ verified: false, reason: 'malformed' })
  })

  it('rejects a garbage attestation object without throwing', async () => {
    const authenticator = createSoftwareAuthenticator()
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const options = creationOptions()
    const creationResult = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult: { ...creationResult, attestationObject: b64url(new Uint8Array([1, 2, 3])) },
      expectedChallenge: options.challenge,
    })
    expect(reg.verified).toBe(false)
  })

  it('validates its own options', () => {
    expect(() => createPasskeyVerifier({ rpId: '', origin: 'http://localhost' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
    expect(() => createPasskeyVerifier({ rpId: 'localhost', origin: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })
})

describe('createPasskeyVerifier: assertion', () => {
  it('verifies a real assertion and reports the new sign count and user handle', async () => {
    const { authenticator, verifier, credential } = await registered()
    const options = requestOptions({
      allowCredentials: [{ type: 'public-key', id: credential.id }],
    })
    const assertionResult = await authenticator.get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential,
      expectedUserHandle: b64url(new TextEncoder().encode('user-1')),
    })
    expect(auth).toEqual({
      verified: true,
      credentialId: credential.id,
      newSignCount: 1,
      userVerified: true,
      userHandle: b64url(new TextEncoder().encode('user-1')),
    })
  })

  it('finds the credential in a list and accepts COSE bytes', async () => {
    const { authenticator, verifier, credential } = await registered()
    const other: PasskeyCredentialRecord = { id: 'AAAA', publicKey: 'AAAA', signCount: 0 }
    const options = requestOptions()
    const assertionResult = await authenticator.get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential: [
        other,
        { ...credential, publicKey: Buffer.from(credential.publicKey as string, 'base64url') },
      ],
    })
    expect(auth.verified).toBe(true)
  })

  it('rejects a wrong challenge', async () => {
    const { authenticator, verifier, credential } = await registered()
    const assertionResult = await authenticator.get(requestOptions())
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: challenge(),
      credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'challenge_mismatch' })
  })

  it('rejects a wrong origin', async () => {
    const { authenticator, credential } = await registered()
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'https://localhost' })
    const options = requestOptions()
    const assertionResult = await authenticator.get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'origin_mismatch' })
  })

  it('rejects a tampered signature', async () => {
    const { authenticator, verifier, credential } = await registered()
    const options = requestOptions()
    const assertionResult = await authenticator.get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult: { ...assertionResult, signature: tamper(assertionResult.signature) },
      expectedChallenge: options.challenge,
      credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'bad_signature' })
  })

  it('rejects tampered authenticator data', async () => {
    const { authenticator, verifier, credential } = await registered()
    const options = requestOptions()
    const assertionResult = await authenticator.get(options)
    const data = Buffer.from(assertionResult.authenticatorData, 'base64url')
    data[36] = (data[36] ?? 0) + 5 // raise the sign count
    const auth = await verifier.verifyAssertion({
      assertionResult: { ...assertionResult, authenticatorData: data.toString('base64url') },
      expectedChallenge: options.challenge,
      credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'bad_signature' })
  })

  it('rejects an unknown credential', async () => {
    const { verifier } = await registered()
    const { authenticator, credential: unrelated } = await registered()
    const options = requestOptions()
    const assertionResult = await authenticator.get(options)
    const known = { ...unrelated, id: b64url(new Uint8Array(32).fill(7)) }
    for (const credential of [undefined, [], known]) {
      const auth = await verifier.verifyAssertion({
        assertionResult,
        expectedChallenge: options.challenge,
        credential,
      })
      expect(auth).toMatchObject({ verified: false, reason: 'unknown_credential' })
    }
  })

  it("rejects an assertion signed by another credential's key", async () => {
    const { verifier, credential } = await registered()
    const { authenticator: other } = await registered()
    const options = requestOptions()
    const assertionResult = await other.get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult: { ...assertionResult, credentialId: credential.id },
      expectedChallenge: options.challenge,
      credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'bad_signature' })
  })

  it('rejects another user handle when one is expected', async () => {
    const { authenticator, verifier, credential } = await registered()
    const options = requestOptions()
    const assertionResult = await authenticator.get(options)
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: options.challenge,
      credential,
      expectedUserHandle: b64url(new TextEncoder().encode('user-2')),
    })
    expect(auth).toMatchObject({ verified: false, reason: 'user_mismatch' })
  })

  it('rejects a registration result sent as an assertion', async () => {
    const authenticator = createSoftwareAuthenticator()
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const options = creationOptions()
    const created = await authenticator.create(options)
    const reg = await verifier.verifyRegistration({
      creationResult: created,
      expectedChallenge: options.challenge,
    })
    if (!reg.verified) throw new Error('setup')
    const auth = await verifier.verifyAssertion({
      assertionResult: {
        authenticatorData: created.authenticatorData,
        clientDataJSON: created.clientDataJSON,
        credentialId: created.credentialId,
        signature: 'AAAA',
      },
      expectedChallenge: options.challenge,
      credential: reg.credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'wrong_type' })
  })

  it('enforces increasing sign counts (replay / cloned authenticator)', async () => {
    const { authenticator, verifier, credential } = await registered()
    const first = requestOptions()
    const firstResult = await authenticator.get(first) // counter 1
    const second = requestOptions()
    const secondResult = await authenticator.get(second) // counter 2

    const ok = await verifier.verifyAssertion({
      assertionResult: secondResult,
      expectedChallenge: second.challenge,
      credential,
    })
    expect(ok).toMatchObject({ verified: true, newSignCount: 2 })
    const stale = await verifier.verifyAssertion({
      assertionResult: firstResult,
      expectedChallenge: first.challenge,
      credential: { ...credential, signCount: 2 },
    })
    expect(stale).toMatchObject({ verified: false, reason: 'sign_count' })
    const same = await verifier.verifyAssertion({
      assertionResult: secondResult,
      expectedChallenge: second.challenge,
      credential: { ...credential, signCount: 2 },
    })
    expect(same).toMatchObject({ verified: false, reason: 'sign_count' })
  })

  it('accepts a counter that stays 0 (synced passkeys)', async () => {
    const authenticator = createSoftwareAuthenticator({ signCount: 'zero', backupEligible: true })
    const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
    const options = creationOptions()
    const reg = await verifier.verifyRegistration({
      creationResult: await authenticator.create(options),
      expectedChallenge: options.challenge,
    })
    if (!reg.verified) throw new Error('setup')
    expect(reg.backedUp).toBe(true)
    for (let i = 0; i < 2; i++) {
      const request = requestOptions()
      const auth = await verifier.verifyAssertion({
        assertionResult: await authenticator.get(request),
        expectedChallenge: request.challenge,
        credential: reg.credential,
      })
      expect(auth).toMatchObject({ verified: true, newSignCount: 0 })
    }
  })

  it.each([
    ['null', null],
    ['missing signature', { authenticatorData: 'AA', clientDataJSON: 'AA', credentialId: 'AA' }],
    [
      'userHandle not a string',
      {
        authenticatorData: 'AA',
        clientDataJSON: 'AA',
        credentialId: 'AA',
        signature: 'AA',
        userHandle: 1,
      },
    ],
  ])('reports a malformed assertionResult (%s)', async (_label, assertionResult) => {
    const { verifier, credential } = await registered()
    const auth = await verifier.verifyAssertion({
      assertionResult,
      expectedChallenge: 'AAAA',
      credential,
    })
    expect(auth).toMatchObject({ verified: false, reason: 'malformed' })
  })
})

describe('createPasskeyVerifier without @simplewebauthn/server', () => {
  afterEach(() => {
    vi.doUnmock('@simplewebauthn/server')
    vi.resetModules()
  })

  it('rejects with ERR_WEBAUTHN_UNAVAILABLE naming the package', async () => {
    vi.resetModules()
    vi.doMock('@simplewebauthn/server', () => {
      throw new Error("Cannot find package '@simplewebauthn/server'")
    })
    const { createPasskeyVerifier: create } = await import('./passkey-verifier.js')
    const verifier = create({ rpId: 'localhost', origin: 'http://localhost' })
    const attempt = verifier.verifyRegistration({ creationResult: {}, expectedChallenge: 'AAAA' })
    // A fresh module graph: MfaError is another class here, so match by shape.
    await expect(attempt).rejects.toMatchObject({
      name: 'MfaError',
      code: 'ERR_WEBAUTHN_UNAVAILABLE',
      message: expect.stringContaining('@simplewebauthn/server'),
    })
  })
})
