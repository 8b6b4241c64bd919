import path from 'path';

// The part of booting NocoBase 2.2 in-process with Mailbridge that the server tests (test/support/nocobase.ts)
// and the benchmarks (bench/support/app.ts) share: the environment NocoBase reads, and the application with the
// plugins Mailbridge needs, installed and started. The database, how the plugin's collections are found and the
// HTTP side stay with each caller. No jest here: the benches bundle this file too.

export const PACKAGE = '@mailbridge/plugin-mail';

/**
 * Sets the environment NocoBase reads at import time (load @nocobase/server only afterwards): storage, logs and
 * plugins under `storage`, the root user admin@nocobase.com / admin123, and an APP_KEY unless one is set.
 * `root` is the repository (the benches run from a bundle elsewhere, so it is not derived from this file).
 */
export function setNocoBaseEnv(root: string, storage: string, appKey: string) {
  process.env.NODE_MODULES_PATH = path.join(root, 'node_modules');
  process.env.STORAGE_PATH = storage;
  process.env.PLUGIN_STORAGE_PATH = path.join(storage, 'plugins');
  process.env.LOGGER_BASE_PATH = path.join(storage, 'logs');
  process.env.APP_ENV = process.env.APP_ENV || 'test';
  process.env.APP_KEY = process.env.APP_KEY || appKey;
  process.env.INIT_ROOT_EMAIL = 'admin@nocobase.com';
  process.env.INIT_ROOT_PASSWORD = 'admin123';
  process.env.LOGGER_LEVEL = process.env.LOGGER_LEVEL || 'error';
}

/**
 * Creates the NocoBase application with the plugins Mailbridge needs, `plugins` (e.g. 'workflow') and the
 * plugin itself as `mailPlugin` ([class, options]), then installs (`install -f`) and starts it.
 */
export async function startNocoBase(options: {
  name: string;
  database: Record<string, unknown>;
  plugins?: any[];
  mailPlugin: [any, Record<string, unknown>];
}) {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Application } = require('@nocobase/server');
  const app = new Application({
    name: options.name,
    database: options.database,
    resourcer: { prefix: '/api' },
    acl: true,
    plugins: [
      'field-sort',
      ...(options.plugins ?? []),
      'users',
      'auth',
      'acl',
      'data-source-manager',
      'system-settings',
      options.mailPlugin,
    ],
  });
  await app.runCommandThrowError('install', '-f');
  await app.runCommandThrowError('start');
  return app;
}
