import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Op } from '@nocobase/database';
import type { DownloadedAttachment } from '@mailbridge/mail-core';

// Files Mailbridge keeps in NocoBase's file manager: the default storage, records in our file collection
// (collections/mailFiles.ts). A mail attachment row points at its record by fileId; the records belong to the mail
// and go when its rows go.
const FILES = 'mailFiles';

export const fileManagerOf = (app: any): any => app.pm.get('file-manager') ?? null;

// The storage takes the file's name from the path it reads; the name keeps its extension and loses what a path
// could not hold.
function diskName(filename: string | undefined): string {
  const name = (filename ?? '').replace(/[/\\\0]/g, '_').trim();
  return name && name !== '.' && name !== '..' ? name.slice(-200) : 'attachment';
}

/** Stores a file in the file manager's default storage and answers the id of its record. */
export async function keepFile(fileManager: any, file: { filename?: string; contentType: string; content: Buffer }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mailbridge-file-'));
  try {
    const filePath = path.join(dir, diskName(file.filename));
    await fs.writeFile(filePath, file.content);
    // the storage would read the title as a browser upload's Latin-1 name
    const title = path.basename(filePath, path.extname(filePath));
    const record = await fileManager.createFileRecord({ collectionName: FILES, filePath, values: { title, mimetype: file.contentType } });
    return String(record.get('id'));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A kept file, read from its storage. */
export async function openKeptFile(app: any, fileId: string): Promise<DownloadedAttachment & { size?: number }> {
  const fileManager = fileManagerOf(app);
  if (!fileManager) throw new Error("The file is kept in NocoBase's file manager, which is not enabled.");
  const record = await app.db.getRepository(FILES).findOne({ filterByTk: fileId });
  if (!record) throw new Error('The file was removed from the file manager.');
  const { stream, contentType } = await fileManager.getFileStream(record.toJSON());
  const size = Number(record.get('size'));
  return { stream, contentType: contentType || record.get('mimetype'), ...(Number.isFinite(size) && size >= 0 ? { size } : {}) };
}

/** Removes kept files by record id; a failure is logged, never thrown (the mail's rows are gone already). */
export async function removeKeptFiles(db: any, fileIds: string[]): Promise<void> {
  if (!fileIds.length || !db.getCollection(FILES)) return;
  try {
    await db.getRepository(FILES).destroy({ filterByTk: fileIds });
  } catch (err: any) {
    db.logger?.warn?.(`mail: ${fileIds.length} kept file(s) could not be removed from the file manager: ${err.message}`);
  }
}

/**
 * Deletes the mail attachment rows matched by `where` in `transaction`; their kept files are removed once it commits
 * (not at all if it rolls back). Every deletion of attachment rows goes through here, so no kept file is orphaned.
 */
export async function destroyAttachmentRows(db: any, where: Record<string, unknown>, transaction: any): Promise<void> {
  const Attachments = db.getModel('mailAttachments');
  const kept = await Attachments.findAll({ attributes: ['fileId'], where: { ...where, fileId: { [Op.ne]: null } }, transaction, raw: true });
  await Attachments.destroy({ where, transaction });
  const ids = kept.map((row: any) => String(row.fileId));
  if (!ids.length) return;
  if (transaction) transaction.afterCommit(() => removeKeptFiles(db, ids));
  else await removeKeptFiles(db, ids);
}
