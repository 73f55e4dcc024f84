// The doctor's checks 1 to 4, in process against exact LoginID answers (the simulator through MSW,
// one route replaced per test): every status a check can give and the evidence and fix it shows,
// since the evidence and the fix are what a developer acts on.
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/server.js'
import type { DoctorCheck, DoctorOptions } from '../../src/server.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { serveSimulator } from '../support/serve-simulator.js'
import { API_KEY } from './helpers.js'

const APP = 'https://checkapp.api.loginid.io'
const JWKS = `${APP}/fido2/v2/.well-known/jwks.json`
const BEGIN = `${APP}/fido2/v2/mfa/begin`
const sim = createLoginIDSimulator({
  baseUrl: APP,
  apiKeys: [{ key: API_KEY, scopes: ['external:verify'] }],
})
const server = serveSimulator(sim)

async function checkOf(id: string, options: Partial<DoctorOptions> = {}): Promise<DoctorCheck> {
  const report = await runDoctor({ baseUrl: APP, ...options })
  return report.checks.find((c) => c.id === id)!
}

const EC_KEY = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }

describe('check 1: the base URL', () => {
  it.each([
    [`${APP}/?x=1`, `${APP}/ has credentials, a query or a fragment`],
    [`${APP}/#f`, `${APP}/ has credentials, a query or a fragment`],
    ['https://u@checkapp.api.loginid.io', `${APP}/ has credentials, a query or a fragment`],
  ])('fails %s without sending anything', async (baseUrl, evidence) => {
    expect(await checkOf('base-url', { baseUrl })).toMatchObject({
      status: 'fail',
      evidence,
      fix: 'use the bare https://<app-id>.api.loginid.io',
    })
    expect(sim.requests).toEqual([])
  })

  it('names what is wrong with an http base URL', async () => {
    expect(await checkOf('base-url', { baseUrl: 'http://checkapp.api.loginid.io' })).toMatchObject({
      status: 'fail',
      evidence: 'http://checkapp.api.loginid.io is http, not https',
    })
    expect(await checkOf('base-url', { baseUrl: 'http://localhost:9' })).toMatchObject({
      status: 'fail',
      evidence: 'http://localhost:9 is http on a loopback host (a local simulator?)',
    })
    server.use(
      http.get('http://127.0.0.1:9/fido2/v2/.well-known/jwks.json', () => HttpResponse.json({})),
    )
    expect(
      await checkOf('base-url', { baseUrl: 'http://127.0.0.1:9', allowInsecureLocal: true }),
    ).toEqual({
      id: 'base-url',
      number: 1,
      title: 'base URL',
      status: 'warn',
      evidence:
        'http on loopback 127.0.0.1:9, allowed by --allow-insecure-local; shape not checked; answered HTTP 200',
      fix: 'point the doctor at https://<app-id>.api.loginid.io before going live',
    })
  })

  it('fails a scheme other than http(s)', async () => {
    expect(await checkOf('base-url', { baseUrl: 'ftp://checkapp.api.loginid.io' })).toMatchObject({
      status: 'fail',
      evidence: 'ftp: is not https',
      fix: 'use https://<app-id>.api.loginid.io (LoginID only serves https)',
    })
  })

  it.each([
    ['/fido2', '/fido2'],
    ['/fido2/v2//', '/fido2/v2'],
    ['/x/fido2/v2', '/x/fido2/v2'],
  ])('fails the path %s', async (path, shown) => {
    expect(await checkOf('base-url', { baseUrl: `${APP}${path}` })).toMatchObject({
      status: 'fail',
      evidence: `the path ${shown} is part of it`,
    })
    expect(sim.requests).toEqual([])
  })

  it('warns about another path, and names it', async () => {
    server.use(
      http.get(`${APP}/api/fido2x/fido2/v2/.well-known/jwks.json`, () => HttpResponse.json({})),
    )
    expect(await checkOf('base-url', { baseUrl: `${APP}/api/fido2x` })).toEqual({
      id: 'base-url',
      number: 1,
      title: 'base URL',
      status: 'warn',
      evidence: 'the base URL has a path (/api/fido2x); answered HTTP 200',
      fix: 'LoginID base URLs have no path: use https://<app-id>.api.loginid.io',
    })
  })

  it('passes a dev host, and an app id that matches the host', async () => {
    const dev = 'https://devapp.api.dev.loginid.io'
    server.use(http.get(`${dev}/fido2/v2/.well-known/jwks.json`, () => HttpResponse.json({})))
    expect(await checkOf('base-url', { baseUrl: dev })).toMatchObject({
      status: 'pass',
      evidence: 'https, app id "devapp" from devapp.api.dev.loginid.io; answered HTTP 200',
    })
    expect(await checkOf('base-url', { appId: 'checkapp' })).toMatchObject({ status: 'pass' })
  })

  it('warns when the app id given is not the one in the host', async () => {
    expect(await checkOf('base-url', { appId: 'other' })).toEqual({
      id: 'base-url',
      number: 1,
      title: 'base URL',
      status: 'warn',
      evidence: 'the host names app "checkapp" but the app id given is "other"; answered HTTP 200',
      fix: 'use the base URL of the app whose id you gave, or drop --app-id',
    })
  })

  it('takes the app id given for a custom domain', async () => {
    const custom = 'https://login.shop.example'
    server.use(http.get(`${custom}/fido2/v2/.well-known/jwks.json`, () => HttpResponse.json({})))
    expect(await checkOf('base-url', { baseUrl: custom, appId: 'shop' })).toMatchObject({
      status: 'warn',
      evidence:
        'login.shop.example is not <app-id>.api.loginid.io; app id taken as "shop"; answered HTTP 200',
      fix: 'if this is a custom domain, pass the real app id (--app-id); else use https://<app-id>.api.loginid.io',
    })
  })

  it('fails an unreachable host, and skips the checks that need LoginID', async () => {
    server.use(http.get(JWKS, () => HttpResponse.error()))
    const report = await runDoctor({ baseUrl: APP, apiKey: API_KEY, origin: 'https://a.example' })
    expect(report.checks[0]).toMatchObject({
      status: 'fail',
      evidence: 'could not reach checkapp.api.loginid.io: connection failed',
      fix: "check the host name and your network (DNS, proxy, firewall): LoginID's base URL is https://<app-id>.api.loginid.io",
    })
    expect(report.checks.slice(1, 5).map((c) => [c.status, c.evidence])).toEqual([
      ['skip', 'the base URL is not usable (check 1)'],
      ['skip', 'LoginID is not reachable (check 1)'],
      ['skip', 'LoginID is not reachable (check 1)'],
      ['skip', 'LoginID is not reachable (check 1)'],
    ])
  })
})

describe('check 2: the JWKS', () => {
  it.each([
    [
      404,
      'check the app id in the base URL (https://<app-id>.api.loginid.io): LoginID does not know this route for this app',
    ],
    [
      500,
      'LoginID is failing: retry later; if it persists, contact LoginID support with the evidence',
    ],
    [
      503,
      'LoginID is failing: retry later; if it persists, contact LoginID support with the evidence',
    ],
    [401, "check the app's settings in the LoginID dashboard (MFA enabled, allowed origins)"],
    [403, "check the app's settings in the LoginID dashboard (MFA enabled, allowed origins)"],
    [
      400,
      'report the evidence to loginid-mfa-flow (the request may no longer match what LoginID expects)',
    ],
    [
      499,
      'report the evidence to loginid-mfa-flow (the request may no longer match what LoginID expects)',
    ],
  ])('fails an HTTP %i with its fix', async (status, fix) => {
    server.use(http.get(JWKS, () => HttpResponse.json({ msgCode: 'c' }, { status })))
    expect(await checkOf('jwks')).toMatchObject({
      status: 'fail',
      evidence: `GET /fido2/v2/.well-known/jwks.json answered HTTP ${status} c`,
      fix,
    })
  })

  it('shows LoginID message on one line, cut at 120 characters; a blank one not at all', async () => {
    const long = `a  b\n${'x'.repeat(130)}`
    server.use(http.get(JWKS, () => HttpResponse.json({ msg: long }, { status: 500 })))
    expect((await checkOf('jwks')).evidence).toBe(
      `GET /fido2/v2/.well-known/jwks.json answered HTTP 500 (${`a b ${'x'.repeat(130)}`.slice(0, 120)}…)`,
    )
    const exact = 'y'.repeat(120)
    server.use(http.get(JWKS, () => HttpResponse.json({ msg: exact }, { status: 500 })))
    expect((await checkOf('jwks')).evidence).toBe(
      `GET /fido2/v2/.well-known/jwks.json answered HTTP 500 (${exact})`,
    )
    server.use(http.get(JWKS, () => HttpResponse.json({ msg: '  ', msgCode: 7 }, { status: 500 })))
    expect((await checkOf('jwks')).evidence).toBe(
      'GET /fido2/v2/.well-known/jwks.json answered HTTP 500',
    )
  })

  it('shows the status alone for an error answer that is not JSON, and trims the message', async () => {
    server.use(http.get(JWKS, () => new HttpResponse('<html>down</html>', { status: 502 })))
    expect((await checkOf('jwks')).evidence).toBe(
      'GET /fido2/v2/.well-known/jwks.json answered HTTP 502',
    )
    server.use(http.get(JWKS, () => HttpResponse.json({ msg: '  spaced  ' }, { status: 500 })))
    expect((await checkOf('jwks')).evidence).toBe(
      'GET /fido2/v2/.well-known/jwks.json answered HTTP 500 (spaced)',
    )
  })

  it('sends GET and the preflight without a Content-Type', async () => {
    const seen: (string | null)[] = []
    server.use(
      http.get(JWKS, ({ request }) => {
        seen.push(request.headers.get('content-type'))
        return HttpResponse.json({ keys: [] })
      }),
    )
    await checkOf('jwks')
    expect(seen).toEqual([null])
  })

  it('fails a 200 that is not a key set', async () => {
    for (const body of ['not json', '[]', '{"keys":{}}', '']) {
      server.use(http.get(JWKS, () => new HttpResponse(body, { status: 200 })))
      expect(await checkOf('jwks')).toMatchObject({
        status: 'fail',
        evidence:
          'GET /fido2/v2/.well-known/jwks.json answered 200 without a JSON key set ({ keys: [...] })',
        fix: 'check the base URL: something other than LoginID answered',
      })
    }
  })

  it('counts only EC P-256 keys with a kid and no other alg than ES256', async () => {
    const keys = [
      { ...EC_KEY, kid: 'a' },
      { ...EC_KEY, kid: 'b', alg: 'ES256' },
      { ...EC_KEY, kid: 'c', alg: 'ES384' },
      { ...EC_KEY, crv: 'P-384', kid: 'd' },
      { kty: 'RSA', crv: 'P-256', kid: 'e' },
      { ...EC_KEY, kid: '' },
      { ...EC_KEY },
      'not a key',
    ]
    server.use(http.get(JWKS, () => HttpResponse.json({ keys })))
    expect(await checkOf('jwks')).toEqual({
      id: 'jwks',
      number: 2,
      title: 'JWKS',
      status: 'pass',
      evidence: '2 ES256 key(s) with kid "a", "b" (and 6 other key(s))',
    })
    server.use(http.get(JWKS, () => HttpResponse.json({ keys: [{ ...EC_KEY, kid: 'only' }] })))
    expect((await checkOf('jwks')).evidence).toBe('1 ES256 key(s) with kid "only"')
    server.use(http.get(JWKS, () => HttpResponse.json({ keys: [] })))
    expect(await checkOf('jwks')).toMatchObject({
      status: 'fail',
      evidence: '0 key(s), none ES256 (EC P-256) with a kid',
    })
  })
})

describe('check 3: mfa/begin', () => {
  const answer = (body: unknown, status = 200) =>
    server.use(http.post(BEGIN, () => HttpResponse.json(body as object, { status })))
  const action = (name: unknown) => ({ type: 'x', action: { name } })

  it('fails a network failure, with the fix to retry', async () => {
    server.use(http.post(BEGIN, () => HttpResponse.error()))
    expect(await checkOf('mfa-begin')).toMatchObject({
      status: 'fail',
      evidence: 'POST /fido2/v2/mfa/begin: connection failed',
      fix: 'retry; if it persists, contact LoginID support',
    })
  })

  it('fails another status, with the fix for it', async () => {
    answer({ msgCode: 'forbidden', msg: 'no' }, 403)
    expect(await checkOf('mfa-begin')).toMatchObject({
      status: 'fail',
      evidence: 'POST /fido2/v2/mfa/begin answered HTTP 403 forbidden (no)',
      fix: "check the app's settings in the LoginID dashboard (MFA enabled, allowed origins)",
    })
  })

  it('fails a 200 without an object or without a session, and skips what needs the session', async () => {
    const FIX =
      'report the evidence to loginid-mfa-flow: the library needs a session to continue the flow'
    answer([1])
    const report = await runDoctor({ baseUrl: APP })
    expect(report.checks[2]).toMatchObject({
      status: 'fail',
      evidence: 'POST /fido2/v2/mfa/begin answered 200 without a JSON object',
      fix: FIX,
    })
    expect(report.checks[6]!.details).toContain(
      'POST /fido2/v2/mfa/begin 200 (body): is an array, expected object',
    )
    for (const session of [undefined, '', 7]) {
      answer({ session, next: [action('external')] })
      expect(await checkOf('mfa-begin')).toMatchObject({
        status: 'fail',
        evidence: 'POST /fido2/v2/mfa/begin answered 200 without a session',
        fix: FIX,
      })
    }
  })

  it('fails when nothing it can run is offered: unknown actions, or none', async () => {
    answer({ session: 'sess-9f2c1d', flow: 'signIn', next: [action('fax'), { action: 'x' }, 'y'] })
    expect(await checkOf('mfa-begin', { username: 'u' })).toMatchObject({
      status: 'fail',
      evidence:
        'MfaNext signIn for "u" offers fax, (no name), (no name): no action loginid-mfa-flow can run',
      fix: 'loginid-mfa-flow skips actions it does not know: upgrade it, or report the action to its maintainers',
    })
    answer({ session: 'sess-9f2c1d', flow: 7, next: 'external' })
    expect(await checkOf('mfa-begin', { username: 'u' })).toMatchObject({
      status: 'fail',
      evidence: 'MfaNext for "u" offers nothing: no action loginid-mfa-flow can run',
      fix: "enable at least one MFA factor the library runs (e.g. external) in the app's MFA settings in the LoginID dashboard",
    })
  })

  it('warns about unknown actions beside known ones; passes known ones only', async () => {
    answer({
      session: 'sess-9f2c1d',
      flow: 'signUp',
      next: [action('external'), action('fax'), action(7)],
    })
    expect(await checkOf('mfa-begin', { username: 'u' })).toMatchObject({
      status: 'warn',
      evidence:
        'MfaNext signUp for "u" offers external, fax, (no name); unknown action "fax", "(no name)"',
    })
    answer({ session: 'sess-9f2c1d', next: [action('external'), action('otp:email')] })
    expect(await checkOf('mfa-begin', { username: 'u' })).toEqual({
      id: 'mfa-begin',
      number: 3,
      title: 'mfa/begin',
      status: 'pass',
      evidence: 'MfaNext for "u" offers external, otp:email, with a session',
    })
  })

  it('sends the username and its type as the browser client does, as JSON', async () => {
    let seen: { contentType: string | null; accept: string | null; body: unknown } | undefined
    server.use(
      http.post(BEGIN, async ({ request }) => {
        seen = {
          contentType: request.headers.get('content-type'),
          accept: request.headers.get('accept'),
          body: await request.json(),
        }
        return HttpResponse.json({ session: 'sess-9f2c1d', next: [action('external')] })
      }),
    )
    await checkOf('mfa-begin', { username: 'ada@example.com' })
    expect(seen).toEqual({
      contentType: 'application/json',
      accept: 'application/json',
      body: { user: { username: 'ada@example.com', usernameType: 'email' } },
    })
  })
})

describe('check 4: CORS', () => {
  const ORIGIN = 'https://shop.example'
  const preflight = (status: number, headers: Record<string, string>) =>
    server.use(http.options(BEGIN, () => new HttpResponse(null, { status, headers })))

  it('skips without an origin', async () => {
    expect(await checkOf('cors')).toMatchObject({
      status: 'skip',
      evidence: 'no origin given (--origin https://your-app.example)',
    })
  })

  it('sends the preflight a browser sends before mfa/begin', async () => {
    let seen: Record<string, string | null> | undefined
    server.use(
      http.options(BEGIN, ({ request }) => {
        seen = {
          origin: request.headers.get('origin'),
          method: request.headers.get('access-control-request-method'),
          headers: request.headers.get('access-control-request-headers'),
        }
        return new HttpResponse(null, {
          status: 204,
          headers: {
            'access-control-allow-origin': ORIGIN,
            'access-control-allow-headers': 'Accept, Content-Type',
          },
        })
      }),
    )
    expect(await checkOf('cors', { origin: ORIGIN })).toEqual({
      id: 'cors',
      number: 4,
      title: 'CORS',
      status: 'pass',
      evidence: `preflight from ${ORIGIN} answered HTTP 204, Access-Control-Allow-Origin: ${ORIGIN}`,
    })
    expect(seen).toEqual({ origin: ORIGIN, method: 'POST', headers: 'content-type' })
  })

  it('passes a wildcard origin and wildcard headers, at 200 and 299', async () => {
    preflight(200, { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' })
    expect((await checkOf('cors', { origin: ORIGIN })).status).toBe('pass')
    preflight(299, {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': ' content-type ',
    })
    expect((await checkOf('cors', { origin: ORIGIN })).status).toBe('pass')
  })

  it('fails another origin, none, or a status outside 2xx', async () => {
    const fix = `add ${ORIGIN} to the app's allowed origins in the LoginID dashboard`
    preflight(204, { 'access-control-allow-origin': 'https://other.example' })
    expect(await checkOf('cors', { origin: ORIGIN })).toMatchObject({
      status: 'fail',
      evidence: `preflight from ${ORIGIN} answered HTTP 204 with Access-Control-Allow-Origin: https://other.example`,
      fix,
    })
    preflight(204, {})
    expect(await checkOf('cors', { origin: ORIGIN })).toMatchObject({
      status: 'fail',
      evidence: `preflight from ${ORIGIN} answered HTTP 204 with no Access-Control-Allow-Origin`,
    })
    for (const status of [300, 403]) {
      preflight(status, {
        'access-control-allow-origin': ORIGIN,
        'access-control-allow-headers': 'content-type',
      })
      expect((await checkOf('cors', { origin: ORIGIN })).status).toBe('fail')
    }
  })

  it('fails an allowed origin without the Content-Type header', async () => {
    preflight(204, { 'access-control-allow-origin': ORIGIN, 'access-control-allow-headers': 'x-a' })
    expect(await checkOf('cors', { origin: ORIGIN })).toMatchObject({
      status: 'fail',
      evidence: `preflight from ${ORIGIN} answered HTTP 204, origin allowed but not the Content-Type header`,
      fix: 'report the evidence to LoginID support: browsers cannot send JSON to mfa/begin',
    })
    preflight(204, { 'access-control-allow-origin': ORIGIN })
    expect((await checkOf('cors', { origin: ORIGIN })).status).toBe('fail')
  })

  it('fails a preflight that gets no answer', async () => {
    server.use(http.options(BEGIN, () => HttpResponse.error()))
    expect(await checkOf('cors', { origin: ORIGIN })).toMatchObject({
      status: 'fail',
      evidence: `preflight OPTIONS /fido2/v2/mfa/begin: connection failed`,
      fix: 'retry; if it persists, contact LoginID support',
    })
  })
})
