/// <reference types="node" />
/**
 * `startLoginIDSimulator`, exported from `loginid-mfa-flow/testing`: the simulator core served by
 * `node:http` on loopback. Does not import `msw`; loads `node:http` and `node:stream` when called,
 * so the entry itself loads fast and without Node built-ins.
 *
 * @module loginid-mfa-flow/testing
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { MfaError } from '../shared/errors.js'
import { FORBIDDEN_METHODS, targetPath } from '../internal/request-target.js'
import { createLoginIDSimulator } from './create-loginid-simulator.js'
import type {
  LoginIDSimulator,
  RunningLoginIDSimulator,
  StartLoginIDSimulatorOptions,
} from './simulator-types.js'

function toRequest(req: IncomingMessage, baseUrl: string, stream: typeof Readable): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method, headers }
  if (hasBody) {
    init.body = stream.toWeb(req) as unknown as ReadableStream<Uint8Array>
    init.duplex = 'half'
  }
  // The path only, joined to the base URL as text: `//host/path` stays a path on this server.
  const target = targetPath(req.url)
  if (target === undefined) throw new TypeError('request target is not a path')
  return new Request(`${baseUrl}${target}`, init)
}

function writeAppError(res: ServerResponse, status: number, msgCode: string, msg: string): void {
  const body = JSON.stringify({ msg, msgCode })
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  })
  res.end(body)
}

async function writeResponse(
  response: Response,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  const body = response.body ? new Uint8Array(await response.arrayBuffer()) : undefined
  if (body) headers['content-length'] = String(body.byteLength)
  // A body left unread (413, early errors) makes the connection unusable: do not keep it alive.
  if (!req.complete) headers.connection = 'close'
  res.writeHead(response.status, headers)
  res.end(body)
}

/**
 * Start a simulator over real HTTP (by default on `127.0.0.1`, any free port). Resolves once it
 * listens; `baseUrl` is then `http://127.0.0.1:<port>` and the simulator's tokens use it as
 * `iss`. A `drop` fault destroys the connection; `close()` closes every open connection.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` for a bad option; the listen error if the port is taken
 * @example Serve the simulator for a browser test or the demo
 * ```ts
 * import { startLoginIDSimulator } from 'loginid-mfa-flow/testing'
 *
 * const running = await startLoginIDSimulator({ port: 0, users: [{ username: 'alice' }] })
 * console.log(running.baseUrl) // http://127.0.0.1:53117
 * await running.close()
 * ```
 */
export async function startLoginIDSimulator(
  options: StartLoginIDSimulatorOptions = {},
): Promise<RunningLoginIDSimulator> {
  const { port = 0, host = '127.0.0.1', ...simulatorOptions } = options
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'port must be an integer from 0 to 65535')
  }
  const [{ createServer }, { Readable: stream }] = await Promise.all([
    import('node:http'),
    import('node:stream'),
  ])
  let simulator: LoginIDSimulator | undefined
  let baseUrl = ''
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    const current = simulator
    if (!current) {
      res.destroy()
      return
    }
    // A request the Fetch API cannot represent is bad input, never a 500.
    if (FORBIDDEN_METHODS.has((req.method ?? '').toUpperCase())) {
      writeAppError(res, 405, 'method_not_allowed', 'method not allowed')
      return
    }
    let request: Request
    try {
      request = toRequest(req, baseUrl, stream)
    } catch {
      writeAppError(res, 400, 'bad_request', 'invalid request target or headers')
      return
    }
    void (async () => {
      try {
        const response = await current.handle(request)
        if (response.type === 'error') {
          req.socket.destroy()
          return
        }
        await writeResponse(response, req, res)
      } catch {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ msg: 'internal simulator error', msgCode: 'internal_error' }))
        } else {
          res.destroy()
        }
      }
    })()
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const address = server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const urlHost = host.includes(':') ? `[${host}]` : host
  baseUrl = `http://${urlHost}:${actualPort}`
  try {
    simulator = createLoginIDSimulator({ ...simulatorOptions, baseUrl })
  } catch (error) {
    server.close()
    throw error
  }

  let closing: Promise<void> | undefined
  return {
    baseUrl: simulator.baseUrl,
    simulator,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })
      return closing
    },
  }
}
