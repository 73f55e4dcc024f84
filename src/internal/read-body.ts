// Internal: read a Fetch `Request` body as UTF-8 text with a size cap. Used by the server's
// token route and by the simulator. Never trusts `Content-Length` alone: the stream is counted.

/** Outcome of reading a request body. */
export type ReadBodyResult =
  { ok: true; text: string } | { ok: false; reason: 'too_large' | 'unreadable' }

/**
 * Read `request`'s body as UTF-8 text, giving up as soon as it exceeds `maxBytes` (a declared
 * `Content-Length` over the cap is refused without reading). Invalid UTF-8 is `unreadable`.
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<ReadBodyResult> {
  const declared = Number(request.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Not awaited: some transports (MSW) never settle the cancel of an unread body.
    request.body?.cancel().catch(() => undefined)
    return { ok: false, reason: 'too_large' }
  }
  if (!request.body) return { ok: true, text: '' }
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        reader.cancel().catch(() => undefined)
        return { ok: false, reason: 'too_large' }
      }
      chunks.push(value)
    }
  } catch {
    return { ok: false, reason: 'unreadable' }
  }
  const all = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(all) }
  } catch {
    return { ok: false, reason: 'unreadable' }
  }
}
