import { describe, expect, it } from 'vitest'
import {
  decodeBase64Url,
  decodeBase64UrlText,
  encodeBase64Url,
  encodeBase64UrlText,
  toBase64Url,
} from './base64url.js'
import { isOptionalTimerDuration, isRecord, isTimerDuration } from './guards.js'

describe('base64url', () => {
  it('round-trips every byte value without padding or the standard alphabet', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
    const encoded = encodeBase64Url(bytes)
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(encoded, 'base64url').equals(Buffer.from(bytes))).toBe(true)
    expect(Array.from(decodeBase64Url(encoded))).toEqual(Array.from(bytes))
  })

  it('decodes padded and standard-alphabet input too', () => {
    expect(Array.from(decodeBase64Url('-_8='))).toEqual([251, 255])
    expect(Array.from(decodeBase64Url('+/8'))).toEqual([251, 255])
    expect(toBase64Url('+/8=')).toBe('-_8')
  })

  it('handles UTF-8 text', () => {
    const text = 'pässkey ✓'
    expect(encodeBase64UrlText(text)).toBe(Buffer.from(text).toString('base64url'))
    expect(decodeBase64UrlText(encodeBase64UrlText(text))).toBe(text)
  })

  it('throws on characters outside the alphabet', () => {
    expect(() => decodeBase64Url('a b!')).toThrow()
  })
})

describe('guards', () => {
  it('isRecord accepts plain objects only', () => {
    expect(isRecord({})).toBe(true)
    expect(isRecord([])).toBe(false)
    expect(isRecord(null)).toBe(false)
    expect(isRecord('x')).toBe(false)
  })

  it('timer durations stop at 2^31 - 1 ms', () => {
    expect(isTimerDuration(2_147_483_647)).toBe(true)
    expect(isTimerDuration(2_147_483_648)).toBe(false)
    expect(isTimerDuration(0)).toBe(false)
    expect(isTimerDuration(Number.NaN)).toBe(false)
    expect(isTimerDuration(Infinity)).toBe(false)
    expect(isOptionalTimerDuration(undefined)).toBe(true)
    expect(isOptionalTimerDuration('5')).toBe(false)
  })
})
