// Internal: read a Fetch `Request` body as UTF-8 text with a size cap and a deadline. Used by the
// server's token route and by the simulator. Never trusts `Content-Length` alone: the stream is
// counted.

/** Outcome of reading a request body. */
export type ReadBodyResult =
  { ok: true; text: string } | { ok: false; reason: 'too_large' | 'unreadable' | 'timeout' }

/**
 * Read `request`'s body as UTF-8 text, giving up as soon as it exceeds `maxBytes` (a declared
 * `Content-Length` over the cap is refused without reading), or when it is not complete within
 * `timeoutMs` (a slow-drip body). Invalid UTF-8 is `unreadable`.
 */
export async function readBodyText(
  request: Request,
  maxBytes: number,
  timeoutMs?: number,
): Promise<ReadBodyResult> {
  const declared = Number(request.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Not awaited: some transports (MSW) never settle the cancel of an unread body.
    request.body?.cancel().catch(() => undefined)
    return { ok: false, reason: 'too_large' }
  }
  if (!request.body) return { ok: true, text: '' }
  const reader = request.body.getReader()
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline =
    timeoutMs === undefined
      ? undefined
      : new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs)
        })
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const next =
        deadline === undefined ? await reader.read() : await Promise.race([reader.read(), deadline])
      if (next === 'timeout') {
        reader.cancel().catch(() => undefined)
        return { ok: false, reason: 'timeout' }
      }
      const { done, value } = next
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
  } finally {
    clearTimeout(timer)
  }
  return decodeUtf8(chunks, size)
}

/** Join `chunks` (`size` bytes in all) and decode them as strict UTF-8. */
export function decodeUtf8(chunks: readonly Uint8Array[], size: number): ReadBodyResult {
  let all: Uint8Array
  if (chunks.length === 1) {
    all = chunks[0]!
  } else {
    all = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      all.set(chunk, offset)
      offset += chunk.byteLength
    }
  }
  try {
    return { ok: true, text: strict.decode(all) }
  } catch {
    return { ok: false, reason: 'unreadable' }
  }
}

const strict = new TextDecoder('utf-8', { fatal: true })

/**
 * Read a `Response` body as text, at most `maxBytes` (a declared `Content-Length` over it is
 * refused unread, the stream is counted); `undefined` when larger. With `trustLength` (the
 * platform's fetch, which reads exactly the declared length off the wire) a declared length is
 * read in one go. A failure while reading rejects.
 */
export async function readResponseText(
  response: Response,
  maxBytes: number,
  trustLength = false,
): Promise<string | undefined> {
  const length = response.headers.get('content-length')
  const declared = length === null ? Number.NaN : Number(length)
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body?.cancel().catch(() => undefined)
    return undefined
  }
  if (trustLength && Number.isInteger(declared)) return response.text()
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let size = 0
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      reader.cancel().catch(() => undefined)
      return undefined
    }
    text += decoder.decode(value, { stream: true })
  }
  return text + decoder.decode()
}
