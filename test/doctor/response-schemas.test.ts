// Check 7's inputs: the committed schema module must be what the extraction script makes from
// LoginID's OpenAPI files today, and the validator must report each kind of difference.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OUTPUT_PATH, renderDoctorSchemas } from '../../scripts/extract-doctor-schemas.js'
import { differencesOf } from '../../src/server/internal/doctor/check-response-schemas.js'
import schemaModule from '../../src/server/internal/doctor/response-schemas.json'
import { validateSchema } from '../../src/server/internal/doctor/validate-schema.js'
import type { ResponseSchema } from '../../src/server/internal/doctor/validate-schema.js'

describe('response-schemas.json', () => {
  it('is up to date with docs/loginid/*.yaml (else run `npm run schemas:doctor`)', async () => {
    expect(readFileSync(OUTPUT_PATH, 'utf8')).toBe(await renderDoctorSchemas())
  })

  it('holds every operation doctor calls, with the 200 schema', () => {
    const operations = (schemaModule as { operations: Record<string, { responses: object }> })
      .operations
    expect(Object.keys(operations).sort()).toEqual([
      'GET /fido2/v2/.well-known/jwks.json',
      'POST /fido2/v2/mfa/begin',
      'POST /fido2/v2/mfa/third-party/verify',
      'POST /fido2/v2/mgmt/grant/external-auth',
    ])
    for (const operation of Object.values(operations)) {
      expect(Object.keys(operation.responses)).toContain('200')
    }
  })

  it('keeps what the OpenAPI declares: a begin answer missing msg is a difference', () => {
    expect(
      differencesOf({
        operation: 'POST /fido2/v2/mfa/begin',
        status: 200,
        isJson: true,
        json: { msgCode: 'additional_auth_required', session: 's', next: [] },
      }),
    ).toEqual(['POST /fido2/v2/mfa/begin 200 /msg: is missing (required)'])
  })

  it('applies the documented assumptions (open msgCode, unknown action names, optional tokens)', () => {
    const nextWithUnknownAction = {
      operation: 'POST /fido2/v2/mfa/third-party/verify',
      status: 401,
      isJson: true,
      json: {
        msg: 'more',
        msgCode: 'additional_auth_required',
        session: 's',
        next: [{ action: { name: 'passkey', label: 'Passkey' } }],
      },
    }
    expect(differencesOf(nextWithUnknownAction)).toEqual([])
    expect(
      differencesOf({
        operation: 'POST /fido2/v2/mfa/third-party/verify',
        status: 200,
        isJson: true,
        json: { flow: 'signIn', accessToken: 'a' },
      }),
    ).toEqual([])
    expect(
      differencesOf({
        operation: 'POST /fido2/v2/mfa/third-party/verify',
        status: 200,
        isJson: true,
        json: { flow: 'signin', accessToken: 7 },
      }),
    ).toEqual([
      'POST /fido2/v2/mfa/third-party/verify 200 /flow: is "signin", expected one of "signIn", "signUp"',
      'POST /fido2/v2/mfa/third-party/verify 200 /accessToken: is an integer, expected string',
    ])
  })

  it('reports a non-JSON body for a declared status, and ignores undeclared statuses', () => {
    expect(
      differencesOf({
        operation: 'GET /fido2/v2/.well-known/jwks.json',
        status: 500,
        isJson: false,
      }),
    ).toEqual(['GET /fido2/v2/.well-known/jwks.json 500: the body is not JSON'])
    expect(
      differencesOf({
        operation: 'GET /fido2/v2/.well-known/jwks.json',
        status: 503,
        isJson: false,
      }),
    ).toBeUndefined()
    expect(
      differencesOf({ operation: 'GET /elsewhere', status: 200, isJson: true }),
    ).toBeUndefined()
  })
})

describe('validateSchema', () => {
  const schema: ResponseSchema = {
    type: 'object',
    required: ['id', 'tags'],
    properties: {
      id: { type: 'string' },
      count: { type: 'integer' },
      ratio: { type: 'number' },
      flag: { type: 'boolean' },
      kind: { type: 'string', enum: ['a', 'b'] },
      maybe: { type: 'string', nullable: true },
      tags: { type: 'array', items: { type: 'string' } },
      strict: {
        type: 'object',
        properties: { x: { type: 'string' } },
        additionalProperties: false,
      },
      map: { type: 'object', additionalProperties: { type: 'number' } },
    },
  }

  it('accepts a matching value, extra properties and null where nullable', () => {
    expect(
      validateSchema(
        {
          id: 'x',
          count: 2,
          ratio: 0.5,
          flag: true,
          kind: 'a',
          maybe: null,
          tags: ['t'],
          strict: { x: 'y' },
          map: { a: 1 },
          extra: { anything: true },
        },
        schema,
      ),
    ).toEqual([])
  })

  it('reports each kind of difference with a JSON Pointer', () => {
    expect(
      validateSchema(
        {
          count: 1.5,
          ratio: 'half',
          flag: 'yes',
          kind: 'c',
          maybe: 3,
          tags: ['t', 4],
          strict: { x: 'y', 'a/b': 1 },
          map: { a: 'one' },
        },
        schema,
      ),
    ).toEqual([
      { path: '/id', message: 'is missing (required)' },
      { path: '/count', message: 'is a number, expected integer' },
      { path: '/ratio', message: 'is a string, expected number' },
      { path: '/flag', message: 'is a string, expected boolean' },
      { path: '/kind', message: 'is "c", expected one of "a", "b"' },
      { path: '/maybe', message: 'is an integer, expected string' },
      { path: '/tags/1', message: 'is an integer, expected string' },
      { path: '/strict/a~1b', message: 'is not declared' },
      { path: '/map/a', message: 'is a string, expected number' },
    ])
    expect(validateSchema(null, schema)).toEqual([
      { path: '', message: 'is a null, expected object' },
    ])
    expect(validateSchema([], schema)).toEqual([
      { path: '', message: 'is an array, expected object' },
    ])
  })

  it('stops at the limit', () => {
    const many = { type: 'array', items: { type: 'string' } }
    expect(
      validateSchema(
        Array.from({ length: 50 }, (_, i) => i),
        many,
        5,
      ),
    ).toHaveLength(5)
  })
})
