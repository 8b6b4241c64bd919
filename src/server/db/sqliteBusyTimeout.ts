// SQLite in a file (how `npm start` runs) opens one connection per transaction, and without a busy timeout a
// write that meets another connection's lock fails at once with SQLITE_BUSY (a sync's batch beside the lease
// heartbeat or the outbox, for example). Every connection waits up to this long for the lock instead.
//
// A busy timeout does not help a transaction that began deferred, read, and then wants to write while another
// connection writes: SQLite fails it at once rather than deadlock. NocoBase's own transactions are of that kind
// (seen: workflows:create failing beside a sync). So on SQLite every transaction begins IMMEDIATE: it waits for
// the write lock at BEGIN, and SQLite has one writer at a time anyway.
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
  db.sequelize.options.transactionType = 'IMMEDIATE';
}
