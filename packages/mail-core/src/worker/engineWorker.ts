/**
 * The worker thread behind a WorkerHost: hosts the IMAP sources (listing, sync) and SMTP transports (MIME build
 * and sending) of every account that works through it, so that CPU work has a core and a heap of its own while
 * the calling thread stores. Messages in, results out; see workerProtocol.ts.
 */
import { parentPort } from 'node:worker_threads';
import type { RuntimeOptions } from '../providers/accountConfig';
import type { ImapConnectionConfig } from '../providers/imap/imapConnection';
import { ImapSource } from '../providers/imap/imapSource';
import { SmtpTransport, type SmtpTransportConfig } from '../providers/smtp/smtpTransport';
import type { FolderCursor, OutgoingMessage, SyncBatch } from '../types';
import { packBodies } from './utf8Bodies';
import { errorFromWire, errorToWire, type ToWorker, type WireRuntime } from './workerProtocol';

const port = parentPort!;
const sources = new Map<number, ImapSource>();
const transports = new Map<number, SmtpTransport>();
const syncs = new Map<number, AsyncIterator<SyncBatch>>();
const aborts = new Map<number, AbortController>();
const tokenRequests = new Map<number, { resolve: (token: string) => void; reject: (err: Error) => void }>();
let nextTokenRequest = 1;

function runtimeFor(ownerId: number, wire: WireRuntime): RuntimeOptions {
  const runtime: RuntimeOptions = {};
  if (wire.tokens) {
    runtime.accessTokenProvider = (opts) =>
      new Promise<string>((resolve, reject) => {
        const id = nextTokenRequest++;
        tokenRequests.set(id, { resolve, reject });
        port.postMessage({ type: 'token', ownerId, id, forceRefresh: Boolean(opts?.forceRefresh) });
      });
  }
  if (wire.commands) runtime.onImapCommand = (line) => port.postMessage({ type: 'command', ownerId, line });
  return runtime;
}

function answer<T>(id: number, work: () => Promise<T>, transfer: (value: T) => ArrayBuffer[] = () => []) {
  // a synchronous throw (nothing open under that id) answers as an error too, instead of ending the worker
  Promise.resolve().then(work).then(
    (value) => port.postMessage({ type: 'result', id, value }, transfer(value)),
    (err) => port.postMessage({ type: 'result', id, error: errorToWire(err) }),
  );
}

function ownerOf<T>(owners: Map<number, T>, ownerId: number): T {
  const owner = owners.get(ownerId);
  if (!owner) throw new Error(`nothing open as ${ownerId} in the mail worker`);
  return owner;
}

/** A structured clone turns Buffers into Uint8Arrays; nodemailer wants Buffers. */
function withBuffers(message: OutgoingMessage): OutgoingMessage {
  if (!message.attachments?.length) return message;
  const attachments = message.attachments.map((a) => {
    const content: unknown = a.content;
    return content instanceof Uint8Array && !Buffer.isBuffer(content) ? { ...a, content: Buffer.from(content.buffer, content.byteOffset, content.byteLength) } : a;
  });
  return { ...message, attachments };
}

function abortable(id: number) {
  const controller = new AbortController();
  aborts.set(id, controller);
  return controller.signal;
}

async function nextBatch(syncId: number) {
  const iterator = syncs.get(syncId);
  if (!iterator) return { done: true };
  try {
    const step = await iterator.next();
    if (step.done) {
      syncs.delete(syncId);
      return step;
    }
    return { ...step, bodies: packBodies(step.value.added) };
  } catch (err) {
    syncs.delete(syncId);
    throw err;
  } finally {
    if (!syncs.has(syncId)) aborts.delete(syncId);
  }
}

async function close(ownerId: number) {
  const owner = sources.get(ownerId) ?? transports.get(ownerId);
  sources.delete(ownerId);
  transports.delete(ownerId);
  await owner?.close();
}

port.on('message', (msg: ToWorker) => {
  switch (msg.op) {
    case 'openSource':
      sources.set(msg.ownerId, new ImapSource(msg.config as ImapConnectionConfig, runtimeFor(msg.ownerId, msg.runtime)));
      return;
    case 'openTransport':
      transports.set(msg.ownerId, new SmtpTransport(msg.config as SmtpTransportConfig, runtimeFor(msg.ownerId, msg.runtime)));
      return;
    case 'token': {
      const request = tokenRequests.get(msg.id);
      tokenRequests.delete(msg.id);
      if (msg.error) request?.reject(errorFromWire(msg.error));
      else request?.resolve(msg.token!);
      return;
    }
    case 'listFolders':
      return answer(msg.id, () => ownerOf(sources, msg.ownerId).listFolders());
    case 'sync': {
      const signal = abortable(msg.syncId);
      const sync = ownerOf(sources, msg.ownerId).syncFolder(msg.folder, msg.cursor as FolderCursor | null, { ...msg.opts, signal });
      syncs.set(msg.syncId, sync[Symbol.asyncIterator]());
      return;
    }
    case 'next':
      return answer(msg.id, () => nextBatch(msg.syncId), (step) => ('bodies' in step && step.bodies ? [step.bodies.buffer] : []));
    case 'abort':
      return aborts.get(msg.callId)?.abort();
    case 'end':
      return answer(msg.id, async () => {
        const iterator = syncs.get(msg.syncId);
        syncs.delete(msg.syncId);
        aborts.delete(msg.syncId);
        await iterator?.return?.(undefined);
      });
    case 'send':
      return answer(msg.id, async () => {
        const signal = msg.abortable ? abortable(msg.id) : undefined;
        try {
          return await ownerOf(transports, msg.ownerId).send(withBuffers(msg.message), { signal });
        } finally {
          aborts.delete(msg.id);
        }
      });
    case 'verify':
      return answer(msg.id, () => ownerOf(transports, msg.ownerId).verify());
    case 'close':
      return answer(msg.id, () => close(msg.ownerId));
  }
});
