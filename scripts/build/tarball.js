const path = require('path');
const fs = require('fs');
const tar = require('tar');

const FILES = ['package.json', 'README.md', 'LICENSE', 'server.js', 'server.d.ts', 'client.js', 'client.d.ts', 'dist'];

// Same layout as `npm pack` (everything under package/), which the plugin manager's upload accepts.
async function writeTarball(root) {
  const pkg = require(path.join(root, 'package.json'));
  const storage = process.env.STORAGE_PATH || path.join(root, 'storage');
  const file = path.join(storage, 'tar', `${pkg.name}-${pkg.version}.tgz`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const staging = fs.mkdtempSync(path.join(require('os').tmpdir(), 'mailbridge-tar-'));
  const packageDir = path.join(staging, 'package');
  fs.mkdirSync(packageDir);
  for (const name of FILES) {
    const src = path.join(root, name);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(packageDir, name), { recursive: true });
  }
  await tar.create({ gzip: true, file, cwd: staging, portable: true }, ['package']);
  fs.rmSync(staging, { recursive: true, force: true });
  return file;
}

module.exports = { writeTarball };
