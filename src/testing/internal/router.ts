// Internal (loginid-mfa-flow/testing): the route table and `handle()`: body reading, the request
// log, CORS, faults, 404/405/413/415 and the 500 of a throwing handler.
import { isMfaError } from '../../shared/errors.js'
import { parseJson, readBodyText } from './body.js'
import { addCorsHeaders, allowOriginFor, isBrowserRoute, preflightHeaders } from './cors.js'
import type { FaultEngine } from './faults.js'
import { PREFIX } from './faults.js'
import { createSimulatorFlow } from './flow.js'
import { appError, badRequest } from './responses.js'
import type { Handler } from './responses.js'
import { mfaRoutes } from './routes/mfa.js'
import { mgmtRoutes } from './routes/mgmt.js'
import { publicRoutes } from './routes/public.js'
import type { SimulatorState } from './state.js'

/** Request headers that carry credentials: sessions, access tokens, Basic API keys, cookies. */
const REDACTED_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie'])

function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    out[name] = REDACTED_HEADERS.has(name) ? '[REDACTED]' : value
  })
  return out
}

/** `GET` routes; every other route is `POST`. */
const GET_ROUTES = new Set(['/passkeys', '/.well-known/jwks.json'])

/** The route table: full path → method → handler. */
function routeTable(state: SimulatorState): Map<string, Map<string, Handler>> {
  const flow = createSimulatorFlow(state)
  const handlers = { ...mfaRoutes(state, flow), ...publicRoutes(state), ...mgmtRoutes(state) }
  return new Map(
    Object.entries(handlers).map(([suffix, handler]) => [
      `${PREFIX}${suffix}`,
      new Map([[GET_ROUTES.has(suffix) ? 'GET' : 'POST', handler]]),
    ]),
  )
}

/** The simulator's `handle(request)` over `state` and `faults`. */
export function createRouter(
  state: SimulatorState,
  faults: FaultEngine,
): (request: Request) => Promise<Response> {
  const routes = routeTable(state)
  const { basePath, maxBodyBytes, allowedOrigins } = state.config

  /** The parsed body, or the error to answer once the route and method are known. */
  async function readBody(
    request: Request,
    method: string,
  ): Promise<{ body: unknown; error?: Response }> {
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return { body: undefined }
    const read = await readBodyText(request, maxBodyBytes)
    if (!read.ok) {
      return {
        body: undefined,
        error:
          read.reason === 'too_large'
            ? appError(413, 'bad_request', `the request body exceeds ${maxBodyBytes} bytes`)
            : badRequest('the request body is not readable UTF-8'),
      }
    }
    if (read.text.trim() === '') return { body: undefined }
    const parsed = parseJson(read.text)
    if (parsed.ok) return { body: parsed.value }
    return { body: read.text, error: badRequest('the request body is not valid JSON') }
  }

  return async function handle(request: Request): Promise<Response> {
    const method = request.method.toUpperCase()
    let route: string
    try {
      route = new URL(request.url).pathname
    } catch {
      return appError(400, 'bad_request', 'invalid URL')
    }
    if (basePath && route.startsWith(basePath)) route = route.slice(basePath.length) || '/'

    const { body, error: bodyError } = await readBody(request, method)
    state.requests.push({
      method,
      path: route,
      headers: redactHeaders(request.headers),
      body,
      at: Date.now(),
    })

    const browser = isBrowserRoute(route)
    const allowOrigin = browser
      ? allowOriginFor(request.headers.get('origin'), allowedOrigins)
      : undefined
    const withCors = (response: Response): Response => {
      if (allowOrigin === undefined || response.type === 'error') return response
      const headers = new Headers(response.headers)
      addCorsHeaders(headers, allowOrigin)
      return new Response(response.body, { status: response.status, headers })
    }

    // Injected answers carry CORS headers too: a browser must see the status or the bad body,
    // as it would from LoginID's gateway, not a CORS failure.
    const injected = await faults.inject(route, method)
    if (injected) return withCors(injected)

    const methods = routes.get(route)
    if (!methods) return withCors(appError(404, 'not_found', 'not found'))
    if (method === 'OPTIONS' && browser) {
      if (allowOrigin === undefined) return appError(403, 'forbidden', 'origin not allowed')
      return new Response(null, {
        status: 204,
        headers: preflightHeaders(
          allowOrigin,
          request.headers.get('access-control-request-headers'),
        ),
      })
    }
    const handler = methods.get(method)
    if (!handler) {
      const response = appError(405, 'method_not_allowed', 'method not allowed')
      response.headers.set('allow', [...methods.keys()].join(', '))
      return withCors(response)
    }
    if (bodyError) return withCors(bodyError)
    const contentType = request.headers.get('content-type') ?? ''
    if (body !== undefined && !/^application\/json\b/i.test(contentType)) {
      return withCors(appError(415, 'bad_request', 'Content-Type must be application/json'))
    }
    try {
      return withCors(await handler(request, body))
    } catch (error) {
      // A missing @simplewebauthn/server says so; anything else stays generic.
      const msg = isMfaError(error, 'ERR_WEBAUTHN_UNAVAILABLE')
        ? error.message
        : 'internal simulator error'
      return withCors(appError(500, 'internal_error', msg))
    }
  }
}
