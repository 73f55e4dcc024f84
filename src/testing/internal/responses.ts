// Internal (loginid-mfa-flow/testing): the simulator's JSON answers in LoginID's `AppError` shape.

/** A JSON response. */
export function json(status: number, body: unknown, headers?: HeadersInit): Response {
  const h = new Headers(headers)
  h.set('content-type', 'application/json')
  return new Response(JSON.stringify(body), { status, headers: h })
}

/** An `AppError` body: `{ msg, msgCode }`. */
export function appError(status: number, msgCode: string, msg: string): Response {
  return json(status, { msg, msgCode })
}

/** A 400 `bad_request`. */
export const badRequest = (msg: string): Response => appError(400, 'bad_request', msg)

/** One endpoint: the request and its parsed JSON body (or `undefined`). */
export type Handler = (request: Request, body: unknown) => Promise<Response>
