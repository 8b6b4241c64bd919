// Which record a "Mail history" block belongs to: the block's own settings win; otherwise the popup or page it
// sits in (a record's details popup passes collectionName + filterByTk as the view's input arguments).
export interface RecordTarget {
  collection?: string;
  recordId?: string;
  /** where the record came from, for the empty state */
  source: 'settings' | 'popup' | 'record' | 'none';
}

function read<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function scalarId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    return scalarId(v.id ?? Object.values(v)[0]);
  }
  return String(value);
}

export function resolveRecordTarget(model: any): RecordTarget {
  const props = model?.props ?? {};
  if (props.collection && props.recordId) {
    return { collection: String(props.collection), recordId: String(props.recordId), source: 'settings' };
  }
  const ctx = model?.context;
  const inputArgs = read(() => ctx?.view?.inputArgs) ?? {};
  const fromView = {
    collection: inputArgs.collectionName ?? read(() => ctx?.collection?.name),
    recordId: scalarId(inputArgs.filterByTk),
  };
  if (fromView.collection && fromView.recordId) {
    return { collection: String(props.collection || fromView.collection), recordId: fromView.recordId, source: 'popup' };
  }
  const record = read(() => ctx?.record);
  const recordCollection = props.collection || read(() => ctx?.collection?.name) || fromView.collection;
  const recordId = scalarId(record?.id);
  if (recordCollection && recordId) return { collection: String(recordCollection), recordId, source: 'record' };
  return { collection: props.collection || fromView.collection, recordId: props.recordId || undefined, source: 'none' };
}
