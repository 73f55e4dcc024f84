import { describe, expect, it } from 'vitest'
import { FACTORS, NEXT_ACTION_PRIORITY, factorOf } from './factors.js'
import { MFA_FACTOR_NAMES } from './protocol.js'

describe('the factor table', () => {
  it("keeps LoginIDMfa's nextAction priority, and otp:verify is never nextAction", () => {
    expect(NEXT_ACTION_PRIORITY).toEqual([
      'passkey:reg',
      'passkey:auth',
      'passkey:tx',
      'otp:sms',
      'otp:email',
      'external',
    ])
  })

  it('lists every factor name in MFA_FACTOR_NAMES, in table order', () => {
    expect(MFA_FACTOR_NAMES).toEqual(Object.keys(FACTORS))
    expect(MFA_FACTOR_NAMES).toHaveLength(7)
  })

  it('knows only its own names (no prototype keys)', () => {
    expect(factorOf('otp:email')).toMatchObject({ kind: 'otp', method: 'email' })
    expect(factorOf('constructor')).toBeUndefined()
    expect(factorOf('otp:whatsapp')).toBeUndefined()
    expect(factorOf(42)).toBeUndefined()
  })
})
