const path = require('path');
const fs = require('fs');

// NocoBase finds plugins by package name under NODE_MODULES_PATH; in development our package is the repo itself.
function linkPlugin(root) {
  const pkg = require(path.join(root, 'package.json'));
  const link = path.join(root, 'node_modules', ...pkg.name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  try {
    if (fs.realpathSync(link) === fs.realpathSync(root)) return link;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // not there yet
  }
  fs.symlinkSync(path.relative(path.dirname(link), root), link, 'dir');
  return link;
}

module.exports = { linkPlugin };
