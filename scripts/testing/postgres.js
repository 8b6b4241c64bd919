const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { execFileSync } = require('child_process');

// A throwaway PostgreSQL cluster for the test suite (PostgreSQL refuses to run as root, so as root it runs as
// the `postgres` system user). Returns the DB_* environment for NocoBase, and a stop function.
function findBin() {
  const candidates = [process.env.PG_BIN, ...['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`)].filter(Boolean);
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startPostgres() {
  const bin = findBin();
  if (!bin) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-pg-'));
  const port = await freePort();
  const asRoot = process.getuid && process.getuid() === 0;
  const run = (cmd) =>
    asRoot
      ? execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { stdio: 'pipe' })
      : execFileSync('/bin/sh', ['-c', cmd], { stdio: 'pipe' });
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  run(`${bin}/initdb -D ${dir}/data -A trust -U postgres > ${dir}/initdb.log 2>&1`);
  run(`${bin}/pg_ctl -D ${dir}/data -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" -l ${dir}/log -w start`);
  return {
    env: { DB_DIALECT: 'postgres', DB_HOST: '127.0.0.1', DB_PORT: String(port), DB_USER: 'postgres', DB_PASSWORD: '' },
    stop() {
      try {
        run(`${bin}/pg_ctl -D ${dir}/data -m immediate stop`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

module.exports = { startPostgres };
