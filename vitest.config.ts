import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Imaging and integration suites are CPU-heavy; two cores, so two forks.
    pool: 'forks',
    maxWorkers: 2,
  },
});
