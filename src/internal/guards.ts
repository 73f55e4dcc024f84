// Internal: small type guards and limits shared by the client, server and testing entries.

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A non-empty string. */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

/** An array of strings. */
export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

/** The longest delay `setTimeout` takes without overflowing to ~0 (2^31 − 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647

/** A duration in ms a timer can honour: a finite number in (0, 2^31 − 1]. */
export function isTimerDuration(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= MAX_TIMER_MS
}

/** `undefined`, or a duration a timer can honour. */
export function isOptionalTimerDuration(value: unknown): value is number | undefined {
  return value === undefined || isTimerDuration(value)
}
