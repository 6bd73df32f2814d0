/**
 * Hostile values and mutations of valid options for the fuzz tests: wrong types, NaN, Infinity, huge numbers,
 * CR/LF/NUL, lone surrogates, getters and Proxies that throw, revoked Proxies,
 * `__proto__` keys, sparse arrays, symbols, bigints. Each is a maker, since a
 * revoked Proxy or a getter must be new every run.
 */
import fc from 'fast-check';

export function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** Fresh hostile values (a maker each, since a revoked Proxy or a getter must be new every run). */
export const HOSTILE_MAKERS: (() => unknown)[] = [
  () => Number.NaN,
  () => Infinity,
  () => -Infinity,
  () => -1,
  () => -0,
  () => 0.5,
  () => 1e300,
  () => 2 ** 31,
  () => Number.MAX_SAFE_INTEGER + 2,
  () => 10n,
  () => 10n ** 400n,
  () => Symbol('hostile'),
  () => null,
  () => '',
  () => 'a\r\nx-injected: 1',
  () => 'a\0b',
  () => '\u2028\ud800',
  () => 'x'.repeat(100_000),
  () => [],
  () => [1, , 'x'],
  () => new Date(0),
  () => () => {},
  () => new Map([['url', 'http://x']]),
  () => Buffer.from('buffer'),
  () => JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as unknown,
  () => Object.create(null) as unknown,
  () => ({ get url() { throw new Error('getter'); }, get initial() { throw new Error('getter'); } }),
  () => new Proxy({}, { ownKeys: () => { throw new Error('ownKeys trap'); } }),
  () => new Proxy({ a: 1 }, { get: () => { throw new Error('get trap'); } }),
  () => new Proxy([1, 2], { get: () => { throw new Error('array get trap'); } }),
  revokedProxy,
  () => new Proxy({}, { getPrototypeOf: () => { throw new Error('getPrototypeOf trap'); } }),
  () => new Proxy(new URL('http://127.0.0.1:1'), {}),
  () => ({ toString: () => { throw new Error('toString'); }, valueOf: () => { throw new Error('valueOf'); } }),
];

/** Any value fast-check can make, deep enough to nest an object or an array in another. */
export const anyValue: fc.Arbitrary<() => unknown> = fc
  .anything({ withBigInt: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withMap: true, withDate: true, maxDepth: 2 })
  .map((value) => () => value);

/** One mutation of a valid base: a field (known or not) replaced, a nested key replaced, or the whole object replaced. */
export type Mutation =
  | { kind: 'field'; field: string; make: () => unknown }
  | { kind: 'getter'; field: string }
  | { kind: 'nested'; field: string; key: string; make: () => unknown }
  | { kind: 'whole'; make: () => unknown };

/** Mutations of `fields`; `nested` gives the keys tried inside the fields that hold objects. */
export function mutation(fields: string[], nested: Record<string, string[]>, hostile: fc.Arbitrary<() => unknown>): fc.Arbitrary<Mutation> {
  const nestable = fields.filter((f) => f in nested);
  const kinds: fc.WeightedArbitrary<Mutation>[] = [
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('field' as const), field: fc.constantFrom(...fields), make: hostile }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('field' as const), field: fc.string({ minLength: 1, maxLength: 8 }), make: hostile }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('getter' as const), field: fc.constantFrom(...fields) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('whole' as const), make: hostile }) },
  ];
  if (nestable.length > 0) {
    kinds.push({
      weight: 2,
      arbitrary: fc
        .constantFrom(...nestable)
        .chain((field) => fc.record({ kind: fc.constant('nested' as const), field: fc.constant(field), key: fc.constantFrom(...nested[field]!), make: hostile })),
    });
  }
  return fc.oneof(...kinds);
}

/** The options with the mutation applied, the field an error must name, and the value put in a field. */
export function apply(base: Record<string, unknown>, m: Mutation): { options: unknown; field: string; value?: unknown } {
  // A whole object replaced can be refused for itself (`options`) or for a field it lacks (`url`).
  if (m.kind === 'whole') return { options: m.make(), field: '`' };
  const options: Record<string, unknown> = { ...base };
  if (m.kind === 'getter') {
    Object.defineProperty(options, m.field, { enumerable: true, get: () => { throw new Error('hostile getter'); } });
  } else if (m.kind === 'nested') {
    // Object.defineProperty, so a `__proto__` key is an own key, as JSON.parse would make it.
    const nested = {};
    Object.defineProperty(nested, m.key, { enumerable: true, value: m.make() });
    options[m.field] = nested;
  } else {
    const value = m.make();
    Object.defineProperty(options, m.field, { enumerable: true, writable: true, value });
    return { options, field: m.field, value };
  }
  return { options, field: m.field };
}
