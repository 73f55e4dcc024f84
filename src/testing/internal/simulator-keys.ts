// Internal (loginid-mfa-flow/testing): the simulator's ES256 signing key, its JWKS, token minting
// and checking. Times come from `Date.now()` at call time, so tests can use fake timers.
// `jose` loads on first use (a simulator's creation), not when `loginid-mfa-flow/testing` loads.
import type * as Jose from 'jose'
import type { CryptoKey, JWK, JWTPayload } from 'jose'
import { isNonEmptyString, isRecord } from '../../internal/guards.js'
import { MfaError } from '../../shared/errors.js'

let josePromise: Promise<typeof Jose> | undefined
const jose = (): Promise<typeof Jose> => (josePromise ??= import('jose'))

/** One key pair with its JWKS entry. */
export interface SimulatorKeys {
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}

/** The JWKS entry of a public key, as LoginID publishes it. */
function publicJwk(source: JWK, kid: string): JWK {
  return {
    kty: source.kty,
    crv: source.crv,
    x: source.x,
    y: source.y,
    alg: 'ES256',
    use: 'sig',
    key_ops: ['verify'],
    kid,
  } as JWK
}

/**
 * Check a `signingKey` option synchronously: a private EC P-256 JWK (`kty`, `crv`, `x`, `y`, `d`).
 * @throws MfaError `ERR_INVALID_ARGUMENT` naming what is missing
 */
export function checkSigningKey(value: unknown): JWK {
  if (
    !isRecord(value) ||
    value.kty !== 'EC' ||
    value.crv !== 'P-256' ||
    !isNonEmptyString(value.x) ||
    !isNonEmptyString(value.y) ||
    !isNonEmptyString(value.d)
  ) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      'signingKey must be a private ES256 JWK (kty EC, crv P-256, x, y and d)',
    )
  }
  if (value.kid !== undefined && !isNonEmptyString(value.kid)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'signingKey.kid must be a non-empty string')
  }
  return value as JWK
}

/**
 * The simulator's key: `signingKey` when given (its `kid`, else its RFC 7638 thumbprint, so the
 * same key always has the same `kid`), else a new random one.
 */
export async function createSimulatorKeys(signingKey?: JWK): Promise<SimulatorKeys> {
  const { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } = await jose()
  if (signingKey !== undefined) {
    const { kid: givenKid, ...key } = signingKey
    const kid = givenKid ?? (await calculateJwkThumbprint(key))
    const material = { kty: 'EC', crv: 'P-256', x: key.x, y: key.y } as JWK
    const privateKey = (await importJWK({ ...material, d: key.d } as JWK, 'ES256')) as CryptoKey
    const publicKey = (await importJWK(material, 'ES256')) as CryptoKey
    return { kid, privateKey, publicKey, jwk: publicJwk(key, kid) }
  }
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { kid, privateKey, publicKey, jwk: publicJwk(jwk, kid) }
}

/** A new private ES256 JWK with its thumbprint as `kid` (what `--key-file` stores). */
export async function generateSigningJwk(): Promise<JWK> {
  const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await jose()
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const { kty, crv, x, y, d } = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK)
  return { kty, crv, x, y, d, kid, alg: 'ES256' } as JWK
}

/** Sign a JWT with the simulator key; `iat` is now, `exp` is now + `ttlSec`. */
export async function signToken(
  keys: SimulatorKeys,
  claims: JWTPayload,
  ttlSec: number,
): Promise<string> {
  const { SignJWT } = await jose()
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ ...claims, iat: now, exp: now + ttlSec })
    .setProtectedHeader({ alg: 'ES256', kid: keys.kid, typ: 'JWT' })
    .sign(keys.privateKey)
}

/** Verify a simulator JWT: signature, `iss`, `aud`, `exp` (at `Date.now()`), optional `tokenType`. */
export async function checkToken(
  keys: SimulatorKeys,
  token: string,
  expected: { issuer: string; audience: string; tokenType?: string },
): Promise<{ ok: true; claims: JWTPayload } | { ok: false; expired: boolean }> {
  const { jwtVerify } = await jose()
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, {
      issuer: expected.issuer,
      audience: expected.audience,
      algorithms: ['ES256'],
      currentDate: new Date(Date.now()),
    })
    if (expected.tokenType !== undefined && payload.tokenType !== expected.tokenType) {
      return { ok: false, expired: false }
    }
    return { ok: true, claims: payload }
  } catch (error) {
    return { ok: false, expired: (error as { code?: string }).code === 'ERR_JWT_EXPIRED' }
  }
}
