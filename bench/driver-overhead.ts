// Part of `npm run bench`: the driver's overhead (issue 9 §1). runMfa over the built-in client vs
// a hand-written beginFlow/performAction loop on the same client, against the in-process
// simulator (`sim.handle` as the client's fetch, no network, no MSW), sign-up flows through
// `external`, interleaved repetitions, medians, as one ratio. Target: ≤ 1.05. `--strict` exits
// non-zero over it (timing on a shared machine is noisy, so the default only prints).
// The built package (`npm run build` first; `npm run bench` does): what users run. Not src/ through
// tsx, whose keep-names transform adds a call per closure that the published code does not have.
import { createMfaClient, runMfa } from '../dist/index.js'
import type { MfaSessionResult } from '../dist/index.js'
import { createLoginIDSimulator } from '../dist/testing.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1000)
const TARGET = 1.05
const sim = createLoginIDSimulator({ requirePasskeyRegistration: false })
const fetchFromSim: typeof fetch = (input, init) => sim.handle(new Request(input, init))
const client = createMfaClient({ baseUrl: sim.baseUrl, fetch: fetchFromSim, trustId: false })
let n = 0

async function handWritten(): Promise<void> {
  const username = `loop-${n++}@example.com`
  let result: MfaSessionResult = await client.beginFlow(username)
  while (!result.isComplete) {
    if (result.nextAction !== 'external') throw new Error(`unexpected ${result.nextAction}`)
    result = await client.performAction('external', {
      payload: sim.grantExternalAuth(username),
      ...(result.session && { session: result.session }),
    })
  }
  if (!result.accessToken) throw new Error('no access token')
}

async function driven(): Promise<void> {
  const result = await runMfa({
    client,
    username: `run-${n++}@example.com`,
    externalAuthenticator: () => true,
    tokenProvider: ({ username }) => sim.grantExternalAuth(username),
  })
  if (result.status !== 'complete' || !result.accessToken) throw new Error('no access token')
}

const time = async (fn: () => Promise<void>): Promise<number> => {
  const start = performance.now()
  await fn()
  return performance.now() - start
}
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

for (let i = 0; i < 30; i++) await Promise.all([handWritten(), driven()]) // warm-up
const loop: number[] = []
const run: number[] = []
for (let i = 0; i < ROUNDS; i++) {
  // Interleaved, alternating which goes first.
  if (i % 2) {
    loop.push(await time(handWritten))
    run.push(await time(driven))
  } else {
    run.push(await time(driven))
    loop.push(await time(handWritten))
  }
}
const ratio = median(run) / median(loop)
console.log(
  `driver overhead (sign-up through external, ${ROUNDS} interleaved rounds): runMfa median ${median(run).toFixed(3)} ms, hand-written loop median ${median(loop).toFixed(3)} ms, ratio ${ratio.toFixed(3)} (target ≤ ${TARGET}) ${ratio <= TARGET ? 'ok' : 'over'}`,
)
if (process.argv.includes('--strict') && ratio > TARGET) process.exit(1)
