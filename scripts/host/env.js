const path = require('path');
const fs = require('fs');
const crypto = require('crypto');

const root = path.resolve(__dirname, '..', '..');

// The environment NocoBase's CLI would set (nocobase-2.2-notes §8), for an app whose data lives in `storage`.
function hostEnv({ storage = path.join(root, 'storage'), port = 13000 } = {}) {
  fs.mkdirSync(path.join(storage, 'db'), { recursive: true });
  return {
    ...process.env,
    APP_ENV: process.env.APP_ENV || 'development',
    APP_PORT: String(port),
    APP_KEY: appKey(storage),
    DB_DIALECT: process.env.DB_DIALECT || 'sqlite',
    DB_STORAGE: process.env.DB_STORAGE || path.join(storage, 'db', 'nocobase.sqlite'),
    DB_LOGGING: 'off',
    TZ: process.env.TZ || 'UTC',
    API_BASE_PATH: '/api/',
    API_CLIENT_STORAGE_PREFIX: 'NOCOBASE_',
    API_CLIENT_STORAGE_TYPE: 'localStorage',
    DEFAULT_STORAGE_TYPE: 'local',
    WS_PATH: '/ws',
    PLUGIN_STATICS_PATH: '/static/plugins/',
    APP_PUBLIC_PATH: '/',
    CACHE_DEFAULT_STORE: 'memory',
    APP_MODERN_CLIENT_PREFIX: 'v',
    CDN_BASE_URL: '',
    APP_SERVER_BASE_URL: '',
    APP_BASE_URL: '',
    INIT_ROOT_EMAIL: process.env.INIT_ROOT_EMAIL || 'admin@nocobase.com',
    INIT_ROOT_PASSWORD: process.env.INIT_ROOT_PASSWORD || 'admin123',
    INIT_APP_LANG: process.env.INIT_APP_LANG || 'en-US',
    NODE_MODULES_PATH: path.join(root, 'node_modules'),
    STORAGE_PATH: storage,
    PLUGIN_STORAGE_PATH: path.join(storage, 'plugins'),
    APP_PACKAGE_ROOT: path.join(root, 'node_modules', '@nocobase', 'app'),
    LOGGER_BASE_PATH: path.join(storage, 'logs'),
  };
}

// A stable per-storage secret for signing sessions, created on first run.
function appKey(storage) {
  const file = path.join(storage, '.app-key');
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

module.exports = { hostEnv, root };
