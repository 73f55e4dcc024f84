// Imports the BUILT package through its own exports map (a package may import itself by name),
// as a consumer would, and checks that each entry exposes its public API. Run after `npm run build`.
const expected = {
  'loginid-mfa-flow': [
    'runMfa',
    'resumeMfa',
    'createMfaClient',
    'fetchGrantToken',
    'browserWebAuthn',
    'peekPendingMfa',
    'MfaError',
    'isMfaError',
  ],
  'loginid-mfa-flow/server': [
    'createManagementClient',
    'createExternalAuthHandler',
    'toNodeListener',
    'verifyLoginIDToken',
    'runDoctor',
    'MfaError',
  ],
  'loginid-mfa-flow/testing': [
    'createLoginIDSimulator',
    'startLoginIDSimulator',
    'createSoftwareAuthenticator',
    'createPasskeyVerifier',
    'SIMULATOR_API_KEY',
  ],
}

let failed = false
for (const [specifier, names] of Object.entries(expected)) {
  const mod = await import(specifier)
  const missing = names.filter((name) => !(name in mod))
  if (missing.length > 0) {
    failed = true
    console.log(`FAIL ${specifier}: missing ${missing.join(', ')}`)
  } else {
    console.log(`ok   ${specifier}: ${names.length} exports`)
  }
}

// One MFA run through the built entries: the simulator's core with the built client.
const { createMfaClient, runMfa, MfaError } = await import('loginid-mfa-flow')
const server = await import('loginid-mfa-flow/server')
const { createLoginIDSimulator } = await import('loginid-mfa-flow/testing')
if (server.MfaError !== MfaError) {
  failed = true
  console.log('FAIL MfaError differs between entries (instanceof would break)')
}
const sim = createLoginIDSimulator()
const client = createMfaClient({
  baseUrl: sim.baseUrl,
  fetch: (input, init) => sim.handle(new Request(input, init)),
})
const result = await runMfa({
  client,
  username: 'consumer@example.com',
  externalAuthenticator: () => true,
  tokenProvider: ({ username }) => sim.grantExternalAuth(username),
})
const token = result.accessToken
if (typeof token !== 'string' || token.split('.').length !== 3) {
  failed = true
  console.log('FAIL a run through the built package did not complete with an access token')
} else {
  console.log('ok   a run through the built package completed')
}
process.exit(failed ? 1 : 0)
