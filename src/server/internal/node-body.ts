/// <reference types="node" />
// Internal: request bodies of `node:http` requests for `toNodeListener`, read with a size cap and
// a deadline (the grant route), or handed over as a web stream (any other handler). Only Node
// types are imported: the module loads on every runtime.
import type { IncomingMessage } from 'node:http'
import { decodeUtf8 } from '../../internal/read-body.js'
import type { ReadBodyResult } from '../../internal/read-body.js'

type BodyRequest = IncomingMessage & { body?: unknown }

/** What an Express body parser left in `req.body`, as bytes; undefined when none did. */
function parsedBody(req: BodyRequest): Uint8Array | undefined {
  // Express body parsers set `_body` once they have read the stream into `req.body`.
  const parsed = (req as { _body?: unknown })._body === true || req.readableEnded
  if (!parsed || req.body === undefined) return undefined
  const body = req.body
  if (body instanceof Uint8Array) return new Uint8Array(body)
  if (typeof body === 'string') return new TextEncoder().encode(body)
  return new TextEncoder().encode(JSON.stringify(body))
}

const TOO_LARGE: ReadBodyResult = { ok: false, reason: 'too_large' }

/**
 * Read the body as strict UTF-8: at most `maxBytes` (a declared `Content-Length` over it is
 * refused unread), complete within `timeoutMs` (else `timeout`: a slow-drip body).
 */
export function readNodeBody(
  req: BodyRequest,
  maxBytes: number,
  timeoutMs: number,
): Promise<ReadBodyResult> {
  const parsed = parsedBody(req)
  if (parsed !== undefined) {
    return Promise.resolve(
      parsed.byteLength > maxBytes ? TOO_LARGE : decodeUtf8([parsed], parsed.byteLength),
    )
  }
  if (req.readableEnded) return Promise.resolve({ ok: true, text: '' })
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(TOO_LARGE)
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = []
    let size = 0
    const done = (result: ReadBodyResult): void => {
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onFail)
      req.off('close', onClose)
      resolve(result)
    }
    const onData = (chunk: Uint8Array | string): void => {
      // Stryker disable next-line ConditionalExpression: node:http chunks are Buffers, which encode() reads back as the same UTF-8 text
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk
      size += bytes.byteLength
      if (size > maxBytes) done(TOO_LARGE)
      else chunks.push(bytes)
    }
    const onEnd = (): void => done(decodeUtf8(chunks, size))
    const onFail = (): void => done({ ok: false, reason: 'unreadable' })
    const onClose = (): void => {
      if (!req.complete) onFail()
    }
    const timer = setTimeout(() => done({ ok: false, reason: 'timeout' }), timeoutMs)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onFail)
    req.on('close', onClose)
  })
}

/** The body for a Fetch `Request`: what a body parser left, or the unread stream. */
export function nodeBody(
  req: BodyRequest,
): Uint8Array<ArrayBuffer> | { stream: ReadableStream<Uint8Array>; drain: () => void } | undefined {
  const parsed = parsedBody(req)
  if (parsed !== undefined) return new Uint8Array(parsed)
  if (req.readableEnded) return undefined
  let onData: ((chunk: Uint8Array | string) => void) | undefined
  const stop = (): void => {
    if (onData) req.off('data', onData)
    onData = undefined
    req.resume()
  }
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      onData = (chunk) => {
        controller.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)
        // Stryker disable next-line LogicalOperator: desiredSize is null only for an errored stream, whose enqueue threw above
        if ((controller.desiredSize ?? 1) <= 0) req.pause()
      }
      req.on('data', onData)
      req.once('end', () => {
        try {
          controller.close()
        } catch {
          // already cancelled
        }
      })
      req.once('error', (error) => {
        try {
          controller.error(error)
        } catch {
          // already cancelled
        }
      })
    },
    pull() {
      req.resume()
    },
    cancel() {
      stop()
    },
  })
  return { stream, drain: () => (req.readableEnded ? undefined : stop()) }
}
