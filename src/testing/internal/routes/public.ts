// Internal (loginid-mfa-flow/testing): the token-authenticated and public endpoints
// (`GET /passkeys`, the JWKS).
import { appError, json } from '../responses.js'
import type { Handler } from '../responses.js'
import { checkToken } from '../simulator-keys.js'
import type { SimulatorState } from '../state.js'

/** What `GET /passkeys` says of a passkey whose registering device is unknown (seeded ones). */
const UNKNOWN_DEVICE = 'Unknown device'

/** The public handlers by route suffix (after `/fido2/v2`). */
export function publicRoutes(state: SimulatorState): Record<string, Handler> {
  const { config, users } = state

  const listPasskeys: Handler = async (request) => {
    const raw = request.headers.get('authorization')
    if (!raw) return appError(401, 'unauthorized', 'missing access token')
    const checked = await checkToken(await state.keys, raw, {
      issuer: config.baseUrl,
      audience: config.appId,
      tokenType: 'jwtAccess',
    })
    if (!checked.ok) return appError(401, 'unauthorized', 'invalid access token')
    const user =
      typeof checked.claims.username === 'string' ? users.get(checked.claims.username) : undefined
    if (!user || user.id !== checked.claims.sub) {
      return appError(401, 'unauthorized', 'unknown user')
    }
    return json(
      200,
      user.passkeys.map((p, index) => ({
        id: p.id,
        credentialId: p.credentialId,
        aaguid: p.aaguid,
        name: `Passkey ${index + 1}`,
        device: p.device ?? UNKNOWN_DEVICE,
        credentialSynced: false,
        createdAt: new Date(p.createdAt).toISOString(),
        ...(p.lastUsedAt !== undefined && { lastUsedAt: new Date(p.lastUsedAt).toISOString() }),
      })),
    )
  }

  const jwks: Handler = async () => {
    const keys = await state.keys
    return json(200, { keys: [keys.jwk] }, { 'cache-control': 'public, max-age=300' })
  }

  return { '/passkeys': listPasskeys, '/.well-known/jwks.json': jwks }
}
