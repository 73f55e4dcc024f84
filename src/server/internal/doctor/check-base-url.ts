// Internal (doctor): check 1, the base URL's shape and that it answers. The request it sends is
// the JWKS GET (LoginID's only unauthenticated GET); check 2 judges that answer.
import type { CheckOutcome, DoctorContext } from './context.js'
import { FIX_UNREACHABLE, request } from './context.js'
import { JWKS_PATH } from './check-jwks.js'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
/** `<appId>.api.loginid.io` and the dev hosts `<appId>.api.dev.loginid.io`. */
const LOGINID_HOST = /^([a-z0-9-]+)\.api\.(?:dev\.)?loginid\.io$/

export const FIX_HTTPS = 'use https://<app-id>.api.loginid.io (LoginID only serves https)'
export const FIX_INSECURE_LOCAL =
  'use https://<app-id>.api.loginid.io, or pass --allow-insecure-local (allowInsecureLocal: true) to check a local simulator'
export const FIX_FIDO2_PATH =
  'drop /fido2/v2 from the base URL: loginid-mfa-flow adds the API paths itself'

export async function checkBaseUrl(ctx: DoctorContext): Promise<CheckOutcome> {
  const { baseUrl, appId, allowInsecureLocal } = ctx.options
  const url = new URL(baseUrl)
  const loopback = LOOPBACK.has(url.hostname)
  if (url.username || url.password || url.search || url.hash) {
    return {
      status: 'fail',
      evidence: `${redactUserinfo(url)} has credentials, a query or a fragment`,
      fix: 'use the bare https://<app-id>.api.loginid.io',
    }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { status: 'fail', evidence: `${url.protocol} is not https`, fix: FIX_HTTPS }
  }
  if (url.protocol === 'http:' && !loopback) {
    return { status: 'fail', evidence: `${baseUrl} is http, not https`, fix: FIX_HTTPS }
  }
  if (url.protocol === 'http:' && !allowInsecureLocal) {
    return {
      status: 'fail',
      evidence: `${baseUrl} is http on a loopback host (a local simulator?)`,
      fix: FIX_INSECURE_LOCAL,
    }
  }
  if (/\/fido2(\/|$)/.test(url.pathname)) {
    return {
      status: 'fail',
      evidence: `the path ${url.pathname} is part of it`,
      fix: FIX_FIDO2_PATH,
    }
  }

  const answer = await request(ctx, 'GET', JWKS_PATH)
  if (answer.kind === 'failure') {
    return {
      status: 'fail',
      evidence: `could not reach ${url.host}: ${answer.detail}`,
      fix: FIX_UNREACHABLE,
    }
  }
  ctx.reachable = true
  ctx.jwks = answer
  const answered = `answered HTTP ${answer.status}`

  if (url.protocol === 'http:') {
    return {
      status: 'warn',
      evidence: `http on loopback ${url.host}, allowed by --allow-insecure-local; shape not checked; ${answered}`,
      fix: 'point the doctor at https://<app-id>.api.loginid.io before going live',
    }
  }
  const label = url.hostname.split('.')[0] ?? ''
  const loginIdHost = LOGINID_HOST.exec(url.hostname)
  if (url.pathname !== '/') {
    return {
      status: 'warn',
      evidence: `the base URL has a path (${url.pathname}); ${answered}`,
      fix: 'LoginID base URLs have no path: use https://<app-id>.api.loginid.io',
    }
  }
  if (!loginIdHost) {
    return {
      status: 'warn',
      evidence: `${url.hostname} is not <app-id>.api.loginid.io; app id taken as "${appId ?? label}"; ${answered}`,
      fix: 'if this is a custom domain, pass the real app id (--app-id); else use https://<app-id>.api.loginid.io',
    }
  }
  if (appId !== undefined && appId !== loginIdHost[1]) {
    return {
      status: 'warn',
      evidence: `the host names app "${loginIdHost[1]}" but the app id given is "${appId}"; ${answered}`,
      fix: 'use the base URL of the app whose id you gave, or drop --app-id',
    }
  }
  return {
    status: 'pass',
    evidence: `https, app id "${loginIdHost[1]}" from ${url.hostname}; ${answered}`,
  }
}

function redactUserinfo(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}
