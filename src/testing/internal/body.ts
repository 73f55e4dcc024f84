// Internal (loginid-mfa-flow/testing): request body reading with a size cap, JSON helpers.

export { readBodyText } from '../../internal/read-body.js'
export type { ReadBodyResult } from '../../internal/read-body.js'

/** Parse JSON without throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}
