import { WebAuthnError } from '@simplewebauthn/browser'
import { describe, expect, it } from 'vitest'
import { MfaError } from '../shared/errors.js'
import { toPasskeyError } from './webauthn-errors.js'

const dom = (name: string): DOMException => new DOMException(`a ${name}`, name)

/** What @simplewebauthn/browser wraps a DOMException in. */
const wrapped = (code: string, name: string) =>
  new WebAuthnError({ message: 'wrapped', code: code as never, cause: dom(name) })

describe('toPasskeyError', () => {
  it.each([
    ['NotAllowedError', 'create', 'ERR_PASSKEY_CANCELLED'],
    ['NotAllowedError', 'get', 'ERR_PASSKEY_CANCELLED'],
    ['AbortError', 'get', 'ERR_PASSKEY_CANCELLED'],
    ['InvalidStateError', 'create', 'ERR_PASSKEY_EXISTS'],
    ['InvalidStateError', 'get', 'ERR_PASSKEY_FAILED'],
    ['NotSupportedError', 'create', 'ERR_PASSKEY_UNSUPPORTED'],
    ['ConstraintError', 'create', 'ERR_PASSKEY_UNSUPPORTED'],
    ['SecurityError', 'get', 'ERR_PASSKEY_DOMAIN'],
    ['UnknownError', 'create', 'ERR_PASSKEY_FAILED'],
    ['TypeError', 'get', 'ERR_PASSKEY_FAILED'],
  ] as const)('maps DOMException %s on %s to %s', (name, ceremony, code) => {
    const error = dom(name)
    const mapped = toPasskeyError(error, ceremony)
    expect(mapped).toBeInstanceOf(MfaError)
    expect(mapped.code).toBe(code)
    expect(mapped.cause).toBe(error)
    expect(mapped.message).toContain(name)
  })

  it.each([
    ['ERROR_CEREMONY_ABORTED', 'AbortError', 'ERR_PASSKEY_CANCELLED'],
    ['ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY', 'NotAllowedError', 'ERR_PASSKEY_CANCELLED'],
    ['ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED', 'InvalidStateError', 'ERR_PASSKEY_EXISTS'],
    ['ERROR_INVALID_DOMAIN', 'SecurityError', 'ERR_PASSKEY_DOMAIN'],
    ['ERROR_INVALID_RP_ID', 'SecurityError', 'ERR_PASSKEY_DOMAIN'],
    [
      'ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT',
      'ConstraintError',
      'ERR_PASSKEY_UNSUPPORTED',
    ],
    [
      'ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG',
      'NotSupportedError',
      'ERR_PASSKEY_UNSUPPORTED',
    ],
    ['ERROR_MALFORMED_PUBKEYCREDPARAMS', 'NotSupportedError', 'ERR_PASSKEY_FAILED'],
    ['ERROR_AUTHENTICATOR_GENERAL_ERROR', 'UnknownError', 'ERR_PASSKEY_FAILED'],
  ])('maps WebAuthnError %s (%s) to %s', (simpleCode, name, code) => {
    const error = wrapped(simpleCode, name)
    const mapped = toPasskeyError(error, 'create')
    expect(mapped.code).toBe(code)
    expect(mapped.cause).toBe(error)
  })

  it('maps "no WebAuthn here" errors to ERR_PASSKEY_UNSUPPORTED', () => {
    for (const error of [
      new Error('WebAuthn is not supported in this browser'),
      new Error('Browser does not support WebAuthn autofill'),
      new ReferenceError('PublicKeyCredential is not defined'),
    ]) {
      expect(toPasskeyError(error, 'get').code).toBe('ERR_PASSKEY_UNSUPPORTED')
    }
  })

  it('maps cancellation-named errors (React Native, Android) to ERR_PASSKEY_CANCELLED', () => {
    const error = Object.assign(new Error('user cancelled'), { name: 'UserCancelledError' })
    expect(toPasskeyError(error, 'get').code).toBe('ERR_PASSKEY_CANCELLED')
  })

  it('maps anything else to ERR_PASSKEY_FAILED', () => {
    for (const error of [new Error('boom'), 'a string', 42, null, undefined, { name: 7 }]) {
      const mapped = toPasskeyError(error, 'create')
      expect(mapped.code).toBe('ERR_PASSKEY_FAILED')
      expect(mapped.cause).toBe(error)
    }
  })

  it('passes an MfaError through unchanged', () => {
    const original = new MfaError('ERR_ABORTED', 'stopped')
    expect(toPasskeyError(original, 'get')).toBe(original)
  })

  it('names the rpId in domain errors', () => {
    const mapped = toPasskeyError(dom('SecurityError'), 'get', { rpId: 'example.com' })
    expect(mapped.message).toContain('"example.com"')
    expect(mapped.message).toMatch(/^\[loginid-mfa-flow\]/)
  })

  it('keeps the cause out of JSON', () => {
    const mapped = toPasskeyError(dom('NotAllowedError'), 'get')
    expect(JSON.parse(JSON.stringify(mapped))).toEqual({
      name: 'MfaError',
      code: 'ERR_PASSKEY_CANCELLED',
      message: mapped.message,
    })
  })
})
