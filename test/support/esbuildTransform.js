// Jest transform: TypeScript/TSX to CommonJS with esbuild (already our build tool). Types are checked by tsc.
const { transformSync } = require('esbuild');

const LOADERS = { '.ts': 'ts', '.tsx': 'tsx', '.js': 'js', '.jsx': 'jsx' };

module.exports = {
  process(source, filename) {
    const ext = filename.slice(filename.lastIndexOf('.'));
    const result = transformSync(source, {
      loader: LOADERS[ext] || 'js',
      format: 'cjs',
      target: 'node20',
      jsx: 'automatic',
      // jest runs CommonJS: import() becomes require() (as ts-jest and swc do).
      supported: { 'dynamic-import': false },
      sourcemap: 'inline',
      sourcefile: filename,
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
    });
    return { code: result.code };
  },
};
