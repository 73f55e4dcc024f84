// Internal (loginid-mfa-flow/testing): the simulator's ES256 signing key, its JWKS, token minting
// and checking. Times come from `Date.now()` at call time, so tests can use fake timers.
import { SignJWT, base64url, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import type { CryptoKey, JWK, JWTPayload } from 'jose'

/** One generated key pair with its JWKS entry. */
export interface SimulatorKeys {
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}

/** Generate the simulator's key (once per simulator). */
export async function createSimulatorKeys(): Promise<SimulatorKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = base64url.encode(crypto.getRandomValues(new Uint8Array(12)))
  const exported = await exportJWK(publicKey)
  const jwk: JWK = {
    kty: exported.kty,
    crv: exported.crv,
    x: exported.x,
    y: exported.y,
    alg: 'ES256',
    use: 'sig',
    key_ops: ['verify'],
    kid,
  } as JWK
  return { kid, privateKey, publicKey, jwk }
}

/** Sign a JWT with the simulator key; `iat` is now, `exp` is now + `ttlSec`. */
export async function signToken(
  keys: SimulatorKeys,
  claims: JWTPayload,
  ttlSec: number,
): Promise<string> {
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
