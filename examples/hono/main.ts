/// <reference types="node" />
// `npm run example:hono`: the Hono example (Node server via @hono/node-server) against the LoginID
// simulator (over real HTTP), on http://localhost:3002 (PORT to change). Ctrl-C stops both.
import { serve } from '@hono/node-server'
import { SIMULATOR_API_KEY, startLoginIDSimulator } from 'loginid-mfa-flow/testing'
import { createApp } from './app.js'

const port = Number(process.env.PORT ?? 3002)
const origin = `http://localhost:${port}`
// The simulator checks passkeys for this page's origin, as LoginID checks your app's domain.
const simulator = await startLoginIDSimulator({
  origin,
  rpId: 'localhost',
  requirePasskeyRegistration: true,
})
const app = createApp({ loginidBaseUrl: simulator.baseUrl, apiKey: SIMULATOR_API_KEY })
const server = serve({ fetch: app.fetch, port, hostname: 'localhost' }, () =>
  console.log(`Hono example: ${origin}  (LoginID simulator: ${simulator.baseUrl})`),
)
process.once('SIGINT', () => {
  server.close()
  void simulator.close()
})
