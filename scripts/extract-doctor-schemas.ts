// Extracts the response schemas LoginID's OpenAPI files declare for the operations
// `loginid-mfa-flow doctor` calls into src/server/internal/doctor/response-schemas.json, the
// committed module doctor's check 7 validates against. Run `npm run schemas:doctor` after
// changing either OpenAPI file or the list below; test/doctor/response-schemas.test.ts fails
// when the committed module is stale.
//
// What it does, so the lead can unify it with the simulator's ajv test later:
// - reads docs/loginid/openapi-fido2-v2.yaml (current) and
//   docs/loginid/openapi-fido2-v2-2025-01-with-mgmt.yaml (the last spec with /mgmt/* and the
//   JWKS); an operation is taken from the first file that declares it;
// - inlines every `$ref` (these schemas have no cycles; a cycle fails the script);
// - keeps only the keywords the doctor's validator checks (type, properties, required, items,
//   enum, nullable, additionalProperties) and drops descriptions, examples and formats;
// - applies the ASSUMPTIONS below: where the OpenAPI contradicts itself or what LoginID's own
//   SDKs accept, the schema is relaxed to what this library's client and simulator assume, and
//   each relaxation is written into the module with its reason.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { parse } from 'yaml'

const ROOT = new URL('../', import.meta.url)
export const OUTPUT_PATH = fileURLToPath(
  new URL('src/server/internal/doctor/response-schemas.json', ROOT),
)
const SOURCES = [
  'docs/loginid/openapi-fido2-v2.yaml',
  'docs/loginid/openapi-fido2-v2-2025-01-with-mgmt.yaml',
] as const

/** The operations doctor calls, and where an operation the OpenAPI lacks takes its schemas. */
const OPERATIONS: { key: string; sameAs?: string; why?: string }[] = [
  { key: 'GET /fido2/v2/.well-known/jwks.json' },
  { key: 'POST /fido2/v2/mfa/begin' },
  { key: 'POST /fido2/v2/mfa/third-party/verify' },
  {
    key: 'POST /fido2/v2/mgmt/grant/external-auth',
    sameAs: 'POST /fido2/v2/mgmt/grant',
    why: 'no OpenAPI declares /mgmt/grant/external-auth; LoginID samples read { token } from it as from /mgmt/grant (PROTOCOL.md d.2)',
  },
]

/** Relaxations applied to component schemas before inlining, each with its reason. */
const ASSUMPTIONS: { schema: string; change: string; why: string; apply: (s: Schema) => void }[] = [
  {
    schema: 'AppError',
    change: 'msgCode: any string (the enum is dropped)',
    why: "the OpenAPI itself answers msgCode 'additional_auth_required' with this schema; every LoginID client reads msgCode as an open string (PROTOCOL.md 1, f.5)",
    apply: (s) => delete prop(s, 'msgCode').enum,
  },
  {
    schema: 'MfaAction',
    change: 'action.name: any string (the enum is dropped)',
    why: "the OpenAPI's own examples use the name 'passkey'; the client skips unknown actions and doctor's check 3 reports them as a warning (PROTOCOL.md f.6)",
    apply: (s) => delete prop(prop(s, 'action'), 'name').enum,
  },
  {
    schema: 'Mfa',
    change: 'no required property',
    why: 'LoginID SDKs treat every token of a completed step as optional (complete = accessToken or payloadSignature); a sign-in without a transaction has no payload (PROTOCOL.md a.0, f.11)',
    apply: (s) => delete s.required,
  },
]

/** The JSON-schema subset the doctor's validator understands. */
export interface Schema {
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  enum?: unknown[]
  nullable?: boolean
  additionalProperties?: boolean | Schema
}

const KEPT = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'nullable',
  'additionalProperties',
])

function prop(schema: Schema, name: string): Schema {
  const found = schema.properties?.[name]
  if (!found) throw new Error(`assumption refers to a missing property ${name}`)
  return found
}

/** An OpenAPI schema object as parsed from YAML. */
type RawSchema = Record<string, unknown> & { $ref?: unknown }

interface OpenApiOperation {
  operationId?: string
  responses?: Record<string, { content?: Record<string, { schema?: RawSchema }> }>
}

interface OpenApi {
  paths: Record<string, Record<string, OpenApiOperation>>
  components: { schemas: Record<string, RawSchema> }
}

/** Inline `$ref`s and keep only the validator's keywords. */
function compact(
  input: unknown,
  doc: OpenApi,
  patched: Map<string, Schema>,
  seen: string[],
): Schema {
  if (typeof input !== 'object' || input === null) throw new Error('schema is not an object')
  const node = input as RawSchema
  if (typeof node.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(node.$ref)?.[1]
    if (!name) throw new Error(`unsupported $ref ${node.$ref}`)
    if (seen.includes(name)) throw new Error(`cyclic $ref ${[...seen, name].join(' → ')}`)
    const cached = patched.get(name)
    if (cached) return structuredClone(cached)
    const target = doc.components.schemas[name]
    if (!target) throw new Error(`missing schema ${name}`)
    const schema = compact(target, doc, patched, [...seen, name])
    for (const assumption of ASSUMPTIONS) {
      if (assumption.schema === name) assumption.apply(schema)
    }
    patched.set(name, schema)
    return structuredClone(schema)
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    if (!KEPT.has(key)) continue
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, sub]) => [
          name,
          compact(sub, doc, patched, seen),
        ]),
      )
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = compact(value, doc, patched, seen)
    } else {
      out[key] = value
    }
  }
  return out as Schema
}

/** The module's content, as an object. Pure: reads only the OpenAPI files. */
export function extractDoctorSchemas(): Record<string, unknown> {
  const docs = SOURCES.map((file) => ({
    file: file.replace(/^.*\//, ''),
    doc: parse(readFileSync(new URL(file, ROOT), 'utf8')) as OpenApi,
    patched: new Map<string, Schema>(),
  }))
  const used = new Set<string>()
  const operations: Record<string, unknown> = {}
  for (const { key, sameAs, why } of OPERATIONS) {
    const [method, path] = (sameAs ?? key).split(' ') as [string, string]
    const source = docs.find(({ doc }) => doc.paths[path]?.[method.toLowerCase()])
    if (!source) throw new Error(`no OpenAPI file declares ${sameAs ?? key}`)
    const operation = source.doc.paths[path]![method.toLowerCase()]!
    const responses: Record<string, Schema> = {}
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      const schema = response?.content?.['application/json']?.schema
      if (schema === undefined) continue
      responses[status] = compact(schema, source.doc, source.patched, [])
    }
    for (const name of source.patched.keys()) used.add(name)
    operations[key] = {
      from: `${source.file} ${operation.operationId ?? ''}`.trim(),
      ...(sameAs !== undefined && { sameAs, why }),
      responses,
    }
  }
  return {
    $comment:
      'Generated by scripts/extract-doctor-schemas.ts (npm run schemas:doctor) from docs/loginid/*.yaml. Do not edit.',
    assumptions: ASSUMPTIONS.filter((a) => used.has(a.schema)).map(({ schema, change, why }) => ({
      schema,
      change,
      why,
    })),
    operations,
  }
}

/** The module's text, formatted as the repository's Prettier config formats JSON. */
export async function renderDoctorSchemas(): Promise<string> {
  const config = (await resolveConfig(OUTPUT_PATH)) ?? {}
  return format(JSON.stringify(extractDoctorSchemas()), { ...config, filepath: OUTPUT_PATH })
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OUTPUT_PATH, await renderDoctorSchemas())
  console.log(`wrote ${OUTPUT_PATH}`)
}
