import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Mock } from 'vitest'
import { isMfaError } from '../shared/errors.js'
import type { PasskeyCreationOptions, PasskeyRequestOptions } from '../shared/protocol.js'
import { browserWebAuthn } from './browser-webauthn.js'

const bytes = (...values: number[]): ArrayBuffer => new Uint8Array(values).buffer
const b64url = (buffer: ArrayBuffer | Uint8Array): string =>
  Buffer.from(buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer)).toString('base64url')
const asBytes = (value: unknown): number[] => [...new Uint8Array(value as ArrayBuffer)]

// 0xfb 0xff encodes to '-_8' in base64url and '+/8=' in standard base64.
const CHALLENGE = bytes(0xfb, 0xff, 0x01, 0x02)
const USER_ID = bytes(0xfe, 0xed)
const CRED_ID = bytes(0xfa, 0xfb, 0xfc, 0xfd, 0xfe)

function creationOptions(overrides: Partial<PasskeyCreationOptions> = {}): PasskeyCreationOptions {
  return {
    rp: { id: 'localhost', name: 'Test' },
    user: { id: b64url(USER_ID), name: 'ada', displayName: 'Ada' },
    challenge: b64url(CHALLENGE),
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    excludeCredentials: [{ type: 'public-key', id: b64url(CRED_ID), transports: ['internal'] }],
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    attestation: 'none',
    timeout: 60_000,
    ...overrides,
  }
}

function requestOptions(overrides: Partial<PasskeyRequestOptions> = {}): PasskeyRequestOptions {
  return {
    challenge: b64url(CHALLENGE),
    rpId: 'localhost',
    allowCredentials: [{ type: 'public-key', id: b64url(CRED_ID) }],
    userVerification: 'required',
    ...overrides,
  }
}

function registrationCredential() {
  return {
    id: b64url(CRED_ID),
    rawId: CRED_ID,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    getClientExtensionResults: () => ({}),
    response: {
      attestationObject: bytes(0xa3, 0x01, 0xff),
      clientDataJSON: bytes(0x7b, 0x7d),
      getTransports: () => ['internal', 'hybrid'],
      getPublicKey: () => bytes(0x30, 0x59, 0xfe),
      getPublicKeyAlgorithm: () => -7,
      getAuthenticatorData: () => bytes(0x49, 0x96, 0xfb),
    },
  }
}

function assertionCredential(userHandle: ArrayBuffer | null = USER_ID) {
  return {
    id: b64url(CRED_ID),
    rawId: CRED_ID,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    getClientExtensionResults: () => ({}),
    response: {
      authenticatorData: bytes(0x49, 0x96, 0xff),
      clientDataJSON: bytes(0x7b, 0x7d),
      signature: bytes(0x30, 0x44, 0xfb, 0xff),
      userHandle,
    },
  }
}

/** Never settles until the ceremony's signal aborts, like a prompt nobody answers. */
function pendingUntilAborted(options: CredentialRequestOptions): Promise<never> {
  return new Promise((_, reject) => {
    options.signal?.addEventListener('abort', () => reject(options.signal?.reason))
  })
}

let create: Mock
let get: Mock
let conditionalAvailable: boolean

beforeEach(() => {
  create = vi.fn()
  get = vi.fn()
  conditionalAvailable = true
  const FakePublicKeyCredential = Object.assign(function PublicKeyCredential() {}, {
    isConditionalMediationAvailable: async () => conditionalAvailable,
  })
  vi.stubGlobal('PublicKeyCredential', FakePublicKeyCredential)
  vi.stubGlobal('navigator', { credentials: { create, get } })
  vi.stubGlobal('location', { hostname: 'localhost' })
  vi.stubGlobal('document', { querySelectorAll: () => [{}] })
})

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('browserWebAuthn().create', () => {
  it('decodes the options and encodes creationResult as LoginID expects', async () => {
    create.mockResolvedValue(registrationCredential())
    const result = await browserWebAuthn().create(creationOptions())

    expect(create).toHaveBeenCalledTimes(1)
    const arg = create.mock.calls[0]![0] as CredentialCreationOptions
    const publicKey = arg.publicKey!
    expect(asBytes(publicKey.challenge)).toEqual(asBytes(CHALLENGE))
    expect(asBytes(publicKey.user.id)).toEqual(asBytes(USER_ID))
    expect(asBytes(publicKey.excludeCredentials![0]!.id)).toEqual(asBytes(CRED_ID))
    expect(publicKey).toMatchObject({
      rp: { id: 'localhost', name: 'Test' },
      user: { name: 'ada', displayName: 'Ada' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      attestation: 'none',
      timeout: 60_000,
    })
    expect(arg.signal).toBeInstanceOf(AbortSignal)

    expect(result).toEqual({
      attestationObject: 'owH_',
      clientDataJSON: 'e30',
      credentialId: '-vv8_f4',
      publicKey: 'MFn-',
      publicKeyAlgorithm: -7,
      authenticatorData: 'SZb7',
      transports: ['internal', 'hybrid'],
    })
  })

  it('tolerates standard base64 with padding in the options', async () => {
    create.mockResolvedValue(registrationCredential())
    await browserWebAuthn().create(
      creationOptions({ challenge: Buffer.from(CHALLENGE).toString('base64') }),
    )
    const publicKey = (create.mock.calls[0]![0] as CredentialCreationOptions).publicKey!
    expect(asBytes(publicKey.challenge)).toEqual(asBytes(CHALLENGE))
  })

  it('leaves out optional fields the browser does not provide', async () => {
    const credential = registrationCredential()
    const { attestationObject, clientDataJSON } = credential.response
    create.mockResolvedValue({ ...credential, response: { attestationObject, clientDataJSON } })
    const result = await browserWebAuthn().create(creationOptions())
    expect(result).toEqual({
      attestationObject: 'owH_',
      clientDataJSON: 'e30',
      credentialId: '-vv8_f4',
    })
  })

  it.each([
    ['NotAllowedError', 'ERR_PASSKEY_CANCELLED'],
    ['InvalidStateError', 'ERR_PASSKEY_EXISTS'],
    ['NotSupportedError', 'ERR_PASSKEY_UNSUPPORTED'],
    ['UnknownError', 'ERR_PASSKEY_FAILED'],
  ])('maps %s to %s, keeping the original as cause', async (name, code) => {
    const original = new DOMException('platform said no', name)
    create.mockRejectedValue(original)
    const attempt = browserWebAuthn().create(creationOptions())
    await expect(attempt).rejects.toMatchObject({ name: 'MfaError', code })
    const err: unknown = await attempt.catch((e: unknown) => e)
    // Kept as the cause, directly or (an adapter wrapping it) one level down.
    const cause = (err as Error).cause as Error & { cause?: unknown }
    expect(cause === original || cause.cause === original).toBe(true)
  })

  it('maps a SecurityError for a foreign rp.id to ERR_PASSKEY_DOMAIN', async () => {
    create.mockRejectedValue(new DOMException('bad rp', 'SecurityError'))
    await expect(
      browserWebAuthn().create(creationOptions({ rp: { id: 'example.com', name: 'x' } })),
    ).rejects.toMatchObject({
      code: 'ERR_PASSKEY_DOMAIN',
      message: expect.stringContaining('example.com'),
    })
  })

  it('maps a null credential to ERR_PASSKEY_FAILED', async () => {
    create.mockResolvedValue(null)
    await expect(browserWebAuthn().create(creationOptions())).rejects.toMatchObject({
      code: 'ERR_PASSKEY_FAILED',
    })
  })

  it.each([
    ['a challenge that is not a string', { challenge: 42 }],
    ['a challenge that is not base64url', { challenge: 'not base64!' }],
    ['no user', { user: undefined }],
    ['excludeCredentials that is not an array', { excludeCredentials: 'x' }],
  ])('rejects %s with ERR_INVALID_ARGUMENT before any ceremony', async (_label, overrides) => {
    const options = { ...creationOptions(), ...overrides } as unknown as PasskeyCreationOptions
    await expect(browserWebAuthn().create(options)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
    expect(create).not.toHaveBeenCalled()
  })
})

describe('browserWebAuthn().get', () => {
  it('decodes the options and encodes assertionResult as LoginID expects', async () => {
    get.mockResolvedValue(assertionCredential())
    const result = await browserWebAuthn().get(requestOptions())

    const arg = get.mock.calls[0]![0] as CredentialRequestOptions
    expect(asBytes(arg.publicKey!.challenge)).toEqual(asBytes(CHALLENGE))
    expect(asBytes(arg.publicKey!.allowCredentials![0]!.id)).toEqual(asBytes(CRED_ID))
    expect(arg.publicKey).toMatchObject({ rpId: 'localhost', userVerification: 'required' })
    expect(arg).not.toHaveProperty('mediation')

    expect(result).toEqual({
      authenticatorData: 'SZb_',
      clientDataJSON: 'e30',
      credentialId: '-vv8_f4',
      signature: 'MET7_w',
      userHandle: '_u0',
    })
  })

  it('omits userHandle when the authenticator returns none', async () => {
    get.mockResolvedValue(assertionCredential(null))
    const result = await browserWebAuthn().get(requestOptions())
    expect(result).not.toHaveProperty('userHandle')
  })

  it('uses conditional mediation with an empty allow list for autoFill', async () => {
    get.mockResolvedValue(assertionCredential())
    await browserWebAuthn().get(requestOptions(), undefined, { autoFill: true })
    const arg = get.mock.calls[0]![0] as CredentialRequestOptions
    expect(arg.mediation).toBe('conditional')
    expect(arg.publicKey!.allowCredentials).toEqual([])
  })

  it('rejects autoFill with ERR_PASSKEY_UNSUPPORTED without conditional UI', async () => {
    conditionalAvailable = false
    await expect(
      browserWebAuthn().get(requestOptions(), undefined, { autoFill: true }),
    ).rejects.toMatchObject({ code: 'ERR_PASSKEY_UNSUPPORTED' })
    expect(get).not.toHaveBeenCalled()
  })

  it('maps NotAllowedError (cancel, timeout, no passkey) to ERR_PASSKEY_CANCELLED', async () => {
    get.mockRejectedValue(new DOMException('The operation either timed out', 'NotAllowedError'))
    await expect(browserWebAuthn().get(requestOptions())).rejects.toMatchObject({
      code: 'ERR_PASSKEY_CANCELLED',
    })
  })

  it('maps a SecurityError to ERR_PASSKEY_DOMAIN', async () => {
    get.mockRejectedValue(new DOMException('bad rp', 'SecurityError'))
    await expect(
      browserWebAuthn().get(requestOptions({ rpId: 'example.com' })),
    ).rejects.toMatchObject({ code: 'ERR_PASSKEY_DOMAIN' })
  })

  it('reports a ceremony superseded by a newer one as ERR_PASSKEY_CANCELLED', async () => {
    get.mockImplementationOnce(pendingUntilAborted).mockResolvedValueOnce(assertionCredential())
    const webauthn = browserWebAuthn()
    const first = webauthn.get(requestOptions(), undefined, { autoFill: true })
    await vi.waitFor(() => expect(get).toHaveBeenCalledTimes(1))
    const second = webauthn.get(requestOptions())
    await expect(first).rejects.toMatchObject({ code: 'ERR_PASSKEY_CANCELLED' })
    await expect(second).resolves.toMatchObject({ credentialId: '-vv8_f4' })
  })
})

describe('browserWebAuthn: abort', () => {
  it('rejects an already aborted signal with ERR_ABORTED and runs no ceremony', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(browserWebAuthn().get(requestOptions(), controller.signal)).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    })
    await expect(
      browserWebAuthn().create(creationOptions(), controller.signal),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(get).not.toHaveBeenCalled()
    expect(create).not.toHaveBeenCalled()
  })

  it('cancels the browser prompt and rejects with ERR_ABORTED when the signal aborts', async () => {
    let ceremonySignal: AbortSignal | undefined
    get.mockImplementation((options: CredentialRequestOptions) => {
      ceremonySignal = options.signal ?? undefined
      return pendingUntilAborted(options)
    })
    const controller = new AbortController()
    const attempt = browserWebAuthn().get(requestOptions(), controller.signal)
    await vi.waitFor(() => expect(get).toHaveBeenCalledTimes(1))
    const reason = new Error('route changed')
    controller.abort(reason)
    const err = await attempt.catch((e: unknown) => e)
    expect(isMfaError(err, 'ERR_ABORTED')).toBe(true)
    expect((err as Error).cause).toBe(reason)
    expect(ceremonySignal?.aborted).toBe(true)
  })

  it('reports a TimeoutError reason as ERR_TIMEOUT', async () => {
    create.mockImplementation(pendingUntilAborted)
    const controller = new AbortController()
    const attempt = browserWebAuthn().create(creationOptions(), controller.signal)
    await vi.waitFor(() => expect(create).toHaveBeenCalledTimes(1))
    controller.abort(new DOMException('too slow', 'TimeoutError'))
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
  })

  it('does not cancel a later ceremony after its own has settled', async () => {
    get.mockResolvedValueOnce(assertionCredential()).mockImplementationOnce(pendingUntilAborted)
    const webauthn = browserWebAuthn()
    const controller = new AbortController()
    await webauthn.get(requestOptions(), controller.signal)
    const other = new AbortController()
    const second = webauthn.get(requestOptions(), other.signal)
    await vi.waitFor(() => expect(get).toHaveBeenCalledTimes(2))
    controller.abort() // the first ceremony is over: this must not touch the second
    const secondSignal = (get.mock.calls[1]![0] as CredentialRequestOptions).signal!
    expect(secondSignal.aborted).toBe(false)
    other.abort()
    await expect(second).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })
})

describe('browserWebAuthn without WebAuthn', () => {
  it('rejects with ERR_PASSKEY_UNSUPPORTED when PublicKeyCredential is missing', async () => {
    vi.stubGlobal('PublicKeyCredential', undefined)
    await expect(browserWebAuthn().create(creationOptions())).rejects.toMatchObject({
      code: 'ERR_PASSKEY_UNSUPPORTED',
    })
    await expect(browserWebAuthn().get(requestOptions())).rejects.toMatchObject({
      code: 'ERR_PASSKEY_UNSUPPORTED',
    })
    expect(create).not.toHaveBeenCalled()
  })

  it('rejects with ERR_PASSKEY_UNSUPPORTED when navigator.credentials is missing', async () => {
    vi.stubGlobal('navigator', {})
    await expect(browserWebAuthn().get(requestOptions())).rejects.toMatchObject({
      code: 'ERR_PASSKEY_UNSUPPORTED',
    })
  })
})
