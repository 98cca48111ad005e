import fc from 'fast-check';
import { canonicalHash, canonicalJson, isEmptyValue, sameValue } from '../../../lib/engine/hash';
import { isEcho, mergeRecord, settle } from '../../../lib/engine/merge';

describe('canonical hash', () => {
	it('does not depend on key order', () => {
		fc.assert(
			fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
				const reversed = Object.fromEntries(Object.entries(data).reverse());
				expect(canonicalHash(reversed)).toBe(canonicalHash(data));
			}),
		);
	});

	it('treats spellings of one number or one instant as equal', () => {
		expect(canonicalHash({ a: 1.5, b: '2024-05-01T12:00:00+02:00' })).toBe(canonicalHash({ b: '2024-05-01T10:00:00.000Z', a: '1.50' }));
		expect(sameValue('12.50', 12.5)).toBe(true);
		expect(sameValue(-0, 0)).toBe(true);
		expect(sameValue(new Date('2024-01-01T00:00:00Z'), '2024-01-01 00:00:00Z')).toBe(true);
		expect(sameValue({ a: undefined, b: 1 }, { b: 1 })).toBe(true);
	});

	it('keeps what only looks like a number or a date', () => {
		expect(sameValue('007', 7)).toBe(false);
		expect(sameValue('12345678901234567890', 12345678901234567000)).toBe(false);
		expect(sameValue('2024-05-01', '2024-05-01T00:00:00Z')).toBe(false);
		expect(canonicalJson(['b', 'a'])).toBe('["b","a"]');
	});

	it('knows empty values', () => {
		expect([null, undefined, '', '  ', [], {}].every(isEmptyValue)).toBe(true);
		expect([0, false, 'x', [0], new Date(0)].some(isEmptyValue)).toBe(false);
	});
});

describe('three-way merge', () => {
	const golden = { data: { a: 1, b: 1, c: 1 }, fields: { a: { system: 'erp', at: '2024-01-01T00:00:00Z' }, b: { system: 'erp', at: '2024-01-01T00:00:00Z' }, c: { system: 'erp', at: '2024-01-01T00:00:00Z' } } };
	const base = { a: 1, b: 0, c: 0 };
	const input = {
		golden,
		base,
		system: 'crm',
		at: '2024-01-02T00:00:00Z',
		atFromSource: true,
		policy: { kind: 'priority' as const, priority: ['crm', 'erp'] },
		emptyValueRule: 'keep' as const,
	};

	it('takes what only the source changed, keeps what only we changed, settles both-changed by policy', () => {
		const out = mergeRecord({ ...input, incoming: { a: 2, b: 0, c: 3 } });
		expect(out.data).toEqual({ a: 2, b: 1, c: 3 });
		expect(out.changed).toEqual(['a', 'c']);
		expect(out.conflicts).toEqual([expect.objectContaining({ field: 'c', winner: 'incoming' })]);
		const lower = mergeRecord({ ...input, policy: { kind: 'priority', priority: ['erp', 'crm'] }, incoming: { c: 3 } });
		expect(lower.data.c).toBe(1);
		expect(lower.conflicts[0].competing.map((c) => c.value)).toEqual([3, 1, 0]);
	});

	it('leaves fields the source does not send alone', () => {
		expect(mergeRecord({ ...input, incoming: {} }).data).toEqual(golden.data);
	});

	it('settles by ownership, then priority', () => {
		const policy = { kind: 'ownership' as const, owners: { c: 'erp' }, priority: ['crm'] };
		expect(settle(policy, 'c', { system: 'crm', at: '', atFromSource: false }, { system: 'erp', at: '' }).winner).toBe('golden');
		expect(settle(policy, 'd', { system: 'crm', at: '', atFromSource: false }, { system: 'erp', at: '' }).winner).toBe('incoming');
		expect(settle({ kind: 'manual' }, 'c', { system: 'crm', at: '', atFromSource: false }, undefined).winner).toBeNull();
	});

	it('last write wins trusts only source times and breaks ties by priority', () => {
		const lww = { kind: 'lastWriteWins' as const, priority: ['erp', 'crm'] };
		const g = { system: 'erp', at: '2024-01-01T00:00:00Z' };
		expect(settle(lww, 'x', { system: 'crm', at: '2024-01-02T00:00:00Z', atFromSource: true }, g).winner).toBe('incoming');
		expect(settle(lww, 'x', { system: 'crm', at: '2024-01-02T00:00:00Z', atFromSource: false }, g).winner).toBe('golden');
		expect(settle(lww, 'x', { system: 'crm', at: '2024-01-01T00:00:00.000Z', atFromSource: true }, g).winner).toBe('golden');
	});

	it('applies an empty winning value only when the rule says erase', () => {
		expect(mergeRecord({ ...input, incoming: { c: '' } }).data.c).toBe(1);
		expect(mergeRecord({ ...input, incoming: { c: '' } }).keptFromEmpty).toEqual(['c']);
		expect(mergeRecord({ ...input, emptyValueRule: 'erase', incoming: { c: '' } }).data.c).toBe('');
	});

	it('an echo equals the base on every field it sends', () => {
		expect(isEcho({ a: '1', b: 0 }, base)).toBe(true);
		expect(isEcho({ a: 2 }, base)).toBe(false);
		expect(isEcho({ a: 1 }, null)).toBe(false);
	});
});
