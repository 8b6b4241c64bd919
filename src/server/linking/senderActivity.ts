import { Op } from '@nocobase/database';
import { chunks } from '../sync/threading';

const HOUR = 3_600_000;
const PRUNE_EVERY = 10 * 60_000;

// How many new mails each sender sent an account within the last hour: above the limit a sender is a storm (an
// auto-responder ping-pong, a broken script) and its mail creates nothing and starts no workflow.
export class SenderActivity {
  private lastPrune = 0;

  constructor(private db: any) {}

  private get model() {
    return this.db.getModel('mailSenderActivity');
  }

  async countsLastHour(accountId: string, senders: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const since = new Date(Date.now() - HOUR);
    for (const part of chunks([...new Set(senders)], 200)) {
      const rows = await this.model.findAll({
        attributes: ['sender', [this.db.sequelize.fn('COUNT', this.db.sequelize.col('sender')), 'n']],
        where: { accountId, sender: { [Op.in]: part }, at: { [Op.gt]: since } },
        group: ['sender'],
        raw: true,
      });
      for (const r of rows) counts.set(r.sender, Number(r.n));
    }
    return counts;
  }

  async record(accountId: string, senders: string[]) {
    if (!senders.length) return;
    const at = new Date();
    await this.model.bulkCreate(senders.map((sender) => ({ accountId, sender, at })));
    if (Date.now() - this.lastPrune > PRUNE_EVERY) {
      this.lastPrune = Date.now();
      await this.model.destroy({ where: { at: { [Op.lt]: new Date(Date.now() - 24 * HOUR) } } });
    }
  }
}
