// runDoctor's option checks, the report it assembles and the scrubbing of secrets, in process
// (the simulator through MSW). Each test fails when a deliberate breakage of
// src/server/internal/doctor/run-doctor.ts that the older doctor tests let through is in place.
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/server.js'
import type { DoctorOptions, DoctorReport } from '../../src/server.js'
import { scrub } from '../../src/server/internal/doctor/run-doctor.js'
import { isMfaError } from '../../src/shared/errors.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { serveSimulator } from '../support/serve-simulator.js'
import { API_KEY } from './helpers.js'

const APP = 'https://teethapp.api.loginid.io'
const sim = createLoginIDSimulator({
  baseUrl: APP,
  apiKeys: [{ key: API_KEY, scopes: ['external:verify'] }],
})
const server = serveSimulator(sim)

const check = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id)!

async function refusal(options: unknown): Promise<string> {
  const error = await runDoctor(options as DoctorOptions).catch((e: unknown) => e)
  expect(isMfaError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
  expect(sim.requests).toEqual([])
  return (error as Error).message
}

describe('runDoctor: options refused before any request', () => {
  it.each([
    ['no options object', undefined, 'runDoctor needs an options object'],
    ['a base URL that is not a string', { baseUrl: 42 }, 'baseUrl must be an absolute URL'],
    ['an app id that is not a string', { baseUrl: APP, appId: 7 }, 'appId must be'],
    ['a blank app id', { baseUrl: APP, appId: '  ' }, 'appId must be'],
    ['an API key that is not a string', { baseUrl: APP, apiKey: 7 }, 'apiKey must be'],
    ['an origin that is not a string', { baseUrl: APP, origin: 7 }, 'origin must be'],
    ['an origin of another scheme', { baseUrl: APP, origin: 'ftp://app.example' }, 'origin must'],
    ['an origin with a trailing slash', { baseUrl: APP, origin: 'https://a.example/' }, 'origin'],
    ['an origin that is not a URL', { baseUrl: APP, origin: 'app.example' }, 'origin must be'],
    ['a username that is not a string', { baseUrl: APP, username: 7 }, 'username must be'],
    ['a blank username', { baseUrl: APP, username: '   ' }, 'username must be'],
    ['a username with DEL', { baseUrl: APP, username: 'a\u007fb' }, 'username must be'],
    ['a username with NUL', { baseUrl: APP, username: 'a\u0000b' }, 'username must be'],
    ['a username of 257 characters', { baseUrl: APP, username: 'u'.repeat(257) }, 'username'],
    ['complete that is not a boolean', { baseUrl: APP, complete: 'yes' }, 'complete must be'],
    [
      'allowInsecureLocal that is not a boolean',
      { baseUrl: APP, allowInsecureLocal: 1 },
      'allowInsecureLocal must be a boolean',
    ],
    ['a signal that is not an AbortSignal', { baseUrl: APP, signal: {} }, 'signal must be'],
  ])('%s', async (_, options, message) => {
    expect(await refusal(options)).toContain(message)
  })

  it('accepts an http origin, a username of 256 characters (trimmed) and a padded base URL', async () => {
    const username = `${'u'.repeat(256)}`
    const report = await runDoctor({
      baseUrl: `  ${APP}//  `,
      origin: 'http://app.example',
      username: `  ${username} `,
    })
    expect(report.baseUrl).toBe(APP)
    expect(report.username).toBe(username)
    const begin = sim.requests.find((r) => r.path === '/fido2/v2/mfa/begin')
    expect(begin?.body).toEqual({ user: { username, usernameType: 'other' } })
    expect(check(report, 'cors').status).not.toBe('skip')
  })
})

describe('runDoctor: the report', () => {
  it('runs for a random throwaway username, typed "other", when none is given', async () => {
    const first = await runDoctor({ baseUrl: APP })
    const second = await runDoctor({ baseUrl: APP })
    expect(first.username).toMatch(/^loginid-mfa-flow-doctor-[0-9a-f]{12}$/)
    expect(second.username).not.toBe(first.username)
    const begins = sim.requests.filter((r) => r.path === '/fido2/v2/mfa/begin')
    expect(begins.map((r) => r.body)).toEqual([
      { user: { username: first.username, usernameType: 'other' } },
      { user: { username: second.username, usernameType: 'other' } },
    ])
  })

  it('numbers and titles the seven checks in order, and counts them in the summary', async () => {
    const report = await runDoctor({ baseUrl: APP })
    expect(report.checks.map(({ id, number, title }) => [number, id, title])).toEqual([
      [1, 'base-url', 'base URL'],
      [2, 'jwks', 'JWKS'],
      [3, 'mfa-begin', 'mfa/begin'],
      [4, 'cors', 'CORS'],
      [5, 'grant', 'grant token'],
      [6, 'complete', 'complete flow'],
      [7, 'response-schemas', 'response shapes'],
    ])
    const counted = { pass: 0, fail: 0, warn: 0, skip: 0 }
    for (const c of report.checks) counted[c.status] += 1
    expect(report.summary).toEqual(counted)
    expect(report).toMatchObject({ version: 1, ok: true, appId: 'teethapp' })
  })

  it('is not ok when a check fails, and a failing check does not stop the others', async () => {
    server.use(
      http.get(`${APP}/fido2/v2/.well-known/jwks.json`, () => HttpResponse.json({ keys: [] })),
    )
    const report = await runDoctor({ baseUrl: APP })
    expect(check(report, 'jwks').status).toBe('fail')
    expect(check(report, 'mfa-begin').status).toBe('pass')
    expect(report.ok).toBe(false)
    expect(report.summary.fail).toBe(1)
  })

  it('types a username as email only when the whole of it is an address', async () => {
    for (const [username, usernameType] of [
      ['ada@example.com', 'email'],
      ['a b@example.com', 'other'],
      ['ada@example.com x', 'other'],
      ['ada@example', 'other'],
    ] as const) {
      await runDoctor({ baseUrl: APP, username })
      const begin = sim.requests.filter((r) => r.path === '/fido2/v2/mfa/begin').at(-1)
      expect(begin?.body).toEqual({ user: { username, usernameType } })
    }
  })

  it('shows the base URL as given, query included, without a user name', async () => {
    expect((await runDoctor({ baseUrl: `${APP}/?x=1` })).baseUrl).toBe(`${APP}/?x=1`)
    expect((await runDoctor({ baseUrl: 'https://someone@teethapp.api.loginid.io' })).baseUrl).toBe(
      APP,
    )
  })

  it('names the app id given, over the one in the host', async () => {
    const report = await runDoctor({ baseUrl: APP, appId: '  other-app ' })
    expect(report.appId).toBe('other-app')
  })

  it('never shows credentials of the base URL', async () => {
    const report = await runDoctor({ baseUrl: 'https://user:pw@teethapp.api.loginid.io/' })
    expect(report.baseUrl).toBe('https://teethapp.api.loginid.io')
    expect(JSON.stringify(report)).not.toContain('pw@')
  })

  it('cancels the request in flight when the signal aborts', async () => {
    const controller = new AbortController()
    let inFlight: AbortSignal | undefined
    server.use(
      http.post(`${APP}/fido2/v2/mfa/begin`, async ({ request }) => {
        inFlight = request.signal
        controller.abort()
        await new Promise((resolve) => setTimeout(resolve, 3_000))
        return HttpResponse.json({})
      }),
    )
    const error = await runDoctor({ baseUrl: APP, signal: controller.signal }).catch(
      (e: unknown) => e,
    )
    expect(isMfaError(error, 'ERR_ABORTED')).toBe(true)
    // Rejected with the request cancelled, not after its answer.
    expect(inFlight?.aborted).toBe(true)
  })

  it('rejects with ERR_ABORTED when the signal is already aborted, before any request', async () => {
    const error = await runDoctor({ baseUrl: APP, signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    )
    expect(isMfaError(error, 'ERR_ABORTED')).toBe(true)
    expect(sim.requests).toEqual([])
  })
})

describe('runDoctor: secrets', () => {
  it('scrubs the Basic form of an ASCII key; a non-ASCII key is scrubbed raw', async () => {
    const basic = btoa(`${API_KEY}:`)
    sim.faults.add({
      path: '/.well-known/jwks.json',
      fault: { type: 'status', status: 500, body: { msg: `saw ${basic}`, msgCode: 'x' } },
    })
    const report = await runDoctor({ baseUrl: APP, apiKey: API_KEY })
    expect(check(report, 'jwks').evidence).toContain('saw [REDACTED]')

    const unicodeKey = 'clé-secrète-ü'
    sim.faults.add({
      path: '/.well-known/jwks.json',
      fault: { type: 'status', status: 500, body: { msg: `saw ${unicodeKey}`, msgCode: 'x' } },
    })
    const other = await runDoctor({ baseUrl: APP, apiKey: unicodeKey })
    expect(check(other, 'jwks').evidence).toContain('saw [REDACTED]')
  })

  it('scrub replaces the longest secret first, in strings at any depth, and keeps the rest', () => {
    const value = { a: ['abcdef', { b: 'x abc y' }], n: 1, t: true, z: null }
    expect(scrub(value, ['abc', 'abcdef'])).toEqual({
      a: ['[REDACTED]', { b: 'x [REDACTED] y' }],
      n: 1,
      t: true,
      z: null,
    })
    expect(scrub('abcdef abc', ['abc', 'abcdef'])).toBe('[REDACTED] [REDACTED]')
  })
})
