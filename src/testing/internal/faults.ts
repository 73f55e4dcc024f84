// Internal (loginid-mfa-flow/testing): fault rules, their checking and matching, and the
// answers they inject.
import { isNonEmptyString, isRecord } from '../../internal/guards.js'
import { MfaError } from '../../shared/errors.js'
import type { FaultRule, SimulatorFaults } from '../simulator-types.js'
import { json } from './responses.js'

/** The path prefix of every LoginID route. */
export const PREFIX = '/fido2/v2'

const FAULT_TYPES = new Set(['status', 'malformed', 'html', 'delay', 'drop'])
/** Statuses a `Response` cannot carry a body with. */
const NULL_BODY_STATUSES = new Set([204, 205, 304])

/** The `msgCode` LoginID's OpenAPI gives a status (its closed enum), for injected faults. */
function faultMsgCode(status: number): string {
  if (status >= 500) return 'internal_error'
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 404) return 'not_found'
  return 'bad_request'
}

function isHttpStatus(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 200 && (value as number) <= 599
}

function invalid(message: string): MfaError {
  return new MfaError('ERR_INVALID_ARGUMENT', message)
}

/** Validate and copy a fault rule, so a bad rule fails at `faults.add`, never inside `handle`. */
export function checkFaultRule(rule: FaultRule): FaultRule {
  if (!isRecord(rule) || typeof rule.path !== 'string' || !isRecord(rule.fault)) {
    throw invalid('a fault rule needs a path and a fault')
  }
  if (rule.method !== undefined && !isNonEmptyString(rule.method)) {
    throw invalid('a fault rule method must be a non-empty string')
  }
  const times = rule.times ?? 1
  if (!Number.isInteger(times) || times <= 0) throw invalid('times must be a positive integer')
  const fault: Record<string, unknown> = { ...rule.fault }
  if (typeof fault.type !== 'string' || !FAULT_TYPES.has(fault.type)) {
    throw invalid("fault.type must be 'status', 'malformed', 'html', 'delay' or 'drop'")
  }
  if ((fault.type === 'status' || fault.status !== undefined) && !isHttpStatus(fault.status)) {
    throw invalid('fault.status must be an integer from 200 to 599')
  }
  if (
    (fault.type === 'malformed' || fault.type === 'html') &&
    NULL_BODY_STATUSES.has(fault.status as number)
  ) {
    throw invalid(`a ${fault.type} fault needs a status with a body`)
  }
  if (fault.type === 'status' && fault.body !== undefined) {
    let text: string | undefined
    try {
      text = JSON.stringify(fault.body)
    } catch {
      text = undefined
    }
    if (text === undefined) throw invalid('fault.body must be JSON-serialisable')
  }
  if (
    fault.type === 'delay' &&
    (typeof fault.ms !== 'number' || !Number.isFinite(fault.ms) || fault.ms < 0)
  ) {
    throw invalid('fault.ms must be a non-negative number')
  }
  return { ...rule, times, fault: fault as FaultRule['fault'] }
}

function normalizeFaultPath(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`
  return withSlash.startsWith('/fido2/') ? withSlash : `${PREFIX}${withSlash}`
}

/** The answer a fault injects; `undefined` after a `delay` (the request then runs normally). */
async function faultResponse(rule: FaultRule): Promise<Response | undefined> {
  const fault = rule.fault
  switch (fault.type) {
    case 'status':
      if (NULL_BODY_STATUSES.has(fault.status)) return new Response(null, { status: fault.status })
      return json(
        fault.status,
        fault.body !== undefined
          ? fault.body
          : { msg: 'injected fault', msgCode: faultMsgCode(fault.status) },
      )
    case 'malformed':
      return new Response('{"msg": "truncated', {
        status: fault.status ?? 200,
        headers: { 'content-type': 'application/json' },
      })
    case 'html':
      return new Response(
        '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
        { status: fault.status ?? 502, headers: { 'content-type': 'text/html; charset=utf-8' } },
      )
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, fault.ms))
      return undefined
    case 'drop':
      return Response.error()
  }
}

/** The fault rules of one simulator: the public controls and the router's hook. */
export interface FaultEngine {
  readonly controls: SimulatorFaults
  /** Use up the first rule matching the request; its injected answer, if it answers. */
  inject(route: string, method: string): Promise<Response | undefined>
}

/** A fault engine with no rules. */
export function createFaultEngine(): FaultEngine {
  let rules: { rule: FaultRule; left: number }[] = []

  function take(route: string, method: string): FaultRule | undefined {
    const index = rules.findIndex(({ rule }) => {
      if (normalizeFaultPath(rule.path) !== route) return false
      return rule.method === undefined ? method !== 'OPTIONS' : rule.method.toUpperCase() === method
    })
    const entry = rules[index]
    if (!entry) return undefined
    entry.left -= 1
    if (entry.left <= 0) rules.splice(index, 1)
    return entry.rule
  }

  return {
    controls: {
      add(rule: FaultRule): void {
        const checked = checkFaultRule(rule)
        rules.push({ rule: checked, left: checked.times ?? 1 })
      },
      clear(): void {
        rules = []
      },
    },
    async inject(route, method) {
      const rule = take(route, method)
      return rule ? faultResponse(rule) : undefined
    },
  }
}
