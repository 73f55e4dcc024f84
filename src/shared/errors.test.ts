import { describe, expect, it } from 'vitest'
import { MfaError, isMfaError } from './errors.js'

describe('MfaError', () => {
  it('carries code, HTTP context and cause, and says where it failed', () => {
    const cause = new Error('boom')
    const err = new MfaError('ERR_BAD_REQUEST', 'username is required', {
      status: 400,
      msgCode: 'bad_request',
      method: 'POST',
      path: '/fido2/v2/mfa/begin',
      cause,
    })
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('MfaError')
    expect(err.code).toBe('ERR_BAD_REQUEST')
    expect(err.status).toBe(400)
    expect(err.cause).toBe(cause)
    expect(err.message).toBe(
      '[loginid-mfa-flow] POST /fido2/v2/mfa/begin: 400 bad_request: username is required',
    )
  })

  it('has a plain message without HTTP context', () => {
    const err = new MfaError('ERR_ABORTED', 'the run was aborted')
    expect(err.message).toBe('[loginid-mfa-flow] the run was aborted')
    expect('status' in err).toBe(false)
  })

  it('serialises without cause', () => {
    const err = new MfaError('ERR_NETWORK', 'fetch failed', { cause: { headers: 'secret' } })
    expect(JSON.stringify(err)).not.toContain('secret')
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ code: 'ERR_NETWORK' })
  })
})

describe('isMfaError', () => {
  it('narrows by code', () => {
    const err: unknown = new MfaError('ERR_TIMEOUT', 'too slow')
    expect(isMfaError(err)).toBe(true)
    expect(isMfaError(err, 'ERR_TIMEOUT', 'ERR_NETWORK')).toBe(true)
    expect(isMfaError(err, 'ERR_ABORTED')).toBe(false)
    expect(isMfaError(new Error('x'))).toBe(false)
  })
})
