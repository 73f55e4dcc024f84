// Internal (loginid-mfa-flow/testing): the `/mgmt/*` endpoints (Basic API-key auth).
import { isNonEmptyString, isRecord, isStringArray } from '../../../internal/guards.js'
import type { SimulatorApiKey } from '../../simulator-types.js'
import { appError, badRequest, json } from '../responses.js'
import type { Handler } from '../responses.js'
import { checkToken, signToken } from '../simulator-keys.js'
import type { SimulatorState } from '../state.js'

/** Grants `POST /mgmt/grant` knows. */
const GRANT_NAMES = new Set([
  'passkey:read',
  'passkey:write',
  'profile:read',
  'profile:write',
  'reg:write',
  'auth:write',
])

/** The management handlers by route suffix (after `/fido2/v2`). */
export function mgmtRoutes(state: SimulatorState): Record<string, Handler> {
  const { config } = state

  function apiKeyOf(request: Request, scope?: string): SimulatorApiKey | Response {
    const header = request.headers.get('authorization') ?? ''
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(header)
    let decoded: string | undefined
    if (match?.[1]) {
      try {
        decoded = atob(match[1])
      } catch {
        decoded = undefined
      }
    }
    const key =
      decoded !== undefined && decoded.endsWith(':')
        ? config.apiKeys.find((k) => `${k.key}:` === decoded)
        : undefined
    if (!key) return appError(401, 'unauthorized', 'missing or invalid API key')
    if (scope !== undefined && !key.scopes.includes(scope)) {
      return appError(403, 'forbidden', `the API key lacks the ${scope} scope`)
    }
    return key
  }

  const grantExternalAuth: Handler = async (request, body) => {
    const key = apiKeyOf(request, 'external:verify')
    if (key instanceof Response) return key
    if (!isRecord(body) || !isNonEmptyString(body.username)) {
      return badRequest('username is required')
    }
    return json(200, { token: state.mintGrant(body.username) })
  }

  const grant: Handler = async (request, body) => {
    const key = apiKeyOf(request)
    if (key instanceof Response) return key
    if (!isRecord(body) || !isStringArray(body.grants) || body.grants.length === 0) {
      return badRequest('grants must be a non-empty array of strings')
    }
    if (body.username !== undefined && !isNonEmptyString(body.username)) {
      return badRequest('username must be a non-empty string')
    }
    const unknown = body.grants.find((g) => !GRANT_NAMES.has(g))
    if (unknown !== undefined) return badRequest(`unknown grant ${unknown}`)
    const missing = body.grants.find((g) => !key.scopes.includes(g))
    if (missing !== undefined) {
      return appError(403, 'forbidden', `the API key lacks the ${missing} scope`)
    }
    const username = body.username
    const token = await signToken(
      await state.keys,
      {
        iss: config.baseUrl,
        aud: config.appId,
        jti: crypto.randomUUID(),
        tokenType: 'grant',
        scopes: [...body.grants],
        ...(username !== undefined && {
          sub: state.users.get(username)?.id ?? username,
          username,
        }),
      },
      Math.max(1, Math.ceil(config.grantTtlMs / 1000)),
    )
    return json(200, { token })
  }

  const tokenVerify: Handler = async (request, body) => {
    const key = apiKeyOf(request)
    if (key instanceof Response) return key
    if (!isRecord(body) || !isNonEmptyString(body.jwtAccess)) {
      return badRequest('jwtAccess is required')
    }
    const checked = await checkToken(await state.keys, body.jwtAccess, {
      issuer: config.baseUrl,
      audience: config.appId,
      tokenType: 'jwtAccess',
    })
    if (!checked.ok) {
      return checked.expired
        ? appError(401, 'token_expired', 'the access token has expired')
        : appError(401, 'invalid_token', 'invalid access token')
    }
    return new Response(null, { status: 204 })
  }

  return {
    '/mgmt/grant/external-auth': grantExternalAuth,
    '/mgmt/grant': grant,
    '/mgmt/token/verify': tokenVerify,
  }
}
