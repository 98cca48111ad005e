/**
 * The shared parts of the SQL transports that run once per value or per record: time parsing, the plan of
 * a write batch, Postgres array literals. Each is checked against the plain (slow) way of doing the same.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgUtils = require('pg/lib/utils') as { prepareValue(value: unknown): unknown };
import { lastValueCache, parseTime, planUpsert, readTime, toIsoUtc, toSqlUtc, type UpsertPlan } from '../../../lib/connectors/sql/common';
import { arrayLiteral } from '../../../lib/connectors/sql/postgres';
import type { SqlRow, TableSpec, UpsertRecord, WriteOptions } from '../../../lib/connectors/sql';
import { SyncItemError } from '../../../lib/item';
import { prng } from '../../helpers/prng';

describe('parseTime', () => {
	/** Every value through a Date, as parseTime did before it learnt to skip the Date for plain UTC values. */
	function throughDate(value: string): { base: string; fraction: string } | null {
		const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(value.trim());
		if (!m) return null;
		const time = m[2].length === 5 ? `${m[2]}:00` : m[2];
		let zone = (m[4] ?? 'Z').toUpperCase();
		if (zone !== 'Z') {
			const digits = zone.replace(':', '');
			zone = digits.length === 3 ? `${digits}:00` : `${digits.slice(0, 3)}:${digits.slice(3)}`;
		}
		const ms = Date.parse(`${m[1]}T${time}${zone}`);
		if (Number.isNaN(ms)) return null;
		const iso = new Date(ms).toISOString();
		return { base: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, fraction: m[3] ? m[3].slice(1) : '' };
	}

	const edges = [
		'2024-05-01T10:00:00Z',
		'2024-05-01 10:00:00.123456',
		'2024-05-01 10:00:00.123456+00',
		'2024-05-01T10:00:00.1+00:00',
		'2024-05-01T10:00:00-00:00',
		'2024-05-01T10:00:00+0000',
		'2024-05-01t10:00:00z',
		'2024-05-01T10:00',
		'2024-05-01 10:00:00 Z',
		' 2024-05-01T10:00:00Z ',
		'2024-05-01T12:00:00.5+02:00',
		'2024-05-01T01:00:00-0530',
		'2024-01-01T00:30:00+01',
		'2024-02-29T23:59:59.999999Z',
		'2023-02-29T00:00:00Z',
		'2024-02-30T00:00:00Z',
		'2100-02-29T00:00:00Z',
		'2000-02-29T00:00:00Z',
		'2024-04-31T00:00:00Z',
		'2024-12-31T23:59:59Z',
		'2024-01-01T24:00:00Z',
		'2024-01-01T24:00:00.5Z',
		'2024-01-01T23:59:60Z',
		'2024-01-01T23:60:00Z',
		'2024-13-01T00:00:00Z',
		'2024-00-10T00:00:00Z',
		'2024-01-00T00:00:00Z',
		'0000-00-00 00:00:00',
		'0000-01-01T00:00:00Z',
		'9999-12-31T23:59:59.9999999Z',
		'infinity',
		'2024-05-01',
		'',
	];

	test.each(edges)('%j reads as it does through a Date', (value) => {
		expect(parseTime(value)).toEqual(throughDate(value));
	});

	test('random date-times read as they do through a Date', () => {
		const r = prng(7);
		const two = (n: number) => String(n).padStart(2, '0');
		const zones = ['', 'Z', '+00', '+00:00', '-00:00', '+02:00', '-0930', '+14', ' Z'];
		const differ: string[] = [];
		let plain = 0;
		for (let i = 0; i < 20_000; i++) {
			const value =
				`${String(Math.floor(r() * 10_000)).padStart(4, '0')}-${two(Math.floor(r() * 14))}-${two(Math.floor(r() * 33))}` +
				`${r() < 0.5 ? 'T' : ' '}${two(Math.floor(r() * 26))}:${two(Math.floor(r() * 62))}${r() < 0.9 ? `:${two(Math.floor(r() * 62))}` : ''}` +
				`${r() < 0.5 ? `.${String(Math.floor(r() * 1e6))}` : ''}${zones[Math.floor(r() * zones.length)]}`;
			const got = parseTime(value);
			const expected = throughDate(value);
			if (JSON.stringify(got) !== JSON.stringify(expected)) differ.push(value);
			if (got) plain++;
		}
		expect(differ).toEqual([]);
		// The values cover both ways: most are date-times, some roll over or are no time at all.
		expect(plain).toBeGreaterThan(5_000);
	});

	test('the forms each dialect needs', () => {
		expect(toIsoUtc('2024-05-01 10:00:00.123456+00')).toBe('2024-05-01T10:00:00.123456Z');
		expect(readTime('2024-05-01 12:00:00+02')).toBe('2024-05-01T10:00:00Z');
		expect(readTime('infinity')).toBeNull();
		expect(readTime(null)).toBeNull();
		expect(toSqlUtc('2024-05-01T10:00:00.1234567Z')).toBe('2024-05-01 10:00:00.123456');
		expect(() => toSqlUtc('2024-13-01T00:00:00Z')).toThrow('is not a date-time');
	});
});

describe('lastValueCache', () => {
	test('converts again only when the value changes', () => {
		const convert = jest.fn((v: string) => v.toUpperCase());
		const cached = lastValueCache(convert);
		expect(['a', 'a', 'b', 'a'].map(cached)).toEqual(['A', 'A', 'B', 'A']);
		expect(convert).toHaveBeenCalledTimes(3);
	});
});

describe('planUpsert', () => {
	/** The plan as it was made before (a values object per record), in the plan's present form. */
	function reference(spec: TableSpec, records: UpsertRecord[], options: WriteOptions, columnNames: ReadonlySet<string>, nowValue: unknown): UpsertPlan {
		const merged: Array<{ id: string | null; values: SqlRow; label: string; index: number }> = [];
		const slotOf: number[] = [];
		const byId = new Map<string, number>();
		for (const record of records) {
			const values: SqlRow = {};
			for (const [field, value] of Object.entries(record.values)) {
				if (field === spec.idColumn) continue;
				if (!columnNames.has(field)) {
					if (options.ignoreUnknownFields) continue;
					throw new SyncItemError(`${record.label}: field "${field}" is not a column of table "${spec.table}"`, record.index, `data.${field}`);
				}
				values[field] = value === undefined ? null : value;
			}
			if (options.touchUpdatedAt && values[spec.updatedAtColumn] === undefined) values[spec.updatedAtColumn] = nowValue;
			if (spec.actorColumn && options.actor) values[spec.actorColumn] = options.actor;
			const existing = record.id === null ? undefined : byId.get(record.id);
			if (existing !== undefined) {
				Object.assign(merged[existing].values, values);
				slotOf.push(existing);
				continue;
			}
			if (record.id !== null) byId.set(record.id, merged.length);
			slotOf.push(merged.length);
			merged.push({ id: record.id, values, label: record.label, index: record.index });
		}
		const groups: UpsertPlan['groups'] = [];
		const groupOfKey = new Map<string, number>();
		const position: Array<{ group: number; row: number }> = [];
		for (const record of merged) {
			const columns = Object.keys(record.values).sort();
			const key = `${record.id === null ? 'new' : 'id'}\u0000${columns.join('\u0000')}`;
			let g = groupOfKey.get(key);
			if (g === undefined) {
				g = groups.length;
				groupOfKey.set(key, g);
				groups.push({ columns, records: [], rows: [] });
			}
			position.push({ group: g, row: groups[g].records.length });
			groups[g].records.push({ id: record.id, label: record.label, index: record.index });
			groups[g].rows.push(columns.map((c) => record.values[c]));
		}
		return { groups, slots: slotOf.map((m) => position[m]) };
	}

	const spec: TableSpec = { table: 'contacts', idColumn: 'id', updatedAtColumn: 'updated_at', actorColumn: 'who' };
	const columns = new Set(['id', 'email', 'name', 'city', 'updated_at', 'who', 'score']);
	const FIELDS = ['email', 'name', 'city', 'updated_at', 'who', 'score', 'id', 'unknown'];

	function plan(records: UpsertRecord[], options: WriteOptions) {
		const run = (f: typeof planUpsert) => {
			try {
				return f(spec, records, options, columns, 'NOW');
			} catch (error) {
				return { error: (error as Error).message, itemIndex: (error as SyncItemError).itemIndex };
			}
		};
		return { got: run(planUpsert), expected: run(reference) };
	}

	test('random batches are planned as before: fields, sync columns, duplicate ids, groups, unknown fields', () => {
		const r = prng(42);
		for (let batch = 0; batch < 400; batch++) {
			// A few shapes per batch (as real batches have), some fields in another order, some records repeated.
			const shapes = Array.from({ length: 1 + Math.floor(r() * 4) }, () => FIELDS.filter((f) => r() < (f === 'unknown' ? 0.05 : 0.6)).sort(() => r() - 0.5));
			const records: UpsertRecord[] = Array.from({ length: 1 + Math.floor(r() * 40) }, (_, k) => {
				const values: SqlRow = {};
				for (const field of shapes[Math.floor(r() * shapes.length)]) values[field] = r() < 0.1 ? (r() < 0.5 ? null : undefined) : `${field}-${k}`;
				return { id: r() < 0.3 ? null : String(Math.floor(r() * 30)), values, label: `item ${k}`, index: k };
			});
			const options: WriteOptions = {
				touchUpdatedAt: r() < 0.7,
				actor: r() < 0.6 ? 'datasync' : r() < 0.5 ? '' : undefined,
				now: '2030-01-01T00:00:00.000Z',
				ignoreUnknownFields: r() < 0.5,
			};
			const { got, expected } = plan(records, options);
			expect(got).toEqual(expected);
		}
	});

	test('a record carrying updated-at keeps it, also null; the actor column always gets the sync actor', () => {
		const records: UpsertRecord[] = [
			{ id: '1', values: { email: 'a', updated_at: '2024-01-01T00:00:00Z', who: 'ann' }, label: 'item 0', index: 0 },
			{ id: '2', values: { email: 'b', updated_at: null }, label: 'item 1', index: 1 },
			{ id: '3', values: { email: 'c' }, label: 'item 2', index: 2 },
		];
		const result = planUpsert(spec, records, { touchUpdatedAt: true, actor: 'datasync', now: 'x' }, columns, 'NOW');
		expect(result.groups).toHaveLength(1);
		expect(result.groups[0].columns).toEqual(['email', 'updated_at', 'who']);
		expect(result.groups[0].rows).toEqual([
			['a', '2024-01-01T00:00:00Z', 'datasync'],
			['b', null, 'datasync'],
			['c', 'NOW', 'datasync'],
		]);
	});

	test('the first record with an unknown field is named', () => {
		const records: UpsertRecord[] = [
			{ id: '1', values: { email: 'a' }, label: 'item 0', index: 0 },
			{ id: '2', values: { email: 'b', fax: '1' }, label: 'item 1 (contact / erp / 2)', index: 1 },
		];
		expect(() => planUpsert(spec, records, { touchUpdatedAt: false, now: 'x' }, columns, 'NOW')).toThrow(
			'item 1 (contact / erp / 2): field "fax" is not a column of table "contacts"',
		);
	});
});

describe('arrayLiteral', () => {
	test('text, numbers and booleans make the literal pg would make', () => {
		const values = ['plain', 'a "quoted", value', 'back\\slash', '{braces}', 'NULL', '', 'ünï 🚀', "o'brien", null, undefined, 42, -1.5, 1e21, true, false, 12345678901234567890n];
		expect(arrayLiteral(values)).toBe(pgUtils.prepareValue(values));
	});

	test('other values leave the array to pg', () => {
		for (const odd of [Buffer.from('x'), new Date(0), { a: 1 }, ['nested']]) {
			const values = ['a', odd];
			expect(arrayLiteral(values)).toBe(values);
		}
	});
});
