import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'functions/**/*.test.ts',
      'layers/core/src/**/*.test.ts',
      'shared/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // Suites share real servers on this machine (PostgreSQL, s3rver, fakes); two cores, so keep the pool small.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    env: { POWERTOOLS_DEV: 'false', AWS_REGION: 'us-east-1' },
    // Log lines of the code under test are held back and shown only under a failing test
    // (CIRCLE_TEST_LOGS=1 shows them all); captureLogs() still sees every line.
    setupFiles: ['test/setup/quiet-logs.ts'],
    // The coverage run ends with one line saying whether each gate below passed.
    reporters: ['default', './test/setup/coverage-gates.ts'],
    coverage: {
      provider: 'v8',
      include: ['layers/core/src/**/*.ts', 'functions/**/*.ts', 'shared/**/*.ts'],
      exclude: ['**/*.test.ts', '**/testing/**', '**/*.d.ts'],
      reporter: ['text-summary', 'json-summary', 'text'],
      // Branches as measured, rounded down: keep them from sliding. Overall 91.61% in the fresh-clone run at
      // 784c8d5 (2026-12-06; 92.93% at 64bb88c before Athena, Data Transform, IoT Core and four workflows:
      // Data Transform's files are near 80%, raise it back with their failure paths); the core 94.31%.
      thresholds: {
        lines: 85,
        branches: 91,
        'layers/core/src/**/*.ts': { lines: 95, branches: 91 },
      },
    },
  },
});
