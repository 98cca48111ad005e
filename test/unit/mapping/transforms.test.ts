import { CURRENCY_EXPONENTS, currencyExponent, decimalToMinor, minorToDecimal } from '../../../lib/mapping';
import { broken, data, inbound, oneSystem, outbound } from './helpers';

const v = (outcome: Parameters<typeof data>[0]) => data(outcome).v;

describe('rename and paths', () => {
	it('reads and writes nested objects and arrays by index', () => {
		const m = oneSystem([
			{ canonical: 'city', system: 'address.city' },
			{ canonical: 'sku', system: 'variants[0].sku' },
			{ canonical: 'second', system: 'variants[1].sku' },
			{ canonical: 'meta.tag', system: 'tag' },
		]);
		const record = { address: { city: 'Köln' }, variants: [{ sku: 'A' }, { sku: 'B' }], tag: 't' };
		const canonical = data(m.toCanonical(record, '1'));
		expect(canonical).toEqual({ city: 'Köln', sku: 'A', second: 'B', meta: { tag: 't' } });
		expect(data(m.toSystem(canonical, '1'))).toEqual(record);
	});

	it('leaves out missing fields and keeps nulls', () => {
		const m = oneSystem([{ canonical: 'a', system: 'x.a' }, { canonical: 'b', system: 'b' }]);
		expect(data(m.toCanonical({ b: null }, '1'))).toEqual({ b: null });
		expect(data(m.toCanonical({ x: 'not an object' }, '1'))).toEqual({});
	});
});

describe('date', () => {
	it.each([
		['yyyy-MM-dd', '2024-01-01'],
		['dd/MM/yyyy', '01/01/2024'],
		['MM/dd/yyyy', '01/01/2024'],
		['iso', '2024-01-01'],
	])('%s ↔ canonical yyyy-MM-dd', (format, system) => {
		expect(v(inbound({ transform: 'date', options: { format } }, system))).toBe('2024-01-01');
		expect(v(outbound({ transform: 'date', options: { format } }, '2024-01-01'))).toBe(system);
	});

	it('reads day and month in the right order', () => {
		expect(v(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '02/03/2024'))).toBe('2024-03-02');
		expect(v(inbound({ transform: 'date', options: { format: 'MM/dd/yyyy' } }, '02/03/2024'))).toBe('2024-02-03');
	});

	it('accepts leap days only in leap years', () => {
		expect(v(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '29/02/2024'))).toBe('2024-02-29');
		expect(v(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '29/02/2000'))).toBe('2000-02-29');
		expect(broken(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '29/02/2023'))).toEqual([['v', 'format']]);
		expect(broken(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '29/02/1900'))).toEqual([['v', 'format']]);
	});

	it('refuses an impossible date instead of shifting it', () => {
		const outcome = inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '31/02/2024');
		expect(broken(outcome)).toEqual([['v', 'format']]);
		expect(outcome.ok || outcome.errors[0].message).toMatch(/"31\/02\/2024" is not a valid date in format dd\/MM\/yyyy/);
		expect(broken(outbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '2024-02-31'))).toEqual([['v', 'format']]);
	});

	it('refuses text in another format', () => {
		expect(broken(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, '2024-01-01'))).toEqual([['v', 'format']]);
		expect(broken(inbound({ transform: 'date', options: { format: 'dd/MM/yyyy' } }, 20240101))).toEqual([['v', 'format']]);
	});
});

describe('datetime', () => {
	const berlin = { transform: 'datetime', options: { format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' } };

	it('reads ISO 8601 with any offset into UTC, and writes it in the zone asked for', () => {
		expect(v(inbound({ transform: 'datetime' }, '2024-01-01T10:00:00+02:00'))).toBe('2024-01-01T08:00:00.000Z');
		expect(v(inbound({ transform: 'datetime', options: { format: 'iso', zone: 'America/New_York' } }, '2024-07-01T10:00:00'))).toBe('2024-07-01T14:00:00.000Z');
		expect(v(outbound({ transform: 'datetime', options: { format: 'iso', zone: 'Asia/Kolkata' } }, '2024-01-01T00:00:00.000Z'))).toBe('2024-01-01T05:30:00.000+05:30');
		expect(v(outbound({ transform: 'datetime' }, '2024-01-01T05:30:00+05:30'))).toBe('2024-01-01T00:00:00.000Z');
	});

	it('reads a date or time without offset in the zone', () => {
		expect(v(inbound({ transform: 'datetime', options: { zone: 'Europe/Berlin' } }, '2024-01-01'))).toBe('2023-12-31T23:00:00.000Z');
		expect(v(inbound({ transform: 'datetime', options: { zone: 'Europe/Berlin' } }, '2024-07-01T12:00'))).toBe('2024-07-01T10:00:00.000Z');
		expect(v(inbound({ transform: 'datetime', options: { zone: 'Europe/Berlin' } }, '2024-07-01T12:00:00-0400'))).toBe('2024-07-01T16:00:00.000Z');
	});

	it('reads and writes epoch seconds and milliseconds', () => {
		expect(v(inbound({ transform: 'datetime', options: { format: 'epochSeconds' } }, 1704067200))).toBe('2024-01-01T00:00:00.000Z');
		expect(v(inbound({ transform: 'datetime', options: { format: 'epochSeconds' } }, '1704067200'))).toBe('2024-01-01T00:00:00.000Z');
		expect(v(inbound({ transform: 'datetime', options: { format: 'epochMillis' } }, 1704067200123))).toBe('2024-01-01T00:00:00.123Z');
		expect(v(outbound({ transform: 'datetime', options: { format: 'epochMillis' } }, '2024-01-01T00:00:00.123Z'))).toBe(1704067200123);
		expect(v(outbound({ transform: 'datetime', options: { format: 'epochSeconds' } }, '2024-01-01T00:00:00.999Z'))).toBe(1704067200);
		expect(broken(inbound({ transform: 'datetime', options: { format: 'epochSeconds' } }, 1.5))).toEqual([['v', 'format']]);
	});

	it('reads local times in a zone across daylight saving time', () => {
		expect(v(inbound(berlin, '31/03/2024 01:59:59'))).toBe('2024-03-31T00:59:59.000Z');
		expect(v(inbound(berlin, '31/03/2024 03:00:00'))).toBe('2024-03-31T01:00:00.000Z');
		expect(v(outbound(berlin, '2024-03-31T00:59:59.000Z'))).toBe('31/03/2024 01:59:59');
		expect(v(outbound(berlin, '2024-03-31T01:00:00.000Z'))).toBe('31/03/2024 03:00:00');
	});

	it('refuses a local time skipped by the change to summer time, never shifting it', () => {
		const outcome = inbound(berlin, '31/03/2024 02:30:00');
		expect(broken(outcome)).toEqual([['v', 'format']]);
		expect(outcome.ok || outcome.errors[0].message).toMatch(/does not exist in time zone Europe\/Berlin/);
		expect(broken(inbound({ transform: 'datetime', options: { zone: 'America/New_York' } }, '2024-03-10T02:15:00'))).toEqual([['v', 'format']]);
	});

	it('reads a local time that occurs twice (clocks going back) as the earlier one', () => {
		expect(v(inbound(berlin, '27/10/2024 02:30:00'))).toBe('2024-10-27T00:30:00.000Z');
		expect(v(outbound(berlin, '2024-10-27T00:30:00.000Z'))).toBe('27/10/2024 02:30:00');
		expect(v(outbound(berlin, '2024-10-27T01:30:00.000Z'))).toBe('27/10/2024 02:30:00');
	});

	it('refuses impossible date-times', () => {
		expect(broken(inbound(berlin, '30/02/2024 10:00:00'))).toEqual([['v', 'format']]);
		expect(broken(inbound({ transform: 'datetime' }, '2024-02-30T10:00:00Z'))).toEqual([['v', 'format']]);
		expect(broken(outbound(berlin, 'yesterday'))).toEqual([['v', 'format']]);
	});
});

describe('number with locale separators', () => {
	it.each([
		[{ locale: 'de-DE' }, '1.234.567,89', 1234567.89],
		[{ locale: 'en-US' }, '1,234,567.89', 1234567.89],
		[{ locale: 'fr-FR' }, '1\u202f234,5', 1234.5],
		[{ decimalSeparator: ',', groupSeparator: '' }, '-1234,5', -1234.5],
		[{ decimalSeparator: ',', groupSeparator: "'" }, "12'345,25", 12345.25],
	])('%j reads %s', (options, text, number) => {
		expect(v(inbound({ transform: 'number', options }, text))).toBe(number);
		expect(v(outbound({ transform: 'number', options }, number))).toBe(text);
	});

	it('writes fixed decimals when asked', () => {
		expect(v(outbound({ transform: 'number', options: { locale: 'de-DE', decimals: 2 } }, 1234.5))).toBe('1.234,50');
	});

	it('refuses text that is not a number in that locale', () => {
		expect(broken(inbound({ transform: 'number', options: { locale: 'de-DE' } }, '1,234.5'))).toEqual([['v', 'format']]);
		expect(broken(inbound({ transform: 'number', options: { locale: 'de-DE' } }, '12.34'))).toEqual([['v', 'format']]);
		expect(broken(inbound({ transform: 'number', options: { locale: 'de-DE' } }, 'zwölf'))).toEqual([['v', 'format']]);
	});
});

describe('currency', () => {
	const rows = (unit: string) => oneSystem([
		{ canonical: 'currency', system: 'cur' },
		{ canonical: 'amount', system: 'amt', transform: 'currency', options: { unit, currencyField: 'currency' } },
	]);

	it('ships the full ISO 4217 exponent table', () => {
		expect(Object.keys(CURRENCY_EXPONENTS).length).toBeGreaterThanOrEqual(170);
		expect([currencyExponent('JPY'), currencyExponent('USD'), currencyExponent('KWD'), currencyExponent('CLF')]).toEqual([0, 2, 3, 4]);
		expect(['BHD', 'IQD', 'JOD', 'LYD', 'OMR', 'TND'].map(currencyExponent)).toEqual([3, 3, 3, 3, 3, 3]);
		expect(['BIF', 'CLP', 'ISK', 'KRW', 'PYG', 'VND', 'XAF', 'XOF', 'XPF'].map(currencyExponent)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
		expect(currencyExponent('XAU')).toBeUndefined();
	});

	it.each([
		['JPY', 1999, '1999'],
		['USD', 1999, '19.99'],
		['USD', 5, '0.05'],
		['USD', -5, '-0.05'],
		['KWD', 1500, '1.500'],
		['CLF', 12345, '1.2345'],
	])('%s: %d minor units ↔ %s', (currency, minor, decimal) => {
		const m = rows('minor');
		expect(data(m.toCanonical({ cur: currency, amt: minor }, '1'))).toEqual({ currency, amount: decimal });
		expect(data(m.toSystem({ currency, amount: decimal }, '1'))).toEqual({ cur: currency, amt: minor });
	});

	it('normalises decimal text to the currency\'s decimals, refusing extra decimals instead of rounding', () => {
		const m = rows('decimal');
		expect(data(m.toCanonical({ cur: 'USD', amt: '12.5' }, '1')).amount).toBe('12.50');
		expect(data(m.toCanonical({ cur: 'USD', amt: '12.5000' }, '1')).amount).toBe('12.50');
		expect(data(m.toCanonical({ cur: 'KWD', amt: '7' }, '1')).amount).toBe('7.000');
		expect(broken(m.toCanonical({ cur: 'USD', amt: '12.505' }, '1'))).toEqual([['amt', 'currency']]);
		expect(broken(m.toCanonical({ cur: 'JPY', amt: '100.5' }, '1'))).toEqual([['amt', 'currency']]);
		expect(broken(m.toSystem({ currency: 'JPY', amount: '100.5' }, '1'))).toEqual([['amount', 'currency']]);
	});

	it('reads JSON numbers exactly', () => {
		const m = rows('number');
		expect(data(m.toCanonical({ cur: 'USD', amt: 19.99 }, '1')).amount).toBe('19.99');
		expect(data(m.toSystem({ currency: 'USD', amount: '19.99' }, '1')).amt).toBe(19.99);
		expect(data(m.toCanonical({ cur: 'JPY', amt: 1000 }, '1')).amount).toBe('1000');
		expect(broken(m.toCanonical({ cur: 'USD', amt: 0.1 + 0.2 }, '1'))).toEqual([['amt', 'currency']]);
	});

	it('needs a known currency code', () => {
		expect(broken(rows('minor').toCanonical({ cur: 'EURO', amt: 100 }, '1'))).toEqual([['amt', 'currency']]);
		expect(broken(rows('minor').toCanonical({ amt: 100 }, '1'))).toEqual([['amt', 'currency']]);
	});

	it('takes a fixed currency', () => {
		expect(v(inbound({ transform: 'currency', options: { currency: 'BHD' } }, 1234))).toBe('1.234');
	});

	it('converts with exact integer arithmetic', () => {
		expect(decimalToMinor('90071992547409.91', 2, 'USD')).toBe(9007199254740991);
		expect(() => decimalToMinor('90071992547409.92', 2, 'USD')).toThrow(/too large/);
		expect(minorToDecimal(0, 3)).toBe('0.000');
		expect(decimalToMinor('-0.00', 2, 'USD')).toBe(0);
	});
});

describe('value map', () => {
	const statuses = { transform: 'valueMap', options: { values: { A: 'active', I: 'inactive' } } };

	it('maps enum to enum and derives the inverse', () => {
		expect(v(inbound(statuses, 'A'))).toBe('active');
		expect(v(outbound(statuses, 'inactive'))).toBe('I');
	});

	it('refuses unknown values unless a default is given', () => {
		expect(broken(inbound(statuses, 'X'))).toEqual([['v', 'unknownValue']]);
		expect(broken(outbound(statuses, 'archived'))).toEqual([['v', 'unknownValue']]);
		const withDefaults = { transform: 'valueMap', options: { ...statuses.options, default: 'inactive', systemDefault: 'I' } };
		expect(v(inbound(withDefaults, 'X'))).toBe('inactive');
		expect(v(outbound(withDefaults, 'archived'))).toBe('I');
	});

	it('keeps JSON types of the pairs', () => {
		const flags = { transform: 'valueMap', options: { values: [{ system: 1, canonical: true }, { system: 0, canonical: false }] } };
		expect(v(inbound(flags, 1))).toBe(true);
		expect(v(outbound(flags, false))).toBe(0);
	});
});

describe('case, trim, boolean, default, constant', () => {
	it('changes case, both ways when the system case is declared', () => {
		expect(v(inbound({ transform: 'case', options: { canonical: 'upper', system: 'lower' } }, 'de'))).toBe('DE');
		expect(v(outbound({ transform: 'case', options: { canonical: 'upper', system: 'lower' } }, 'DE'))).toBe('de');
		expect(v(inbound({ transform: 'case', options: { canonical: 'title' } }, 'ÉMILE ZOLA-DURAND'))).toBe('Émile Zola-Durand');
	});

	it('trims', () => {
		expect(v(inbound({ transform: 'trim' }, '  Zoë \n'))).toBe('Zoë');
	});

	it.each([
		[{}, true, false],
		[{ true: 'yes', false: 'no' }, 'yes', 'no'],
		[{ true: 'Y', false: 'N' }, 'Y', 'N'],
		[{ true: 1, false: 0 }, 1, 0],
		[{ true: '1', false: '0' }, '1', '0'],
	])('spells booleans %j', (options, yes, no) => {
		expect(v(inbound({ transform: 'boolean', options }, yes))).toBe(true);
		expect(v(inbound({ transform: 'boolean', options }, no))).toBe(false);
		expect(v(outbound({ transform: 'boolean', options }, true))).toBe(yes);
		expect(v(outbound({ transform: 'boolean', options }, false))).toBe(no);
	});

	it('reads boolean spellings regardless of case and refuses others', () => {
		expect(v(inbound({ transform: 'boolean', options: { true: 'yes', false: 'no' } }, 'YES'))).toBe(true);
		expect(broken(inbound({ transform: 'boolean', options: { true: 'yes', false: 'no' } }, 'maybe'))).toEqual([['v', 'unknownValue']]);
		expect(broken(outbound({ transform: 'boolean' }, 'true'))).toEqual([['v', 'type']]);
	});

	it('fills a missing value with a default, on the side it is missing', () => {
		const row = { transform: 'default', options: { canonical: 'US', system: 'XX' } };
		expect(data(inbound(row, undefined))).toEqual({ v: 'US' });
		expect(data(inbound(row, ''))).toEqual({ v: 'US' });
		expect(v(inbound(row, 'DE'))).toBe('DE');
		expect(v(outbound(row, null))).toBe('XX');
	});

	it('sets a constant on one side and checks it on the way back', () => {
		const m = oneSystem([
			{ canonical: 'currency', transform: 'constant', options: { value: 'USD' } },
			{ system: 'unit', transform: 'constant', options: { value: 'kg' } },
			{ canonical: 'x', system: 'x' },
		]);
		expect(data(m.toCanonical({ x: 1, unit: 'lb' }, '1'))).toEqual({ currency: 'USD', x: 1 });
		expect(data(m.toSystem({ currency: 'USD', x: 1 }, '1'))).toEqual({ unit: 'kg', x: 1 });
		expect(broken(m.toSystem({ currency: 'EUR', x: 1 }, '1'))).toEqual([['currency', 'constant']]);
	});
});

describe('combine and split', () => {
	it('splits a full name at the first separator and joins it back exactly', () => {
		const m = oneSystem([{ canonical: ['first', 'last'], system: 'full', transform: 'split' }]);
		expect(data(m.toCanonical({ full: 'Gabriel García Márquez' }, '1'))).toEqual({ first: 'Gabriel', last: 'García Márquez' });
		expect(data(m.toCanonical({ full: 'Cher' }, '1'))).toEqual({ first: 'Cher' });
		expect(data(m.toSystem({ first: 'Gabriel', last: 'García Márquez' }, '1'))).toEqual({ full: 'Gabriel García Márquez' });
		expect(data(m.toSystem({ first: 'Cher' }, '1'))).toEqual({ full: 'Cher' });
	});

	it('combines one way, or both ways with an explicit inverse', () => {
		const oneWay = oneSystem([{ canonical: 'full', system: ['first', 'last'], transform: 'combine', options: { separator: ', ' } }], { direction: 'toCanonical' });
		expect(data(oneWay.toCanonical({ first: 'Ada', last: 'Lovelace' }, '1'))).toEqual({ full: 'Ada, Lovelace' });
		const twoWay = oneSystem([
			{ canonical: 'full', system: ['last', 'first'], transform: 'combine', options: { separator: ', ' }, inverse: { transform: 'split', options: { separator: ', ' } } },
		]);
		expect(data(twoWay.toCanonical({ first: 'Ada', last: 'Lovelace' }, '1'))).toEqual({ full: 'Lovelace, Ada' });
		expect(data(twoWay.toSystem({ full: 'Lovelace, Ada' }, '1'))).toEqual({ last: 'Lovelace', first: 'Ada' });
	});

	it('gives a value-transform inverse to a one-way value transform', () => {
		const m = oneSystem([{ canonical: 'code', system: 'code', transform: 'trim', inverse: { transform: 'case', options: { canonical: 'lower' } } }]);
		expect(data(m.toCanonical({ code: ' AB ' }, '1'))).toEqual({ code: 'AB' });
		expect(data(m.toSystem({ code: 'AB' }, '1'))).toEqual({ code: 'ab' });
	});
});
