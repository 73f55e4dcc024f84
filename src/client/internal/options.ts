// Internal: validation of the options `runMfa` and `resumeMfa` share. Every check runs before any
// network call; a bad option is `ERR_INVALID_ARGUMENT`.
import { invalidArgument } from '../../shared/errors.js'
import { isNonEmptyString, isOptionalTimerDuration } from '../../internal/guards.js'
import { PENDING_KEY, pendingStorage } from './pending-flow.js'
import type { MfaStorage, RunMfaOptions } from '../types.js'

/** The options `runMfa` and `resumeMfa` share. */
export type DriveOptions<P> = Omit<RunMfaOptions<P>, 'username' | 'beginOptions'>

/** The shared options, checked, with their defaults applied. */
export interface DriveSettings<P> {
  client: DriveOptions<P>['client']
  otp: DriveOptions<P>['otp'] | undefined
  signal: DriveOptions<P>['signal'] | undefined
  externalAuthenticator: DriveOptions<P>['externalAuthenticator'] | undefined
  tokenProvider: DriveOptions<P>['tokenProvider'] | undefined
  chooseAction: DriveOptions<P>['chooseAction'] | undefined
  onEvent: DriveOptions<P>['onEvent'] | undefined
  passkey: NonNullable<DriveOptions<P>['passkey']>
  maxSteps: number
  maxAttempts: number
  stepMs: number | undefined
  runMs: number | undefined
  pendingFlowStorage: MfaStorage | undefined
  storageKey: string
  resumeTtlMs: number
}

/** The longest `resumeTtlMs`: 15 minutes. */
export const MAX_RESUME_TTL_MS = 900_000

export const invalid = invalidArgument

const isPositiveInt = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0

/** Check the shared options; throws `ERR_INVALID_ARGUMENT` on the first bad one. */
export function driveSettings<P>(options: DriveOptions<P>): DriveSettings<P> {
  const {
    client,
    otp,
    passkey = {},
    signal,
    maxSteps = 12,
    timeouts = {},
    storageKey = PENDING_KEY,
    resumeTtlMs = 300_000,
  } = options
  // `storage` is the deprecated name of `pendingFlowStorage`.
  const storage = options.pendingFlowStorage ?? options.storage
  if (typeof client?.performAction !== 'function') throw invalid('client must have performAction')
  for (const name of [
    'externalAuthenticator',
    'tokenProvider',
    'chooseAction',
    'onEvent',
  ] as const) {
    const fn = options[name]
    if (fn !== undefined && typeof fn !== 'function') throw invalid(`${name} must be a function`)
  }
  if (otp !== undefined && typeof otp?.getCode !== 'function')
    throw invalid('otp.getCode must be a function')
  const maxAttempts = otp?.maxAttempts ?? 3
  if (!isPositiveInt(maxAttempts)) throw invalid('otp.maxAttempts must be a positive integer')
  if (!isPositiveInt(maxSteps)) throw invalid('maxSteps must be a positive integer')
  if (!isOptionalTimerDuration(timeouts.stepMs) || !isOptionalTimerDuration(timeouts.runMs)) {
    throw invalid('timeouts must be positive numbers of milliseconds')
  }
  if (
    passkey.onError !== undefined &&
    passkey.onError !== 'fallback' &&
    passkey.onError !== 'throw'
  ) {
    throw invalid("passkey.onError must be 'fallback' or 'throw'")
  }
  if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
    throw invalid('signal must be an AbortSignal')
  }
  if (storage !== undefined) pendingStorage(storage)
  if (!isNonEmptyString(storageKey)) throw invalid('storageKey must be a non-empty string')
  if (!(isOptionalTimerDuration(resumeTtlMs) && resumeTtlMs <= MAX_RESUME_TTL_MS)) {
    throw invalid(
      `resumeTtlMs must be a positive number of milliseconds up to ${MAX_RESUME_TTL_MS}`,
    )
  }
  // An explicit object, not `{ ...options }`: one stable shape per run, no copy of unknown keys.
  return {
    client,
    otp,
    signal,
    externalAuthenticator: options.externalAuthenticator,
    tokenProvider: options.tokenProvider,
    chooseAction: options.chooseAction,
    onEvent: options.onEvent,
    passkey,
    maxSteps,
    maxAttempts,
    stepMs: timeouts.stepMs,
    runMs: timeouts.runMs,
    pendingFlowStorage: storage,
    storageKey,
    resumeTtlMs,
  }
}
