/* global Deno */
// Deno: the route served natively by `Deno.serve`, the checks against it.
import { createRoute, runChecks } from './checks.mjs'

const config = JSON.parse(Deno.env.get('RUNTIME_CHECK_CONFIG'))
const route = createRoute(config)
const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, (request) =>
  route(request),
)
try {
  const routeUrl = `http://127.0.0.1:${server.addr.port}/api/grant`
  const results = await runChecks({ ...config, routeUrl })
  console.log(`RESULT ${JSON.stringify({ version: Deno.version.deno, results })}`)
} finally {
  await server.shutdown()
}
