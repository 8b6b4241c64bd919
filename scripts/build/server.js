const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');

function listSources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '__tests__' ? [] : listSources(full);
    return /\.tsx?$/.test(entry.name) && !/\.(test|d)\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

// One CommonJS file per source file, so NocoBase finds dist/server/collections/*.js and migrations by folder.
async function buildServer(root, dist) {
  const srcDir = path.join(root, 'src', 'server');
  await esbuild.build({
    entryPoints: listSources(srcDir),
    outdir: path.join(dist, 'server'),
    outbase: srcDir,
    bundle: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
}

module.exports = { buildServer };
