// Internal: the one base64url codec of the package (client, server and testing alike).
// Plain atob/btoa, so it runs in browsers, Node, workers, Bun and Deno and pulls in nothing.

/** base64url (RFC 4648 §5) without padding, of `bytes`. */
export function encodeBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * The bytes of a base64url string. Tolerant on input: padding and the standard alphabet's `+` and
 * `/` are accepted too. Throws a `DOMException`/`Error` from `atob` on anything else.
 */
export function decodeBase64Url(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** base64url of the UTF-8 bytes of `text`. */
export function encodeBase64UrlText(text: string): string {
  return encodeBase64Url(new TextEncoder().encode(text))
}

/** The UTF-8 text of a base64url string (invalid UTF-8 becomes U+FFFD). Throws on bad base64. */
export function decodeBase64UrlText(value: string): string {
  return new TextDecoder().decode(decodeBase64Url(value))
}

/** The same string in base64url without padding (`+` → `-`, `/` → `_`, `=` dropped). */
export function toBase64Url(value: string): string {
  return value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Only base64url characters (no padding), at least one. */
export const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/
