import { PathSet, getPath, parsePath, setPath } from '../../../lib/mapping/path';

describe('field paths', () => {
	it.each([
		['email', ['email']],
		['address.city', ['address', 'city']],
		['variants[0].sku', ['variants', 0, 'sku']],
		['m[1][2]', ['m', 1, 2]],
		['  spaced name ', ['spaced name']],
	])('parses %s', (text, segments) => {
		expect(parsePath(text)?.segments).toEqual(segments);
	});

	it.each(['', 'a..b', 'a.', '.a', '[0]', 'a[x]', 'a[0'])('refuses %j', (text) => {
		expect(parsePath(text)).toBeUndefined();
	});

	it('reads only own properties and the right container kinds', () => {
		const record = { a: [{ b: 1 }], o: { 0: 'key' } };
		expect(getPath(record, ['a', 0, 'b'])).toBe(1);
		expect(getPath(record, ['a', 'length'])).toBeUndefined();
		expect(getPath(record, ['o', 0])).toBeUndefined();
		expect(getPath(record, ['toString'])).toBeUndefined();
	});

	it('creates objects and arrays on the way', () => {
		const record: Record<string, unknown> = {};
		setPath(record, ['a', 1, 'b'], 'x');
		expect(record).toEqual({ a: [undefined, { b: 'x' }] });
	});

	it('finds what no path covers', () => {
		const set = new PathSet();
		set.add(['a', 'b']);
		set.add(['c']);
		const found: Array<[string, unknown]> = [];
		set.forEachUncovered({ a: { b: 1, d: 2 }, c: { deep: 1 }, e: [1], f: undefined }, (p, v) => found.push([p, v]));
		expect(found).toEqual([['a.d', 2], ['e', [1]]]);
	});
});
