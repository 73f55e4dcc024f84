// Internal: the storage shape check and the browser's default store for the LoginID device id.
import type { MfaStorage } from '../types.js'

/** Whether `value` has `getItem`, `setItem` and `removeItem`. */
export function isStorage(value: unknown): value is MfaStorage {
  const s = value as Partial<MfaStorage> | null | undefined
  return (
    typeof s?.getItem === 'function' &&
    typeof s.setItem === 'function' &&
    typeof s.removeItem === 'function'
  )
}

/**
 * `localStorage` where there is one (as `LoginIDMfa` keeps `LoginID_<appId>_device-id`), else
 * undefined (memory only: Node, workers, a sandboxed frame that throws on access).
 */
export function defaultDeviceStorage(): MfaStorage | undefined {
  try {
    const local = (globalThis as { localStorage?: unknown }).localStorage
    return isStorage(local) ? local : undefined
  } catch {
    return undefined
  }
}
