#!/usr/bin/env node
// `npm start`: builds the plugin, installs NocoBase 2.2.15 on SQLite under storage/ on first run, enables the
// plugin, starts the demo mailbox (dovecot + SMTP sink, demo@localhost) and serves http://localhost:13000.
// Ctrl-C stops it all; the next start reuses the database and the demo mail.
const { execFileSync } = require('child_process');
const path = require('path');
const { hostEnv, root } = require('./host/env');
const { linkPlugin } = require('./host/linkPlugin');
const { prepareApp, startServer, waitForApp } = require('./host/app');
const { startDemoMailbox, ensureDemoAccount } = require('./host/demoMailbox');

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit', cwd: root });
  linkPlugin(root);
  const port = Number(process.env.APP_PORT || 13000);
  const env = hostEnv({ port, storage: process.env.STORAGE_PATH || undefined });
  await prepareApp(env);
  const demo = process.env.MAILBRIDGE_DEMO === 'off' ? null : await startDemoMailbox(root, env.STORAGE_PATH);
  const server = startServer(env);
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    server.kill(signal);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.on('exit', async (code, signal) => {
    await demo?.stop();
    process.exit(signal || stopping ? 0 : code ?? 0);
  });
  const url = `http://localhost:${port}`;
  await waitForApp(url, server);
  if (demo) {
    await ensureDemoAccount(url, env, demo, env.STORAGE_PATH).catch((err) =>
      console.error(`[mailbridge] the demo account could not be created: ${err.message}`),
    );
  }
  console.log(`[mailbridge] ready: ${url}  (sign in as ${env.INIT_ROOT_EMAIL} / ${env.INIT_ROOT_PASSWORD}; Ctrl-C stops)`);
}

main().catch((err) => {
  console.error('[mailbridge] ' + (err && err.message ? err.message : err));
  process.exit(1);
});
