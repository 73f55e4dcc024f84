// Internal (doctor): check 2, the JWKS that verifyLoginIDToken verifies access tokens with.
import { isNonEmptyString, isRecord } from '../../../internal/guards.js'
import type { CheckOutcome, DoctorContext } from './context.js'
import { appErrorText, fixForStatus } from './context.js'

export const JWKS_PATH = '/fido2/v2/.well-known/jwks.json'

export const FIX_JWKS_KEYS =
  'LoginID should publish ES256 (P-256) keys with a kid: report the evidence to LoginID support'

export async function checkJwks(ctx: DoctorContext): Promise<CheckOutcome> {
  const answer = ctx.jwks
  if (!answer) return { status: 'skip', evidence: 'the base URL is not usable (check 1)' }
  if (answer.status !== 200) {
    return {
      status: 'fail',
      evidence: `GET ${JWKS_PATH} answered ${appErrorText(answer)}`,
      fix: fixForStatus(answer.status),
    }
  }
  const keys = isRecord(answer.json) ? answer.json.keys : undefined
  if (!Array.isArray(keys)) {
    return {
      status: 'fail',
      evidence: `GET ${JWKS_PATH} answered 200 without a JSON key set ({ keys: [...] })`,
      fix: 'check the base URL: something other than LoginID answered',
    }
  }
  const usable = keys.filter(
    (key): key is Record<string, unknown> =>
      isRecord(key) &&
      key.kty === 'EC' &&
      key.crv === 'P-256' &&
      (key.alg === undefined || key.alg === 'ES256') &&
      isNonEmptyString(key.kid),
  )
  if (usable.length === 0) {
    return {
      status: 'fail',
      evidence: `${keys.length} key(s), none ES256 (EC P-256) with a kid`,
      fix: FIX_JWKS_KEYS,
    }
  }
  const others = keys.length - usable.length
  return {
    status: 'pass',
    evidence: `${usable.length} ES256 key(s) with kid ${usable.map((k) => `"${String(k.kid)}"`).join(', ')}${others > 0 ? ` (and ${others} other key(s))` : ''}`,
  }
}
