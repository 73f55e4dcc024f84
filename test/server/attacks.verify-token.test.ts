// Attack matrix of `verifyLoginIDToken`: each case names a forged or abusive token (or a hostile
// JWKS endpoint) and what it gets. The JWKS is served over real loopback HTTP.
import { createServer } from 'node:http'
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair, base64url } from 'jose'
import type { CryptoKey, JWK, JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { verifyLoginIDToken } from '../../src/server.js'
import { pumpEndless } from './hostile.js'

const APP_ID = 'app1'
let key: CryptoKey
let jwk: JWK
let rsaKey: CryptoKey
beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  key = pair.privateKey
  ;({ privateKey: rsaKey } = await generateKeyPair('RS256'))
})

const servers: Server[] = []
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** A fresh LoginID (fresh JWKS cache) whose JWKS endpoint answers with `answer`. */
async function loginid(answer: (res: ServerResponse) => void = (res) => jwksOf(res, [jwk])) {
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    answer(res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { baseUrl, fetches: () => fetches, options: { baseUrl, appId: APP_ID } }
}

function jwksOf(res: ServerResponse, keys: JWK[]): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ keys }))
}

const claims = (baseUrl: string, extra: JWTPayload = {}): JWTPayload => ({
  iss: baseUrl,
  aud: APP_ID,
  sub: 'user-1',
  username: 'alice',
  tokenType: 'jwtAccess',
  ...extra,
})

async function sign(
  payload: JWTPayload,
  header: Record<string, unknown> = {},
  signer: CryptoKey = key,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header } as { alg: string })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(signer)
}

const b64 = (value: unknown): string => base64url.encode(JSON.stringify(value))

describe('attack matrix: verifyLoginIDToken', () => {
  it('held: a genuine token verifies (the baseline every attack below is compared with)', async () => {
    const l = await loginid()
    await expect(
      verifyLoginIDToken(await sign(claims(l.baseUrl)), l.options),
    ).resolves.toMatchObject({ username: 'alice' })
  })

  it('held: alg "none" (unsigned) → ERR_TOKEN_INVALID', async () => {
    const l = await loginid()
    const token = `${b64({ alg: 'none' })}.${b64({ ...claims(l.baseUrl), iat: 1, exp: 9e9 })}.`
    await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_INVALID',
    })
  })

  it('held: HS256 signed with the public key as the HMAC secret → ERR_TOKEN_INVALID', async () => {
    const l = await loginid()
    const secret = new TextEncoder().encode(JSON.stringify(jwk))
    const token = await new SignJWT(claims(l.baseUrl))
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret)
    await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_INVALID',
    })
  })

  it('held: RS256 with an attacker key → ERR_TOKEN_INVALID', async () => {
    const l = await loginid()
    const token = await new SignJWT(claims(l.baseUrl))
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(rsaKey)
    await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_INVALID',
    })
  })

  it('held: an attacker key embedded as "jwk" or pointed at by "jku" → ERR_TOKEN_INVALID', async () => {
    const l = await loginid()
    const attacker = await generateKeyPair('ES256', { extractable: true })
    const attackerJwk = await exportJWK(attacker.publicKey)
    for (const header of [
      { jwk: attackerJwk, kid: undefined },
      { jwk: attackerJwk },
      { jku: 'https://evil.example/jwks.json', kid: 'evil' },
    ]) {
      const token = await sign(claims(l.baseUrl), header, attacker.privateKey)
      await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
    }
  })

  it('held: an unknown "crit" header → ERR_TOKEN_INVALID', async () => {
    const l = await loginid()
    // Signed by hand: jose refuses to sign an unknown crit.
    const now = Math.floor(Date.now() / 1000)
    const input = `${b64({ alg: 'ES256', kid: 'k1', crit: ['x-evil'], 'x-evil': true })}.${b64({ ...claims(l.baseUrl), iat: now, exp: now + 3600 })}`
    const signature = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      new TextEncoder().encode(input),
    )
    const token = `${input}.${base64url.encode(new Uint8Array(signature))}`
    await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_INVALID',
    })
  })

  it("held: another user's payload under a valid signature (swapped payload) → ERR_TOKEN_INVALID", async () => {
    const l = await loginid()
    const [header, , signature] = (await sign(claims(l.baseUrl))).split('.')
    const payload = b64({ ...claims(l.baseUrl, { username: 'mallory' }), iat: 1, exp: 9e9 })
    await expect(
      verifyLoginIDToken(`${header}.${payload}.${signature}`, l.options),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
  })

  it('held: a token over 16 KiB → ERR_TOKEN_INVALID without fetching the JWKS', async () => {
    const l = await loginid()
    const token = await sign(claims(l.baseUrl, { pad: 'x'.repeat(17_000) }))
    await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_INVALID',
    })
    expect(l.fetches()).toBe(0)
  })

  it('held: an unknown kid → ERR_TOKEN_INVALID', async () => {
    const l = await loginid()
    await expect(
      verifyLoginIDToken(await sign(claims(l.baseUrl), { kid: 'nope' }), l.options),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
  })

  it('a token issued a day in the future ("iat") → ERR_TOKEN_CLAIMS; within the tolerance it passes', async () => {
    const l = await loginid()
    const now = Math.floor(Date.now() / 1000)
    const future = await new SignJWT(claims(l.baseUrl))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuedAt(now + 86_400)
      .setExpirationTime(now + 90_000)
      .sign(key)
    await expect(verifyLoginIDToken(future, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIMS',
    })
    await expect(
      verifyLoginIDToken(future, { ...l.options, clockToleranceSec: 300 }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIMS' })
    const skewed = await new SignJWT(claims(l.baseUrl))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuedAt(now + 60)
      .setExpirationTime(now + 3600)
      .sign(key)
    await expect(verifyLoginIDToken(skewed, l.options)).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIMS',
    })
    await expect(
      verifyLoginIDToken(skewed, { ...l.options, clockToleranceSec: 120 }),
    ).resolves.toMatchObject({ username: 'alice' })
  })

  it('50 tokens with unknown kids while the JWKS answers 503: one JWKS request per cooldown', async () => {
    const l = await loginid((res) => {
      res.writeHead(503)
      res.end('down')
    })
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sign(claims(l.baseUrl), { kid: `kid-${i}` })),
    )
    for (const token of tokens.slice(0, 25)) {
      await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
        code: 'ERR_LOGINID_UNAVAILABLE',
      })
    }
    await Promise.all(
      tokens.slice(25).map((token) =>
        expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
          code: 'ERR_LOGINID_UNAVAILABLE',
        }),
      ),
    )
    expect(l.fetches()).toBe(1)
    // After the cooldown, one new attempt.
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 31_000)
      await expect(verifyLoginIDToken(tokens[0]!, l.options)).rejects.toMatchObject({
        code: 'ERR_LOGINID_UNAVAILABLE',
      })
    } finally {
      vi.useRealTimers()
    }
    expect(l.fetches()).toBe(2)
  })

  it('an endless JWKS (no length) and a declared 150 MB JWKS → ERR_BAD_RESPONSE, not read whole', async () => {
    let sent = (): number => 0
    const endless = await loginid((res) => {
      sent = pumpEndless(res, '{"keys":[')
    })
    await expect(
      verifyLoginIDToken(await sign(claims(endless.baseUrl)), endless.options),
    ).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' })
    expect(sent()).toBeLessThan(64 * 1024 * 1024)
    const declared = await loginid((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '157286400' })
      res.write('{"keys":[')
    })
    await expect(
      verifyLoginIDToken(await sign(claims(declared.baseUrl)), declared.options),
    ).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' })
  })

  it('a JWKS endpoint redirecting to an attacker key set → refused, the attacker key never used', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true })
    const evil = await loginid(async (res) => {
      const evilJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'k1', alg: 'ES256' }
      jwksOf(res, [evilJwk])
    })
    const l = await loginid((res) => {
      res.writeHead(302, { location: `${evil.baseUrl}/jwks.json` })
      res.end()
    })
    const token = await sign(claims(l.baseUrl), {}, attacker.privateKey)
    await expect(verifyLoginIDToken(token, l.options)).rejects.toMatchObject({
      code: 'ERR_BAD_RESPONSE',
    })
    expect(evil.fetches()).toBe(0)
  })
})
