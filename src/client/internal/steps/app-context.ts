// Internal: the context objects handed to the app's callbacks (externalAuthenticator,
// tokenProvider, otp.getCode). Their `signal` (and the external step's `resumeNonce`) is made on
// first read, so a callback that never reads it costs no AbortController. Made lazy by getters on
// a class prototype, never by getters in an object literal: a literal's getter closures are part
// of each object's hidden class, so every context got its own (about 10 µs per object in V8, most
// of the driver's overhead; see docs/performance.md). Fields are copied with Object.assign, never
// `{ ...fields, more }`: in V8 each property after a spread in a literal costs about 1 µs. The
// data fields stay own, enumerable properties; `redirect` stays an own function, so it works
// destructured.
import type { ExternalRedirectRequest } from '../../types.js'
import { randomNonce } from '../pending-flow.js'

/** Where a context's lazy `signal` comes from: the step (see `StepContext.signal`). */
interface SignalSource {
  signal(): AbortSignal
}

/** A callback's context: `fields` as own properties, and `signal` read from the step on demand. */
export class AppContext {
  readonly #step: SignalSource

  constructor(step: SignalSource, fields: object, extra?: object) {
    this.#step = step
    Object.assign(this, fields, extra)
  }

  /** Aborts when the run is aborted, a deadline passes, or the step ends. */
  get signal(): AbortSignal {
    return this.#step.signal()
  }
}

/** A callback's context: `fields` plus a lazy `signal`. */
export const appContext = <T extends object, E extends object = object>(
  step: SignalSource,
  fields: T,
  extra?: E,
): T & E & { readonly signal: AbortSignal } =>
  new AppContext(step, fields, extra) as unknown as T & E & { readonly signal: AbortSignal }

/** The redirect requests each external context issued (to tell one from a proof). */
const issued = new WeakMap<object, ExternalContext>()

/** The external authenticator's context: adds `resumeNonce` (made on first read) and `redirect`. */
export class ExternalContext extends AppContext {
  #nonce: string | undefined
  declare readonly redirect: (url: string | URL, state?: unknown) => ExternalRedirectRequest

  constructor(step: SignalSource, fields: object) {
    super(step, fields)
    this.redirect = (url, state) => {
      const request = { type: 'redirect', url: String(url), state } as const
      issued.set(request, this)
      return request
    }
  }

  get resumeNonce(): string {
    return (this.#nonce ??= randomNonce())
  }

  /** Whether `proof` is a redirect request this context's `redirect` returned. */
  static issuedBy(ctx: ExternalContext, proof: unknown): proof is ExternalRedirectRequest {
    // WeakMap#get answers undefined for a primitive key.
    return issued.get(proof as object) === ctx
  }
}
