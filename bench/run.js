#!/usr/bin/env node
// Runs Mailbridge's benchmarks: bundles bench/<name>.ts with esbuild (node_modules stay external, our workspace
// packages map to their src/) into a temp .js file under bench/.tmp/ and runs it with node.
//
//   node bench/run.js            all benchmarks, one after the other
//   node bench/run.js sync send  just these
//   BENCH_PROFILE=1 node bench/run.js send   + a CPU profile (node --cpu-prof), summarised after the run
//
// Benchmarks are not tests: they print figures and ratios against the raw libraries measured in the same run.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const ALL = ['sync', 'send', 'workflow', 'inbox'];
const TMP = path.join(__dirname, '.tmp');

// @mailbridge/mail-core and @mailbridge/mail-testkit are bundled from their TypeScript sources, like jest does.
const workspaceSources = {
  name: 'mailbridge-workspace-sources',
  setup(build) {
    const map = {
      '@mailbridge/mail-core': path.join(ROOT, 'packages/mail-core/src/index.ts'),
      '@mailbridge/mail-testkit': path.join(ROOT, 'packages/mail-testkit/src/index.ts'),
    };
    build.onResolve({ filter: /^@mailbridge\/(mail-core|mail-testkit)$/ }, (args) => ({ path: map[args.path] }));
  },
};

// The mail worker thread's entry, compiled next to each bench's bundle, where mail-core's workerHost looks first:
// the worker then starts from JavaScript as in the built plugin (from TypeScript it would compile every file it
// loads with esbuild first, a quarter of a second the product does not spend).
const workerEntryBeside = (outfile) => path.join(path.dirname(outfile), 'engineWorker.js');

/** One file for node: our TypeScript bundled, node_modules left to require(). */
function buildFor(entry, outfile, extra = {}) {
  return require('esbuild').build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    sourcemap: 'linked',
    keepNames: true,
    logLevel: 'warning',
    ...extra,
  });
}

async function bundle(name) {
  fs.mkdirSync(TMP, { recursive: true });
  const outfile = path.join(TMP, `${name}-${process.pid}-${Date.now()}.js`);
  await buildFor(path.join(ROOT, 'packages/mail-core/src/worker/engineWorker.ts'), workerEntryBeside(outfile));
  await buildFor(path.join(__dirname, `${name}.ts`), outfile, { plugins: [workspaceSources] });
  return outfile;
}

function runNode(file, name) {
  // no --enable-source-maps by default: Sequelize's SQLite driver reads `new Error().stack` for every statement,
  // and mapping those stacks would make the product look slower than it is (BENCH_SOURCE_MAPS=1 turns it on)
  const flags = ['--max-old-space-size=6144'];
  if (process.env.BENCH_SOURCE_MAPS) flags.push('--enable-source-maps');
  if (process.env.BENCH_NODE_FLAGS) flags.push(...process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean));
  let profDir;
  if (process.env.BENCH_PROFILE) {
    profDir = path.join(TMP, `prof-${name}-${Date.now()}`);
    flags.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=500');
  }
  const timeoutS = Number(process.env.BENCH_TIMEOUT_S) || 900;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, file], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, MAILBRIDGE_BACKGROUND: 'off', BENCH_ROOT: ROOT, BENCH_NAME: name },
    });
    const timer = setTimeout(() => {
      console.error(`\n[bench] ${name}: no result after ${timeoutS} s, stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 1 : 0), profDir });
    });
  });
}

async function main() {
  const asked = process.argv.slice(2);
  const names = asked.length ? asked : ALL;
  for (const name of names) {
    if (!fs.existsSync(path.join(__dirname, `${name}.ts`))) {
      console.error(`[bench] no benchmark "${name}" (have: ${ALL.join(', ')})`);
      process.exitCode = 2;
      return;
    }
  }
  const failed = [];
  for (const name of names) {
    console.log(`\n=== bench ${name} (${new Date().toISOString()}) ===`);
    const file = await bundle(name);
    const started = Date.now();
    const { code, profDir } = await runNode(file, name);
    console.log(`=== bench ${name}: ${code === 0 ? 'done' : `exit ${code}`} in ${((Date.now() - started) / 1000).toFixed(1)} s ===`);
    if (profDir && fs.existsSync(profDir)) {
      const { summarize } = require('./profileSummary');
      for (const f of fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))) {
        summarize(path.join(profDir, f), file, { top: Number(process.env.BENCH_PROFILE_TOP) || 25 });
        console.log(`[bench] profile kept in ${path.join(profDir, f)} (open it in Chrome DevTools → Performance)`);
      }
    }
    if (!process.env.BENCH_KEEP) {
      const worker = workerEntryBeside(file);
      for (const f of [file, `${file}.map`, worker, `${worker}.map`]) fs.rmSync(f, { force: true });
    }
    if (code !== 0) failed.push(name);
  }
  if (failed.length) {
    console.error(`[bench] failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
