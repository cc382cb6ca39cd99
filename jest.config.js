/** Jest runs TypeScript through ts-jest; suites that need root, BPF or BIND fail loudly
 * (see test/support/require-root.ts) instead of being skipped. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/sidecar', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
};
