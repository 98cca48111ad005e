import type { FieldRules } from '../../../lib/mapping';
import { broken, oneSystem } from './helpers';

/** Checks `value` as canonical field "f" with the rules (mapping it in from system field "f"). */
function check(rules: FieldRules, value: unknown, extra: Record<string, unknown> = {}) {
	const m = oneSystem([{ canonical: 'f', system: 'f' }, { canonical: 'currency', system: 'currency' }], {}, { fields: { f: rules } });
	const record = value === undefined ? { ...extra } : { f: value, ...extra };
	return broken(m.toCanonical(record, '9'));
}

describe('validation before write', () => {
	it.each<[FieldRules, unknown, Array<[string, string]>]>([
		[{ required: true }, 'x', []],
		[{ required: true }, undefined, [['f', 'required']]],
		[{ required: true }, null, [['f', 'required']]],
		[{ required: true }, '', [['f', 'required']]],
		[{ type: 'string' }, 5, [['f', 'type']]],
		[{ type: 'string' }, undefined, []],
		[{ type: 'number' }, '5', [['f', 'type']]],
		[{ type: 'integer' }, 5.5, [['f', 'type']]],
		[{ type: 'integer' }, 5, []],
		[{ type: 'boolean' }, 'true', [['f', 'type']]],
		[{ type: 'date' }, '2024-02-29', []],
		[{ type: 'date' }, '2023-02-29', [['f', 'type']]],
		[{ type: 'datetime' }, '2024-01-01T00:00:00.000Z', []],
		[{ type: 'datetime' }, '2024-01-01', [['f', 'type']]],
		[{ type: 'decimal' }, '12.50', []],
		[{ type: 'decimal' }, 12.5, [['f', 'type']]],
		[{ type: 'object' }, [], [['f', 'type']]],
		[{ type: 'array' }, [], []],
		[{ pattern: '[A-Z]{2}' }, 'DE', []],
		[{ pattern: '[A-Z]{2}' }, 'DEU', [['f', 'pattern']]],
		[{ pattern: '\\p{Lu}+' }, 'ÄÖÜ', []],
		[{ min: 0, max: 10 }, 10, []],
		[{ min: 0, max: 10 }, -1, [['f', 'min']]],
		[{ min: 0, max: 10 }, 11, [['f', 'max']]],
		[{ type: 'decimal', min: 0 }, '-0.01', [['f', 'min']]],
		[{ type: 'date', min: '1900-01-01' }, '1899-12-31', [['f', 'min']]],
		[{ enum: ['a', 'b'] }, 'b', []],
		[{ enum: ['a', 'b'] }, 'c', [['f', 'enum']]],
		[{ enum: [1, 2] }, '1', [['f', 'enum']]],
		[{ email: true }, 'zoë@exämple.de', []],
		[{ email: true }, 'a@b', [['f', 'email']]],
		[{ email: true }, 'a b@c.de', [['f', 'email']]],
		[{ maxLength: 3 }, 'abc', []],
		[{ maxLength: 3 }, 'abcd', [['f', 'maxLength']]],
		// Counted in characters, not UTF-16 units: three emoji are three characters.
		[{ maxLength: 3 }, '😀😀😀', []],
		[{ type: 'number', min: 1, max: 0 }, 0.5, [['f', 'min'], ['f', 'max']]],
	])('%j on %j', (rules, value, expected) => {
		expect(check(rules, value)).toEqual(expected);
	});

	it('checks that an amount has no more decimals than its currency', () => {
		const rules: FieldRules = { type: 'decimal', currencyField: 'currency' };
		expect(check(rules, '1.500', { currency: 'KWD' })).toEqual([]);
		expect(check(rules, '1.50', { currency: 'JPY' })).toEqual([['f', 'currency']]);
		expect(check(rules, '1', { currency: 'nope' })).toEqual([['f', 'currency']]);
	});

	it('names entity, record id, system, field and rule in each error', () => {
		const m = oneSystem([{ canonical: 'email', system: 'mail' }], {}, { fields: { email: { required: true, email: true } } });
		const outcome = m.toCanonical({ mail: 'nope' }, '42');
		expect(outcome).toEqual({
			ok: false,
			errors: [
				{
					entity: 'thing',
					system: 'sys',
					id: '42',
					field: 'email',
					rule: 'email',
					message: 'thing 42 in sys: field "email" must be an email address, got "nope" (rule "email")',
				},
			],
		});
		expect(m.toCanonical({}, null)).toMatchObject({ ok: false, errors: [{ id: null, message: expect.stringMatching(/^thing \(new\) in sys: field "email" is required/) }] });
	});

	it('checks the canonical record before writing to a system, and the system\'s own rules after', () => {
		const m = oneSystem([{ canonical: 'name', system: 'NAME' }], { validate: { NAME: { maxLength: 5 } } }, { fields: { name: { required: true } } });
		expect(broken(m.toSystem({}, '1'))).toEqual([['name', 'required']]);
		expect(broken(m.toSystem({ name: 'Bartholomew' }, '1'))).toEqual([['NAME', 'maxLength']]);
		expect(broken(m.toCanonical({ NAME: 'Bartholomew' }, '1'))).toEqual([['NAME', 'maxLength']]);
	});

	it('reports a field whose transform failed once, not again as missing', () => {
		const m = oneSystem([{ canonical: 'd', system: 'd', transform: 'date', options: { format: 'dd/MM/yyyy' } }], {}, { fields: { d: { required: true, type: 'date' } } });
		expect(broken(m.toCanonical({ d: '31/02/2024' }, '1'))).toEqual([['d', 'format']]);
	});
});
