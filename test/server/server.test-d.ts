import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expectTypeOf, it } from 'vitest'
import {
  createExternalAuthHandler,
  createManagementClient,
  toNodeListener,
  verifyLoginIDToken,
} from '../../src/server.js'
import type {
  ExternalAuthErrorCode,
  ExternalAuthHandler,
  GrantResult,
  LoginIDTokenClaims,
  ManagementClient,
} from '../../src/server.js'

describe('server entry types', () => {
  it('management client methods', () => {
    const management = createManagementClient({ baseUrl: 'https://a.api.loginid.io', apiKey: 'k' })
    expectTypeOf(management).toEqualTypeOf<ManagementClient>()
    expectTypeOf(management.grantExternalAuth('u')).resolves.toEqualTypeOf<GrantResult>()
    expectTypeOf(management.verifyToken('t')).resolves.toEqualTypeOf<true>()
    // @ts-expect-error scopes are required
    void management.grant('u')
  })

  it('handler is a Fetch handler; authorize gets (Request, body) and returns a username or null', () => {
    const handler = createExternalAuthHandler({
      management: { grantExternalAuth: async () => ({ token: 't' }) },
      authorize: (request, body) => {
        expectTypeOf(request).toEqualTypeOf<Request>()
        expectTypeOf(body.proof).toEqualTypeOf<unknown>()
        return null
      },
    })
    expectTypeOf(handler).toEqualTypeOf<ExternalAuthHandler>()
    expectTypeOf(handler).returns.resolves.toEqualTypeOf<Response>()
    expectTypeOf<'ERR_UNAUTHORIZED'>().toExtend<ExternalAuthErrorCode>()
    createExternalAuthHandler({
      management: { grantExternalAuth: async () => ({ token: 't' }) },
      // @ts-expect-error authorize must return { username }
      authorize: () => ({ user: 'x' }),
    })
  })

  it('toNodeListener fits node:http and an Express-style (req, res, next) handler', () => {
    const listener = toNodeListener(async () => new Response(null))
    createServer(listener)
    type ExpressLike = (
      req: IncomingMessage & { body?: unknown },
      res: ServerResponse,
      next: (err?: unknown) => void,
    ) => void
    expectTypeOf(listener).toExtend<ExpressLike>()
  })

  it('verifyLoginIDToken returns typed claims', () => {
    expectTypeOf(
      verifyLoginIDToken('t', { baseUrl: 'https://a.api.loginid.io' }),
    ).resolves.toEqualTypeOf<LoginIDTokenClaims>()
    expectTypeOf<LoginIDTokenClaims['username']>().toEqualTypeOf<string>()
    expectTypeOf<LoginIDTokenClaims['scopes']>().toEqualTypeOf<string[] | undefined>()
  })
})
