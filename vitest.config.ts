import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous bounds: they only matter when a test fails, and CI machines are small and shared.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
