// workerd: runs the bundled worker (worker.mjs) in workerd through miniflare, without
// `nodejs_compat`, and asks it to run the checks. Miniflare needs Node >= 22: the runner starts
// this file with the pinned Node 22.
import { pathToFileURL } from 'node:url'

const config = JSON.parse(process.env.RUNTIME_CHECK_CONFIG)
const { Miniflare } = await import(pathToFileURL(config.miniflare).href)
const mf = new Miniflare({
  modules: true,
  scriptPath: config.workerBundle,
  compatibilityDate: '2026-07-01',
  compatibilityFlags: [],
  bindings: { SIM_BASE_URL: config.simBaseUrl, API_KEY: config.apiKey, RUN_ID: config.runId },
  host: '127.0.0.1',
  port: 0,
})
try {
  const url = await mf.ready
  const response = await fetch(new URL('/checks', url))
  if (response.status !== 200) {
    throw new Error(`the worker answered ${response.status}: ${await response.text()}`)
  }
  const { results } = await response.json()
  console.log(`RESULT ${JSON.stringify({ version: config.workerdVersion, results })}`)
} finally {
  await mf.dispose()
}
