// The one table of LoginID MFA factors: every branch on a factor goes through its `kind`, with an
// exhaustive `never` check (see `assertNever`), so a new kind makes the compiler list every place
// that needs it, and a new factor of an existing kind is one row here.
import type { MfaFactorName } from './protocol.js'

/** How a factor runs: a WebAuthn ceremony, a one-time code request, the app's own step, a code check. */
export type FactorKind = 'passkey' | 'otp' | 'external' | 'verify'

/** One row of {@link FACTORS}. */
export interface FactorSpec {
  readonly kind: FactorKind
  /** The endpoint under `/fido2/v2/mfa/`. */
  readonly path: string
  /** `nextAction` priority, as `LoginIDMfa` derives it (PROTOCOL.md b.4); lower first. None: never `nextAction`. */
  readonly priority?: number
  /** For `otp` factors: the `method` of `otp/request`. */
  readonly method?: string
}

/** Every factor, in `LoginIDMfa`'s `nextAction` priority order, then `otp:verify`. */
export const FACTORS: { readonly [N in MfaFactorName]: FactorSpec } = {
  'passkey:reg': { kind: 'passkey', path: 'passkey/reg', priority: 1 },
  'passkey:auth': { kind: 'passkey', path: 'passkey/auth', priority: 2 },
  'passkey:tx': { kind: 'passkey', path: 'passkey/tx', priority: 3 },
  'otp:sms': { kind: 'otp', path: 'otp/request', priority: 4, method: 'sms' },
  'otp:email': { kind: 'otp', path: 'otp/request', priority: 5, method: 'email' },
  external: { kind: 'external', path: 'third-party/verify', priority: 6 },
  'otp:verify': { kind: 'verify', path: 'otp/verify' },
}

/** The factor's row, or undefined for a name this package does not know. */
export function factorOf(name: unknown): FactorSpec | undefined {
  return typeof name === 'string' && Object.hasOwn(FACTORS, name)
    ? FACTORS[name as MfaFactorName]
    : undefined
}

/** Factor names that can be `nextAction`, highest priority first. */
export const NEXT_ACTION_PRIORITY: readonly MfaFactorName[] = /* @__PURE__ */ (
  Object.keys(FACTORS) as MfaFactorName[]
)
  .filter((name) => FACTORS[name].priority !== undefined)
  .sort((a, b) => (FACTORS[a].priority as number) - (FACTORS[b].priority as number))

/** The compile-time end of an exhaustive switch over a union (a kind, a tag). */
export function assertNever(value: never): never {
  throw new Error(`unhandled case ${String(value)}`)
}
