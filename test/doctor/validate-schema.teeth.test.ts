// The doctor's schema validator at its edges: types it does not know, schemas without a type,
// pointers that need escaping, and the cap on differences reported by one node.
import { describe, expect, it } from 'vitest'
import { validateSchema } from '../../src/server/internal/doctor/validate-schema.js'

describe('validateSchema: edges', () => {
  it('tells integers from other numbers, and numbers from everything else', () => {
    expect(validateSchema(1.5, { type: 'integer' })).toEqual([
      { path: '', message: 'is a number, expected integer' },
    ])
    expect(validateSchema('1', { type: 'integer' })).toEqual([
      { path: '', message: 'is a string, expected integer' },
    ])
    expect(validateSchema(1.5, { type: 'number' })).toEqual([])
    expect(validateSchema(2, { type: 'number' })).toEqual([])
    expect(validateSchema('2', { type: 'number' })).toEqual([
      { path: '', message: 'is a string, expected number' },
    ])
    expect(validateSchema({}, { type: 'array' })).toEqual([
      { path: '', message: 'is an object, expected array' },
    ])
  })

  it('accepts any value for a type it does not know, and for a schema without a type', () => {
    expect(validateSchema(7, { type: 'file' })).toEqual([])
    expect(validateSchema({ a: 1 }, { properties: { a: { type: 'integer' } } })).toEqual([])
    expect(validateSchema('text', { required: ['a'] })).toEqual([])
    expect(validateSchema({}, { items: { type: 'string' } })).toEqual([])
    expect(validateSchema([1, 'x'], { type: 'array' })).toEqual([])
  })

  it('escapes ~ and / in pointers', () => {
    expect(validateSchema({ 'a~b/c': 1 }, { type: 'object', additionalProperties: false })).toEqual(
      [{ path: '/a~0b~1c', message: 'is not declared' }],
    )
  })

  it('caps the differences of a single node at the limit', () => {
    expect(validateSchema({}, { type: 'object', required: ['a', 'b', 'c', 'd'] }, 2)).toEqual([
      { path: '/a', message: 'is missing (required)' },
      { path: '/b', message: 'is missing (required)' },
    ])
  })
})
