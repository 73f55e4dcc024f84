// runDoctor's options and check 1's judgement of real LoginID hosts. LoginID is the simulator
// served through MSW on https URLs, so the https shapes are checked without a network.
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/server.js'
import type { DoctorReport } from '../../src/server.js'
import { isMfaError } from '../../src/shared/errors.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { serveSimulator } from '../support/serve-simulator.js'
import { API_KEY } from './helpers.js'

const APP = 'https://doctorapp.api.loginid.io'
const sim = createLoginIDSimulator({
  baseUrl: APP,
  apiKeys: [{ key: API_KEY, scopes: ['external:verify'] }],
})
const server = serveSimulator(sim)

const check = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id)!

describe('runDoctor: check 1 on https hosts', () => {
  it('passes a LoginID host and names the app id', async () => {
    const report = await runDoctor({ baseUrl: `${APP}/`, apiKey: API_KEY, complete: true })
    expect(check(report, 'base-url')).toEqual({
      id: 'base-url',
      number: 1,
      title: 'base URL',
      status: 'pass',
      evidence: 'https, app id "doctorapp" from doctorapp.api.loginid.io; answered HTTP 200',
    })
    expect(report).toMatchObject({ ok: true, baseUrl: APP, appId: 'doctorapp' })
    expect(report.summary).toEqual({ pass: 6, fail: 0, warn: 0, skip: 1 })
  })

  it('fails a base URL that carries /fido2/v2, without sending anything', async () => {
    const report = await runDoctor({ baseUrl: `${APP}/fido2/v2` })
    expect(check(report, 'base-url')).toMatchObject({
      status: 'fail',
      fix: 'drop /fido2/v2 from the base URL: loginid-mfa-flow adds the API paths itself',
    })
    expect(report.checks.slice(1).map((c) => c.status)).toEqual(Array(6).fill('skip'))
    expect(sim.requests).toEqual([])
  })

  it('fails http on a real host, and loopback http without allowInsecureLocal', async () => {
    const remote = await runDoctor({ baseUrl: 'http://doctorapp.api.loginid.io' })
    expect(check(remote, 'base-url')).toMatchObject({
      status: 'fail',
      fix: 'use https://<app-id>.api.loginid.io (LoginID only serves https)',
    })
    const local = await runDoctor({ baseUrl: 'http://127.0.0.1:9' })
    expect(check(local, 'base-url')).toMatchObject({
      status: 'fail',
      fix: 'use https://<app-id>.api.loginid.io, or pass --allow-insecure-local (allowInsecureLocal: true) to check a local simulator',
    })
    // allowInsecureLocal never lets a non-loopback http URL through.
    const stillRemote = await runDoctor({
      baseUrl: 'http://doctorapp.api.loginid.io',
      allowInsecureLocal: true,
    })
    expect(check(stillRemote, 'base-url').status).toBe('fail')
    expect(sim.requests).toEqual([])
  })

  it('warns about a host that is not <app-id>.api.loginid.io (a custom domain?)', async () => {
    const custom = createLoginIDSimulator({ baseUrl: 'https://auth.shop.example' })
    server.use(...custom.handlers)
    const report = await runDoctor({ baseUrl: 'https://auth.shop.example' })
    expect(check(report, 'base-url')).toMatchObject({
      status: 'warn',
      evidence:
        'auth.shop.example is not <app-id>.api.loginid.io; app id taken as "auth"; answered HTTP 200',
    })
    expect(report.ok).toBe(true)
  })

  it('fails check 2 on a key set without an ES256 key with a kid', async () => {
    server.use(
      http.get(`${APP}/fido2/v2/.well-known/jwks.json`, () =>
        HttpResponse.json({
          keys: [{ kty: 'RSA', kid: 'r1', alg: 'RS256', use: 'sig', key_ops: [] }],
        }),
      ),
    )
    const report = await runDoctor({ baseUrl: APP })
    expect(check(report, 'jwks')).toMatchObject({
      status: 'fail',
      evidence: '1 key(s), none ES256 (EC P-256) with a kid',
      fix: 'LoginID should publish ES256 (P-256) keys with a kid: report the evidence to LoginID support',
    })
  })

  it('reads at most 1 MiB of an answer', async () => {
    const huge = JSON.stringify({ keys: [], pad: 'x'.repeat(1_100_000) })
    server.use(
      http.get(`${APP}/fido2/v2/.well-known/jwks.json`, () =>
        HttpResponse.text(huge, { headers: { 'content-type': 'application/json' } }),
      ),
    )
    const report = await runDoctor({ baseUrl: APP })
    expect(check(report, 'jwks')).toMatchObject({
      status: 'fail',
      evidence:
        'GET /fido2/v2/.well-known/jwks.json answered 200 without a JSON key set ({ keys: [...] })',
    })
  })

  it('fails check 6 when the app does not offer external, and scrubs the session', async () => {
    sim.setPolicy(() => ({ next: ['otp:email'] }))
    const report = await runDoctor({
      baseUrl: APP,
      apiKey: API_KEY,
      complete: true,
      username: 'otp@example.com',
    })
    expect(check(report, 'complete')).toMatchObject({
      status: 'fail',
      evidence: 'mfa/begin offered otp:email, not external',
    })
    const begin = sim.requests.find((r) => r.path === '/fido2/v2/mfa/begin')
    expect(begin?.body).toEqual({ user: { username: 'otp@example.com', usernameType: 'email' } })
  })
})

describe('runDoctor: secrets', () => {
  it('scrubs the API key from everything LoginID echoes', async () => {
    sim.faults.add({
      path: '/.well-known/jwks.json',
      fault: {
        type: 'status',
        status: 500,
        body: { msg: `key ${API_KEY} / ${btoa(`${API_KEY}:`)} refused`, msgCode: 'internal_error' },
      },
    })
    const report = await runDoctor({ baseUrl: APP, apiKey: API_KEY })
    expect(check(report, 'jwks').evidence).toBe(
      'GET /fido2/v2/.well-known/jwks.json answered HTTP 500 internal_error (key [REDACTED] / [REDACTED] refused)',
    )
    expect(JSON.stringify(report)).not.toContain(API_KEY)
  })
})

describe('runDoctor: options', () => {
  it.each([
    [{ baseUrl: 'not a url' }, 'baseUrl must be an absolute URL'],
    [{ baseUrl: APP, origin: 'https://app.example/path' }, 'origin must be an origin'],
    [{ baseUrl: APP, apiKey: ' ' }, 'apiKey must be a non-empty string'],
    [{ baseUrl: APP, username: 'a\nb' }, 'username must be a non-empty string'],
    [{ baseUrl: APP, complete: true }, 'complete needs an apiKey'],
    [{ baseUrl: APP, timeoutMs: 0 }, 'timeoutMs must be a positive number'],
    [{ baseUrl: APP, appId: '' }, 'appId must be a non-empty string'],
  ])('rejects %j with ERR_INVALID_ARGUMENT before any request', async (options, message) => {
    const error = await runDoctor(options).catch((e: unknown) => e)
    expect(isMfaError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect((error as Error).message).toContain(message)
    expect(sim.requests).toEqual([])
  })

  it('rejects with ERR_ABORTED when the signal aborts', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'delay', ms: 5_000 } })
    const controller = new AbortController()
    const run = runDoctor({ baseUrl: APP, signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const error = await run.catch((e: unknown) => e)
    expect(isMfaError(error, 'ERR_ABORTED')).toBe(true)
  })

  it('reports a request that runs out of time as the failing check', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'delay', ms: 2_000 } })
    const report = await runDoctor({ baseUrl: APP, timeoutMs: 100 })
    expect(check(report, 'mfa-begin')).toMatchObject({
      status: 'fail',
      evidence: 'POST /fido2/v2/mfa/begin: no answer within 100 ms',
    })
  })
})
