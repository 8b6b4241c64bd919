const path = require('path');
const fs = require('fs');

// NocoBase checks these against the host (plugin manager "compatible" flag). @nocobase/* packages that cannot be
// installed here (client, client-v2, flow-engine) are built against the same release as @nocobase/server.
function installedVersion(root, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function writeExternalVersion(root, dist, clientExternals) {
  const nocobase = installedVersion(root, '@nocobase/server');
  const versions = {};
  for (const name of ['@nocobase/server', '@nocobase/database', ...clientExternals]) {
    const pkgName = name.split('/').slice(0, name.startsWith('@') ? 2 : 1).join('/');
    versions[pkgName] = installedVersion(root, pkgName) ?? (pkgName.startsWith('@nocobase/') ? nocobase : undefined);
  }
  const body = `module.exports = ${JSON.stringify(versions, null, 2)};\n`;
  fs.writeFileSync(path.join(dist, 'externalVersion.js'), body);
}

module.exports = { writeExternalVersion };
