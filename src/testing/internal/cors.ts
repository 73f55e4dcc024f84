// Internal (loginid-mfa-flow/testing): CORS for the browser-facing routes.

const ALLOWED_HEADERS = 'Authorization, Content-Type, Accept, User-Agent'
const ALLOWED_METHODS = 'GET, POST, OPTIONS'

/** Routes a browser SDK calls: `/mfa/*`, `/passkeys`, `/client-events/*`, the JWKS. */
export function isBrowserRoute(route: string): boolean {
  return (
    route.startsWith('/fido2/v2/mfa/') ||
    route === '/fido2/v2/passkeys' ||
    route.startsWith('/fido2/v2/client-events/') ||
    route === '/fido2/v2/.well-known/jwks.json'
  )
}

/** The `Access-Control-Allow-Origin` value for `origin`, or `undefined` when not allowed. */
export function allowOriginFor(
  origin: string | null,
  allowedOrigins: '*' | readonly string[],
): string | undefined {
  if (allowedOrigins === '*') return '*'
  if (origin !== null && allowedOrigins.includes(origin)) return origin
  return undefined
}

/** Headers of a successful preflight answer. */
export function preflightHeaders(allowOrigin: string, requestHeaders: string | null): Headers {
  const headers = new Headers({
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-allow-headers': requestHeaders || ALLOWED_HEADERS,
    'access-control-max-age': '600',
  })
  if (allowOrigin !== '*') headers.set('vary', 'Origin')
  return headers
}

/** Add the CORS headers of a normal answer. */
export function addCorsHeaders(headers: Headers, allowOrigin: string): void {
  headers.set('access-control-allow-origin', allowOrigin)
  if (allowOrigin !== '*') headers.append('vary', 'Origin')
}
