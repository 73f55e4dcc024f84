// Internal (doctor): check 7, every answer LoginID gave during the run compared with the response
// schemas of LoginID's OpenAPI (as extracted, with this library's documented assumptions, by
// scripts/extract-doctor-schemas.ts into response-schemas.json).
import type { CheckOutcome, DoctorContext, Exchange } from './context.js'
import schemaModule from './response-schemas.json'
import type { ResponseSchema } from './validate-schema.js'
import { validateSchema } from './validate-schema.js'

interface OperationSchemas {
  responses: Record<string, ResponseSchema>
}

const OPERATIONS = (schemaModule as { operations: Record<string, OperationSchemas> }).operations

export const SCHEMA_DIFFERENCE = 'LoginID answered differently from what loginid-mfa-flow assumes'
export const FIX_SCHEMA =
  'report it to loginid-mfa-flow with the details (--json lists every difference) so the library can follow LoginID'

/** The differences of one answer, as `POST /fido2/v2/mfa/begin 200 /next/0: is missing`. */
export function differencesOf(exchange: Exchange): string[] | undefined {
  const schema = OPERATIONS[exchange.operation]?.responses[String(exchange.status)]
  if (schema === undefined) return undefined
  const where = `${exchange.operation} ${exchange.status}`
  if (!exchange.isJson) return [`${where}: the body is not JSON`]
  return validateSchema(exchange.json, schema).map(
    (difference) => `${where} ${difference.path || '(body)'}: ${difference.message}`,
  )
}

export async function checkResponseSchemas(ctx: DoctorContext): Promise<CheckOutcome> {
  const compared: string[] = []
  const details: string[] = []
  for (const exchange of ctx.exchanges) {
    const differences = differencesOf(exchange)
    if (differences === undefined) continue
    compared.push(`${exchange.operation.replace(' /fido2/v2/', ' ')} ${exchange.status}`)
    details.push(...differences)
  }
  if (compared.length === 0) {
    return { status: 'skip', evidence: 'no answer with a declared schema to compare' }
  }
  if (details.length > 0) {
    const more = details.length > 1 ? ` (and ${details.length - 1} more)` : ''
    return {
      status: 'fail',
      evidence: `${SCHEMA_DIFFERENCE}: ${details[0]}${more}`,
      fix: FIX_SCHEMA,
      details,
    }
  }
  return {
    status: 'pass',
    evidence: `${compared.length} answer(s) match LoginID's OpenAPI: ${[...new Set(compared)].join(', ')}`,
  }
}
