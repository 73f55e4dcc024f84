// `npm run bench` (second part): requests per second of the grant route served with
// `toNodeListener(createExternalAuthHandler(...))` against a bare `node:http` handler that reads
// the JSON body and calls the same management client, both minting from a loopback LoginID stub
// that answers at once. autocannon, loopback only, 10 connections, alternated twice, bounded in
// time (BENCH_GRANT_SECONDS per run, default 10). Prints the ratio (target ≥ 0.9).
//
// One file, three roles: the parent (runs autocannon), `stub` (LoginID) and `serve bare|route`
// (the server under test), each in its own process so autocannon does not share their event loop.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { createExternalAuthHandler, createManagementClient, toNodeListener } from '../src/server.js'

const SELF = fileURLToPath(import.meta.url)
const SECONDS = Number(process.env.BENCH_GRANT_SECONDS ?? 10)
const CONNECTIONS = 10
const TARGET = 0.9

/** Listen on loopback and tell the parent the port. */
function announce(server: ReturnType<typeof createServer>): void {
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port })
  })
}

function stub(): void {
  const answer = JSON.stringify({ token: 'grant-token' })
  announce(
    createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(answer)
      })
    }),
  )
}

function serve(kind: 'bare' | 'route', stubPort: number): void {
  const management = createManagementClient({
    baseUrl: `http://127.0.0.1:${stubPort}`,
    apiKey: 'bench-api-key',
  })
  if (kind === 'route') {
    const handler = createExternalAuthHandler({
      management,
      authorize: (_request, body) =>
        typeof body.proof === 'string' ? { username: 'alice' } : null,
    })
    announce(createServer(toNodeListener(handler)))
    return
  }
  announce(
    createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { proof?: unknown }
        if (typeof body.proof !== 'string') {
          res.writeHead(401).end()
          return
        }
        management.grantExternalAuth('alice').then(
          ({ token }) => {
            res.writeHead(200, { 'content-type': 'application/json' })
            res.end(JSON.stringify({ token }))
          },
          () => res.writeHead(503).end(),
        )
      })
    }),
  )
}

function start(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(SELF, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as { port: number }).port }))
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
}

async function load(
  port: number,
  seconds = SECONDS,
): Promise<{ rps: number; non2xx: number; errors: number }> {
  const origin = `http://127.0.0.1:${port}`
  const result = await autocannon({
    url: `${origin}/api/loginid/grant`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ proof: 'p', username: 'alice', session: 's' }),
  })
  return { rps: result.requests.average, non2xx: result.non2xx, errors: result.errors }
}

async function main(): Promise<void> {
  const loginid = await start(['stub'])
  const children = [loginid.child]
  try {
    const bare = await start(['serve', 'bare', String(loginid.port)])
    const route = await start(['serve', 'route', String(loginid.port)])
    children.push(bare.child, route.child)
    // Warm both up (JIT, keep-alive pools) before measuring.
    await load(bare.port, 2)
    await load(route.port, 2)
    const rows: { kind: string; rps: number; non2xx: number; errors: number }[] = []
    for (const round of [1, 2]) {
      for (const [kind, server] of [
        ['bare node:http', bare],
        ['toNodeListener(route)', route],
      ] as const) {
        const run = await load(server.port)
        rows.push({ kind: `${kind} #${round}`, ...run })
      }
    }
    const mean = (prefix: string): number => {
      const picked = rows.filter((row) => row.kind.startsWith(prefix))
      return picked.reduce((sum, row) => sum + row.rps, 0) / picked.length
    }
    console.log(
      `\nGrant route throughput (autocannon, ${CONNECTIONS} connections, ${SECONDS} s per run, loopback stub)`,
    )
    console.table(
      rows.map((row) => ({
        server: row.kind,
        'req/s': Math.round(row.rps),
        'non-2xx': row.non2xx,
        errors: row.errors,
      })),
    )
    const ratio = mean('toNodeListener') / mean('bare')
    const failed = rows.some((row) => row.non2xx > 0 || row.errors > 0)
    console.log(
      `grant route / bare node:http: ${ratio.toFixed(2)}x (target >= ${TARGET})${failed ? ' - some requests failed' : ''}`,
    )
    if (failed || (process.env.BENCH_STRICT === '1' && ratio < TARGET)) process.exitCode = 1
  } finally {
    for (const child of children) child.kill()
  }
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'stub') stub()
else if (role === 'serve') serve(rest[0] as 'bare' | 'route', Number(rest[1]))
else await main()
