import { MappingConfigError, compileMapping, type FieldMapping, type MappingDocument } from '../../../lib/mapping';
import { oneSystem } from './helpers';

const refused = (fn: () => unknown) => {
	try {
		fn();
	} catch (e) {
		expect(e).toBeInstanceOf(MappingConfigError);
		return (e as Error).message;
	}
	throw new Error('expected the mapping to be refused');
};

const row = (r: Partial<FieldMapping>): FieldMapping => ({ canonical: 'a', system: 'a', ...r });

describe('compiling a mapping', () => {
	describe('one-way transforms', () => {
		it.each([
			['trim', {}],
			['case', { canonical: 'upper' }],
			['valueMap', { values: { a: 'x', b: 'x' } }],
		])('refuses %s in a two-way mapping, naming system, row and field', (transform, options) => {
			const message = refused(() => oneSystem([row({ canonical: 'ok', system: 'ok' }), row({ transform, options })]));
			expect(message).toMatch(/^system "sys", row 2 \(canonical "a"\): the transform is one-way but this mapping is two-way/);
			expect(message).toMatch(/explicit "inverse"/);
		});

		it('refuses combine without an inverse in a two-way mapping', () => {
			expect(refused(() => oneSystem([{ canonical: 'full', system: ['f', 'l'], transform: 'combine' }]))).toMatch(/one-way/);
		});

		it('accepts them in a one-way mapping, or with an explicit inverse', () => {
			expect(() => oneSystem([row({ transform: 'trim' })], { direction: 'toCanonical' })).not.toThrow();
			expect(() => oneSystem([row({ transform: 'trim', inverse: { transform: 'rename' } })])).not.toThrow();
			expect(() => oneSystem([{ canonical: 'full', system: ['f', 'l'], transform: 'combine' }], { direction: 'toCanonical' })).not.toThrow();
		});

		it('refuses a mapping to a system through a transform that has no way back', () => {
			expect(refused(() => oneSystem([{ canonical: 'full', system: ['f', 'l'], transform: 'combine' }], { direction: 'toSystem' }))).toMatch(
				/no way from canonical to system/,
			);
		});

		it('refuses an inverse of the wrong kind', () => {
			expect(refused(() => oneSystem([{ canonical: 'full', system: ['f', 'l'], transform: 'combine', inverse: { transform: 'trim' } }]))).toMatch(
				/inverse of "combine" must be "split"/,
			);
			expect(refused(() => oneSystem([row({ transform: 'trim', inverse: { transform: 'split' } })]))).toMatch(/inverse must be a value transform/);
		});
	});

	describe('options', () => {
		it.each([
			[{ transform: 'rot13' }, /unknown transform "rot13"/],
			[{ transform: 'date', options: { format: 'dd/MM/yyyy', zone: 'UTC' } }, /transform "date" has no option "zone"/],
			[{ transform: 'datetime', options: { zone: 'Mars/Olympus' } }, /"Mars\/Olympus" is not a time zone/],
			[{ transform: 'currency', options: { unit: 'minor' } }, /needs option "currencyField".*or "currency"/],
			[{ transform: 'currency', options: { currency: 'XAU' } }, /"XAU" is not an ISO 4217 currency code/],
			[{ transform: 'currency', options: { currency: 'USD', unit: 'cents' } }, /"unit" must be "minor", "decimal" or "number"/],
			[{ transform: 'number', options: { locale: 'xx-!!' } }, /is not a locale/],
			[{ transform: 'number', options: { decimalSeparator: '.', groupSeparator: '.' } }, /must differ/],
			[{ transform: 'number', options: { decimalSeparator: 1 } }, /"decimalSeparator" must be text/],
			[{ transform: 'valueMap', options: { values: { a: 1, b: 2 }, defaults: 3 } }, /no option "defaults"/],
			[{ transform: 'valueMap', options: {} }, /needs option "values"/],
			[{ transform: 'boolean', options: { true: 'Y', false: 'y' } }, /different spellings/],
			[{ transform: 'case', options: { canonical: 'shout' } }, /"lower", "upper" or "title"/],
			[{ transform: 'default', options: {} }, /needs option "canonical"/],
			[{ transform: 'constant', options: { value: 1 } }, /either "canonical" or "system", not both/],
			[{ transform: 'split', options: { separator: ' ' } }, /cuts one system field into several canonical fields/],
		])('refuses %j', (r, message) => {
			expect(refused(() => oneSystem([row(r as Partial<FieldMapping>)], { direction: 'toCanonical' }))).toMatch(message);
		});

		it('names the row in option errors', () => {
			expect(refused(() => oneSystem([row({}), row({ canonical: 'b', system: 'b', transform: 'date', options: { format: 'dd/MM/yyyy', x: 1 } })]))).toMatch(
				/^system "sys", row 2 \(canonical "b", system "b", transform "date"\): transform "date" has no option "x"/,
			);
		});
	});

	describe('fields', () => {
		it('refuses a field mapped twice or inside another mapped field', () => {
			expect(refused(() => oneSystem([row({ canonical: 'a' }), row({ canonical: 'b' })]))).toMatch(/system field "a" \(row 2\) overlaps "a" \(row 1\)/);
			expect(refused(() => oneSystem([row({ system: 'address' }), row({ canonical: 'b', system: 'address.city' })]))).toMatch(/overlaps/);
			expect(refused(() => oneSystem([row({ canonical: 'x' }), row({ canonical: 'x', system: 'b' })]))).toMatch(/canonical field "x" \(row 2\) overlaps/);
			expect(refused(() => oneSystem([row({ system: 'id' })], { idField: 'id' }))).toMatch(/"id" \("idField"\) overlaps/);
		});

		it('refuses paths that are not paths', () => {
			expect(refused(() => oneSystem([row({ system: 'a..b' })]))).toMatch(/system field "a\.\.b" is not a field name or dotted path/);
			expect(refused(() => oneSystem([row({ system: '[0]' })]))).toMatch(/not a field name/);
		});

		it('refuses a currency whose code field is not mapped', () => {
			expect(refused(() => oneSystem([row({ transform: 'currency', options: { currencyField: 'currency' } })]))).toMatch(
				/currency code field "currency" is not mapped for this system/,
			);
		});

		it('refuses to map a sensitive field, on either side', () => {
			expect(refused(() => oneSystem([row({ system: 'pw' })], { sensitive: ['pw'] }))).toMatch(/system field "pw" is sensitive \("pw"\) and is never synced/);
			expect(refused(() => oneSystem([row({ system: 'auth' })], { sensitive: ['auth.hash'] }))).toMatch(/sensitive \("auth\.hash"\)/);
			expect(refused(() => oneSystem([row({ canonical: 'passwordHash' })], {}, { sensitive: ['passwordHash'] }))).toMatch(/canonical field "passwordHash" is sensitive/);
			expect(refused(() => oneSystem([row({})], {}, { fields: { nationalId: { type: 'string' } }, sensitive: ['nationalId'] }))).toMatch(/is sensitive/);
		});
	});

	describe('document', () => {
		const base: MappingDocument = { entity: 'thing', systems: { sys: { fields: [{ canonical: 'a', system: 'a' }] } } };

		it.each([
			[null, /must be a JSON object/],
			[{ ...base, entity: '' }, /"entity" must be a non-empty string/],
			[{ ...base, systems: {} }, /"systems" must be an object with one mapping per system/],
			[{ ...base, format: 'other/2' }, /"format" must be "datasync-mapping\/1"/],
			[{ ...base, mappings: {} }, /unknown key "mappings"/],
			[{ ...base, systems: { sys: { fields: [] } } }, /"fields" must be a non-empty list/],
			[{ ...base, systems: { sys: { fields: [{ canonical: 'a', system: 'a', transfrom: 'date' }] } } }, /row 1: unknown key "transfrom"/],
			[{ ...base, systems: { sys: { fields: [{ canonical: 'a', system: 'a' }], unmapped: 'ignore' } } }, /"unmapped" must be "drop", "keep" or "fail"/],
			[{ ...base, systems: { sys: { fields: [{ canonical: 'a', system: 'a' }], direction: 'sideways' } } }, /"direction" must be/],
			[{ ...base, canonical: { fields: { a: { type: 'text' } } } }, /unknown type "text"/],
			[{ ...base, canonical: { fields: { a: { pattern: '(' } } } }, /"pattern" is not a valid regular expression/],
			[{ ...base, canonical: { fields: { a: { requird: true } } } }, /unknown rule "requird"/],
			[{ ...base, canonical: { fields: { a: { type: 'number', min: 'low' } } } }, /rule "min" must be a number/],
		])('refuses %j', (doc, message) => {
			expect(refused(() => compileMapping(doc))).toMatch(message);
		});

		it('exports the document with its format', () => {
			expect(compileMapping(base).document).toEqual({ format: 'datasync-mapping/1', ...base });
		});
	});
});
