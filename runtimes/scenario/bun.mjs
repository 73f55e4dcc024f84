/* global Bun */
// Bun: the route served natively by `Bun.serve`, the checks against it.
import { createRoute, runChecks } from './checks.mjs'

const config = JSON.parse(Bun.env.RUNTIME_CHECK_CONFIG)
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: createRoute(config) })
try {
  const routeUrl = new URL('/api/grant', server.url).href
  const results = await runChecks({ ...config, routeUrl })
  console.log(`RESULT ${JSON.stringify({ version: Bun.version, results })}`)
} finally {
  await server.stop(true)
}
