// Test helpers for the simulator tests: plain fetch calls and WebAuthn tampering.
import { base64url } from 'jose'
import type { MfaActionBody, MfaNextBody } from '../../src/shared/protocol.js'

/** JSON of a response (or undefined for an empty body). */
export async function bodyOf<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

/** POST JSON to `baseUrl + /fido2/v2 + path`. */
export function post(
  baseUrl: string,
  path: string,
  body: unknown,
  authorization?: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}/fido2/v2${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization !== undefined && { authorization }),
      ...extra,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** `Authorization: Basic base64(key:)`. */
export function basic(key: string): string {
  return `Basic ${btoa(`${key}:`)}`
}

/** `POST /mfa/begin` for a username; returns the parsed MfaNext. */
export async function begin(
  baseUrl: string,
  username: string,
  extra: Record<string, unknown> = {},
): Promise<MfaNextBody> {
  const res = await post(baseUrl, '/mfa/begin', {
    user: { username, usernameType: 'other' },
    ...extra,
  })
  if (res.status !== 200) throw new Error(`begin answered ${res.status}: ${await res.text()}`)
  return bodyOf<MfaNextBody>(res)
}

/** Factor names of an MfaNext. */
export function names(body: { next?: MfaActionBody[] }): string[] {
  return (body.next ?? []).map((a) => a.action.name)
}

/** The decoded options JSON of an action. */
export function optionsOf(body: MfaNextBody, factor: string): Record<string, unknown> {
  const action = body.next?.find((a) => a.action.name === factor)
  const value = action?.options?.[0]?.value
  if (!value) throw new Error(`no options for ${factor}`)
  return JSON.parse(new TextDecoder().decode(base64url.decode(value))) as Record<string, unknown>
}

/** base64url of a string or bytes. */
export const b64 = (input: string | Uint8Array): string => base64url.encode(input)

/**
 * A base64url `clientDataJSON` with `patch` merged in: tampering with what the authenticator
 * signed (the signature no longer matches, but the field checks come first).
 */
export function patchClientData(clientDataJSON: string, patch: Record<string, unknown>): string {
  const data = JSON.parse(new TextDecoder().decode(base64url.decode(clientDataJSON))) as object
  return b64(JSON.stringify({ ...data, ...patch }))
}

/** The same base64url bytes with the last byte flipped. */
export function flipLastByte(value: string): string {
  const bytes = base64url.decode(value)
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01
  return b64(bytes)
}

/** Run sign-up via external and return the Mfa body (user becomes known). */
export async function signUpWithExternal(
  baseUrl: string,
  username: string,
  grant: (username: string) => string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const next = await begin(baseUrl, username, extra)
  const res = await post(
    baseUrl,
    '/mfa/third-party/verify',
    { token: grant(username) },
    next.session,
  )
  if (res.status !== 200) throw new Error(`third-party/verify answered ${res.status}`)
  return bodyOf(res)
}
