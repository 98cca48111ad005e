/** The fast paths of lib/mapping/datetime.ts agree with luxon, which they stand in for. */
import fc from 'fast-check';
import { DateTime } from 'luxon';

import { formatInstant, millisToParts, numericFormat, parseCanonicalDate, parseInstant, partsToMillis } from '../../../lib/mapping/datetime';

const PATTERNS = ['yyyy-MM-dd', 'dd/MM/yyyy', 'MM/dd/yyyy', 'd.M.yyyy', 'dd/MM/yyyy HH:mm:ss', 'yyyy-MM-dd HH:mm:ss.SSS', "yyyyMMdd'T'HHmmss", 'M/d/yyyy H:mm'];
const instant = fc.integer({ min: Date.UTC(1, 0, 2), max: Date.UTC(9999, 11, 30) });

describe('date and time fast paths', () => {
	it.each(PATTERNS)('write %s as luxon does, and read back what luxon reads', (pattern) => {
		const format = numericFormat(pattern)!;
		expect(format).toBeDefined();
		fc.assert(
			fc.property(instant, (ms) => {
				const luxon = DateTime.fromMillis(ms, { zone: 'utc' });
				const text = format.format(millisToParts(ms));
				expect(text).toBe(luxon.toFormat(pattern));
				const parsed = format.parse(text);
				const byLuxon = DateTime.fromFormat(text, pattern, { zone: 'utc' });
				expect(typeof parsed === 'string' ? 'invalid' : partsToMillis(parsed)).toBe(byLuxon.isValid ? byLuxon.toMillis() : 'invalid');
			}),
			{ numRuns: 300 },
		);
	});

	it.each(['dd/MM/yyyy', 'MM/dd/yyyy', 'd.M.yyyy HH:mm'])('refuse what luxon refuses in %s', (pattern) => {
		const format = numericFormat(pattern)!;
		const digits = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, '0'));
		// Years from 0001: luxon rolls 24:00 of a day in year 0 back to that day's 00:00 (it reads 24:00 as the next day's 00:00 in every other year).
		const year = fc.integer({ min: 1, max: 9999 }).map((v) => String(v).padStart(4, '0'));
		const text = fc.tuple(digits(2), digits(2), year, digits(2), digits(2), fc.constantFrom('/', '.', '-')).map(([a, b, y, h, m, sep]) =>
			pattern.replace('dd', a).replace('MM', b).replace('d', String(Number(a))).replace('M', String(Number(b))).replace('yyyy', y).replace('HH', h).replace('mm', m).replace(/[/.]/g, (c) => (sep === '-' ? sep : c)),
		);
		fc.assert(
			fc.property(text, (t) => {
				const parsed = format.parse(t);
				const byLuxon = DateTime.fromFormat(t, pattern, { zone: 'utc' });
				expect(typeof parsed === 'string' ? 'invalid' : partsToMillis(parsed)).toBe(byLuxon.isValid ? byLuxon.toMillis() : 'invalid');
			}),
			{ numRuns: 500 },
		);
	});

	it('leaves other patterns to luxon', () => {
		expect(numericFormat('dd MMM yyyy')).toBeUndefined();
		expect(numericFormat('HH:mm')).toBeUndefined();
		expect(numericFormat('yyyy-MM-dd yyyy')).toBeUndefined();
	});

	it('reads canonical dates and instants as luxon does', () => {
		fc.assert(
			fc.property(instant, fc.integer({ min: -14 * 60, max: 14 * 60 }), (ms, offset) => {
				const text = formatInstant(ms, offset, false);
				// luxon writes Z for a zero offset; a zone that is not UTC writes +00:00 (as luxon does for it).
				const luxon = DateTime.fromMillis(ms, { zone: `UTC${offset < 0 ? '-' : '+'}${Math.floor(Math.abs(offset) / 60)}:${String(Math.abs(offset) % 60).padStart(2, '0')}` }).toISO()!;
				expect(text).toBe(offset === 0 ? luxon.replace(/Z$/, '+00:00') : luxon);
				expect(parseInstant(text)).toBe(ms);
				expect(parseInstant(formatInstant(ms, 0, true))).toBe(ms);
				const date = text.slice(0, 10);
				expect(parseCanonicalDate(date) && partsToMillis(parseCanonicalDate(date)!)).toBe(DateTime.fromISO(date, { zone: 'utc' }).toMillis());
			}),
			{ numRuns: 300 },
		);
		expect(parseCanonicalDate('2023-02-29')).toBeUndefined();
		expect(typeof parseInstant('2024-02-30T00:00:00Z')).toBe('string');
		expect(parseInstant('2024-01-01T00:00:00')).toBe(Date.UTC(2024, 0, 1));
	});
});
