// Test support: check HTTP answers against LoginID's published OpenAPI files (3.0) with ajv.
// Reusable: give it the files, then `check(method, path, status, body)` for each answer.
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import type { ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'

/** The OpenAPI files in this repository, by short name. */
export const LOGINID_OPENAPI_FILES = {
  'fido2-v2': new URL('../../docs/loginid/openapi-fido2-v2.yaml', import.meta.url),
  'fido2-v2-2025-01-with-mgmt': new URL(
    '../../docs/loginid/openapi-fido2-v2-2025-01-with-mgmt.yaml',
    import.meta.url,
  ),
} as const

/** One answer checked against one file's operation. */
export interface SpecFinding {
  /** The file's short name. */
  file: string
  /** `operationId` of the operation (method + path) in that file. */
  operationId: string
  /** The documented status key used (`'401'`, `'default'`), or `undefined` if none fits. */
  statusKey: string | undefined
  /** ajv's errors as `<instancePath> <message>` lines; empty when the body conforms. */
  errors: string[]
}

/** What `check` found for one answer. */
export interface SpecCheck {
  /** One finding per file that documents the operation. */
  findings: SpecFinding[]
  /** No file documents `method` + `path`. */
  undocumented: boolean
}

type Json = Record<string, unknown>

interface Operation {
  operationId: string
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>
}

/** Point every local `$ref` (`#/...`) of a schema at the document `id`. */
function rebase(schema: unknown, id: string): unknown {
  if (Array.isArray(schema)) return schema.map((item) => rebase(item, id))
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema as Json)) {
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith('#')
        ? `${id}${value}`
        : rebase(value, id)
  }
  return out
}

/** A path template (`/fido2/v2/passkeys/{id}`) as a RegExp. */
function templateRegExp(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')
  return new RegExp(`^${escaped}$`)
}

/** A checker for `files` (short name → file URL). */
export function createSpecChecker(files: Record<string, URL> = LOGINID_OPENAPI_FILES): {
  check(method: string, path: string, status: number, body: unknown): SpecCheck
} {
  // OpenAPI 3.0 schemas carry `example` and other annotations ajv does not know: not strict.
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  const docs = Object.entries(files).map(([name, url]) => {
    const doc = parse(readFileSync(url, 'utf8')) as {
      paths: Record<string, Record<string, Operation>>
      components: Json
    }
    const id = `https://spec.test/${name}`
    ajv.addSchema({ $id: id, components: doc.components })
    const paths = Object.entries(doc.paths).map(([template, ops]) => ({
      regexp: templateRegExp(template),
      ops,
    }))
    return { name, id, paths }
  })
  const compiled = new Map<string, ValidateFunction>()

  function validatorFor(id: string, key: string, schema: unknown): ValidateFunction {
    let validate = compiled.get(key)
    if (!validate) {
      validate = ajv.compile(rebase(schema, id) as Json)
      compiled.set(key, validate)
    }
    return validate
  }

  return {
    check(method, path, status, body) {
      const findings: SpecFinding[] = []
      for (const doc of docs) {
        const entry = doc.paths.find(({ regexp }) => regexp.test(path))
        const operation = entry?.ops[method.toLowerCase()]
        if (!operation) continue
        const statusKey = [String(status), `${String(status)[0]}XX`, 'default'].find(
          (key) => key in operation.responses,
        )
        const finding: SpecFinding = {
          file: doc.name,
          operationId: operation.operationId,
          statusKey,
          errors: [],
        }
        findings.push(finding)
        if (statusKey === undefined) {
          finding.errors.push(`status ${status} is not documented`)
          continue
        }
        const schema = operation.responses[statusKey]?.content?.['application/json']?.schema
        if (schema === undefined) {
          if (body !== undefined) finding.errors.push(`status ${status} documents no body`)
          continue
        }
        const validate = validatorFor(
          doc.id,
          `${doc.name} ${operation.operationId} ${statusKey}`,
          schema,
        )
        if (!validate(body)) {
          finding.errors = (validate.errors ?? []).map((error) =>
            `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`.trim(),
          )
        }
      }
      return { findings, undocumented: findings.length === 0 }
    },
  }
}
