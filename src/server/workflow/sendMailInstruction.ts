import { Instruction, JOB_STATUS, EXECUTION_STATUS } from '@nocobase/plugin-workflow';
import type { MailService } from '../mailService';
import { publicOutboxEntry } from '../sending/outboxActions';
import { buildNodeMessage, fileRecordsOf, attachmentFilename, SendMailNodeConfig, ThreadParent } from './sendMailConfig';
import type { StoredAttachment, StoredOutgoingMessage } from '../sending/outgoingMessage';
import { mailErrorText } from '../mailErrorText';
import { fileManagerOf } from '../attachments/keptFiles';

export const SEND_MAIL_NODE = 'mailbridgeSend';

// "E-Mail senden". In an asynchronous workflow the job waits (PENDING) while the mail goes through the outbox;
// the outbox entry carries the job id, and whichever node settles the entry resumes the job, once. The mail to
// send is saved in the pending job first, so a crash before the entry exists can be recovered without losing it.
export class SendMailInstruction extends Instruction {
  constructor(workflow: any, private mail: MailService) {
    super(workflow);
    mail.outbox.onSettled((entry) => this.resumeJobOf(entry));
  }

  private get db() {
    return this.workflow.app.db;
  }

  async run(node: any, prevJob: any, processor: any) {
    const config: SendMailNodeConfig = processor.getParsedValue(node.config, node.id);
    let message: StoredOutgoingMessage;
    try {
      message = await this.prepareMessage(config);
    } catch (err: any) {
      return { status: config.ignoreFail ? JOB_STATUS.RESOLVED : JOB_STATUS.FAILED, result: { error: err.message } };
    }
    if (processor.isInstructionSync(node)) return this.sendInline(config, message);

    const job = processor.saveJob({
      status: JOB_STATUS.PENDING,
      nodeId: node.id,
      nodeKey: node.key,
      upstreamId: prevJob?.id ?? null,
      result: { queued: { accountId: config.accountId, message } },
    });
    await processor.exit();
    await this.enqueueForJob(job.id, config.accountId, message);
  }

  async resume(node: any, job: any) {
    if (node.config?.ignoreFail && job.status === JOB_STATUS.FAILED) job.set('status', JOB_STATUS.RESOLVED);
    return job;
  }

  private async sendInline(config: SendMailNodeConfig, message: StoredOutgoingMessage) {
    try {
      const entry = await this.mail.outbox.enqueue({ accountId: String(config.accountId), message, source: 'workflow' });
      const settled = await this.mail.outbox.process(String(entry.get('id')));
      const result = await this.jobResult(settled);
      const ok = settled.get('state') === 'sent';
      return { status: ok || config.ignoreFail ? JOB_STATUS.RESOLVED : JOB_STATUS.FAILED, result };
    } catch (err: any) {
      return { status: config.ignoreFail ? JOB_STATUS.RESOLVED : JOB_STATUS.FAILED, result: { error: err.message } };
    }
  }

  async enqueueForJob(jobId: string | number, accountId: string, message: StoredOutgoingMessage) {
    const existing = await this.db.getModel('mailOutbox').findOne({ where: { jobId } });
    if (existing) return existing;
    let entry;
    try {
      entry = await this.mail.outbox.enqueue({ accountId: String(accountId), message, source: 'workflow', jobId });
    } catch (err: any) {
      await this.settleJob(jobId, JOB_STATUS.FAILED, { error: mailErrorText(err) });
      return null;
    }
    // Sent here, after processor.exit(), like NocoBase's own mailer: the dispatcher waits, so the send does not
    // interleave its transactions with the next execution's (SQLite has one connection). A retryable failure
    // leaves the entry queued for the outbox timer; the settled listener resumes the job either way.
    await this.mail.outbox.process(String(entry.get('id')));
    return entry;
  }

  /** After a restart: pending jobs of this node whose mail never reached the outbox are queued now. */
  async recoverPendingJobs() {
    const jobs = await this.db.getRepository('jobs').find({
      filter: { status: JOB_STATUS.PENDING, 'node.type': SEND_MAIL_NODE },
      appends: ['node'],
    });
    for (const job of jobs) {
      const queued = job.get('result')?.queued;
      if (queued) await this.enqueueForJob(job.get('id'), queued.accountId, queued.message);
    }
  }

  private async resumeJobOf(entry: any) {
    const jobId = entry.get('jobId');
    if (!jobId) return;
    const status = entry.get('state') === 'sent' ? JOB_STATUS.RESOLVED : JOB_STATUS.FAILED;
    await this.settleJob(jobId, status, await this.jobResult(entry));
  }

  private async settleJob(jobId: string | number, status: number, result: unknown) {
    const job = await this.db.getRepository('jobs').findOne({ filterByTk: jobId, appends: ['node'] });
    if (!job || job.get('status') !== JOB_STATUS.PENDING) return;
    // Settled with the final status at once, so nobody ever reads a FAILED job that "ignore failure" resolves.
    if (status === JOB_STATUS.FAILED && job.get('node')?.config?.ignoreFail) status = JOB_STATUS.RESOLVED;
    const execution = await job.getExecution();
    if (await this.workflow.abortExecutionIfExpired(execution)) return;
    if (execution.get('status') !== EXECUTION_STATUS.STARTED) return;
    job.set({ status, result });
    await this.workflow.resume(job);
  }

  private async jobResult(entry: any) {
    const row = await this.db.getModel('mailMessages').findOne({
      where: { accountId: entry.get('accountId'), messageId: entry.get('messageId') },
      attributes: ['threadId'],
    });
    const pub = publicOutboxEntry(entry);
    return {
      messageId: pub.messageId,
      providerMessageId: pub.providerMessageId ?? null,
      threadId: row?.get('threadId') ?? null,
      accepted: pub.accepted ?? [],
      rejected: pub.rejected ?? [],
      outboxId: pub.id,
      state: pub.state,
      ...(pub.state === 'failed' ? { error: pub.lastError, errorCode: pub.errorCode } : {}),
    };
  }

  private async prepareMessage(config: SendMailNodeConfig): Promise<StoredOutgoingMessage> {
    const account = config.accountId ? await this.db.getRepository('mailAccounts').findOne({ filterByTk: config.accountId }) : null;
    if (!account) throw new Error('The mail account of this step does not exist; pick one in the node settings.');
    const parent = await this.threadParent(config.inReplyTo);
    return buildNodeMessage(account.toJSON(), config, await this.attachmentsOf(config.attachments), parent);
  }

  private async threadParent(ref: unknown): Promise<ThreadParent | null> {
    if (ref === undefined || ref === null || ref === '') return null;
    const text = String(ref).trim();
    const where = text.includes('@') ? { messageId: text.startsWith('<') ? text : `<${text}>` } : { id: text };
    const row = await this.db.getModel('mailMessages').findOne({ where });
    if (row) return { messageId: row.get('messageId'), references: row.get('references') ?? [], subject: row.get('subject') };
    if (text.includes('@')) return { messageId: where.messageId as string, references: [] };
    throw new Error(`The mail to answer (${text}) was not found.`);
  }

  private async attachmentsOf(value: unknown): Promise<StoredAttachment[]> {
    const files = fileRecordsOf(value);
    if (!files.length) return [];
    const fileManager = fileManagerOf(this.workflow.app);
    if (!fileManager) throw new Error('Attachments need the file manager plugin to be enabled.');
    return Promise.all(
      files.map(async (file) => {
        const { stream, contentType } = await fileManager.getFileStream(file);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(Buffer.from(chunk));
        return {
          filename: attachmentFilename(file),
          contentType: contentType || file.mimetype || undefined,
          contentBase64: Buffer.concat(chunks).toString('base64'),
        };
      }),
    );
  }
}
