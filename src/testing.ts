/**
 * `loginid-mfa-flow/testing`: a stateful LoginID simulator for tests and local development.
 *
 * - {@link createLoginIDSimulator}: the Fetch-standard core plus MSW handlers (`sim.handlers`);
 * - {@link startLoginIDSimulator}: the same core over real HTTP on loopback;
 * - {@link defaultSimulatorPolicy}: LoginID's documented factor choices, for custom policies;
 * - {@link createSoftwareAuthenticator}: a software WebAuthn authenticator for Node tests;
 * - {@link createPasskeyVerifier}: real WebAuthn verification of LoginID's passkey results.
 *
 * `msw` (2.x) is an optional peer dependency needed only for `sim.handlers` and
 * `createMswHandlers`, which load it on first use: the entry itself imports without it.
 *
 * @module loginid-mfa-flow/testing
 */

export { SIMULATOR_API_KEY, createLoginIDSimulator } from './testing/create-loginid-simulator.js'
export { startLoginIDSimulator } from './testing/start-loginid-simulator.js'
export { defaultSimulatorPolicy } from './testing/default-simulator-policy.js'
export { createMswHandlers } from './testing/msw-handlers.js'
export { createSoftwareAuthenticator } from './testing/software-authenticator.js'
export type {
  CreateSoftwareCredentialOptions,
  SoftwareAuthenticator,
  SoftwareAuthenticatorCeremony,
  SoftwareAuthenticatorFailure,
  SoftwareAuthenticatorOptions,
  SoftwareCredential,
} from './testing/software-authenticator.js'
export { createPasskeyVerifier } from './testing/passkey-verifier.js'
export type {
  PasskeyAssertionSuccess,
  PasskeyAssertionVerification,
  PasskeyCredentialRecord,
  PasskeyRegistrationSuccess,
  PasskeyRegistrationVerification,
  PasskeyVerificationFailure,
  PasskeyVerificationFailureReason,
  PasskeyVerifier,
  PasskeyVerifierOptions,
  VerifyPasskeyAssertionOptions,
  VerifyPasskeyRegistrationOptions,
} from './testing/passkey-verifier.js'
export type {
  FaultAction,
  FaultRule,
  LoginIDSimulator,
  LoginIDSimulatorOptions,
  PolicyContext,
  PolicyDecision,
  RunningLoginIDSimulator,
  SimulatedMessage,
  SimulatedPasskey,
  SimulatedPasskeySeed,
  SimulatedRequest,
  SimulatedUser,
  SimulatedUserSeed,
  SimulatorApiKey,
  SimulatorFaults,
  SimulatorPolicy,
  StartLoginIDSimulatorOptions,
} from './testing/simulator-types.js'
