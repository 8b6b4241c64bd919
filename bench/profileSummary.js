// Summarises a V8 .cpuprofile of a bench run: self time per package / source file, and self and inclusive time
// of the hottest functions. Frames in the esbuild bundle are mapped back to src/ and packages/*/src through the
// bundle's source map. Usage: node bench/profileSummary.js <file.cpuprofile> [bundle.js]
'use strict';
const fs = require('fs');
const path = require('path');
const { SourceMap } = require('module');

const ROOT = path.resolve(__dirname, '..');

function loadMap(bundle) {
  try {
    if (!bundle || !fs.existsSync(`${bundle}.map`)) return null;
    return new SourceMap(JSON.parse(fs.readFileSync(`${bundle}.map`, 'utf8')));
  } catch {
    return null;
  }
}

function categorise(frame, bundleUrl, map) {
  const url = frame.url || '';
  if (!url) return { category: frame.functionName || '(anonymous)', where: '' };
  if (url.startsWith('node:')) return { category: 'node internals', where: url };
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return { category: pkg, where: `${pkg}/${rest.slice(pkg.includes('/') ? 2 : 1).join('/')}:${frame.lineNumber + 1}` };
  }
  if (map && bundleUrl && file === bundleUrl) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && entry.originalSource) {
      const src = path.relative(ROOT, path.resolve(path.dirname(bundleUrl), entry.originalSource.replace(/^file:\/\//, '')));
      return { category: src, where: `${src}:${(entry.originalLine ?? 0) + 1}` };
    }
  }
  return { category: path.relative(ROOT, file), where: `${path.relative(ROOT, file)}:${frame.lineNumber + 1}` };
}

function summarize(profileFile, bundle, { top = 25 } = {}) {
  const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8'));
  const map = loadMap(bundle);
  const bundleUrl = bundle ? path.resolve(bundle) : null;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const info = new Map();
  for (const n of profile.nodes) {
    const c = categorise(n.callFrame, bundleUrl, map);
    info.set(n.id, { ...c, fn: `${n.callFrame.functionName || '(anonymous)'} ${c.where}`.trim() });
  }

  const selfByCat = new Map();
  const selfByFn = new Map();
  const inclByFn = new Map();
  let total = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000; // ms; the delta of the next sample closes this one
    total += dt;
    const id = samples[i];
    const me = info.get(id);
    selfByCat.set(me.category, (selfByCat.get(me.category) ?? 0) + dt);
    selfByFn.set(me.fn, (selfByFn.get(me.fn) ?? 0) + dt);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const fn = info.get(cur).fn;
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclByFn.set(fn, (inclByFn.get(fn) ?? 0) + dt);
    }
  }
  const busy = total - (selfByCat.get('(idle)') ?? 0);
  const pct = (ms) => `${((100 * ms) / busy).toFixed(1)}%`.padStart(6);
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`.padStart(9);
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);

  console.log(`\n[profile] ${path.basename(profileFile)}: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s on the main thread (idle excluded; % of that)`);
  console.log('[profile] self time by package / source file:');
  for (const [cat, ms] of sorted(selfByCat).filter(([c]) => c !== '(idle)').slice(0, top)) console.log(`  ${fmt(ms)} ${pct(ms)}  ${cat}`);
  console.log('[profile] self time by function:');
  for (const [fn, ms] of sorted(selfByFn).filter(([f]) => !f.startsWith('(idle)')).slice(0, top)) console.log(`  ${fmt(ms)} ${pct(ms)}  ${fn}`);
  console.log('[profile] inclusive time of our code (src/, packages/*/src) by function:');
  const ours = sorted(inclByFn).filter(([fn]) => / (src|packages\/[^/]+\/src)\//.test(fn));
  for (const [fn, ms] of ours.slice(0, top)) console.log(`  ${fmt(ms)} ${pct(ms)}  ${fn}`);
}

module.exports = { summarize };

if (require.main === module) {
  const [file, bundle] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/profileSummary.js <file.cpuprofile> [bundle.js]');
    process.exit(2);
  }
  summarize(file, bundle, { top: Number(process.env.BENCH_PROFILE_TOP) || 25 });
}
