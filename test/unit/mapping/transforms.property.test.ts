import fc from 'fast-check';

import { CURRENCY_EXPONENTS } from '../../../lib/mapping';
import { broken, data, oneSystem } from './helpers';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

describe('transforms on generated values', () => {
	const dates = oneSystem([
		{ canonical: 'eu', system: 'eu', transform: 'date', options: { format: 'dd/MM/yyyy' } },
		{ canonical: 'us', system: 'us', transform: 'date', options: { format: 'MM/dd/yyyy' } },
	]);

	it('reads every real date, leap days included, and writes it back the same', () => {
		const day = fc.integer({ min: 1600, max: 2400 }).chain((y) => fc.integer({ min: 1, max: 12 }).chain((m) => fc.integer({ min: 1, max: daysIn(y, m) }).map((d) => [y, m, d])));
		fc.assert(
			fc.property(day, ([y, m, d]) => {
				const record = { eu: `${pad(d)}/${pad(m)}/${y}`, us: `${pad(m)}/${pad(d)}/${y}` };
				const canonical = data(dates.toCanonical(record, '1'));
				expect(canonical).toEqual({ eu: `${y}-${pad(m)}-${pad(d)}`, us: `${y}-${pad(m)}-${pad(d)}` });
				expect(data(dates.toSystem(canonical, '1'))).toEqual(record);
			}),
		);
	});

	it('refuses every day past the end of its month instead of shifting it', () => {
		const shortMonths = [2, 4, 6, 9, 11];
		const impossible = fc.integer({ min: 1600, max: 2400 }).chain((y) => fc.constantFrom(...shortMonths).chain((m) => fc.integer({ min: daysIn(y, m) + 1, max: 31 }).map((d) => [y, m, d])));
		fc.assert(
			fc.property(impossible, ([y, m, d]) => {
				expect(broken(dates.toCanonical({ eu: `${pad(d)}/${pad(m)}/${y}` }, '1'))).toEqual([['eu', 'format']]);
			}),
		);
	});

	it('converts minor units of every ISO 4217 currency to decimal text and back', () => {
		const money = oneSystem([
			{ canonical: 'currency', system: 'currency' },
			{ canonical: 'amount', system: 'minor', transform: 'currency', options: { currencyField: 'currency' } },
		]);
		fc.assert(
			fc.property(fc.constantFrom(...Object.keys(CURRENCY_EXPONENTS)), fc.integer({ min: -1e12, max: 1e12 }), (currency, minor) => {
				const canonical = data(money.toCanonical({ currency, minor }, '1'));
				const decimals = (canonical.amount as string).split('.')[1]?.length ?? 0;
				expect(decimals).toBe(CURRENCY_EXPONENTS[currency]);
				expect(Number(canonical.amount)).toBeCloseTo(minor / 10 ** decimals, 4);
				expect(data(money.toSystem(canonical, '1'))).toEqual({ currency, minor });
			}),
		);
	});

	it('reads locale-formatted numbers and writes them back the same', () => {
		const de = oneSystem([{ canonical: 'n', system: 'n', transform: 'number', options: { locale: 'de-DE' } }]);
		const format = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 3 });
		fc.assert(
			fc.property(fc.integer({ min: -1e12, max: 1e12 }), (thousandths) => {
				const text = format.format(thousandths / 1000).replace('\u2212', '-');
				const canonical = data(de.toCanonical({ n: text }, '1'));
				expect(canonical.n).toBe(thousandths / 1000 + 0);
				expect(data(de.toSystem(canonical, '1'))).toEqual({ n: text });
			}),
		);
	});
});
