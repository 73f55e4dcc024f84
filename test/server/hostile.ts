// Shared pieces of the server attack-matrix tests: a hostile answer that never ends, and the
// MfaError a promise rejects with.
import type { ServerResponse } from 'node:http'

/**
 * Write 64 KiB chunks of spaces after `prefix` for as long as the peer reads (up to 512 MiB):
 * an answer that never ends. Returns how many bytes were sent so far.
 */
export function pumpEndless(res: ServerResponse, prefix: string): () => number {
  let sent = 0
  res.writeHead(200, { 'content-type': 'application/json' })
  res.write(prefix)
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const pump = (): void => {
    while (!res.destroyed && sent < 512 * 1024 * 1024) {
      sent += chunk.byteLength
      if (!res.write(chunk)) return void res.once('drain', pump)
    }
  }
  pump()
  return () => sent
}

export { failure } from '../support/mfa-errors.js'
