/**
 * The worker thread behind SyncWorkerSource: hosts the IMAP sources of every account that syncs through it, so
 * fetching and decoding run on a core (and a heap) of their own while the caller stores. Messages in, results
 * out; see workerProtocol.ts.
 */
import { parentPort } from 'node:worker_threads';
import type { RuntimeOptions } from '../accountConfig';
import type { ImapConnectionConfig } from './imapConnection';
import { ImapSource } from './imapSource';
import { errorFromWire, errorToWire, type ToWorker } from './workerProtocol';
import type { FolderCursor, SyncBatch } from '../../types';

const port = parentPort!;
const sources = new Map<number, ImapSource>();
const syncs = new Map<number, { iterator: AsyncIterator<SyncBatch>; abort: AbortController }>();
const tokenRequests = new Map<number, { resolve: (token: string) => void; reject: (err: Error) => void }>();
let nextTokenRequest = 1;

function runtimeFor(sourceId: number, opts: { tokens: boolean; commands: boolean }): RuntimeOptions {
  const runtime: RuntimeOptions = {};
  if (opts.tokens) {
    runtime.accessTokenProvider = (tokenOpts) =>
      new Promise<string>((resolve, reject) => {
        const id = nextTokenRequest++;
        tokenRequests.set(id, { resolve, reject });
        port.postMessage({ type: 'token', sourceId, id, forceRefresh: Boolean(tokenOpts?.forceRefresh) });
      });
  }
  if (opts.commands) runtime.onImapCommand = (line) => port.postMessage({ type: 'command', sourceId, line });
  return runtime;
}

function answer(id: number, work: () => Promise<unknown>) {
  work().then(
    (value) => port.postMessage({ type: 'result', id, value }),
    (err) => port.postMessage({ type: 'result', id, error: errorToWire(err) }),
  );
}

function sourceOf(sourceId: number): ImapSource {
  const source = sources.get(sourceId);
  if (!source) throw new Error(`no sync source ${sourceId} in the worker`);
  return source;
}

port.on('message', (msg: ToWorker) => {
  switch (msg.op) {
    case 'open':
      sources.set(msg.sourceId, new ImapSource(msg.config as ImapConnectionConfig, runtimeFor(msg.sourceId, msg.runtime)));
      return;
    case 'token': {
      const request = tokenRequests.get(msg.id);
      tokenRequests.delete(msg.id);
      if (msg.error) request?.reject(errorFromWire(msg.error));
      else request?.resolve(msg.token!);
      return;
    }
    case 'listFolders':
      return answer(msg.id, () => sourceOf(msg.sourceId).listFolders());
    case 'sync': {
      const abort = new AbortController();
      const iterator = sourceOf(msg.sourceId).syncFolder(msg.folder, msg.cursor as FolderCursor | null, { ...msg.opts, signal: abort.signal })[Symbol.asyncIterator]();
      syncs.set(msg.syncId, { iterator, abort });
      return;
    }
    case 'next':
      return answer(msg.id, async () => {
        const sync = syncs.get(msg.syncId);
        if (!sync) return { done: true };
        const step = await sync.iterator.next().catch((err) => {
          syncs.delete(msg.syncId);
          throw err;
        });
        if (step.done) syncs.delete(msg.syncId);
        return step;
      });
    case 'abort': {
      const sync = syncs.get(msg.syncId);
      sync?.abort.abort();
      return;
    }
    case 'end':
      return answer(msg.id, async () => {
        const sync = syncs.get(msg.syncId);
        syncs.delete(msg.syncId);
        await sync?.iterator.return?.(undefined);
      });
    case 'close':
      return answer(msg.id, async () => {
        const source = sources.get(msg.sourceId);
        sources.delete(msg.sourceId);
        await source?.close();
      });
  }
});
