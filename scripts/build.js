#!/usr/bin/env node
// Builds the plugin the way NocoBase's own (unpublished) 2.x build does: per-file CommonJS server, third-party
// server deps copied into dist/node_modules, a UMD client bundle named after the package, locales, externalVersion.js.
// `--tar` also writes storage/tar/<name>-<version>.tgz, the file an admin uploads in the plugin manager.
const path = require('path');
const fs = require('fs');
const { buildWorkspacePackages } = require('./build/workspaces');
const { buildServer } = require('./build/server');
const { buildClient } = require('./build/client');
const { copyServerDependencies } = require('./build/serverDependencies');
const { writeExternalVersion } = require('./build/externalVersion');
const { writeTarball } = require('./build/tarball');

const root = path.resolve(__dirname, '..');

async function main() {
  const started = Date.now();
  const dist = path.join(root, 'dist');
  fs.rmSync(dist, { recursive: true, force: true });
  buildWorkspacePackages(root);
  await buildServer(root, dist);
  const clientExternals = await buildClient(root, dist);
  copyServerDependencies(root, dist, ['@mailbridge/mail-core']);
  fs.cpSync(path.join(root, 'locale'), path.join(dist, 'locale'), { recursive: true });
  writeExternalVersion(root, dist, clientExternals);
  console.log(`[build] dist/ ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (process.argv.includes('--tar')) {
    const file = await writeTarball(root);
    console.log(`[build] tarball ${path.relative(root, file)}`);
  }
}

main().catch((err) => {
  console.error('[build] failed:', err);
  process.exit(1);
});
