/**
 * Round trip for every shipped mapping and system: a system record → canonical → system gives the
 * record back. System records are generated as the system writes them (a generated canonical record
 * mapped out), so they cover what the canonical rules allow: Unicode text, leap days, times around
 * daylight saving changes in Europe/Berlin, and amounts in 0-, 2-, 3- and 4-decimal currencies.
 */
import fc from 'fast-check';

import { SHIPPED_MAPPINGS, SHIPPED_MAPPING_NAMES, compileMapping, minorToDecimal, type FieldRules } from '../../../lib/mapping';
import { parsePath, setPath } from '../../../lib/mapping/path';

const CURRENCIES = ['JPY', 'KRW', 'USD', 'EUR', 'KWD', 'BHD', 'TND', 'CLF'];
const EXPONENT: Record<string, number> = { JPY: 0, KRW: 0, USD: 2, EUR: 2, KWD: 3, BHD: 3, TND: 3, CLF: 4 };

const DAY = 86_400_000;
// Daylight saving changes in Europe/Berlin (and the last day of February in leap and common years).
const EDGES = ['2024-03-31T01:00:00Z', '2024-10-27T01:00:00Z', '2025-03-30T01:00:00Z', '2025-10-26T01:00:00Z', '2024-02-29T23:00:00Z', '2023-02-28T23:00:00Z'].map(Date.parse);

/** Instants anywhere from 1970 to 2100, or within two hours of an edge; whole seconds or with milliseconds. */
const instant = fc
	.oneof(
		fc.integer({ min: 0, max: 4_102_444_800_000 }),
		fc.tuple(fc.constantFrom(...EDGES), fc.integer({ min: -7_200_000, max: 7_200_000 })).map(([e, d]) => e + d),
	)
	.map((ms) => new Date(ms).toISOString());

const leapDays = fc.constantFrom('2024-02-29', '2000-02-29', '1904-02-29', '2096-02-29');
const date = fc.oneof(leapDays, fc.integer({ min: Date.parse('1800-01-01'), max: Date.parse('2099-12-31') }).map((ms) => new Date(Math.floor(ms / DAY) * DAY).toISOString().slice(0, 10)));

const text = (maxLength: number, minLength: number) => fc.string({ unit: 'grapheme', minLength, maxLength: Math.min(maxLength, 40) });

/** A value the canonical rules accept. */
function valueFor(rules: FieldRules): fc.Arbitrary<unknown> {
	if (rules.enum) return fc.constantFrom(...rules.enum);
	if (rules.email) return fc.emailAddress().filter((e) => e.length <= (rules.maxLength ?? 254) && /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u.test(e));
	if (rules.pattern) return fc.stringMatching(new RegExp(`^(?:${rules.pattern})$`, 'u'));
	switch (rules.type) {
		case 'date':
			return date;
		case 'datetime':
			return instant;
		case 'boolean':
			return fc.boolean();
		case 'integer':
			return fc.integer({ min: Number(rules.min ?? -1e9), max: Number(rules.max ?? 1e9) });
		case 'number':
			// Up to three decimals, as weights and measures are kept.
			return fc.integer({ min: Number(rules.min ?? -1e6) * 1000, max: Number(rules.max ?? 1e6) * 1000 }).map((n) => n / 1000 + 0);
		case 'decimal':
			return fc.constant('amount');
		default:
			// A required field is missing when empty.
			return text(rules.maxLength ?? 100, rules.required ? 1 : 0);
	}
}

/** A canonical record of the entity: required fields always, others present, null or absent. */
function canonicalRecord(fields: Record<string, FieldRules>): fc.Arbitrary<Record<string, unknown>> {
	const entries = Object.entries(fields).map(([name, rules]) => {
		const value = valueFor(rules);
		return fc.tuple(fc.constant(name), rules.required ? value : fc.oneof(value, fc.constant(null), fc.constant(undefined)));
	});
	return fc.tuple(fc.tuple(...entries), fc.constantFrom(...CURRENCIES), fc.array(fc.integer({ min: 0, max: 1_000_000_000_000 }), { minLength: 4, maxLength: 4 })).map(([pairs, currency, amounts]) => {
		const record: Record<string, unknown> = {};
		let nextAmount = 0;
		for (const [name, value] of pairs) {
			if (value === undefined) continue;
			let v = value;
			if (fields[name].currencyField) v = value === null ? null : minorToDecimal(amounts[nextAmount++], EXPONENT[currency]);
			else if (name === 'currency') v = currency;
			setPath(record, parsePath(name)!.segments, v);
		}
		return record;
	});
}

describe.each(SHIPPED_MAPPING_NAMES)('round trip of the shipped %s mapping', (name) => {
	const doc = SHIPPED_MAPPINGS[name];
	const mapping = compileMapping(doc);
	const records = canonicalRecord(doc.canonical!.fields!);

	it.each(Object.keys(doc.systems))('system %s → canonical → system gives the record back', (system) => {
		const mapper = mapping.systems.get(system)!;
		fc.assert(
			fc.property(records, (canonical) => {
				const out = mapper.toSystem(canonical, '1');
				if (!out.ok) throw new Error(`canonical record refused: ${out.errors.map((e) => e.message).join('; ')}`);
				const inbound = mapper.toCanonical(out.data, '1');
				if (!inbound.ok) throw new Error(`system record refused: ${inbound.errors.map((e) => e.message).join('; ')}`);
				const back = mapper.toSystem(inbound.data, '1');
				if (!back.ok) throw new Error(`mapped record refused: ${back.errors.map((e) => e.message).join('; ')}`);
				expect(back.data).toEqual(out.data);
			}),
			{ numRuns: 150 },
		);
	});

	it('every system gives the canonical record back, except where it keeps less (seconds, an ambiguous hour, split names)', () => {
		// A split is exact on the system side only: first name "" and no last name come back as first name "".
		const split = new Set(Object.values(doc.systems).flatMap((s) => s.fields.filter((f) => f.transform === 'split').flatMap((f) => [f.canonical ?? []].flat())));
		fc.assert(
			fc.property(records, (canonical) => {
				for (const system of Object.keys(doc.systems)) {
					const mapper = mapping.systems.get(system)!;
					const out = mapper.toSystem(canonical, '1');
					if (!out.ok) throw new Error(out.errors.map((e) => e.message).join('; '));
					const inbound = mapper.toCanonical(out.data, '1');
					if (!inbound.ok) throw new Error(inbound.errors.map((e) => e.message).join('; '));
					// What differs may only be a time, by less than a second or by the hour clocks go back.
					const diffs = differences(canonical, inbound.data);
					for (const [path, a, b] of diffs) {
						if (split.has(path) && system === 'erp') continue;
						const delta = Math.abs(Date.parse(String(a)) - Date.parse(String(b)));
						if (!(delta < 1000 || Math.abs(delta - 3_600_000) < 1000)) throw new Error(`${system}: ${path} ${String(a)} became ${String(b)}`);
					}
				}
			}),
			{ numRuns: 100 },
		);
	});
});

/** Leaf differences between two records: [path, left, right]. */
function differences(a: unknown, b: unknown, path = ''): Array<[string, unknown, unknown]> {
	if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
		const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
		return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
	}
	return Object.is(a, b) ? [] : [[path, a, b]];
}
