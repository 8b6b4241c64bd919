const path = require('path');
const esbuild = require('esbuild');

// Modules the NocoBase legacy client provides to plugins through requirejs (nocobase-2.2-notes §10).
const HOST_MODULES = [
  'react', 'react-dom', 'react/jsx-runtime', 'react-router', 'react-router-dom', 'antd', 'antd-style',
  '@ant-design/icons', '@ant-design/cssinjs', 'i18next', 'react-i18next', '@nocobase/utils', '@nocobase/utils/client',
  '@nocobase/client', '@nocobase/evaluators/client', '@nocobase/sdk', '@nocobase/flow-engine', '@nocobase/client-v2',
  '@nocobase/plugin-workflow/client', '@nocobase/plugin-workflow/client-v2', '@dnd-kit/core', '@dnd-kit/sortable',
  'axios', 'dayjs', 'lodash', 'ahooks', '@emotion/css', 'file-saver',
];

// esbuild bundles to CommonJS with the host modules left as require() calls; the wrapper turns that into the
// UMD shape NocoBase loads: define("<package name>", [externals], factory).
function umdWrap(packageName, externals, cjsCode) {
  const deps = JSON.stringify(externals);
  return `(function (root, factory) {
  if (typeof define === 'function' && define.amd) define(${JSON.stringify(packageName)}, ${deps}, factory);
  else if (typeof module === 'object' && module.exports) module.exports = factory.apply(null, ${deps}.map(function (d) { return require(d); }));
})(this, function () {
  var __hostModules = {};
  var __names = ${deps};
  for (var i = 0; i < __names.length; i++) __hostModules[__names[i]] = arguments[i];
  var require = function (name) {
    if (name in __hostModules) return __hostModules[name];
    throw new Error('${packageName}: module "' + name + '" is not provided by the host');
  };
  var module = { exports: {} };
  var exports = module.exports;
${cjsCode}
  return module.exports;
});
`;
}

async function buildClient(root, dist) {
  const pkg = require(path.join(root, 'package.json'));
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'src', 'client', 'index.tsx')],
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'browser',
    target: 'es2019',
    jsx: 'automatic',
    minify: process.env.NODE_ENV === 'production',
    external: HOST_MODULES,
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const used = new Set();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imp of input.imports) if (imp.external) used.add(imp.path);
  }
  const externals = HOST_MODULES.filter((m) => used.has(m));
  const fs = require('fs');
  fs.mkdirSync(path.join(dist, 'client'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'client', 'index.js'), umdWrap(pkg.name, externals, result.outputFiles[0].text));
  return externals;
}

module.exports = { buildClient, HOST_MODULES };
