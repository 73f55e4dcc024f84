/**
 * The simulator's default policy, exported from `loginid-mfa-flow/testing`.
 *
 * @module loginid-mfa-flow/testing
 */
import type { PolicyContext, PolicyDecision } from './simulator-types.js'

/**
 * LoginID's documented cases (see "MFA External Authentication" in LoginID's docs):
 * - an unknown user signs up: `[external]`, then `[passkey:reg]` when
 *   `requirePasskeyRegistration` is on, else complete;
 * - a known user with a passkey on a known device: `[passkey:auth, external]`
 *   (`[passkey:tx, external]` when the flow carries a transaction payload);
 * - a known user on a new device (or without a passkey): `[external]`, then `[passkey:reg]` when
 *   `requirePasskeyRegistration` is on and the user has no passkey, else complete;
 * - a passkey failure: `[external]`.
 *
 * Custom policies can delegate to it for the cases they do not change.
 *
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/fallback-custom/
 * @example Offer OTP by email first, then fall back to the default
 * ```ts
 * import { createLoginIDSimulator, defaultSimulatorPolicy } from 'loginid-mfa-flow/testing'
 *
 * const sim = createLoginIDSimulator()
 * sim.setPolicy((ctx) =>
 *   ctx.event === 'begin' && ctx.user?.email ? { next: ['otp:email'] } : defaultSimulatorPolicy(ctx),
 * )
 * ```
 */
export function defaultSimulatorPolicy(ctx: PolicyContext): PolicyDecision {
  const hasPasskey = (ctx.user?.passkeys.length ?? 0) > 0
  if (ctx.event === 'failure') return { next: ['external'] }
  if (ctx.event === 'begin') {
    if (ctx.user && hasPasskey && ctx.deviceKnown) {
      return { next: [ctx.payload !== undefined ? 'passkey:tx' : 'passkey:auth', 'external'] }
    }
    return { next: ['external'] }
  }
  // success
  const registered = ctx.done.includes('passkey:reg')
  if (ctx.requirePasskeyRegistration && !hasPasskey && !registered) {
    return { next: ['passkey:reg'] }
  }
  return { complete: true }
}
