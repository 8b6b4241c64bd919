// NocoBase finds our plugin by package name in node_modules; npm does not link the root package, so link it
// (also after an `npm install` pruned the link).
const path = require('path');
const { linkPlugin } = require('../../scripts/host/linkPlugin');

module.exports = async () => {
  linkPlugin(path.resolve(__dirname, '..', '..'));
};
