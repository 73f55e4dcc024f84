// Internal (doctor, check 7): a validator for the JSON-schema subset that
// scripts/extract-doctor-schemas.ts keeps from LoginID's OpenAPI files: type (OpenAPI 3.0
// names), properties, required, items, enum, nullable and additionalProperties. Unknown
// properties are allowed unless additionalProperties is false, as in JSON Schema. Kept
// self-contained (no ajv) so the doctor chunk stays small and edge-safe.
import { isRecord } from '../../../internal/guards.js'

/** The schema subset the extraction script writes. */
export interface ResponseSchema {
  type?: string
  properties?: Record<string, ResponseSchema>
  required?: string[]
  items?: ResponseSchema
  enum?: unknown[]
  nullable?: boolean
  additionalProperties?: boolean | ResponseSchema
}

/** One place where a value differs from its schema. */
export interface SchemaDifference {
  /** JSON Pointer into the value (`''` for the root). */
  path: string
  /** What differs, e.g. `is missing (required)`, `is a number, expected string`. */
  message: string
}

/** The JSON type name of a value, as error messages show it. */
function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isRecord(value)
    case 'array':
      return Array.isArray(value)
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'string':
    case 'boolean':
      return typeof value === type
    default:
      // A type this subset does not know is not a difference LoginID made.
      return true
  }
}

function pointer(path: string, key: string | number): string {
  return `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`
}

/**
 * Every difference between `value` and `schema`, depth first, at most `limit` (the rest are
 * dropped: one broken array can otherwise produce thousands).
 */
export function validateSchema(
  value: unknown,
  schema: ResponseSchema,
  limit = 20,
): SchemaDifference[] {
  const out: SchemaDifference[] = []
  const walk = (item: unknown, node: ResponseSchema, path: string): void => {
    if (out.length >= limit) return
    if (item === null && node.nullable === true) return
    if (node.type !== undefined && !matchesType(item, node.type)) {
      out.push({ path, message: `is ${article(typeOf(item))}, expected ${node.type}` })
      return
    }
    if (node.enum !== undefined && !node.enum.some((allowed) => allowed === item)) {
      out.push({
        path,
        message: `is ${JSON.stringify(item)}, expected one of ${node.enum.map((e) => JSON.stringify(e)).join(', ')}`,
      })
    }
    if (isRecord(item)) {
      for (const name of node.required ?? []) {
        if (!(name in item))
          out.push({ path: pointer(path, name), message: 'is missing (required)' })
      }
      for (const [name, sub] of Object.entries(item)) {
        const declared = node.properties?.[name]
        if (declared !== undefined) walk(sub, declared, pointer(path, name))
        else if (node.additionalProperties === false) {
          out.push({ path: pointer(path, name), message: 'is not declared' })
        } else if (isRecord(node.additionalProperties)) {
          walk(sub, node.additionalProperties, pointer(path, name))
        }
      }
    }
    if (Array.isArray(item) && node.items !== undefined) {
      const items = node.items
      item.forEach((element, index) => walk(element, items, pointer(path, index)))
    }
  }
  walk(value, schema, '')
  return out.slice(0, limit)
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}
