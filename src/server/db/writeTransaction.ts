/**
 * Options for a transaction that reads and then writes: on SQLite it takes the write lock at BEGIN (IMMEDIATE).
 * A deferred one holding a read lock while another connection waits to commit is a deadlock SQLite breaks with
 * SQLITE_BUSY at once; an immediate one waits for the lock instead (see sqliteBusyTimeout.ts).
 */
export function writeTransaction(db: any): any {
  return db.inDialect('sqlite') ? { type: 'IMMEDIATE' } : {};
}
