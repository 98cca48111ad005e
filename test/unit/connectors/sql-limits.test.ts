/**
 * checkValue and isRealDateTime (lib/connectors/sql/common.ts): what a write refuses per record and field
 * before anything is sent, so that a value the column cannot hold never fails a whole batch unnamed or is
 * stored changed. The node test test/nodes/hostile-connectors.test.ts runs the same cases against real tables.
 */
import { SyncItemError } from '../../../lib/item';
import { checkValue, INTEGER_RANGES, isRealDateTime, planUpsert, type ColumnLimit } from '../../../lib/connectors/sql/common';

const record = { label: 'item 4 (contact / erp / 9)', index: 4 };

function refusal(value: string | number | bigint, limit?: ColumnLimit): SyncItemError | undefined {
	try {
		checkValue(value, limit, record, 'f');
		return undefined;
	} catch (error) {
		return error as SyncItemError;
	}
}

test.each([
	['2024-02-29T23:59:59Z', true],
	['2024-02-29', true],
	['2000-02-29 00:00:00.123456+05:30', true],
	['9999-12-31T23:59:59Z', true],
	['2023-02-29T00:00:00Z', false],
	['1900-02-29', false],
	['2024-04-31', false],
	['2024-01-01T24:00:00Z', false],
	['2024-01-01T23:60:00Z', false],
	['2024-01-01T23:59:60Z', false],
	['0000-01-01T00:00:00Z', false],
	['10000-01-01T00:00:00Z', false],
	['2024-13-01', false],
	['yesterday', false],
])('isRealDateTime(%j) is %s', (text, real) => {
	expect(isRealDateTime(text)).toBe(real);
});

test('a refusal names the record, the field and why, and carries the item index and field path', () => {
	const error = refusal('abcdef', { type: 'varchar(5)', maxChars: 5 });
	expect(error).toBeInstanceOf(SyncItemError);
	expect(error?.message).toBe('item 4 (contact / erp / 9): field "f" is 6 characters long; column "f" holds at most 5');
	expect(error).toMatchObject({ itemIndex: 4, field: 'data.f' });
});

test('lengths count characters, not UTF-16 units', () => {
	expect(refusal('😀😀😀😀😀', { type: 'varchar(5)', maxChars: 5 })).toBeUndefined();
	expect(refusal('😀😀😀😀😀😀', { type: 'varchar(5)', maxChars: 5 })?.message).toMatch(/is 6 characters long/);
});

test('integers: whole numbers in range, as numbers, bigints or digits', () => {
	const int: ColumnLimit = { type: 'integer', integer: INTEGER_RANGES.integer };
	for (const ok of [2147483647, -2147483648, '42', ' -7 ', 0n]) expect(refusal(ok, int)).toBeUndefined();
	expect(refusal(2147483648, int)?.message).toMatch(/is 2147483648, out of range for column "f" \(-2147483648 to 2147483647\)$/);
	expect(refusal(1.5, int)?.message).toMatch(/is 1.5, not a whole number/);
	expect(refusal(Number.NaN, int)?.message).toMatch(/is NaN, not a whole number/);
	expect(refusal('1e3', int)?.message).toMatch(/is "1e3", not a whole number/);
});

test('decimals: digits before the point after the rounding the database does', () => {
	const dec: ColumnLimit = { type: 'numeric(5,2)', numeric: { precision: 5, scale: 2 } };
	for (const ok of [999.99, 999.994, '-999.99', '0.5', '.5', 0, 12n]) expect(refusal(ok, dec)).toBeUndefined();
	for (const bad of [1000, 999.995, '999.999', '-1000', 1e30]) expect(refusal(bad, dec)?.message).toMatch(/more than 3 digits before the point \(column "f" is numeric\(5,2\)\)$/);
	expect(refusal('12,5', dec)?.message).toMatch(/is "12,5", not a number/);
	expect(refusal(Number.POSITIVE_INFINITY, dec)?.message).toMatch(/not a number/);
	expect(refusal('NaN', dec)?.message).toMatch(/is "NaN", not a number/);
	const pgDec: ColumnLimit = { type: 'numeric(5,2)', numeric: { precision: 5, scale: 2, nan: true } };
	for (const ok of ['NaN', ' nan ', Number.NaN]) expect(refusal(ok, pgDec)).toBeUndefined();
	expect(refusal(1000, pgDec)?.message).toMatch(/more than 3 digits before the point/);
});

test('date-times: text must exist as written; Postgres columns also take infinity', () => {
	expect(refusal('2023-02-29', { type: 'date', time: {} })?.message).toMatch(/is "2023-02-29", not a date-time that exists/);
	expect(refusal('infinity', { type: 'timestamp', time: {} })?.message).toMatch(/not a date-time that exists/);
	expect(refusal('-infinity', { type: 'timestamp', time: { infinity: true } })).toBeUndefined();
	expect(refusal(1704067200000, { type: 'INTEGER', time: {} })).toBeUndefined();
});

test('text that is not valid Unicode is refused in any column, with the position of the lone surrogate', () => {
	expect(refusal('ok 😀 ok')).toBeUndefined();
	expect(refusal('😀x\uDBFFy')?.message).toBe('item 4 (contact / erp / 9): field "f" holds text that is not valid Unicode (a lone surrogate at character 3)');
});

test('planUpsert checks the values of every record, also of an id given twice, and never the sync\'s own time', () => {
	const spec = { table: 't', idColumn: 'id', updatedAtColumn: 'at' };
	const limits = new Map<string, ColumnLimit>([
		['name', { type: 'varchar(3)', maxChars: 3 }],
		['at', { type: 'timestamp', time: {} }],
	]);
	const options = { touchUpdatedAt: true, now: '2024-01-01T00:00:00Z' };
	const records = [
		{ id: '1', values: { name: 'abc' }, label: 'item 0', index: 0 },
		{ id: '1', values: { name: 'abcd' }, label: 'item 1', index: 1 },
	];
	expect(() => planUpsert(spec, records, options, new Set(['id', 'name', 'at']), 'not a time: the sync writes it', limits)).toThrow(
		'item 1: field "name" is 4 characters long; column "name" holds at most 3',
	);
	expect(planUpsert(spec, records.slice(0, 1), options, new Set(['id', 'name', 'at']), 'not a time: the sync writes it', limits).groups).toHaveLength(1);
});
