import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MfaBody, MfaNextBody } from '../../src/shared/protocol.js'
import { SIMULATOR_API_KEY, startLoginIDSimulator } from '../../src/testing.js'
import type { RunningLoginIDSimulator } from '../../src/testing.js'
import { basic, begin, bodyOf, names, post } from './helpers.js'

let running: RunningLoginIDSimulator

beforeAll(async () => {
  running = await startLoginIDSimulator({ users: [{ username: 'alice' }], maxBodyBytes: 2048 })
})
afterEach(() => running.simulator.reset())
afterAll(async () => {
  await running.close()
})

describe('startLoginIDSimulator (real HTTP)', () => {
  it('listens on 127.0.0.1 with a free port', () => {
    expect(running.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(running.simulator.baseUrl).toBe(running.baseUrl)
  })

  it('runs a full external flow with a backend grant and JWKS-verifiable tokens', async () => {
    const base = running.baseUrl
    const next = await begin(base, 'alice')
    expect(names(next)).toEqual(['external'])
    const grant = await post(
      base,
      '/mgmt/grant/external-auth',
      { username: 'alice' },
      basic(SIMULATOR_API_KEY),
    )
    expect(grant.status).toBe(200)
    const { token } = await bodyOf<{ token: string }>(grant)
    const done = await post(base, '/mfa/third-party/verify', { token }, next.session)
    expect(done.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(done)
    const jwks = createRemoteJWKSet(new URL(`${base}/fido2/v2/.well-known/jwks.json`))
    const { payload } = await jwtVerify(mfa.accessToken!, jwks, {
      issuer: base,
      audience: running.simulator.appId,
    })
    expect(payload.username).toBe('alice')
    const verified = await post(
      base,
      '/mgmt/token/verify',
      { jwtAccess: mfa.accessToken },
      basic(SIMULATOR_API_KEY),
    )
    expect(verified.status).toBe(204)
  })

  it('answers 401 MfaNext over HTTP when more factors are needed', async () => {
    running.simulator.setPolicy((ctx) =>
      ctx.event === 'begin' || ctx.done.length < 2 ? { next: ['external'] } : { complete: true },
    )
    const next = await begin(running.baseUrl, 'alice')
    const token = running.simulator.grantExternalAuth('alice')
    const res = await post(running.baseUrl, '/mfa/third-party/verify', { token }, next.session)
    expect(res.status).toBe(401)
    const body = await bodyOf<MfaNextBody>(res)
    expect(body.session).toEqual(expect.any(String))
    expect(names(body)).toEqual(['external'])
  })

  it('drops the connection for a drop fault, then serves again', async () => {
    running.simulator.faults.add({ path: '/mfa/begin', fault: { type: 'drop' } })
    await expect(
      post(running.baseUrl, '/mfa/begin', { user: { username: 'alice' } }),
    ).rejects.toThrow(TypeError)
    expect(
      (await post(running.baseUrl, '/mfa/begin', { user: { username: 'alice' } })).status,
    ).toBe(200)
  })

  it('serves status and HTML faults', async () => {
    running.simulator.faults.add({ path: '/mfa/begin', fault: { type: 'status', status: 500 } })
    running.simulator.faults.add({ path: '/mfa/begin', fault: { type: 'html' } })
    const first = await post(running.baseUrl, '/mfa/begin', { user: { username: 'alice' } })
    expect(first.status).toBe(500)
    expect(await bodyOf(first)).toMatchObject({ msgCode: 'internal_error' })
    const second = await post(running.baseUrl, '/mfa/begin', { user: { username: 'alice' } })
    expect(second.status).toBe(502)
    expect(second.headers.get('content-type')).toContain('text/html')
  })

  it('caps huge bodies with 413 and answers malformed JSON with 400', async () => {
    const huge = await post(running.baseUrl, '/mfa/begin', {
      user: { username: 'alice' },
      traceId: 'x'.repeat(100_000),
    })
    expect(huge.status).toBe(413)
    expect(await bodyOf(huge)).toMatchObject({ msgCode: 'bad_request' })
    const malformed = await post(running.baseUrl, '/mfa/begin', '{"user":')
    expect(malformed.status).toBe(400)
    expect(await bodyOf(malformed)).toMatchObject({ msgCode: 'bad_request' })
  })

  it('caps a chunked body without content-length', async () => {
    const url = new URL(`${running.baseUrl}/fido2/v2/mfa/begin`)
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      for (let i = 0; i < 5; i++) req.write('x'.repeat(1000))
      req.end()
    })
    expect(status).toBe(413)
  })

  it('answers CORS preflights and 404s', async () => {
    const pre = await fetch(`${running.baseUrl}/fido2/v2/mfa/begin`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    const missing = await fetch(`${running.baseUrl}/nope`)
    expect(missing.status).toBe(404)
    expect(await bodyOf(missing)).toMatchObject({ msgCode: 'not_found' })
  })

  it('answers raw requests Fetch cannot represent with LoginID-shaped 4xx, never 500', async () => {
    const { port } = new URL(running.baseUrl)
    /** Send raw HTTP/1.1 text; resolve to the status and the body. */
    const raw = (head: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () =>
          socket.end(`${head}\r\nHost: x\r\nConnection: close\r\n\r\n`),
        )
        let text = ''
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
        socket.on('error', reject)
        socket.on('close', () => {
          const [statusLine = '', body = ''] = [text.split('\r\n')[0], text.split('\r\n\r\n')[1]]
          resolve({ status: Number(statusLine.split(' ')[1]), body })
        })
      })
    const trace = await raw('TRACE /fido2/v2/mfa/begin HTTP/1.1')
    expect(trace.status).toBe(405)
    expect(JSON.parse(trace.body)).toMatchObject({ msgCode: 'method_not_allowed' })
    const badTarget = await raw('GET http://[::1/x HTTP/1.1')
    expect(badTarget.status).toBe(400)
    expect(JSON.parse(badTarget.body)).toMatchObject({ msgCode: 'bad_request' })
    // `//host/path` is a path on this server, not another host's URL.
    const foreign = await raw('GET //evil.example/fido2/v2/.well-known/jwks.json HTTP/1.1')
    expect(foreign.status).toBe(404)
    expect((await fetch(`${running.baseUrl}/fido2/v2/.well-known/jwks.json`)).status).toBe(200)
  })

  it('close() closes open keep-alive connections and stops listening', async () => {
    const other = await startLoginIDSimulator()
    const res = await fetch(`${other.baseUrl}/fido2/v2/.well-known/jwks.json`)
    expect(res.status).toBe(200)
    await other.close()
    await other.close()
    await expect(fetch(`${other.baseUrl}/fido2/v2/.well-known/jwks.json`)).rejects.toThrow(
      TypeError,
    )
  })

  it('rejects when the port is taken, and bad ports', async () => {
    const port = Number(new URL(running.baseUrl).port)
    await expect(startLoginIDSimulator({ port })).rejects.toThrow()
    await expect(startLoginIDSimulator({ port: -1 })).rejects.toThrow(/port/)
  })
})
