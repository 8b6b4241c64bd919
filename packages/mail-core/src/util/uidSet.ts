/**
 * Compact IMAP sequence sets ("1:500,502,510:512") for UID lists: what the cursor stores and what
 * FETCH takes.
 */

/** Ascending, de-duplicated UIDs → "a:b,c". */
export function compactUidSet(uids: Iterable<number>): string {
  const sorted = [...new Set(uids)].filter((u) => Number.isInteger(u) && u > 0).sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

/** "1:3,7" → [[1,3],[7,7]]; no "*" allowed. */
export function parseUidRanges(set: string): Array<[number, number]> {
  if (!set) return [];
  return set.split(',').map((part) => {
    const [a, b] = part.split(':').map((n) => Number(n));
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) throw new Error(`Invalid UID set "${set}"`);
    return b === undefined ? [a, a] : [Math.min(a, b), Math.max(a, b)];
  });
}

export function expandUidSet(set: string): number[] {
  const out: number[] = [];
  for (const [a, b] of parseUidRanges(set)) for (let u = a; u <= b; u++) out.push(u);
  return out;
}

export function countUidSet(set: string): number {
  return parseUidRanges(set).reduce((n, [a, b]) => n + b - a + 1, 0);
}

/** A membership test that does not expand the set. */
export function uidSetContains(set: string): (uid: number) => boolean {
  const ranges = parseUidRanges(set);
  return (uid) => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (uid < ranges[mid][0]) hi = mid - 1;
      else if (uid > ranges[mid][1]) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

export function uidSetUnion(set: string, add: Iterable<number>): string {
  const added = [...add].sort((a, b) => a - b);
  if (!added.length) return set;
  const ranges = parseUidRanges(set);
  const last = ranges[ranges.length - 1];
  // the common case, new mail above everything known: append without expanding the set
  if (!last || added[0] > last[1]) {
    const tail = compactUidSet(added);
    if (!last) return tail;
    if (added[0] === last[1] + 1) {
      const [first, ...rest] = parseUidRanges(tail);
      ranges[ranges.length - 1] = [last[0], first[1]];
      return [...ranges, ...rest].map(([a, b]) => (a === b ? String(a) : `${a}:${b}`)).join(',');
    }
    return `${set},${tail}`;
  }
  return compactUidSet([...expandUidSet(set), ...added]);
}

export function uidSetMinus(set: string, remove: Iterable<number>): string {
  const gone = new Set(remove);
  return compactUidSet(expandUidSet(set).filter((u) => !gone.has(u)));
}
