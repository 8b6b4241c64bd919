const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');
const { hostEnv, root } = require('./env');

const PLUGIN = require(path.join(root, 'package.json')).name;
const APP_ENTRY = path.join(root, 'node_modules', '@nocobase', 'app', 'lib', 'index.js');

// Runs one NocoBase CLI command of the host app. The CLI exits 0 even when a `pm` command failed, so the
// output is scanned for NocoBase's own "[error]" lines as well.
function runCommand(args, env, { quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APP_ENTRY, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (stream, out) =>
      stream.on('data', (chunk) => {
        output += chunk;
        if (!quiet) out.write(chunk);
      });
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    child.on('error', reject);
    child.on('exit', (code) => {
      const failed = code !== 0 || /\[error\]/i.test(output);
      if (failed) reject(new Error(`nocobase ${args.join(' ')} failed (exit ${code}):\n${output.slice(-3000)}`));
      else resolve(output);
    });
  });
}

async function isPluginEnabled(dbFile) {
  if (!fs.existsSync(dbFile)) return false;
  const sqlite3 = require('sqlite3');
  const db = new sqlite3.Database(dbFile, sqlite3.OPEN_READONLY);
  try {
    const row = await new Promise((resolve, reject) =>
      db.get('SELECT enabled FROM applicationPlugins WHERE name = ?', [PLUGIN], (err, r) => (err ? reject(err) : resolve(r))),
    );
    return Boolean(row && row.enabled);
  } catch {
    return false;
  } finally {
    db.close();
  }
}

// Installs NocoBase on first run and enables our plugin; idempotent on later runs.
async function prepareApp(env, log = console.log) {
  const dbFile = env.DB_STORAGE;
  const isSqlite = env.DB_DIALECT === 'sqlite';
  const fresh = isSqlite && !fs.existsSync(dbFile);
  if (fresh) {
    log('[mailbridge] first run: installing NocoBase into ' + path.relative(root, dbFile));
    await runCommand(['install', '--lang=' + env.INIT_APP_LANG], env, { quiet: true });
    log(`[mailbridge] root user: ${env.INIT_ROOT_EMAIL} / ${env.INIT_ROOT_PASSWORD}`);
  }
  if (!isSqlite || !(await isPluginEnabled(dbFile))) {
    log(`[mailbridge] enabling ${PLUGIN}`);
    await runCommand(['pm', 'enable', PLUGIN], env, { quiet: true });
    if (isSqlite && !(await isPluginEnabled(dbFile))) throw new Error(`${PLUGIN} could not be enabled; see ${env.LOGGER_BASE_PATH}`);
  }
}

// `start --quickstart` upgrades an installed app first, which syncs new plugin collections and fields.
function startServer(env, { quiet = false } = {}) {
  const logFile = quiet ? fs.openSync(path.join(env.STORAGE_PATH, 'server.log'), 'a') : 'inherit';
  return spawn(process.execPath, [APP_ENTRY, 'start', '--quickstart'], { cwd: root, env, stdio: ['ignore', logFile, logFile] });
}

/** Resolves when the app answers /api/app:getInfo; rejects if the server exits first or time runs out. */
async function waitForApp(url, server, timeoutMs = 180000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the app exited with code ${server.exitCode}`);
    try {
      const res = await fetch(`${url}/api/app:getInfo`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the app did not answer at ${url} within ${timeoutMs / 1000} s`);
}

module.exports = { prepareApp, startServer, waitForApp, runCommand, hostEnv, PLUGIN };
