// SQLite in a file (how `npm start` runs) opens one connection per transaction, and without a busy timeout a
// write that meets another connection's lock fails at once with SQLITE_BUSY (a sync's batch beside the lease
// heartbeat or the outbox, for example). Every connection waits up to this long for the lock instead.
const BUSY_TIMEOUT_MS = 10_000;

export function waitForSqliteLocks(db: any) {
  if (!db.inDialect('sqlite')) return;
  const manager = db.sequelize.connectionManager;
  if (manager.mailbridgeBusyTimeout) return;
  const getConnection = manager.getConnection.bind(manager);
  manager.getConnection = async (options: any) => {
    const connection = await getConnection(options);
    if (!connection.mailbridgeBusyTimeout) {
      connection.configure?.('busyTimeout', BUSY_TIMEOUT_MS);
      connection.mailbridgeBusyTimeout = true;
    }
    return connection;
  };
  manager.mailbridgeBusyTimeout = true;
}
