const path = require('path');
const fs = require('fs');

// Copies the server's third-party dependencies (and theirs) into dist/node_modules, keeping npm's layout, so the
// tarball runs in any NocoBase without an npm install. Workspace packages contribute package.json + dist only.
function copyServerDependencies(root, dist, names) {
  const target = path.join(dist, 'node_modules');
  const workspaces = new Map(); // real path of a workspace package -> its destination
  const copied = new Set();

  function destinationOf(realDir) {
    for (const [wsDir, wsDest] of workspaces) {
      if (realDir.startsWith(wsDir + path.sep)) return path.join(wsDest, path.relative(wsDir, realDir));
    }
    const rel = path.relative(path.join(root, 'node_modules'), realDir);
    if (rel.startsWith('..')) throw new Error(`cannot place dependency ${realDir} inside dist/node_modules`);
    return path.join(target, rel);
  }

  function resolvePackageDir(name, fromDir) {
    let dir = fromDir;
    for (;;) {
      const candidate = path.join(dir, 'node_modules', name, 'package.json');
      if (fs.existsSync(candidate)) return fs.realpathSync(path.dirname(candidate));
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`dependency ${name} not found from ${fromDir}`);
      dir = parent;
    }
  }

  function visit(name, fromDir) {
    const realDir = resolvePackageDir(name, fromDir);
    if (copied.has(realDir)) return;
    copied.add(realDir);
    const pkg = JSON.parse(fs.readFileSync(path.join(realDir, 'package.json'), 'utf8'));
    const isWorkspace = !realDir.includes(`${path.sep}node_modules${path.sep}`);
    if (isWorkspace) {
      const dest = path.join(target, name);
      workspaces.set(realDir, dest);
      fs.mkdirSync(dest, { recursive: true });
      fs.copyFileSync(path.join(realDir, 'package.json'), path.join(dest, 'package.json'));
      fs.cpSync(path.join(realDir, 'dist'), path.join(dest, 'dist'), { recursive: true });
    } else {
      const nested = path.join(realDir, 'node_modules');
      fs.cpSync(realDir, destinationOf(realDir), { recursive: true, filter: (src) => !src.startsWith(nested) });
    }
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      try {
        visit(dep, realDir);
      } catch (err) {
        if (!(pkg.optionalDependencies && dep in pkg.optionalDependencies)) throw err;
      }
    }
  }

  for (const name of names) visit(name, root);
  return copied.size;
}

module.exports = { copyServerDependencies };
