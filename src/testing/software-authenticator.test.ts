// Over 400 lines: the authenticator checked byte for byte against node:crypto, ceremony by ceremony.
import { createHash, createPublicKey, verify } from 'node:crypto'
import {
  decodeAttestationObject,
  decodeCredentialPublicKey,
  parseAuthenticatorData,
} from '@simplewebauthn/server/helpers'
import { describe, expect, it } from 'vitest'
import { toPasskeyError } from '../client/webauthn-errors.js'
import type { PasskeyCreationOptions, PasskeyRequestOptions } from '../shared/protocol.js'
import { createSoftwareAuthenticator } from './software-authenticator.js'
import type { SoftwareAuthenticatorFailure } from './software-authenticator.js'

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
const USER_ID = b64url(new TextEncoder().encode('user-1'))

function creationOptions(overrides: Partial<PasskeyCreationOptions> = {}): PasskeyCreationOptions {
  return {
    rp: { id: 'localhost', name: 'Test' },
    user: { id: USER_ID, name: 'ada', displayName: 'Ada' },
    challenge: b64url(crypto.getRandomValues(new Uint8Array(32))),
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    ...overrides,
  }
}

function requestOptions(overrides: Partial<PasskeyRequestOptions> = {}): PasskeyRequestOptions {
  return {
    challenge: b64url(crypto.getRandomValues(new Uint8Array(32))),
    rpId: 'localhost',
    allowCredentials: [],
    userVerification: 'required',
    ...overrides,
  }
}

/** Resolves with what `p` rejected with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  await expect(p).rejects.toBeDefined()
  return p.catch((err: unknown) => err)
}

describe('createSoftwareAuthenticator: registration', () => {
  it('produces a real none attestation', async () => {
    const authenticator = createSoftwareAuthenticator({
      aaguid: '01020304-0506-0708-090a-0b0c0d0e0f10',
    })
    const options = creationOptions()
    const result = await authenticator.create(options)

    const attestation = decodeAttestationObject(Buffer.from(result.attestationObject, 'base64url'))
    expect(attestation.get('fmt')).toBe('none')
    expect(attestation.get('attStmt').size).toBe(0)
    const authData = attestation.get('authData')
    expect(b64url(authData)).toBe(result.authenticatorData)

    const parsed = parseAuthenticatorData(authData)
    expect(Buffer.from(parsed.rpIdHash)).toEqual(createHash('sha256').update('localhost').digest())
    expect(authData[32]).toBe(0x01 | 0x04 | 0x40) // UP | UV | AT
    expect(parsed.flags).toMatchObject({ up: true, uv: true, at: true, be: false, ed: false })
    expect(parsed.counter).toBe(0)
    expect(Buffer.from(parsed.aaguid!).toString('hex')).toBe('0102030405060708090a0b0c0d0e0f10')
    expect(b64url(parsed.credentialID!)).toBe(result.credentialId)

    const cose = decodeCredentialPublicKey(parsed.credentialPublicKey!) as unknown as Map<
      number,
      unknown
    >
    expect(cose.get(1)).toBe(2) // kty EC2
    expect(cose.get(3)).toBe(-7) // ES256
    expect(cose.get(-1)).toBe(1) // P-256
    expect((cose.get(-2) as Uint8Array).length).toBe(32)
    expect((cose.get(-3) as Uint8Array).length).toBe(32)

    // publicKey is the same key as DER SPKI.
    const jwk = createPublicKey({
      key: Buffer.from(result.publicKey!, 'base64url'),
      format: 'der',
      type: 'spki',
    }).export({ format: 'jwk' })
    expect(jwk.x).toBe(b64url(cose.get(-2) as Uint8Array))
    expect(jwk.y).toBe(b64url(cose.get(-3) as Uint8Array))

    expect(JSON.parse(Buffer.from(result.clientDataJSON, 'base64url').toString())).toEqual({
      type: 'webauthn.create',
      challenge: options.challenge,
      origin: 'http://localhost',
      crossOrigin: false,
    })
    expect(result).toMatchObject({ publicKeyAlgorithm: -7, transports: ['internal'] })
    for (const field of ['attestationObject', 'clientDataJSON', 'credentialId', 'publicKey']) {
      expect(result[field as keyof typeof result]).toMatch(/^[A-Za-z0-9_-]+$/)
    }
    expect(authenticator.credentials).toEqual([
      expect.objectContaining({
        id: result.credentialId,
        rpId: 'localhost',
        userHandle: USER_ID,
        userName: 'ada',
        userDisplayName: 'Ada',
        signCount: 0,
        publicKey: result.publicKey,
      }),
    ])
  })

  it('sets BE/BS for backup-eligible credentials and no UV when told', async () => {
    const authenticator = createSoftwareAuthenticator({ backupEligible: true, userVerified: false })
    const result = await authenticator.create(creationOptions())
    const flags = Buffer.from(result.authenticatorData!, 'base64url')[32]
    expect(flags).toBe(0x01 | 0x08 | 0x10 | 0x40)
  })

  it('re-encodes a standard-base64 challenge as base64url, like a browser', async () => {
    const bytes = new Uint8Array(32).fill(0xff)
    const authenticator = createSoftwareAuthenticator()
    const result = await authenticator.create(
      creationOptions({ challenge: Buffer.from(bytes).toString('base64') }),
    )
    const clientData = JSON.parse(Buffer.from(result.clientDataJSON, 'base64url').toString())
    expect(clientData.challenge).toBe(b64url(bytes))
  })

  it('throws InvalidStateError for an excluded credential', async () => {
    const authenticator = createSoftwareAuthenticator()
    const first = await authenticator.create(creationOptions())
    const err = await rejection(
      authenticator.create(
        creationOptions({ excludeCredentials: [{ type: 'public-key', id: first.credentialId }] }),
      ),
    )
    expect(err).toBeInstanceOf(DOMException)
    expect((err as DOMException).name).toBe('InvalidStateError')
    expect(toPasskeyError(err, 'create').code).toBe('ERR_PASSKEY_EXISTS')
    expect(authenticator.credentials).toHaveLength(1)
  })

  it('throws SecurityError for another rp.id', async () => {
    const authenticator = createSoftwareAuthenticator()
    const err = await rejection(
      authenticator.create(creationOptions({ rp: { id: 'example.com', name: 'x' } })),
    )
    expect((err as DOMException).name).toBe('SecurityError')
    expect(toPasskeyError(err, 'create').code).toBe('ERR_PASSKEY_DOMAIN')
  })

  it('throws NotSupportedError without ES256 in pubKeyCredParams', async () => {
    const authenticator = createSoftwareAuthenticator()
    const err = await rejection(
      authenticator.create(
        creationOptions({ pubKeyCredParams: [{ type: 'public-key', alg: -257 }] }),
      ),
    )
    expect((err as DOMException).name).toBe('NotSupportedError')
    expect(toPasskeyError(err, 'create').code).toBe('ERR_PASSKEY_UNSUPPORTED')
  })

  it('accepts a parent-domain rpId for a subdomain origin', async () => {
    const authenticator = createSoftwareAuthenticator({
      origin: 'https://app.example.com',
      rpId: 'example.com',
    })
    const result = await authenticator.create(
      creationOptions({ rp: { id: 'example.com', name: 'x' } }),
    )
    const authData = Buffer.from(result.authenticatorData!, 'base64url')
    expect(authData.subarray(0, 32)).toEqual(createHash('sha256').update('example.com').digest())
  })

  it('rejects a bad configuration', () => {
    expect(() =>
      createSoftwareAuthenticator({ origin: 'http://localhost', rpId: 'example.com' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => createSoftwareAuthenticator({ origin: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
    expect(() => createSoftwareAuthenticator({ aaguid: 'xyz' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })
})

describe('createSoftwareAuthenticator: authentication', () => {
  it('signs authenticatorData ‖ sha256(clientDataJSON) with a DER ECDSA signature', async () => {
    const authenticator = createSoftwareAuthenticator()
    const created = await authenticator.create(creationOptions())
    const options = requestOptions({
      allowCredentials: [{ type: 'public-key', id: created.credentialId }],
    })
    const result = await authenticator.get(options)

    const authData = Buffer.from(result.authenticatorData, 'base64url')
    expect(authData).toHaveLength(37)
    expect(authData[32]).toBe(0x01 | 0x04) // UP | UV
    expect(authData.readUInt32BE(33)).toBe(1)
    const clientDataJSON = Buffer.from(result.clientDataJSON, 'base64url')
    expect(JSON.parse(clientDataJSON.toString())).toEqual({
      type: 'webauthn.get',
      challenge: options.challenge,
      origin: 'http://localhost',
      crossOrigin: false,
    })
    const signature = Buffer.from(result.signature, 'base64url')
    expect(signature[0]).toBe(0x30) // DER SEQUENCE
    const key = createPublicKey({
      key: Buffer.from(created.publicKey!, 'base64url'),
      format: 'der',
      type: 'spki',
    })
    const signed = Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()])
    expect(verify('sha256', signed, { key, dsaEncoding: 'der' }, signature)).toBe(true)
    expect(result).toMatchObject({ credentialId: created.credentialId, userHandle: USER_ID })
    expect(authenticator.credentials[0]!.signCount).toBe(1)
  })

  it('produces DER signatures that always verify (r or s with the high bit set)', async () => {
    const authenticator = createSoftwareAuthenticator()
    const created = await authenticator.create(creationOptions())
    const key = createPublicKey({
      key: Buffer.from(created.publicKey!, 'base64url'),
      format: 'der',
      type: 'spki',
    })
    for (let i = 0; i < 40; i++) {
      const result = await authenticator.get(requestOptions())
      const signed = Buffer.concat([
        Buffer.from(result.authenticatorData, 'base64url'),
        createHash('sha256').update(Buffer.from(result.clientDataJSON, 'base64url')).digest(),
      ])
      const signature = Buffer.from(result.signature, 'base64url')
      expect(verify('sha256', signed, { key, dsaEncoding: 'der' }, signature)).toBe(true)
    }
    expect(authenticator.credentials[0]!.signCount).toBe(40)
  })

  it('uses allowCredentials, or the newest credential when it is empty', async () => {
    const authenticator = createSoftwareAuthenticator()
    const a = await authenticator.create(creationOptions())
    const b = await authenticator.create(creationOptions())
    const chosen = await authenticator.get(
      requestOptions({ allowCredentials: [{ type: 'public-key', id: a.credentialId }] }),
    )
    expect(chosen.credentialId).toBe(a.credentialId)
    expect((await authenticator.get(requestOptions())).credentialId).toBe(b.credentialId)
    // Conditional UI ignores allowCredentials.
    const autoFill = await authenticator.get(
      requestOptions({ allowCredentials: [{ type: 'public-key', id: a.credentialId }] }),
      undefined,
      { autoFill: true },
    )
    expect(autoFill.credentialId).toBe(b.credentialId)
  })

  it('keeps the counter at 0 with signCount: zero', async () => {
    const authenticator = createSoftwareAuthenticator({ signCount: 'zero' })
    await authenticator.create(creationOptions())
    const result = await authenticator.get(requestOptions())
    expect(Buffer.from(result.authenticatorData, 'base64url').readUInt32BE(33)).toBe(0)
  })

  it('throws NotAllowedError when no credential matches, mapped to ERR_PASSKEY_CANCELLED', async () => {
    const authenticator = createSoftwareAuthenticator()
    const none = await rejection(authenticator.get(requestOptions()))
    expect((none as DOMException).name).toBe('NotAllowedError')
    expect(toPasskeyError(none, 'get').code).toBe('ERR_PASSKEY_CANCELLED')

    const created = await authenticator.create(creationOptions())
    const unknown = await rejection(
      authenticator.get(requestOptions({ allowCredentials: [{ type: 'public-key', id: 'AAAA' }] })),
    )
    expect((unknown as DOMException).name).toBe('NotAllowedError')
    expect(authenticator.removeCredential(created.credentialId)).toBe(true)
    expect(authenticator.removeCredential(created.credentialId)).toBe(false)
    await expect(authenticator.get(requestOptions())).rejects.toMatchObject({
      name: 'NotAllowedError',
    })
  })

  it('throws SecurityError for another rpId', async () => {
    const authenticator = createSoftwareAuthenticator()
    await authenticator.create(creationOptions())
    const err = await rejection(authenticator.get(requestOptions({ rpId: 'example.com' })))
    expect((err as DOMException).name).toBe('SecurityError')
    expect(toPasskeyError(err, 'get', { rpId: 'example.com' })).toMatchObject({
      code: 'ERR_PASSKEY_DOMAIN',
      message: expect.stringContaining('example.com'),
    })
  })
})

describe('createSoftwareAuthenticator: steering', () => {
  const cases: [SoftwareAuthenticatorFailure, string, string, string][] = [
    ['cancel', 'NotAllowedError', 'ERR_PASSKEY_CANCELLED', 'ERR_PASSKEY_CANCELLED'],
    ['abort', 'AbortError', 'ERR_PASSKEY_CANCELLED', 'ERR_PASSKEY_CANCELLED'],
    ['exists', 'InvalidStateError', 'ERR_PASSKEY_EXISTS', 'ERR_PASSKEY_FAILED'],
    ['unsupported', 'NotSupportedError', 'ERR_PASSKEY_UNSUPPORTED', 'ERR_PASSKEY_UNSUPPORTED'],
    ['constraint', 'ConstraintError', 'ERR_PASSKEY_UNSUPPORTED', 'ERR_PASSKEY_UNSUPPORTED'],
    ['security', 'SecurityError', 'ERR_PASSKEY_DOMAIN', 'ERR_PASSKEY_DOMAIN'],
    ['error', 'UnknownError', 'ERR_PASSKEY_FAILED', 'ERR_PASSKEY_FAILED'],
  ]

  it.each(cases)(
    'fail(%s) throws %s once, mapped to %s (create) / %s (get)',
    async (failure, name, createCode, getCode) => {
      const authenticator = createSoftwareAuthenticator()
      authenticator.fail(failure)
      const onCreate = await rejection(authenticator.create(creationOptions()))
      expect(onCreate).toBeInstanceOf(DOMException)
      expect((onCreate as DOMException).name).toBe(name)
      expect(toPasskeyError(onCreate, 'create')).toMatchObject({
        code: createCode,
        cause: onCreate,
      })
      expect(authenticator.credentials).toHaveLength(0)

      await authenticator.create(creationOptions()) // the failure was used up
      authenticator.fail(failure)
      const onGet = await rejection(authenticator.get(requestOptions()))
      expect((onGet as DOMException).name).toBe(name)
      expect(toPasskeyError(onGet, 'get').code).toBe(getCode)
      await expect(authenticator.get(requestOptions())).resolves.toBeDefined()
    },
  )

  it('queues failures per ceremony type', async () => {
    const authenticator = createSoftwareAuthenticator()
    authenticator.fail('cancel', { ceremony: 'get' })
    authenticator.fail('error')
    await expect(authenticator.create(creationOptions())).rejects.toMatchObject({
      name: 'UnknownError',
    })
    await authenticator.create(creationOptions())
    await expect(authenticator.get(requestOptions())).rejects.toMatchObject({
      name: 'NotAllowedError',
    })
    await expect(authenticator.get(requestOptions())).resolves.toBeDefined()
  })

  it('clear() forgets credentials and queued failures', async () => {
    const authenticator = createSoftwareAuthenticator()
    await authenticator.create(creationOptions())
    authenticator.fail('cancel')
    authenticator.clear()
    expect(authenticator.credentials).toEqual([])
    await expect(authenticator.create(creationOptions())).resolves.toBeDefined()
  })

  it('createCredential makes a usable passkey without a ceremony (no hook, no queued failure)', async () => {
    let ceremonies = 0
    const authenticator = createSoftwareAuthenticator({
      onCeremony: () => void ceremonies++,
    })
    authenticator.fail('cancel', { ceremony: 'create' })
    const credential = await authenticator.createCredential({
      userName: 'ada',
      userHandle: USER_ID,
    })
    expect(ceremonies).toBe(0)
    expect(credential).toMatchObject({
      rpId: 'localhost',
      userHandle: USER_ID,
      userName: 'ada',
      userDisplayName: 'ada',
      signCount: 0,
    })
    expect(credential).not.toHaveProperty('privateKey')
    expect(authenticator.credentials).toEqual([credential])
    const assertion = await authenticator.get(requestOptions())
    expect(assertion).toMatchObject({ credentialId: credential.id, userHandle: USER_ID })
    // the queued failure still applies to the next real create ceremony
    await expect(authenticator.create(creationOptions())).rejects.toMatchObject({
      name: 'NotAllowedError',
    })
    const random = await authenticator.createCredential({ userName: 'bo', userDisplayName: 'Bo' })
    expect(random.userHandle).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(random.userDisplayName).toBe('Bo')
    await expect(authenticator.createCredential({ userName: '' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
  })

  it('rejects an unknown failure name', () => {
    const authenticator = createSoftwareAuthenticator()
    expect(() => authenticator.fail('nope' as SoftwareAuthenticatorFailure)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })

  it('behaviour makes every ceremony fail', async () => {
    const authenticator = createSoftwareAuthenticator({ behaviour: 'cancel' })
    for (let i = 0; i < 2; i++) {
      await expect(authenticator.create(creationOptions())).rejects.toMatchObject({
        name: 'NotAllowedError',
      })
    }
  })

  it('onCeremony sees each ceremony and can fail it', async () => {
    const seen: string[] = []
    const authenticator = createSoftwareAuthenticator({
      onCeremony(ceremony) {
        seen.push(ceremony.type === 'get' ? `get:${ceremony.autoFill}` : 'create')
        if (seen.length === 3) throw new DOMException('user said no', 'NotAllowedError')
      },
    })
    await authenticator.create(creationOptions())
    await authenticator.get(requestOptions(), undefined, { autoFill: true })
    await expect(authenticator.get(requestOptions())).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: 'user said no',
    })
    expect(seen).toEqual(['create', 'get:true', 'get:false'])
  })

  it('throws the reason of an already aborted signal', async () => {
    const authenticator = createSoftwareAuthenticator()
    const controller = new AbortController()
    controller.abort()
    const err = await rejection(authenticator.create(creationOptions(), controller.signal))
    expect((err as DOMException).name).toBe('AbortError')
    expect(authenticator.credentials).toHaveLength(0)
  })

  it('ends a held ceremony as soon as its signal aborts', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const authenticator = createSoftwareAuthenticator({ onCeremony: () => held })
    const controller = new AbortController()
    const pending = authenticator.create(creationOptions(), controller.signal)
    const reason = new DOMException('stop', 'AbortError')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    release()
    expect(authenticator.credentials).toHaveLength(0)
  })
})
