// Internal: the request target and `Host` of a raw HTTP/1.1 request, parsed one way for every
// Node adapter (`toNodeListener`, the simulator's HTTP mode). The URL a handler sees is built
// from a trusted origin (configured, or `Host` checked here) and the target's path only: an
// absolute-form target (`POST https://evil.example/api`) or a `//evil.example/api` path never
// chooses the origin. Not exported from any entry.

/** Methods a Fetch `Request` cannot carry (and a route never serves): answered 405. */
export const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['TRACE', 'CONNECT', 'TRACK'])

// Visible ASCII only: no whitespace, no control characters.
const TARGET_CHARS = /^[\x21-\x7e]*$/
const ABSOLUTE = /^https?:\/\//i
// RFC 3986 host (reg-name, IPv4 or [IPv6]) and an optional port of 1 to 5 digits.
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9\-._~!$&'()*+,;=%]+)(?::(\d{1,5}))?$/i

/**
 * The path and query of a request target: an origin-form target as it is (`//host/path` stays a
 * path), an absolute-form http(s) target reduced to its path and query (its authority is
 * ignored); `undefined` for anything else (authority-form, `*`, invalid characters).
 */
export function targetPath(target: string | undefined): string | undefined {
  if (target === undefined || target === '' || !TARGET_CHARS.test(target)) return undefined
  if (target.charCodeAt(0) === 0x2f) return target
  if (!ABSOLUTE.test(target)) return undefined
  try {
    const url = new URL(target)
    return `${url.pathname}${url.search}`
  } catch {
    return undefined
  }
}

/**
 * A `Host` header as an origin (`scheme://host[:port]`, lower case, no default port), or
 * `undefined` when it is missing or not a valid host (`a b`, `x:99999`, `x:`).
 */
export function hostOrigin(host: string | undefined, scheme: 'http' | 'https'): string | undefined {
  if (host === undefined) return undefined
  const match = HOST.exec(host)
  if (match === null || (match[1] !== undefined && Number(match[1]) > 65535)) return undefined
  try {
    const url = new URL(`${scheme}://${host}`)
    return url.origin === 'null' ? undefined : url.origin
  } catch {
    return undefined
  }
}

/** What a Node adapter does with a request: serve `origin` + `path`, or answer 405 / 400. */
export type RequestTarget =
  { ok: true; origin: string; path: string } | { ok: false; status: 400 | 405 }

/**
 * Check a raw request's method, target and `Host`. `origin`, when given, is the server's public
 * origin and `Host` is not consulted; otherwise `Host` must be valid.
 */
export function parseRequestTarget(
  req: {
    method?: string | undefined
    url?: string | undefined
    headers: { host?: string | undefined }
  },
  scheme: 'http' | 'https',
  origin?: string,
): RequestTarget {
  if (FORBIDDEN_METHODS.has((req.method ?? '').toUpperCase())) return { ok: false, status: 405 }
  const path = targetPath(req.url)
  const own = origin ?? hostOrigin(req.headers.host, scheme)
  if (path === undefined || own === undefined) return { ok: false, status: 400 }
  return { ok: true, origin: own, path }
}
