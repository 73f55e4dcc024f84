// Node: the route served by `node:http` through `toNodeListener`, the checks against it.
import { createServer } from 'node:http'
import { toNodeListener } from 'loginid-mfa-flow/server'
import { createRoute, runChecks } from './checks.mjs'

const config = JSON.parse(process.env.RUNTIME_CHECK_CONFIG)
const server = createServer(toNodeListener(createRoute(config)))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const routeUrl = `http://127.0.0.1:${server.address().port}/api/grant`
try {
  const results = await runChecks({ ...config, routeUrl })
  console.log(`RESULT ${JSON.stringify({ version: process.version, results })}`)
} finally {
  server.closeAllConnections()
  server.close()
}
