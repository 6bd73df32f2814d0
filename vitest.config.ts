import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Examples import lifeline by its package name (lifeline-supervisor), as users do; tests run the sources.
  resolve: {
    alias: [
      { find: /^lifeline-supervisor\/testing\/fast-check$/, replacement: fileURLToPath(new URL('./src/testing/fast-check.ts', import.meta.url)) },
      { find: /^lifeline-supervisor\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
      { find: /^lifeline-supervisor$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Generous bounds: they only matter when a test fails, and CI machines are small and shared.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
