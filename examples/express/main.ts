/// <reference types="node" />
// `npm run example:express`: the Express example against the LoginID simulator (over real HTTP),
// on http://localhost:3001 (PORT to change). Ctrl-C stops both.
import { SIMULATOR_API_KEY, startLoginIDSimulator } from 'loginid-mfa-flow/testing'
import { createApp } from './app.js'

const port = Number(process.env.PORT ?? 3001)
const origin = `http://localhost:${port}`
// The simulator checks passkeys for this page's origin, as LoginID checks your app's domain.
const simulator = await startLoginIDSimulator({
  origin,
  rpId: 'localhost',
  requirePasskeyRegistration: true,
})
const server = createApp({ loginidBaseUrl: simulator.baseUrl, apiKey: SIMULATOR_API_KEY }).listen(
  port,
  'localhost',
  () => console.log(`Express example: ${origin}  (LoginID simulator: ${simulator.baseUrl})`),
)
process.once('SIGINT', () => {
  server.closeAllConnections()
  server.close()
  void simulator.close()
})
