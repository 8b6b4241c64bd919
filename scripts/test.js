#!/usr/bin/env node
// `npm test`: builds the plugin (the browser tests load the built bundle into the host app), runs every jest
// project on SQLite (the workspace packages against real mail peers, the server half in a booted NocoBase, the
// browser tests), then the server tests once more on a throwaway PostgreSQL when its binaries are installed, then
// the cluster tests (two NocoBase processes on one PostgreSQL).
// Extra arguments go to jest (e.g. `npm test -- --selectProjects server`); MAILBRIDGE_SKIP_PG=1 skips PostgreSQL.
const path = require('path');
const { spawnSync } = require('child_process');
const { startPostgres } = require('./testing/postgres');

const root = path.resolve(__dirname, '..');
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const MINUTE = 60_000;
/**
 * Runs node with `args` and answers its exit status. A run that outlasts `limitMs` (a hang: the whole test command
 * normally takes about 10 minutes) is killed and reported, so the phases after it still run and say what they found.
 */
function run(args, env = {}, limitMs = 30 * MINUTE) {
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env }, timeout: limitMs, killSignal: 'SIGKILL' });
  if (result.error?.code === 'ETIMEDOUT') console.error(`\n[test] ${args.slice(1).join(' ')}: not finished after ${limitMs / MINUTE} min, killed`);
  return result.status ?? 1;
}
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

async function main() {
  const started = Date.now();
  const extra = process.argv.slice(2);
  if (!process.env.MAILBRIDGE_SKIP_BUILD && run([path.join(__dirname, 'build.js')], {}, 10 * MINUTE) !== 0) return 1;

  console.log('\n[test] all suites on SQLite');
  // The process-kill fault test SIGKILLs a real NocoBase and waits for the restart to finish a sync; beside the
  // other suites (or the host apps they leave winding down) it starves, so it runs on its own, first.
  let sqlite = 0;
  if (!extra.length) sqlite = run([jest, '--selectProjects', 'server', '--testPathPattern', 'faultsProcessKill'], { DB_DIALECT: 'sqlite' }, 10 * MINUTE);
  const projects = extra.length ? [] : ['--selectProjects', 'packages', 'server', 'browser', '--testPathIgnorePatterns', 'faultsProcessKill'];
  sqlite = run([jest, '--maxWorkers=2', ...projects, ...extra], { DB_DIALECT: 'sqlite' }) || sqlite;
  console.log(`[test] SQLite run: ${sqlite === 0 ? 'passed' : 'FAILED'} after ${seconds(started)}`);

  let postgres = 0;
  const pg = extra.length || process.env.MAILBRIDGE_SKIP_PG ? null : await startPostgres();
  if (pg) {
    const pgStarted = Date.now();
    console.log('\n[test] server suite on PostgreSQL');
    try {
      // The process-kill test boots its own app on SQLite whatever the dialect; it ran in the SQLite pass.
      postgres = run([jest, '--maxWorkers=2', '--selectProjects', 'server', '--testPathIgnorePatterns', 'faultsProcessKill'], pg.env, 20 * MINUTE);
    } finally {
      pg.stop();
    }
    console.log(`[test] PostgreSQL run: ${postgres === 0 ? 'passed' : 'FAILED'} in ${seconds(pgStarted)}`);
  } else if (!extra.length && !process.env.MAILBRIDGE_SKIP_PG) {
    console.log('[test] PostgreSQL not installed: server suite ran on SQLite only (apt-get install postgresql)');
  }
  let cluster = 0;
  if (!extra.length) {
    const clusterStarted = Date.now();
    console.log('\n[test] two NocoBase nodes on one PostgreSQL');
    cluster = run([jest, '--selectProjects', 'cluster'], {}, 10 * MINUTE);
    console.log(`[test] cluster run: ${cluster === 0 ? 'passed' : 'FAILED'} in ${seconds(clusterStarted)}`);
  }
  console.log(`[test] finished in ${seconds(started)}`);
  return sqlite || postgres || cluster;
}

main().then(
  (status) => process.exit(status),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
