// Test support: what a rejected call failed with, and everything an error shows a logger.
import { inspect } from 'node:util'
import { expect } from 'vitest'
import { MfaError } from '../../src/shared/errors.js'

/** The `MfaError` a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function failure(promise: Promise<unknown>): Promise<MfaError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(MfaError)
  return error as MfaError
}

/** Everything an error shows a logger: inspect, String, JSON and the whole cause chain. */
export function exposed(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: 20, showHidden: true })]
  let current: unknown = error
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    parts.push(String(current))
    if (current instanceof Error) parts.push(current.message, current.stack ?? '')
    try {
      parts.push(JSON.stringify(current))
    } catch {
      parts.push('[unserializable]')
    }
    current = (current as { cause?: unknown }).cause
  }
  return parts.join('\n')
}
