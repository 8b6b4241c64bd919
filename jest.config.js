// Three suites: the workspace packages (real mail peers), the NocoBase server half (booted on SQLite in memory)
// and the browser tests (the host app in headless Chromium). `npm test` runs them all.
const transform = '<rootDir>/test/support/esbuildTransform.js';
const packageSources = {
  '^@mailbridge/mail-core$': '<rootDir>/packages/mail-core/src',
  '^@mailbridge/mail-testkit$': '<rootDir>/packages/mail-testkit/src',
  '^@mailbridge/plugin-mail$': '<rootDir>/src/server/index.ts',
};
const common = {
  rootDir: __dirname,
  transform: { '^.+\\.(t|j)sx?$': transform },
  testEnvironment: 'node',
  moduleNameMapper: packageSources,
  modulePaths: ['<rootDir>/node_modules'],
};
module.exports = {
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/support/globalSetup.js',
  projects: [
    { ...common, displayName: 'packages', testMatch: ['<rootDir>/packages/*/test/**/*.test.ts'] },
    { ...common, displayName: 'server', testMatch: ['<rootDir>/test/server/**/*.test.ts'] },
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
    // Two NocoBase processes on one PostgreSQL; starts its own database, so it runs once, after the others.
    { ...common, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.test.ts'] },
  ],
};
