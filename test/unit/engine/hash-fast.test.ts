import fc from 'fast-check';
import { canonicalHash, canonicalJson, canonicalValue, sameValue } from '../../../lib/engine/hash';

// The direct canonical text and the side-by-side comparison must agree with the definition:
// JSON.stringify of canonicalValue, for any value, the unusual ones included.
const reference = (value: unknown): string => JSON.stringify(canonicalValue(value));

const anything = fc.anything({
	withBigInt: true,
	withBoxedValues: true,
	withDate: true,
	withMap: true,
	withNullPrototype: true,
	withObjectString: true,
	withSet: true,
	withSparseArray: true,
	withTypedArray: true,
	withUnicodeString: true,
	key: fc.oneof(fc.string(), fc.constantFrom('0', '10', '9', '__proto__', 'toJSON', 'a', 'b')),
});

// Values that differ only in ways the canonical form ignores or keeps, so that equal pairs are common.
const scalar = fc.oneof(
	fc.constantFrom(null, undefined, 0, -0, 1.5, '1.50', '1.5', '007', 7, '7', NaN, Infinity, true, 'x', ''),
	fc.constantFrom('2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z', '2024-05-01 10:00:00Z', new Date('2024-05-01T10:00:00Z')),
);
const { tree } = fc.letrec((tie) => ({
	tree: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'c', '1'), tie('tree'), { maxKeys: 3 })),
}));

describe('canonical form, direct paths', () => {
	it('writes the same text as the definition', () => {
		fc.assert(fc.property(anything, (value) => expect(canonicalJson(value)).toBe(reference(value))), { numRuns: 2000 });
		fc.assert(fc.property(tree, (value) => expect(canonicalJson(value)).toBe(reference(value))), { numRuns: 2000 });
	});

	it('compares as the texts compare', () => {
		fc.assert(fc.property(anything, anything, (a, b) => expect(sameValue(a, b)).toBe(reference(a) === reference(b))), { numRuns: 2000 });
		fc.assert(fc.property(tree, tree, (a, b) => expect(sameValue(a, b)).toBe(reference(a) === reference(b))), { numRuns: 5000 });
	});

	it('hashes the definition text', () => {
		expect(canonicalHash({ b: '1.50', a: [new Date(0), undefined] })).toBe(canonicalHash({ a: ['1970-01-01T00:00:00.000Z', null], b: 1.5 }));
		expect(sameValue({ a: 1, f: () => 1 }, { a: 1 })).toBe(true);
		expect(sameValue({ toJSON: () => 5 }, 5)).toBe(true);
		expect(sameValue({ 10: 'a', 9: 'b' }, { 9: 'b', 10: 'a' })).toBe(true);
		const hidden = Object.defineProperty({}, 'a', { value: 1, enumerable: false });
		expect(sameValue({ a: 1 }, hidden)).toBe(false);
		expect(sameValue({}, hidden)).toBe(true);
	});
});
