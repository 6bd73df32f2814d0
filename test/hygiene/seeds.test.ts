/**
 * Every property test runs on the one printed, fixed seed (test/helpers/seed.ts),
 * so `npm test` is the same run every time (DESIGN.md: "property tests run with a
 * fixed seed"). A new `fc.assert` without it would draw a fresh seed per run: the
 * flake issue 14 was about.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED, propertySeed } from '../helpers/seed.js';

const TEST_ROOT = new URL('..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('property test seeds', () => {
  it('every fc.assert / fc.check in test/ passes propertyParams (the fixed, printed seed)', () => {
    let properties = 0;
    for (const file of sources(TEST_ROOT)) {
      const text = readFileSync(file, 'utf8');
      const calls = text.match(/\bfc\.(assert|check)\(/g)?.length ?? 0;
      const seeded = text.match(/\bpropertyParams\(/g)?.length ?? 0;
      properties += calls;
      expect(seeded, `${file.slice(TEST_ROOT.length)}: ${calls} property calls, ${seeded} with propertyParams`).toBeGreaterThanOrEqual(calls);
    }
    // The scan found the property tests it guards: it is not vacuous.
    expect(properties).toBeGreaterThanOrEqual(5);
  });

  it('the seed is fixed unless LIFELINE_SEED says otherwise', () => {
    expect(propertySeed(undefined)).toBe(DEFAULT_SEED);
    expect(propertySeed('')).toBe(DEFAULT_SEED);
    expect(propertySeed('42')).toBe(42);
    expect(Number.isSafeInteger(propertySeed('random'))).toBe(true);
    expect(() => propertySeed('abc')).toThrow(/LIFELINE_SEED/);
  });
});
