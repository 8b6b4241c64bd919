const path = require('path');
const { execFileSync } = require('child_process');

// The engine packages compile with tsc (declarations included) into packages/<name>/dist.
function buildWorkspacePackages(root) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const name of ['mail-core', 'mail-testkit']) {
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'packages', name, 'tsconfig.build.json')], {
      stdio: 'inherit',
    });
  }
}

module.exports = { buildWorkspacePackages };
