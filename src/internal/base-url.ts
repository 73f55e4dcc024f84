// Internal: base URL validation and LoginID's app-id rule. Not exported from any entry.
import { invalidArgument } from '../shared/errors.js'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

/**
 * Validate a LoginID base URL: absolute, https (http only for localhost / 127.0.0.1 / [::1]),
 * no credentials, query or fragment. Returns it without a trailing slash.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT`
 */
export function normalizeBaseUrl(baseUrl: unknown, name = 'baseUrl'): string {
  if (typeof baseUrl !== 'string' || baseUrl.trim() === '') {
    throw invalidArgument(`${name} must be a non-empty URL string`)
  }
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw invalidArgument(`${name} must be an absolute URL`)
  }
  const loopback = LOOPBACK.has(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw invalidArgument(
      `${name} must use https (http is allowed only for localhost and 127.0.0.1)`,
    )
  }
  if (url.username || url.password || url.search || url.hash) {
    throw invalidArgument(`${name} must not contain credentials, a query or a fragment`)
  }
  return url.href.replace(/\/+$/, '')
}

/**
 * LoginID's rule for the app id: the first DNS label of the base URL's host
 * (`https://<appId>.api.loginid.io`), as `@loginid/websdk3` derives it.
 */
export function appIdFromBaseUrl(baseUrl: string): string {
  const host = new URL(baseUrl).hostname
  const label = host.split('.')[0] ?? ''
  if (!label) {
    throw invalidArgument('could not derive the app id from baseUrl')
  }
  return label
}
