/**
 * Value transforms: one system value ↔ one canonical value. Each says whether it is invertible
 * (toSystem(toCanonical(v)) gives v back for every value the system stores in the declared form) or
 * one-way. Options are checked when the mapping compiles; the functions returned do the per-value
 * work only. Record-level transforms (combine, split, constant) are in compile.ts.
 */
import { DateTime, Info, type TokenParser } from 'luxon';

import { MappingConfigError, RuleError, attempt, preview } from './errors';
import { currencyExponent } from './iso4217';
import {
	formatCanonicalDate,
	formatInstant,
	millisToParts,
	numericFormat,
	parseCanonicalDate,
	parseInstant,
	partsToMillis,
	type WallFormat,
	type WallTime,
} from './datetime';
import { escapeRegExp, getPath, parsePath } from './path';
import { isUtc, zoneClock, type ZoneClock } from './zone';

export interface ValueTransform {
	invertible: boolean;
	/** Called for missing (undefined, null, '') values too; other transforms pass null through. */
	fillsMissing?: boolean;
	/** A canonical field this transform reads (the currency code): its row must run after that field's row. */
	readsCanonical?: string;
	/** `canonical` is the canonical record: the one being built on the way in, the one read on the way out. */
	toCanonical(value: unknown, canonical: Record<string, unknown>): unknown;
	/** The way back; for a one-way transform a lossy one (trim trims again), used only in a toSystem mapping. */
	toSystem(value: unknown, canonical: Record<string, unknown>): unknown;
}

type Options = Record<string, unknown>;
type Factory = (options: Options) => ValueTransform;

function allowOnly(options: Options, allowed: string[], transform: string): void {
	for (const key of Object.keys(options)) {
		if (!allowed.includes(key)) {
			throw new MappingConfigError(
				`transform "${transform}" has no option "${key}"${allowed.length ? ` (it takes ${allowed.join(', ')})` : ' (it takes none)'}`,
			);
		}
	}
}

function stringOption(options: Options, key: string, transform: string, fallback?: string): string {
	const value = options[key] ?? fallback;
	if (typeof value !== 'string' || value === '') {
		throw new MappingConfigError(`transform "${transform}" needs option "${key}" as a non-empty string, got ${preview(value)}`);
	}
	return value;
}

function optionalString(options: Options, key: string, transform: string): string | undefined {
	return options[key] === undefined || options[key] === '' ? undefined : stringOption(options, key, transform);
}

const identity: ValueTransform = {
	invertible: true,
	toCanonical: (v) => v,
	toSystem: (v) => v,
};

// ---- text ------------------------------------------------------------------------------------------

type CaseName = 'lower' | 'upper' | 'title';
const CASES: Record<CaseName, (s: string) => string> = {
	lower: (s) => s.toLowerCase(),
	upper: (s) => s.toUpperCase(),
	title: (s) => s.toLowerCase().replace(/(^|[\s\-'])(\p{L})/gu, (_m, sep: string, letter: string) => sep + letter.toUpperCase()),
};

function caseOption(options: Options, key: string): CaseName | undefined {
	const value = options[key];
	if (value === undefined || value === '' || value === 'none') return undefined;
	if (typeof value !== 'string' || !Object.prototype.hasOwnProperty.call(CASES, value)) {
		throw new MappingConfigError(`transform "case" option "${key}" must be "lower", "upper" or "title", got ${preview(value)}`);
	}
	return value as CaseName;
}

function text(value: unknown, rule: string): string {
	if (typeof value !== 'string') throw new RuleError(rule, `must be text, got ${preview(value)}`);
	return value;
}

const caseTransform: Factory = (options) => {
	allowOnly(options, ['canonical', 'system'], 'case');
	const canonical = caseOption(options, 'canonical');
	if (!canonical) throw new MappingConfigError('transform "case" needs option "canonical" ("lower", "upper" or "title")');
	const system = caseOption(options, 'system');
	const toCanonical = CASES[canonical];
	// Declaring the case the system stores makes the transform invertible for the values it stores;
	// without it the original case is lost and the way back leaves the canonical case as it is.
	const toSystem = system ? CASES[system] : (s: string) => s;
	return {
		invertible: system !== undefined,
		toCanonical: (v) => toCanonical(text(v, 'format')),
		toSystem: (v) => toSystem(text(v, 'format')),
	};
};

const trimTransform: Factory = (options) => {
	allowOnly(options, [], 'trim');
	const trim = (v: unknown) => text(v, 'format').trim();
	// Surrounding whitespace is gone once trimmed: one-way.
	return { invertible: false, toCanonical: trim, toSystem: trim };
};

// ---- dates ----------------------------------------------------------------------------------------

/** An ISO 8601 date-time that states its offset (a date alone, 2024-01-01, does not). */
const HAS_OFFSET = /T.*(Z|[+-]\d{2}(:?\d{2})?)$/i;
/** The range of JavaScript dates: beyond it there is no ISO text to write. */
const MAX_MS = 8.64e15;

function checkZone(zone: string, transform: string): void {
	if (!isUtc(zone) && !Info.isValidIANAZone(zone)) {
		throw new MappingConfigError(`transform "${transform}" option "zone": "${zone}" is not a time zone (use an IANA name such as "Europe/Berlin", or "UTC")`);
	}
}

/** A luxon format compiled once (luxon's own fromFormat compiles it again on every call). */
function formatParser(format: string, transform: string, locale: string): TokenParser {
	const probe = DateTime.fromObject({ year: 2024, month: 2, day: 29, hour: 13, minute: 4, second: 5 }, { zone: 'utc', locale });
	const parser = attempt(() => DateTime.buildFormatParser(format, { locale }));
	if (!parser.ok || !DateTime.fromFormatParser(probe.toFormat(format), parser.value, { zone: 'utc', setZone: true }).isValid) {
		throw new MappingConfigError(`transform "${transform}" option "format": "${format}" is not a date format luxon can read back`);
	}
	return parser.value;
}

/** Reads and writes wall-clock parts in a pattern: numeric patterns directly, any other through luxon. */
function wallFormat(pattern: string, transform: string, locale: string): WallFormat {
	const numeric = numericFormat(pattern);
	if (numeric) return numeric;
	const parser = formatParser(pattern, transform, locale);
	return {
		parse(input) {
			const dt = DateTime.fromFormatParser(input, parser, { zone: 'utc' });
			return dt.isValid ? millisToParts(dt.toMillis()) : (dt.invalidExplanation ?? dt.invalidReason ?? 'invalid');
		},
		format: (parts) => DateTime.fromMillis(partsToMillis(parts), { zone: 'utc', locale }).toFormat(pattern),
	};
}

/** Whether a format writes the offset or zone itself (tokens Z, ZZ, ZZZ, z outside quoted text). */
function formatHasZone(format: string): boolean {
	return /[Zz]/.test(format.replace(/'[^']*'/g, ''));
}

/** The instant (ms) of a canonical ISO 8601 date-time; one without offset is read as UTC. */
function canonicalInstant(value: unknown): number {
	const ts = parseInstant(text(value, 'format'));
	if (typeof ts === 'string') throw new RuleError('format', `must be an ISO 8601 date-time, got ${preview(value)}: ${ts}`);
	return ts;
}

/** The canonical form of an instant: ISO 8601 in UTC with milliseconds, as JavaScript writes it. */
function canonicalDateTime(ts: number, input: unknown): string {
	if (!(Math.abs(ts) <= MAX_MS)) throw new RuleError('format', `${preview(input)} is outside the range of dates`);
	return formatInstant(ts, 0, true);
}

/**
 * The instant of a wall-clock time in the zone. A time skipped by a daylight saving change is refused
 * (luxon would move it an hour on); a time that occurs twice is read as the earlier one, as Temporal
 * and java.time do.
 */
function wallToInstant(parts: WallTime | string, clock: ZoneClock, zone: string, input: string, what: string): number {
	if (typeof parts === 'string') throw new RuleError('format', `${preview(input)} is not a valid ${what}: ${parts}`);
	const ts = clock.toInstant(partsToMillis(parts));
	if (ts === undefined) throw new RuleError('format', `${preview(input)} does not exist in time zone ${zone} (skipped by a daylight saving time change)`);
	return ts;
}

const dateTransform: Factory = (options) => {
	allowOnly(options, ['format', 'locale'], 'date');
	const locale = stringOption(options, 'locale', 'date', 'en-US');
	const format = stringOption(options, 'format', 'date', 'yyyy-MM-dd');
	const pattern = format === 'iso' ? 'yyyy-MM-dd' : format;
	const wall = wallFormat(pattern, 'date', locale);
	return {
		invertible: true,
		toCanonical: (v) => {
			const s = text(v, 'format');
			const parts = wall.parse(s);
			if (typeof parts === 'string') throw new RuleError('format', `${preview(s)} is not a valid date in format ${pattern}: ${parts}`);
			return formatCanonicalDate(parts);
		},
		toSystem: (v) => {
			const parts = typeof v === 'string' ? parseCanonicalDate(v) : undefined;
			if (!parts) throw new RuleError('format', `must be a date yyyy-MM-dd, got ${preview(v)}`);
			return wall.format(parts);
		},
	};
};

function epochInput(value: unknown, unit: string): number {
	const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new RuleError('format', `must be a whole number of ${unit} since 1970, got ${preview(value)}`);
	return n;
}

const datetimeTransform: Factory = (options) => {
	allowOnly(options, ['format', 'zone', 'locale'], 'datetime');
	const format = stringOption(options, 'format', 'datetime', 'iso');
	const zone = stringOption(options, 'zone', 'datetime', 'UTC');
	const locale = stringOption(options, 'locale', 'datetime', 'en-US');
	checkZone(zone, 'datetime');
	const clock = zoneClock(zone);
	const utc = isUtc(zone);
	if (format === 'epochSeconds' || format === 'epochMillis') {
		const factor = format === 'epochSeconds' ? 1000 : 1;
		const unit = format === 'epochSeconds' ? 'seconds' : 'milliseconds';
		return {
			invertible: true,
			toCanonical: (v) => canonicalDateTime(epochInput(v, unit) * factor, v),
			// Epoch seconds carry whole seconds: the milliseconds of a canonical time are cut, as the system would.
			toSystem: (v) => Math.floor(canonicalInstant(v) / factor),
		};
	}
	if (format === 'iso') {
		return {
			invertible: true,
			toCanonical: (v) => {
				const s = text(v, 'format');
				if (HAS_OFFSET.test(s)) return canonicalDateTime(canonicalInstant(s), s);
				const local = DateTime.fromISO(s, { zone: 'utc' });
				const parts = local.isValid ? millisToParts(local.toMillis()) : (local.invalidExplanation ?? 'not ISO 8601');
				return canonicalDateTime(wallToInstant(parts, clock, zone, s, 'ISO 8601 date-time'), s);
			},
			toSystem: (v) => {
				const ts = canonicalInstant(v);
				return formatInstant(ts, clock.offsetAt(ts), utc);
			},
		};
	}
	if (formatHasZone(format)) {
		// The text carries its own offset: nothing to resolve in the zone on the way in.
		const parser = formatParser(format, 'datetime', locale);
		return {
			invertible: true,
			toCanonical: (v) => {
				const s = text(v, 'format');
				const dt = DateTime.fromFormatParser(s, parser, { zone, setZone: true });
				if (!dt.isValid) throw new RuleError('format', `${preview(s)} is not a valid date-time in format ${format}: ${dt.invalidExplanation ?? dt.invalidReason}`);
				return canonicalDateTime(dt.toMillis(), s);
			},
			toSystem: (v) => DateTime.fromMillis(canonicalInstant(v), { zone, locale }).toFormat(format),
		};
	}
	const wall = wallFormat(format, 'datetime', locale);
	return {
		invertible: true,
		toCanonical: (v) => {
			const s = text(v, 'format');
			return canonicalDateTime(wallToInstant(wall.parse(s), clock, zone, s, `date-time in format ${format}`), s);
		},
		toSystem: (v) => {
			const ts = canonicalInstant(v);
			return wall.format(millisToParts(ts + clock.offsetAt(ts) * 60_000));
		},
	};
};

// ---- numbers ---------------------------------------------------------------------------------------

function localeSeparators(locale: string): { decimal: string; group: string } {
	const formatted = attempt(() => new Intl.NumberFormat(locale).formatToParts(1234567.5));
	if (!formatted.ok) throw new MappingConfigError(`transform "number" option "locale": "${locale}" is not a locale`);
	const parts = formatted.value;
	return {
		decimal: parts.find((p) => p.type === 'decimal')?.value ?? '.',
		group: parts.find((p) => p.type === 'group')?.value ?? '',
	};
}

const numberTransform: Factory = (options) => {
	allowOnly(options, ['locale', 'decimalSeparator', 'groupSeparator', 'decimals', 'grouping'], 'number');
	const locale = optionalString(options, 'locale', 'number');
	const fromLocale = locale ? localeSeparators(locale) : { decimal: '.', group: '' };
	for (const key of ['decimalSeparator', 'groupSeparator']) {
		if (options[key] !== undefined && typeof options[key] !== 'string') throw new MappingConfigError(`transform "number" option "${key}" must be text, got ${preview(options[key])}`);
	}
	const decimal = (options.decimalSeparator as string | undefined) || fromLocale.decimal;
	const group = (options.groupSeparator as string | undefined) ?? fromLocale.group;
	if (decimal === group || /[\d-]/.test(decimal + group)) {
		throw new MappingConfigError(`transform "number": decimal separator ${preview(decimal)} and group separator ${preview(group)} must differ and not be digits or "-"`);
	}
	const decimals = options.decimals;
	if (decimals !== undefined && (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > 20)) {
		throw new MappingConfigError(`transform "number" option "decimals" must be a whole number from 0 to 20, got ${preview(decimals)}`);
	}
	const grouping = group !== '' && options.grouping !== false;
	const d = escapeRegExp(decimal);
	const g = escapeRegExp(group);
	const shape = new RegExp(
		grouping ? `^-?(\\d{1,3}(${g}\\d{3})+|\\d+)(${d}\\d+)?$` : `^-?\\d+(${d}\\d+)?$`,
	);
	return {
		invertible: true,
		toCanonical: (v) => {
			if (typeof v === 'number' && Number.isFinite(v)) return v;
			const s = text(v, 'format').trim();
			if (!shape.test(s)) throw new RuleError('format', `${preview(v)} is not a number written with ${preview(decimal)} as decimal separator${grouping ? ` and ${preview(group)} between thousands` : ''}`);
			return Number((grouping ? s.split(group).join('') : s).replace(decimal, '.'));
		},
		toSystem: (v) => {
			if (typeof v !== 'number' || !Number.isFinite(v)) throw new RuleError('type', `must be a number, got ${preview(v)}`);
			const plain = decimals === undefined ? String(v) : v.toFixed(decimals as number);
			if (/e/i.test(plain)) throw new RuleError('format', `${v} is too large or too small to write without an exponent`);
			const [intPart, frac] = plain.split('.');
			const sign = intPart.startsWith('-') ? '-' : '';
			const digits = sign ? intPart.slice(1) : intPart;
			const grouped = grouping ? digits.replace(/\B(?=(\d{3})+(?!\d))/g, group) : digits;
			return sign + grouped + (frac === undefined ? '' : decimal + frac);
		},
	};
};

// ---- money -----------------------------------------------------------------------------------------

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** A decimal amount as integer minor units, refusing more decimals than the currency has (never rounded). */
export function decimalToMinor(amount: string, exponent: number, code: string): number {
	const m = DECIMAL.exec(amount);
	if (!m) throw new RuleError('format', `must be a decimal amount such as "12.50", got ${preview(amount)}`);
	const frac = m[3] ?? '';
	if (/[1-9]/.test(frac.slice(exponent))) {
		throw new RuleError('currency', `${preview(amount)} has more decimals than ${code} allows (${exponent})`);
	}
	const minor = Number(m[2] + frac.slice(0, exponent).padEnd(exponent, '0'));
	if (!Number.isSafeInteger(minor)) throw new RuleError('format', `${preview(amount)} is too large to convert to minor units`);
	return m[1] && minor !== 0 ? -minor : minor;
}

/** Integer minor units as the decimal amount with exactly the currency's decimals: 1999 USD → "19.99". */
export function minorToDecimal(minor: number, exponent: number): string {
	const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
	const whole = digits.slice(0, digits.length - exponent);
	const sign = minor < 0 ? '-' : '';
	return exponent === 0 ? sign + whole : `${sign}${whole}.${digits.slice(digits.length - exponent)}`;
}

function codeOption(options: Options): string | undefined {
	const code = optionalString(options, 'currency', 'currency');
	if (code !== undefined && currencyExponent(code) === undefined) {
		throw new MappingConfigError(`transform "currency" option "currency": "${code}" is not an ISO 4217 currency code with a minor unit`);
	}
	return code;
}

const currencyTransform: Factory = (options) => {
	allowOnly(options, ['unit', 'currency', 'currencyField'], 'currency');
	const unit = stringOption(options, 'unit', 'currency', 'minor');
	if (unit !== 'minor' && unit !== 'decimal' && unit !== 'number') {
		throw new MappingConfigError(`transform "currency" option "unit" must be "minor", "decimal" or "number", got ${preview(unit)}`);
	}
	const fixed = codeOption(options);
	const fieldText = optionalString(options, 'currencyField', 'currency');
	if (!fixed && !fieldText) {
		throw new MappingConfigError('transform "currency" needs option "currencyField" (the canonical field with the ISO 4217 code) or "currency" (a fixed code)');
	}
	const field = fieldText === undefined ? undefined : parsePath(fieldText);
	if (fieldText !== undefined && !field) throw new MappingConfigError(`transform "currency" option "currencyField": "${fieldText}" is not a field path`);
	const exponentOf = (canonical: Record<string, unknown>): [number, string] => {
		const code = fixed ?? getPath(canonical, field!.segments);
		const exponent = typeof code === 'string' ? currencyExponent(code) : undefined;
		if (exponent === undefined) {
			throw new RuleError('currency', `needs an ISO 4217 currency code in "${fieldText}", got ${preview(code)}`);
		}
		return [exponent, code as string];
	};
	const toCanonical = (v: unknown, canonical: Record<string, unknown>): string => {
		const [exponent, code] = exponentOf(canonical);
		if (unit === 'minor') {
			const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
			if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new RuleError('format', `must be a whole number of minor units, got ${preview(v)}`);
			return minorToDecimal(n, exponent);
		}
		if (unit === 'number') {
			if (typeof v !== 'number' || !Number.isFinite(v)) throw new RuleError('format', `must be a number, got ${preview(v)}`);
			const fixedText = v.toFixed(exponent);
			if (Number(fixedText) !== v) throw new RuleError('currency', `${v} has more decimals than ${code} allows (${exponent})`);
			return minorToDecimal(decimalToMinor(fixedText, exponent, code), exponent);
		}
		return minorToDecimal(decimalToMinor(text(v, 'format'), exponent, code), exponent);
	};
	const toSystem = (v: unknown, canonical: Record<string, unknown>): unknown => {
		const [exponent, code] = exponentOf(canonical);
		const minor = decimalToMinor(typeof v === 'number' ? String(v) : text(v, 'format'), exponent, code);
		if (unit === 'minor') return minor;
		const decimal = minorToDecimal(minor, exponent);
		return unit === 'number' ? Number(decimal) : decimal;
	};
	return { invertible: true, readsCanonical: fixed ? undefined : fieldText, toCanonical, toSystem };
};

// ---- values ----------------------------------------------------------------------------------------

function valueKey(v: unknown): string {
	return typeof v === 'string' ? v : JSON.stringify(v);
}

function valuePairs(options: Options): Array<{ system: unknown; canonical: unknown }> {
	const values = options.values;
	if (Array.isArray(values)) {
		return values.map((pair, i) => {
			if (pair === null || typeof pair !== 'object' || !('system' in pair) || !('canonical' in pair)) {
				throw new MappingConfigError(`transform "valueMap" option "values" entry ${i + 1} must be { "system": ..., "canonical": ... }`);
			}
			return pair as { system: unknown; canonical: unknown };
		});
	}
	if (values !== null && typeof values === 'object') {
		return Object.entries(values).map(([system, canonical]) => ({ system, canonical }));
	}
	throw new MappingConfigError('transform "valueMap" needs option "values": { "systemValue": "canonicalValue", ... } or a list of { "system", "canonical" }');
}

const valueMapTransform: Factory = (options) => {
	allowOnly(options, ['values', 'default', 'systemDefault'], 'valueMap');
	const pairs = valuePairs(options);
	if (pairs.length === 0) throw new MappingConfigError('transform "valueMap" option "values" is empty');
	const forward = new Map<string, unknown>();
	const backward = new Map<string, unknown>();
	let injective = true;
	for (const { system, canonical } of pairs) {
		const key = valueKey(system);
		if (forward.has(key)) throw new MappingConfigError(`transform "valueMap" lists the system value ${preview(system)} twice`);
		forward.set(key, canonical);
		const back = valueKey(canonical);
		if (backward.has(back)) injective = false;
		else backward.set(back, system);
	}
	const hasDefault = 'default' in options;
	const hasSystemDefault = 'systemDefault' in options;
	const allowed = (map: Map<string, unknown>) => [...map.keys()].slice(0, 8).map((k) => JSON.stringify(k)).join(', ');
	return {
		// Two system values with the same canonical value cannot be told apart on the way back.
		invertible: injective,
		toCanonical: (v) => {
			const key = valueKey(v);
			if (forward.has(key)) return forward.get(key);
			if (hasDefault) return options.default;
			throw new RuleError('unknownValue', `${preview(v)} is not a known value (known: ${allowed(forward)})`);
		},
		toSystem: (v) => {
			const key = valueKey(v);
			if (backward.has(key)) return backward.get(key);
			if (hasSystemDefault) return options.systemDefault;
			throw new RuleError('unknownValue', `${preview(v)} has no value in this system (known: ${allowed(backward)})`);
		},
	};
};

const booleanTransform: Factory = (options) => {
	allowOnly(options, ['true', 'false'], 'boolean');
	const yes = 'true' in options ? options.true : true;
	const no = 'false' in options ? options.false : false;
	for (const [key, value] of [['true', yes], ['false', no]] as const) {
		if (!['string', 'number', 'boolean'].includes(typeof value)) throw new MappingConfigError(`transform "boolean" option "${key}" must be text, a number or a boolean, got ${preview(value)}`);
	}
	// Objects and lists are no spelling of either (and String() of some objects throws).
	const spell = (v: unknown) => (v !== null && typeof v === 'object' ? undefined : String(v).toLowerCase());
	if (spell(yes) === spell(no)) throw new MappingConfigError('transform "boolean" needs different spellings for true and false');
	return {
		invertible: true,
		toCanonical: (v) => {
			if (typeof v === 'boolean') return v;
			const s = spell(v);
			if (s === spell(yes)) return true;
			if (s === spell(no)) return false;
			throw new RuleError('unknownValue', `${preview(v)} is neither ${preview(yes)} (true) nor ${preview(no)} (false)`);
		},
		toSystem: (v) => {
			if (typeof v !== 'boolean') throw new RuleError('type', `must be true or false, got ${preview(v)}`);
			return v ? yes : no;
		},
	};
};

const isMissing = (v: unknown) => v === undefined || v === null || v === '';

const defaultTransform: Factory = (options) => {
	allowOnly(options, ['canonical', 'system'], 'default');
	if (!('canonical' in options) && !('system' in options)) {
		throw new MappingConfigError('transform "default" needs option "canonical" (used when the system value is missing) and/or "system"');
	}
	// Present values pass unchanged both ways; only a missing value is filled, on the side it is missing.
	return {
		invertible: true,
		fillsMissing: true,
		toCanonical: (v) => (isMissing(v) && 'canonical' in options ? options.canonical : v),
		toSystem: (v) => (isMissing(v) && 'system' in options ? options.system : v),
	};
};

const FACTORIES: Record<string, Factory> = {
	boolean: booleanTransform,
	case: caseTransform,
	currency: currencyTransform,
	date: dateTransform,
	datetime: datetimeTransform,
	default: defaultTransform,
	number: numberTransform,
	rename: (options) => {
		allowOnly(options, [], 'rename');
		return identity;
	},
	trim: trimTransform,
	valueMap: valueMapTransform,
};

/** Transforms that work on whole records (several fields, or one side only); compiled in compile.ts. */
export const RECORD_TRANSFORMS = ['combine', 'constant', 'split'] as const;

export const TRANSFORM_NAMES = [...Object.keys(FACTORIES), ...RECORD_TRANSFORMS].sort();

export function isValueTransform(name: string): boolean {
	return Object.prototype.hasOwnProperty.call(FACTORIES, name);
}

export function createValueTransform(name: string, options: Options): ValueTransform {
	return FACTORIES[name](options);
}
