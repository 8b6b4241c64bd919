// The cluster suite on its own: `npx jest -c test/cluster/jest.config.js`. Two real NocoBase processes on one
// throwaway PostgreSQL; needs `npm run build` first (the host app loads the plugin from dist/).
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true, decorators: true }, target: 'es2021' } }];
module.exports = {
  rootDir: root,
  testTimeout: 600000,
  globalSetup: '<rootDir>/test/support/globalSetup.js',
  projects: [
    {
      rootDir: root,
      displayName: 'cluster',
      transform: { '^.+\\.(t|j)sx?$': swc },
      testEnvironment: 'node',
      moduleNameMapper: {
        '^@mailbridge/mail-core$': '<rootDir>/packages/mail-core/src',
        '^@mailbridge/mail-testkit$': '<rootDir>/packages/mail-testkit/src',
        '^@mailbridge/plugin-mail$': '<rootDir>/src/server/index.ts',
      },
      modulePaths: ['<rootDir>/node_modules'],
      testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
    },
  ],
};
