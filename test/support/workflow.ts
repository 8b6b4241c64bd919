import { Op } from '@nocobase/database';
// Helpers for workflows in a booted test app: create one with a node, and wait for its execution to settle.
export async function createCollectionWorkflow(db: any, collection: string, node: { type: string; config: any }, extra: any = {}) {
  const workflow = await db.getRepository('workflows').create({
    values: {
      title: 'test workflow',
      enabled: true,
      type: 'collection',
      sync: false,
      config: { mode: 1, collection, ...extra.triggerConfig },
    },
  });
  const created = await workflow.createNode({ type: node.type, config: node.config, title: 'E-Mail senden' });
  return { workflow, node: created };
}

export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 30000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function jobsOf(db: any, workflow: any) {
  const executions = await workflow.getExecutions({ order: [['id', 'ASC']] });
  const all = [];
  for (const execution of executions) all.push(...(await execution.getJobs({ order: [['id', 'ASC']] })));
  return { executions, jobs: all };
}

/**
 * Waits until no execution is running any more, then disables every workflow: a test that fails half-way must not
 * leave its workflow firing in the next test, and on SQLite the dispatcher's last transactions must be over first.
 */
export async function settleAndDisableWorkflows(db: any, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  const running = () => db.getModel('executions').count({ where: { [Op.or]: [{ status: 0 }, { status: null }] } });
  while (Date.now() < deadline && (await running()) > 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
  // a moment for the dispatcher to leave its last transaction after it wrote the final status
  await new Promise((r) => setTimeout(r, 200));
  await db.getRepository('workflows').update({ filter: { enabled: true }, values: { enabled: false } });
}
