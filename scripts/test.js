#!/usr/bin/env node
// `npm test`: builds the plugin (the browser test loads the built bundle into the host app), then runs every
// jest project: the workspace packages against real mail peers, the server half in a booted NocoBase, and the
// browser tests. Extra arguments go to jest (e.g. `npm test -- --selectProjects server`).
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: process.env }).status ?? 1;

const started = Date.now();
const extra = process.argv.slice(2);
if (!process.env.MAILBRIDGE_SKIP_BUILD) {
  const buildStatus = run([path.join(__dirname, 'build.js')]);
  if (buildStatus !== 0) process.exit(buildStatus);
}
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const status = run([jest, '--maxWorkers=2', ...extra]);
console.log(`[test] finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(status);
