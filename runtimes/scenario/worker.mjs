// workerd: a module worker (bundled by esbuild for the `workerd` conditions, no `nodejs_compat`)
// that serves the route at /api/grant and runs the checks at /checks, against its own URL.
import { createRoute, runChecks } from './checks.mjs'

let route
export default {
  async fetch(request, env) {
    const url = new URL(request.url)
    const config = { simBaseUrl: env.SIM_BASE_URL, apiKey: env.API_KEY, runId: env.RUN_ID }
    route ??= createRoute(config)
    if (url.pathname === '/api/grant') return route(request)
    if (url.pathname === '/checks') {
      const results = await runChecks({ ...config, routeUrl: new URL('/api/grant', url).href })
      return Response.json({ results })
    }
    return new Response('not found', { status: 404 })
  },
}
