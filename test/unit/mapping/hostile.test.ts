/**
 * Hostile input at the Mapper (issue 13, item 3, the Mapper part): every rule violated once, in both
 * directions, each giving exactly one field error that names the record, the field and the rule;
 * impossible dates, numbers as strings, NUL bytes and lone surrogates; `__proto__` / `constructor` keys
 * and paths (Object.prototype is checked untouched after every case); mapping definitions pasted with
 * errors, each refused with a message naming the system and the row; the wrap option's bad ids and ops.
 */
import { SyncItemError } from '../../../lib/item';
import { MappingConfigError, compileMapping, compileWrap, type FieldMapping, type FieldRules, type MappingDocument, type SystemMapping } from '../../../lib/mapping';
import { assertNoPollution, defineOwn } from '../fuzz/properties';
import { broken, oneSystem } from './helpers';

afterEach(() => assertNoPollution());

// ---- every check, violated once, both ways -------------------------------------------------------------

const CANONICAL: Record<string, FieldRules> = {
	email: { type: 'string', required: true, email: true, maxLength: 254 },
	name: { type: 'string', maxLength: 10 },
	code: { type: 'string', pattern: '[A-Z]{2}' },
	age: { type: 'integer', min: 0, max: 150 },
	score: { type: 'number' },
	active: { type: 'boolean' },
	birthDate: { type: 'date', min: '1800-01-01', max: '2100-12-31' },
	seenAt: { type: 'datetime' },
	price: { type: 'decimal', currencyField: 'currency', min: 0 },
	currency: { type: 'string', pattern: '[A-Z]{3}' },
	status: { type: 'string', enum: ['active', 'inactive'] },
	tags: { type: 'array' },
	meta: { type: 'object' },
};
const VALID: Record<string, unknown> = {
	email: 'ada@example.com',
	name: 'Ada',
	code: 'DE',
	age: 36,
	score: 9.5,
	active: true,
	birthDate: '1815-12-10',
	seenAt: '2024-05-01T10:00:00.000Z',
	price: '19.99',
	currency: 'USD',
	status: 'active',
	tags: ['math'],
	meta: { source: 'crm' },
};
const checked = compileMapping({
	entity: 'contact',
	canonical: { fields: CANONICAL },
	systems: { erp: { idField: 'id', fields: Object.keys(CANONICAL).map((f) => ({ canonical: f, system: f })) } },
}).systems.get('erp')!;

/** [field, value, rule]: one broken rule per case. */
const CHECK_CASES: Array<[string, unknown, string]> = [
	['email', undefined, 'required'],
	['email', null, 'required'],
	['email', '', 'required'],
	['name', 42, 'type'],
	['name', true, 'type'],
	['name', { first: 'Ada' }, 'type'],
	['age', '42', 'type'],
	['age', 1.5, 'type'],
	['score', '3.14', 'type'],
	['score', Number.NaN, 'type'],
	['score', Number.POSITIVE_INFINITY, 'type'],
	['active', 'true', 'type'],
	['active', 1, 'type'],
	['birthDate', '2024-1-1', 'type'],
	['seenAt', '2024-05-01', 'type'],
	['seenAt', 'yesterday', 'type'],
	['price', 12.5, 'type'],
	['tags', 'a,b', 'type'],
	['meta', [], 'type'],
	['code', 'de', 'pattern'],
	['code', 'DEU', 'pattern'],
	['code', 'D E', 'pattern'],
	['age', -1, 'min'],
	['age', 151, 'max'],
	['birthDate', '1799-12-31', 'min'],
	['birthDate', '2101-01-01', 'max'],
	['price', '-0.01', 'min'],
	['status', 'Active', 'enum'],
	['status', 'deleted', 'enum'],
	['status', ' active', 'enum'],
	['email', 'no-at-sign', 'email'],
	['email', 'a@b', 'email'],
	['email', 'a b@example.com', 'email'],
	['email', 'a@@example.com', 'email'],
	['name', 'x'.repeat(11), 'maxLength'],
	['name', 'ä'.repeat(11), 'maxLength'],
	['name', '😀'.repeat(11), 'maxLength'],
	['price', '12.505', 'currency'],
	// Impossible dates and times: never shifted to the next valid one.
	['birthDate', '2023-02-29', 'type'],
	['birthDate', '2024-02-30', 'type'],
	['birthDate', '2024-04-31', 'type'],
	['birthDate', '2024-13-01', 'type'],
	['birthDate', '2024-00-10', 'type'],
	['birthDate', '0000-00-00', 'type'],
	['seenAt', '2024-01-01T24:00:00Z', 'type'],
	['seenAt', '2024-02-30T10:00:00Z', 'type'],
	['seenAt', '2024-01-01T10:60:00Z', 'type'],
	['seenAt', '2023-02-29T10:00:00Z', 'type'],
	// Text no target stores as sent.
	['name', 'a\u0000b', 'text'],
	['name', '\uD800', 'text'],
	['name', 'x\uDC00y', 'text'],
	['email', 'ada\u0000@example.com', 'text'],
	['age', 1e-7, 'type'],
	['price', true, 'type'],
	['code', 'Dé', 'pattern'],
];

describe('every check violated once gives one error naming the record, the field and the rule', () => {
	it.each(CHECK_CASES)('%s = %p breaks "%s", on the way in and on the way out', (field, value, rule) => {
		const record: Record<string, unknown> = { ...VALID, id: 7 };
		if (value === undefined) delete record[field];
		else record[field] = value;
		const inbound = checked.toCanonical(record, '7');
		expect(broken(inbound)).toEqual([[field, rule]]);
		const [error] = inbound.ok ? [] : inbound.errors;
		expect(error).toMatchObject({ entity: 'contact', system: 'erp', id: '7' });
		expect(error.message).toMatch(new RegExp(`^contact 7 in erp: field "${field}" .* \\(rule "${rule}"\\)$`));
		// The canonical checks also run on the input on the way out: nothing invalid is written.
		const { id: _id, ...canonical } = record;
		expect(broken(checked.toSystem(canonical, '7'))).toEqual([[field, rule]]);
	});

	it('the valid record, a pair of surrogates (an emoji) and the year 0001 are accepted both ways', () => {
		for (const record of [VALID, { ...VALID, name: 'Ada 😀' }, { ...VALID, birthDate: '1800-01-01' }]) {
			expect(broken(checked.toCanonical(record, '7'))).toEqual([]);
			expect(broken(checked.toSystem(record, '7'))).toEqual([]);
		}
		const yearOne = oneSystem([{ canonical: 'd', system: 'd' }], {}, { fields: { d: { type: 'date' } } });
		expect(broken(yearOne.toCanonical({ d: '0001-01-01' }, '1'))).toEqual([]);
	});

	it('a currency code no ISO 4217 table knows fails the amount, naming the amount', () => {
		expect(broken(checked.toCanonical({ ...VALID, currency: 'ZZZ' }, '7'))).toEqual([['price', 'currency']]);
	});
});

// ---- every transform, fed what it cannot read --------------------------------------------------------

type TransformCase = [label: string, row: Omit<FieldMapping, 'canonical' | 'system'>, way: 'in' | 'out', value: unknown, rule: string];

const TRANSFORM_CASES: TransformCase[] = [
	['date dd/MM/yyyy: 29 February of a common year', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', '29/02/2023', 'format'],
	['date dd/MM/yyyy: 31 April', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', '31/04/2024', 'format'],
	['date dd/MM/yyyy: day 0', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', '00/01/2024', 'format'],
	['date dd/MM/yyyy: the wrong format', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', '2024-02-01', 'format'],
	['date dd/MM/yyyy: a number', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', 20240201, 'format'],
	['date dd/MM/yyyy: a NUL after a valid date', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', '29/02/2024\u0000', 'text'],
	['date out: an impossible canonical date', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'out', '2023-02-29', 'format'],
	['datetime Berlin: a time skipped by daylight saving', { transform: 'datetime', options: { format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' } }, 'in', '31/03/2024 02:30:00', 'format'],
	['datetime iso: 24:00', { transform: 'datetime', options: { format: 'iso' } }, 'in', '2024-01-01T24:00:00Z', 'format'],
	['datetime iso: 30 February', { transform: 'datetime', options: { format: 'iso' } }, 'in', '2024-02-30T10:00:00Z', 'format'],
	['datetime iso: a lone surrogate', { transform: 'datetime', options: { format: 'iso' } }, 'in', '2024-01-01T10:00:00Z\uD800', 'text'],
	['datetime epochSeconds: a fraction', { transform: 'datetime', options: { format: 'epochSeconds' } }, 'in', 1.5, 'format'],
	['datetime epochMillis: beyond the range of dates', { transform: 'datetime', options: { format: 'epochMillis' } }, 'in', 1e20, 'format'],
	['datetime out: not ISO 8601', { transform: 'datetime', options: { format: 'epochMillis' } }, 'out', 'last tuesday', 'format'],
	['number de-DE: English separators', { transform: 'number', options: { locale: 'de-DE' } }, 'in', '1,234.5', 'format'],
	['number de-DE: letters', { transform: 'number', options: { locale: 'de-DE' } }, 'in', '12abc', 'format'],
	['number out: a number as a string', { transform: 'number', options: { locale: 'de-DE' } }, 'out', '12', 'type'],
	['number out: NaN', { transform: 'number', options: { locale: 'de-DE' } }, 'out', Number.NaN, 'type'],
	['currency minor USD: a fraction of a cent', { transform: 'currency', options: { unit: 'minor', currency: 'USD' } }, 'in', 19.5, 'format'],
	['currency decimal JPY: decimals the yen has not', { transform: 'currency', options: { unit: 'decimal', currency: 'JPY' } }, 'in', '100.5', 'currency'],
	['currency number KWD: four decimals', { transform: 'currency', options: { unit: 'number', currency: 'KWD' } }, 'in', 1.2345, 'currency'],
	['currency out: more decimals than USD', { transform: 'currency', options: { unit: 'minor', currency: 'USD' } }, 'out', '12.505', 'currency'],
	['valueMap: an unknown system value', { transform: 'valueMap', options: { values: { A: 'active', I: 'inactive' } } }, 'in', 'X', 'unknownValue'],
	['valueMap: a number for a text code', { transform: 'valueMap', options: { values: { A: 'active', I: 'inactive' } } }, 'in', 1, 'unknownValue'],
	['valueMap out: an unknown canonical value', { transform: 'valueMap', options: { values: { A: 'active', I: 'inactive' } } }, 'out', 'deleted', 'unknownValue'],
	['boolean Y/N: "maybe"', { transform: 'boolean', options: { true: 'Y', false: 'N' } }, 'in', 'maybe', 'unknownValue'],
	['boolean Y/N: an object', { transform: 'boolean', options: { true: 'Y', false: 'N' } }, 'in', { toString: 'Y' }, 'unknownValue'],
	['boolean 1/0: "2"', { transform: 'boolean', options: { true: 1, false: 0 } }, 'in', '2', 'unknownValue'],
	['boolean out: a string', { transform: 'boolean', options: { true: 'Y', false: 'N' } }, 'out', 'yes', 'type'],
	['case: a number', { transform: 'case', options: { canonical: 'upper', system: 'lower' } }, 'in', 42, 'format'],
	['trim: a list', { transform: 'trim' }, 'in', [' a '], 'format'],
	['date dd/MM/yyyy: a date with no day', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'in', '/02/2024', 'format'],
	['datetime Berlin: 25:00', { transform: 'datetime', options: { format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' } }, 'in', '01/01/2024 25:00:00', 'format'],
	['datetime Berlin: 24:30', { transform: 'datetime', options: { format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' } }, 'in', '01/01/2024 24:30:00', 'format'],
	['currency minor USD: cents as decimal text', { transform: 'currency', options: { unit: 'minor', currency: 'USD' } }, 'in', '19.99', 'format'],
	['rename: a NUL byte', {}, 'in', 'Ada\u0000', 'text'],
	['rename out: a lone surrogate', {}, 'out', 'Ada\uDBFF', 'text'],
];

describe('every transform refuses what it cannot read, naming the field', () => {
	it.each(TRANSFORM_CASES)('%s', (_label, row, way, value, rule) => {
		const mapper = oneSystem([{ canonical: 'v', system: 'v', ...row }], { direction: way === 'in' ? 'toCanonical' : 'toSystem' });
		const outcome = way === 'in' ? mapper.toCanonical({ v: value }, '3') : mapper.toSystem({ v: value }, '3');
		expect(broken(outcome)).toEqual([['v', rule]]);
		expect(outcome.ok ? '' : outcome.errors[0].message).toMatch(new RegExp(`^thing 3 in sys: field "v" .*\\(rule "${rule}"\\)$`));
	});

	// Hostile-looking input the format documents as valid (lib/mapping/FORMAT.md): taken, with the exact value.
	it.each<[string, Omit<FieldMapping, 'canonical' | 'system'>, 'in' | 'out', unknown, unknown]>([
		// ISO 8601: 24:00 is the end of the day, the next day's 00:00 (never a shifted hour).
		['datetime Berlin: 24:00:00 is the next midnight', { transform: 'datetime', options: { format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' } }, 'in', '01/01/2024 24:00:00', '2024-01-01T23:00:00.000Z'],
		// Bigint columns arrive as text from pg: whole numbers as text are numbers of seconds or minor units.
		['datetime epochSeconds: whole seconds as text', { transform: 'datetime', options: { format: 'epochSeconds' } }, 'in', '1704067200', '2024-01-01T00:00:00.000Z'],
		['currency minor USD: whole cents as text', { transform: 'currency', options: { unit: 'minor', currency: 'USD' } }, 'in', '1999', '19.99'],
		['currency out: a JSON number amount is read as its decimal text', { transform: 'currency', options: { unit: 'minor', currency: 'USD' } }, 'out', 12.5, 1250],
		// The proleptic calendar has a year 0 (1 BC); a canonical "min" keeps it from targets that have none.
		['date out: year 0000', { transform: 'date', options: { format: 'dd/MM/yyyy' } }, 'out', '0000-01-01', '01/01/0000'],
	])('%s', (_label, row, way, value, expected) => {
		const mapper = oneSystem([{ canonical: 'v', system: 'v', ...row }], { direction: way === 'in' ? 'toCanonical' : 'toSystem' });
		expect(way === 'in' ? mapper.toCanonical({ v: value }, '3') : mapper.toSystem({ v: value }, '3')).toEqual({ ok: true, data: { v: expected } });
	});

	it('a canonical constant other than the system\'s is refused on the way out (rule "constant")', () => {
		const mapper = oneSystem([{ canonical: 'currency', transform: 'constant', options: { value: 'USD' } }, { canonical: 'a', system: 'a' }]);
		expect(broken(mapper.toSystem({ currency: 'EUR', a: 1 }, '3'))).toEqual([['currency', 'constant']]);
	});

	it('split and combine refuse parts that are not text, and text with a NUL', () => {
		const split = oneSystem([{ canonical: ['first', 'last'], system: 'full', transform: 'split' }]);
		expect(broken(split.toCanonical({ full: 42 }, '3'))).toEqual([['full', 'type']]);
		expect(broken(split.toCanonical({ full: 'Ada\u0000 Lovelace' }, '3'))).toEqual([['full', 'text']]);
		const combine = oneSystem([{ canonical: 'full', system: ['first', 'last'], transform: 'combine' }], { direction: 'toCanonical' });
		expect(broken(combine.toCanonical({ first: 1, last: 'Lovelace' }, '3'))).toEqual([['first', 'type']]);
	});

	it('a cleared split (both parts null) clears the joined field, as null stays null for one field', () => {
		const split = oneSystem([{ canonical: ['first', 'last'], system: 'full', transform: 'split' }]);
		expect(split.toSystem({ first: null, last: null }, '3')).toEqual({ ok: true, data: { full: null } });
		expect(split.toSystem({}, '3')).toEqual({ ok: true, data: {} });
	});

	it('unmapped "fail" names each field without correspondence (rule "unmapped")', () => {
		const mapper = oneSystem([{ canonical: 'a', system: 'a' }], { unmapped: 'fail' });
		expect(broken(mapper.toCanonical({ a: 1, b: 2, "name'; DROP TABLE contacts; --": 3 }, '3'))).toEqual([
			['b', 'unmapped'],
			["name'; DROP TABLE contacts; --", 'unmapped'],
		]);
	});
});

// ---- prototype pollution: keys and paths ---------------------------------------------------------------

describe('__proto__, constructor and friends never reach a prototype', () => {
	const parsed = () => JSON.parse('{"a":1,"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}') as Record<string, unknown>;

	it.each<[string, SystemMapping['unmapped'], Array<[string, string]>]>([
		['drop', 'drop', []],
		['keep', 'keep', [['__proto__', 'unmapped']]],
		['fail', 'fail', [['__proto__', 'unmapped'], ['constructor', 'unmapped']]],
	])('a record with own "__proto__" and "constructor" keys, unmapped %s', (_label, unmapped, expected) => {
		const mapper = oneSystem([{ canonical: 'a', system: 'a' }], { unmapped });
		const outcome = mapper.toCanonical(parsed(), '1');
		expect(broken(outcome)).toEqual(expected);
		if (outcome.ok) expect(Object.getOwnPropertyNames(outcome.data)).toEqual(['a']);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it('"constructor" kept is kept as a plain field and given back to its system', () => {
		const mapper = oneSystem([{ canonical: 'a', system: 'a' }], { unmapped: 'keep' });
		const record = { a: 1, constructor: { prototype: { polluted: 'yes' } } };
		const outcome = mapper.toCanonical(record, '1');
		expect(outcome).toEqual({ ok: true, data: { a: 1, _unmapped: { sys: { constructor: { prototype: { polluted: 'yes' } } } } } });
		expect(mapper.toSystem(outcome.ok ? outcome.data : {}, '1')).toEqual({ ok: true, data: record });
	});

	it('a "__proto__" smuggled into the side field is not given back', () => {
		const mapper = oneSystem([{ canonical: 'a', system: 'a' }], { unmapped: 'keep' });
		const canonical: Record<string, unknown> = { a: 1, _unmapped: { sys: {} } };
		defineOwn((canonical._unmapped as Record<string, Record<string, unknown>>).sys, '__proto__', { polluted: 'yes' });
		defineOwn((canonical._unmapped as Record<string, Record<string, unknown>>).sys, 'b.__proto__.polluted', 'yes');
		expect(mapper.toSystem(canonical, '1')).toEqual({ ok: true, data: { a: 1 } });
	});

	it.each([
		['constructor', 'constructor'],
		['constructor.prototype.x', 'c'],
		['toString', 'toString'],
		['valueOf.x', 'hasOwnProperty'],
	])('canonical path %s from system field %s is written as own fields', (canonicalPath, systemPath) => {
		const mapper = oneSystem([{ canonical: canonicalPath, system: systemPath }]);
		const record: Record<string, unknown> = {};
		defineOwn(record, systemPath, 'v');
		const outcome = mapper.toCanonical(record, '1');
		expect(outcome.ok).toBe(true);
		const data = outcome.ok ? outcome.data : {};
		expect(JSON.parse(JSON.stringify(data))).toEqual(canonicalPath.split('.').reduceRight<unknown>((v, k) => ({ [k]: v }), 'v'));
		expect(mapper.toSystem(data, '1')).toEqual({ ok: true, data: record });
	});

	it('an inherited member is not a field: a record without "toString" maps to nothing', () => {
		const mapper = oneSystem([{ canonical: 'toString', system: 'toString' }, { canonical: 'a', system: 'a' }]);
		expect(mapper.toCanonical({ a: 1 }, '1')).toEqual({ ok: true, data: { a: 1 } });
	});
});

// ---- mapping definitions pasted with errors ---------------------------------------------------------

const row = (r: Partial<FieldMapping> = {}): FieldMapping => ({ canonical: 'email', system: 'email', ...r });
const doc = (system: Partial<SystemMapping> & Record<string, unknown>, rest: Partial<MappingDocument> & Record<string, unknown> = {}): unknown => ({
	entity: 'contact',
	systems: { erp: { fields: [row(), row({ canonical: 'name', system: 'name' })], ...system } },
	...rest,
});

/** [what, document, message]: each refused when it compiles, the message naming where. */
const DEFINITION_CASES: Array<[string, unknown, RegExp]> = [
	['not an object', '{"entity":', /must be a JSON object/],
	['a list', [], /must be a JSON object/],
	['a misspelt top-level key', doc({}, { sytems: {} }), /unknown key "sytems" at the top/],
	['another format', doc({}, { format: 'datasync-mapping/2' }), /"format" must be "datasync-mapping\/1"/],
	['no entity', doc({}, { entity: '' }), /"entity" must be a non-empty string/],
	['an entity that is a number', doc({}, { entity: 42 as never }), /"entity" must be a non-empty string/],
	['systems as a list', { entity: 'contact', systems: [] }, /"systems" must be an object/],
	['no systems', { entity: 'contact', systems: {} }, /"systems" must be an object/],
	['a system that is a string', { entity: 'contact', systems: { erp: 'email' } }, /system "erp": must be an object/],
	['fields that are an object', doc({ fields: {} as never }), /system "erp": "fields" must be a non-empty list/],
	['no fields', doc({ fields: [] }), /system "erp": "fields" must be a non-empty list/],
	['a row that is a string', doc({ fields: [row(), 'email' as never] }), /system "erp", row 2: must be an object/],
	['a row with a misspelt key', doc({ fields: [row(), { ...row({ canonical: 'name', system: 'name' }), tranform: 'trim' } as never] }), /system "erp", row 2: unknown key "tranform"/],
	['an unknown transform', doc({ fields: [row(), row({ canonical: 'name', system: 'name', transform: 'rot13' })] }), /system "erp", row 2: unknown transform "rot13"/],
	['a transform that is a number', doc({ fields: [row({ transform: 7 as never })] }), /system "erp", row 1: unknown transform 7/],
	['a canonical field that is a number', doc({ fields: [row({ canonical: 42 as never })] }), /system "erp", row 1: canonical field 42 is not a field name/],
	['a system path with an empty segment', doc({ fields: [row(), row({ canonical: 'name', system: 'name..first' })] }), /system "erp", row 2: system field "name..first" is not a field name/],
	['options as a list', doc({ fields: [row({ options: [] as never })] }), /system "erp", row 1: "options" must be an object/],
	['an inverse as text', doc({ fields: [row({ inverse: 'trim' as never })] }), /system "erp", row 1: "inverse" must be/],
	['a misspelt option', doc({ fields: [row({ transform: 'date', options: { fromat: 'dd/MM/yyyy' } })] }), /system "erp", row 1 .*has no option "fromat"/],
	['a time zone that does not exist', doc({ fields: [row({ transform: 'datetime', options: { zone: 'Mars/Olympus' } })] }), /system "erp", row 1 .*"Mars\/Olympus" is not a time zone/],
	['the same separator twice', doc({ fields: [row({ transform: 'number', options: { decimalSeparator: ',', groupSeparator: ',' } })] }), /system "erp", row 1 .*must differ/],
	['a currency that is not ISO 4217', doc({ fields: [row({ transform: 'currency', options: { currency: 'BTC' } })] }), /system "erp", row 1 .*"BTC" is not an ISO 4217/],
	['a currency code field not mapped', doc({ fields: [row({ transform: 'currency', options: { currencyField: 'currency' } })] }), /system "erp", row 1 .*"currency" is not mapped/],
	['a value map with a system value twice', doc({ fields: [row({ transform: 'valueMap', options: { values: [{ system: 1, canonical: 'a' }, { system: 1, canonical: 'b' }] } })] }), /system "erp", row 1 .*lists the system value 1 twice/],
	['a value map with no values', doc({ fields: [row({ transform: 'valueMap', options: { values: {} } })] }), /system "erp", row 1 .*is empty/],
	['a two-way value map with a shared canonical value', doc({ fields: [row({ transform: 'valueMap', options: { values: { A: 'x', B: 'x' } } })] }), /system "erp", row 1 .*one-way/],
	['a boolean with one spelling for both', doc({ fields: [row({ transform: 'boolean', options: { true: 'Y', false: 'y' } })] }), /system "erp", row 1 .*different spellings/],
	['a boolean spelt as an object', doc({ fields: [row({ transform: 'boolean', options: { true: {}, false: 'N' } })] }), /system "erp", row 1 .*option "true" must be text/],
	['a case that is a prototype member', doc({ fields: [row({ transform: 'case', options: { canonical: 'constructor' } })] }), /system "erp", row 1 .*must be "lower", "upper" or "title"/],
	['trim in a two-way mapping', doc({ fields: [row({ transform: 'trim' })] }), /system "erp", row 1 \(canonical "email"\): the transform is one-way/],
	['combine with no inverse', doc({ fields: [{ canonical: 'name', system: ['first', 'last'], transform: 'combine' }] }), /system "erp", row 1 \(canonical "name"\): the transform is one-way/],
	['combine inverted by trim', doc({ fields: [{ canonical: 'name', system: ['first', 'last'], transform: 'combine', inverse: { transform: 'trim' } }] }), /system "erp", row 1 .*inverse of "combine" must be "split"/],
	['split into one field', doc({ fields: [{ canonical: 'name', system: 'full', transform: 'split' }] }), /system "erp", row 1 .*"split" cuts one system field into several/],
	['a constant on both sides', doc({ fields: [row({ transform: 'constant', options: { value: 'x' } })] }), /system "erp", row 1 .*give either "canonical" or "system"/],
	['a constant without a value', doc({ fields: [{ canonical: 'currency', transform: 'constant', options: {} }] }), /system "erp", row 1 .*exactly one option, "value"/],
	['two rows to one canonical field (duplicate target)', doc({ fields: [row(), row({ system: 'mail' })] }), /system "erp": canonical field "email" \(row 2\) overlaps "email" \(row 1\)/],
	['two rows from one system field', doc({ fields: [row(), row({ canonical: 'mail' })] }), /system "erp": system field "email" \(row 2\) overlaps "email" \(row 1\)/],
	['a field inside another mapped field', doc({ fields: [row({ canonical: 'address', system: 'addr' }), row({ canonical: 'address.city', system: 'city' })] }), /canonical field "address.city" \(row 2\) overlaps "address" \(row 1\)/],
	['the id field mapped as a field', doc({ idField: 'email' }), /system field "email" \("idField"\) overlaps "email" \(row 1\)/],
	['a misspelt system key', doc({ feilds: [] }), /system "erp": unknown key "feilds"/],
	['a direction that is not one', doc({ direction: 'sideways' as never }), /system "erp": "direction" must be "both", "toCanonical" or "toSystem", got "sideways"/],
	['an unmapped policy that is not one', doc({ unmapped: 'ignore' as never }), /system "erp": "unmapped" must be "drop", "keep" or "fail", got "ignore"/],
	['sensitive as text', doc({ sensitive: 'password' as never }), /system "erp": "sensitive" must be a list/],
	['an id field that is a number', doc({ idField: 42 as never }), /system "erp": "idField" 42 is not a field path/],
	['a sensitive field mapped', doc({ sensitive: ['email'] }), /system "erp", row 1: system field "email" is sensitive/],
	['a sensitive field checked', doc({ sensitive: ['pin'], validate: { pin: { maxLength: 4 } } }), /system "erp", "validate": system field "pin" is sensitive/],
	['a canonical rule on a sensitive field', doc({}, { canonical: { fields: { ssn: { type: 'string' } }, sensitive: ['ssn'] } }), /"canonical.fields": "ssn" is sensitive/],
	['a misspelt rule', doc({}, { canonical: { fields: { email: { maxLenght: 5 } as never } } }), /"canonical.fields": field "email" has an unknown rule "maxLenght"/],
	['an unknown type', doc({}, { canonical: { fields: { email: { type: 'text' as never } } } }), /field "email" has an unknown type "text"/],
	['a type that is a prototype member', doc({}, { canonical: { fields: { email: { type: 'toString' as never } } } }), /field "email" has an unknown type "toString"/],
	['a type that is an object', doc({}, { canonical: { fields: { email: { type: { toString: '' } as never } } } }), /field "email" has an unknown type \{"toString":""\}/],
	['a pattern that is no regular expression', doc({}, { canonical: { fields: { email: { pattern: '([a-z' } } } }), /field "email" rule "pattern" is not a valid regular expression/],
	['a min that is a word', doc({}, { canonical: { fields: { age: { type: 'integer', min: 'none' } } } }), /field "age" rule "min" must be a number, got "none"/],
	['an empty enum', doc({}, { canonical: { fields: { status: { enum: [] } } } }), /field "status" rule "enum" must be a non-empty list/],
	['a maxLength as text', doc({}, { canonical: { fields: { name: { maxLength: '10' as never } } } }), /field "name" rule "maxLength" must be a whole number/],
	['a currency field that is an object', doc({}, { canonical: { fields: { price: { currencyField: { toString: 1 } as never } } } }), /field "price" rule "currencyField" is not a field path/],
	['rules that are a list', doc({}, { canonical: { fields: { name: [] as never } } }), /the rules of "name" must be an object/],
	['a misspelt canonical key', doc({}, { canonical: { feilds: {} } as never }), /"canonical" takes "fields" and "sensitive", not "feilds"/],
	// __proto__ anywhere a path goes.
	['a canonical path through __proto__', doc({ fields: [row({ canonical: '__proto__.polluted' })] }), /system "erp", row 1: canonical field "__proto__.polluted" is not a field name or dotted path \("__proto__" is reserved/],
	['a system path ending in __proto__', doc({ fields: [row({ system: 'a.__proto__' })] }), /system "erp", row 1: system field "a.__proto__" .*reserved/],
	['a split part through __proto__', doc({ fields: [{ canonical: ['first', '__proto__.last'], system: 'full', transform: 'split' }] }), /system "erp", row 1: canonical field "__proto__.last" .*reserved/],
	['a validate rule on __proto__', JSON.parse('{"entity":"contact","systems":{"erp":{"fields":[{"canonical":"a","system":"a"}],"validate":{"__proto__":{"maxLength":1}}}}}'), /system "erp" "validate": "__proto__" is not a field path \("__proto__" is reserved\)/],
	['a canonical rule on __proto__.x', doc({}, { canonical: { fields: { '__proto__.x': { type: 'string' } } } }), /"canonical.fields": "__proto__.x" is not a field path \("__proto__" is reserved\)/],
	['a side field named __proto__', doc({ sideField: '__proto__' }), /system "erp": "sideField" "__proto__" is not a field path/],
	['an id field named __proto__', doc({ idField: '__proto__' }), /system "erp": "idField" "__proto__" is not a field path/],
	['a sensitive field named __proto__', doc({ sensitive: ['__proto__'] }), /system "erp" "sensitive": system field "__proto__" .*reserved/],
	['a __proto__ key in a row', JSON.parse('{"entity":"contact","systems":{"erp":{"fields":[{"canonical":"a","system":"a","__proto__":{"transform":"trim"}}]}}}'), /system "erp", row 1: unknown key "__proto__"/],
	['a __proto__ key in the document', JSON.parse('{"entity":"contact","__proto__":{"systems":{}},"systems":{"erp":{"fields":[{"canonical":"a","system":"a"}]}}}'), /unknown key "__proto__" at the top/],
];

describe('a mapping definition pasted with errors is refused with a message naming the system and the row', () => {
	it.each(DEFINITION_CASES)('%s', (_label, document, message) => {
		expect(() => compileMapping(document)).toThrow(MappingConfigError);
		expect(() => compileMapping(document)).toThrow(message);
	});
});

// ---- the wrap option: raw records from any node -------------------------------------------------------

describe('the wrap option refuses records it cannot make a DataSync item of, naming the field', () => {
	const mapping = compileMapping({ entity: 'contact', systems: { crm: { idField: 'id', fields: [{ canonical: 'email', system: 'email' }] } } });
	const wrap = compileWrap({ entity: 'contact', system: 'crm', opField: 'op', changedAtField: 'changedAt', shape: 'system', runId: 'r' }, mapping);

	it.each<[string, unknown, RegExp]>([
		['an id that is an object', { id: { $oid: '1' } }, /id field "id" must be a string or a number, got \{"\$oid":"1"\}/],
		['an id that is a list', { id: [1] }, /id field "id" must be a string or a number/],
		['an id that is a boolean', { id: true }, /id field "id" must be a string or a number/],
		['an id that is NaN', { id: Number.NaN }, /id field "id" must be a string or a number/],
		['an id with a NUL byte', { id: 'a\u0000b' }, /id field "id" must be printable text/],
		['an id with a line break', { id: 'a\nb' }, /id field "id" must be printable text/],
		['an id with a lone surrogate', { id: '\uD800' }, /id field "id" must be printable text/],
		['an id that is blank', { id: '   ' }, /id field "id" must be printable text/],
		['an id longer than 255 characters', { id: 'x'.repeat(256) }, /id field "id" is 256 characters, more than 255/],
		['an unknown op', { id: '1', op: 'explode' }, /op field "op" must be "upsert", "delete" or a boolean deleted flag, got "explode"/],
		['an op that is a number', { id: '1', op: 1 }, /op field "op" must be "upsert", "delete"/],
		['changedAt on 29 February 2023', { id: '1', changedAt: '2023-02-29T10:00:00Z' }, /changedAt field "changedAt" is not a date-time, got "2023-02-29T10:00:00Z"/],
		['changedAt in words', { id: '1', changedAt: 'yesterday' }, /changedAt field "changedAt" is not a date-time/],
		['a record that is a list', [{ id: '1' }], /a raw record must be an object/],
		['a record that is text', 'id=1', /a raw record must be an object/],
		['a record that is null', null, /a raw record must be an object/],
	])('%s', (_label, record, message) => {
		expect(() => wrap.wrap(record, 4)).toThrow(SyncItemError);
		expect(() => wrap.wrap(record, 4)).toThrow(message);
	});

	it('changedAt at 24:00 is the next midnight (ISO 8601), never another hour', () => {
		expect(wrap.wrap({ id: '1', changedAt: '2024-01-01T24:00:00Z' }, 0).changedAt).toBe('2024-01-02T00:00:00.000Z');
	});

	it('ids at the limit, numbers and Unicode are taken', () => {
		expect(wrap.wrap({ id: 'x'.repeat(255) }, 0).id).toBe('x'.repeat(255));
		expect(wrap.wrap({ id: 42 }, 0).id).toBe('42');
		expect(wrap.wrap({ id: 'kunde-ü-漢字-😀' }, 0).id).toBe('kunde-ü-漢字-😀');
	});

	it.each([
		['an id field through __proto__', { idField: '__proto__.id' }, /"idField" "__proto__.id" is not a field name/],
		['an op field that is no path', { opField: 'a..b' }, /"opField" "a..b" is not a field name/],
	])('refuses settings: %s', (_label, settings, message) => {
		expect(() => compileWrap({ entity: 'contact', system: 'crm', shape: 'system', runId: 'r', ...settings }, mapping)).toThrow(message);
	});
});
