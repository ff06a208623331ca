import { z } from 'zod';
import { protoKeyField, zodPipe } from './zod-validation.pipe';

describe('validation pipes and __proto__', () => {
  // What the sweep schema has: records, whose __proto__ key zod drops without an issue.
  const schema = z.strictObject({ base: z.record(z.string(), z.unknown()), space: z.record(z.string(), z.strictObject({ values: z.array(z.number()) })) });
  const valid = { base: { name: 'x' }, space: { lr: { values: [1] } } };

  it('a record with a __proto__ key is a 400 naming it, not accepted without it (found by the fuzz test)', () => {
    expect(schema.safeParse(JSON.parse('{"base":{},"space":{"lr":{"values":[1]},"__proto__":"-0"}}')).success).toBe(true);
    for (const [body, field] of [
      ['{"base":{},"space":{"lr":{"values":[1]},"__proto__":"-0"}}', 'space.__proto__'],
      ['{"base":{"__proto__":[1]},"space":{"lr":{"values":[1]}}}', 'base.__proto__'],
      ['{"base":{"a":[{"b":{"__proto__":{}}}]},"space":{"lr":{"values":[1]}}}', 'base.a.0.b.__proto__'],
      ['{"__proto__":{"polluted":1},"base":{},"space":{"lr":{"values":[1]}}}', '__proto__'],
    ] as const) {
      let thrown: unknown;
      try {
        zodPipe('sweep', schema).transform(JSON.parse(body));
      } catch (error) {
        thrown = error;
      }
      expect((thrown as { getStatus(): number }).getStatus()).toBe(400);
      expect((thrown as { getResponse(): { issues: unknown } }).getResponse().issues).toEqual([{ field, message: "'__proto__' is not a field" }]);
    }
    expect(zodPipe('sweep', schema).transform(valid)).toEqual(valid);
  });

  it('finds the key in a body nested 10^5 deep without recursion, and says null where there is none', () => {
    const depth = 100_000;
    expect(protoKeyField(JSON.parse('{"a":'.repeat(depth) + '{"__proto__":1}' + '}'.repeat(depth)))).toBe(`${'a.'.repeat(depth)}__proto__`);
    expect(protoKeyField(JSON.parse('['.repeat(depth) + '1' + ']'.repeat(depth)))).toBeNull();
    expect(protoKeyField({ constructor: { prototype: 1 }, list: [1, 'x', null] })).toBeNull();
    expect(protoKeyField('__proto__')).toBeNull();
  });
});
