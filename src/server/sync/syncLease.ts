import { randomUUID } from 'crypto';
import { Op } from '@nocobase/database';

// A lease in the account row: the node that holds an unexpired lease syncs the account; a node that dies
// stops renewing and its lease runs out. Works the same on one node and in a cluster, on any SQL database.
export class SyncLease {
  readonly owner = `${process.pid}-${randomUUID()}`;

  constructor(private db: any, private ttlMs: number) {}

  async acquire(accountId: string): Promise<boolean> {
    const now = new Date();
    const model = this.db.getModel('mailAccounts');
    const [count] = await model.update(
      { syncLeaseOwner: this.owner, syncLeaseUntil: new Date(now.getTime() + this.ttlMs) },
      {
        where: {
          id: accountId,
          [Op.or]: [{ syncLeaseUntil: null }, { syncLeaseUntil: { [Op.lt]: now } }, { syncLeaseOwner: this.owner }],
        },
        hooks: false,
        silent: true,
      },
    );
    return count === 1;
  }

  async renew(accountId: string): Promise<boolean> {
    const model = this.db.getModel('mailAccounts');
    const [count] = await model.update(
      { syncLeaseUntil: new Date(Date.now() + this.ttlMs) },
      { where: { id: accountId, syncLeaseOwner: this.owner }, hooks: false, silent: true },
    );
    return count === 1;
  }

  async release(accountId: string): Promise<void> {
    const model = this.db.getModel('mailAccounts');
    await model.update(
      { syncLeaseOwner: null, syncLeaseUntil: null },
      { where: { id: accountId, syncLeaseOwner: this.owner }, hooks: false, silent: true },
    );
  }
}
