#!/usr/bin/env node
// `npm start`: builds the plugin, installs NocoBase 2.2.15 on SQLite under storage/ on first run, enables the
// plugin and serves http://localhost:13000. Ctrl-C stops it; the next start reuses the database.
const { execFileSync } = require('child_process');
const path = require('path');
const { hostEnv, root } = require('./host/env');
const { linkPlugin } = require('./host/linkPlugin');
const { prepareApp, startServer } = require('./host/app');

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit', cwd: root });
  linkPlugin(root);
  const port = Number(process.env.APP_PORT || 13000);
  const env = hostEnv({ port, storage: process.env.STORAGE_PATH || undefined });
  await prepareApp(env);
  const server = startServer(env);
  const stop = (signal) => server.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`[mailbridge] starting on http://localhost:${port} (Ctrl-C to stop)`);
  server.on('exit', (code, signal) => process.exit(signal ? 0 : code ?? 0));
}

main().catch((err) => {
  console.error('[mailbridge] ' + (err && err.message ? err.message : err));
  process.exit(1);
});
