// Without the optional peer @simplewebauthn/server the simulator still loads and runs every
// non-passkey factor; a passkey answer gets a 500 that names the missing package.
import { describe, expect, it, vi } from 'vitest'

describe('the simulator without @simplewebauthn/server', () => {
  it('answers passkey factors with a 500 naming the package, and external still works', async () => {
    vi.resetModules()
    vi.doMock('@simplewebauthn/server', () => {
      throw new Error("Cannot find package '@simplewebauthn/server'")
    })
    const { createLoginIDSimulator } = await import('../../src/testing/create-loginid-simulator.js')
    const sim = createLoginIDSimulator({
      users: [{ username: 'bob', passkey: false }],
      requirePasskeyRegistration: true,
    })
    const call = (path: string, body: unknown, session?: string): Promise<Response> =>
      sim.handle(
        new Request(`${sim.baseUrl}/fido2/v2${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(session !== undefined && { authorization: session }),
          },
          body: JSON.stringify(body),
        }),
      )
    const begun = (await (await call('/mfa/begin', { user: { username: 'bob' } })).json()) as {
      session: string
    }
    const external = await call(
      '/mfa/third-party/verify',
      { token: sim.grantExternalAuth('bob') },
      begun.session,
    )
    expect(external.status).toBe(401) // continues with passkey:reg
    const next = (await external.json()) as {
      session: string
      next: { action: { name: string } }[]
    }
    expect(next.next.map((a) => a.action.name)).toEqual(['passkey:reg'])
    const reg = await call(
      '/mfa/passkey/reg',
      { creationResult: { attestationObject: 'AA', clientDataJSON: 'AA', credentialId: 'AA' } },
      next.session,
    )
    expect(reg.status).toBe(500)
    expect(await reg.json()).toEqual({
      msgCode: 'internal_error',
      msg: expect.stringContaining('@simplewebauthn/server'),
    })
    vi.doUnmock('@simplewebauthn/server')
  })
})
