import { compactUidSet, countUidSet, expandUidSet } from '@mailbridge/mail-core';
import { uidSetContains, uidSetMinus, uidSetUnion } from '../src/util/uidSet';

describe('compact UID sets', () => {
  it('compacts, expands and counts', () => {
    expect(compactUidSet([5, 1, 2, 3, 3, 9, 10])).toBe('1:3,5,9:10');
    expect(expandUidSet('1:3,5,9:10')).toEqual([1, 2, 3, 5, 9, 10]);
    expect(countUidSet('1:1000,1002')).toBe(1001);
    expect(compactUidSet([])).toBe('');
  });

  it('appends new UIDs above the set without expanding it, merging adjacent ranges', () => {
    expect(uidSetUnion('1:500', [501, 502, 600])).toBe('1:502,600');
    expect(uidSetUnion('1:500', [700])).toBe('1:500,700');
    expect(uidSetUnion('', [3, 1, 2])).toBe('1:3');
    expect(uidSetUnion('1:3,10', [5])).toBe('1:3,5,10');
  });

  it('removes UIDs and tests membership', () => {
    expect(uidSetMinus('1:10', [1, 5, 10])).toBe('2:4,6:9');
    const has = uidSetContains('2:4,6:9,100');
    expect([1, 2, 4, 5, 6, 9, 10, 100, 101].map(has)).toEqual([false, true, true, false, true, true, false, true, false]);
  });
});
