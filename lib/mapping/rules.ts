/**
 * Field checks (required, type, pattern, min/max, enum, email, maxLength, currency decimals), compiled
 * once from the mapping's rules into plain functions.
 */
import { MappingConfigError, RuleError, attempt, preview } from './errors';
import { parseCanonicalDate, parseInstant, partsToMillis } from './datetime';
import { currencyExponent } from './iso4217';
import { decimalToMinor } from './transforms';
import { RESERVED_KEY, getPath, parsePath, type FieldPath } from './path';
import type { FieldRules, FieldType } from './types';

/** Checks one field of a record; returns the broken rules (empty when the field is valid). */
export interface FieldCheck {
	path: FieldPath;
	check(record: Record<string, unknown>): RuleError[];
}

const TYPES: Record<FieldType, (v: unknown) => boolean> = {
	string: (v) => typeof v === 'string',
	number: (v) => typeof v === 'number' && Number.isFinite(v),
	integer: (v) => typeof v === 'number' && Number.isSafeInteger(v),
	boolean: (v) => typeof v === 'boolean',
	date: (v) => typeof v === 'string' && parseCanonicalDate(v) !== undefined,
	datetime: (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) && typeof parseInstant(v) === 'number',
	decimal: (v) => typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v),
	object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
	array: (v) => Array.isArray(v),
};

const TYPE_WORDS: Record<FieldType, string> = {
	string: 'text',
	number: 'a number',
	integer: 'a whole number',
	boolean: 'true or false',
	date: 'a date yyyy-MM-dd',
	datetime: 'an ISO 8601 date-time',
	decimal: 'a decimal amount as text, such as "12.50"',
	object: 'an object',
	array: 'a list',
};

// Practical, not RFC 5322: one @, no spaces, a dot in the domain; Unicode allowed on both sides.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u;

const RULE_KEYS = ['type', 'required', 'pattern', 'min', 'max', 'enum', 'email', 'maxLength', 'currencyField', 'description'];

/** Sortable number for bounds: numbers, decimal strings, dates and date-times. */
function magnitude(value: unknown, type: FieldType | undefined): number | undefined {
	if (typeof value === 'number') return value;
	if (typeof value !== 'string') return undefined;
	if (type === 'date') {
		const parts = parseCanonicalDate(value);
		return parts && partsToMillis(parts);
	}
	if (type === 'datetime') {
		const ms = parseInstant(value);
		return typeof ms === 'number' ? ms : undefined;
	}
	return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
}

export function isMissingValue(v: unknown): boolean {
	return v === undefined || v === null || v === '';
}

export function compileRules(fieldText: string, rules: FieldRules, where: string): FieldCheck {
	const path = parsePath(fieldText);
	if (!path) throw new MappingConfigError(`${where}: "${fieldText}" is not a field path${fieldText.includes(RESERVED_KEY) ? ` ("${RESERVED_KEY}" is reserved)` : ''}`);
	if (rules === null || typeof rules !== 'object' || Array.isArray(rules)) throw new MappingConfigError(`${where}: the rules of "${fieldText}" must be an object`);
	for (const key of Object.keys(rules)) {
		if (!RULE_KEYS.includes(key)) throw new MappingConfigError(`${where}: field "${fieldText}" has an unknown rule "${key}" (rules: ${RULE_KEYS.join(', ')})`);
	}
	const type = rules.type;
	// Own keys only: "toString" or "constructor" are not types.
	if (type !== undefined && (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(TYPES, type))) {
		throw new MappingConfigError(`${where}: field "${fieldText}" has an unknown type ${preview(type)} (types: ${Object.keys(TYPES).join(', ')})`);
	}
	const checks: Array<(v: unknown, record: Record<string, unknown>) => RuleError | undefined> = [];

	if (type) {
		const ok = TYPES[type];
		checks.push((v) => (ok(v) ? undefined : new RuleError('type', `must be ${TYPE_WORDS[type]}, got ${preview(v)}`)));
	}
	if (rules.pattern !== undefined) {
		const compiled = attempt(() => new RegExp(`^(?:${rules.pattern})$`, 'u'));
		if (!compiled.ok) {
			throw new MappingConfigError(`${where}: field "${fieldText}" rule "pattern" is not a valid regular expression: ${(compiled.error as Error).message}`);
		}
		const re = compiled.value;
		checks.push((v) => (typeof v === 'string' && !re.test(v) ? new RuleError('pattern', `does not match the pattern ${rules.pattern}`) : undefined));
	}
	for (const bound of ['min', 'max'] as const) {
		const limit = rules[bound];
		if (limit === undefined) continue;
		const limitValue = magnitude(limit, type);
		if (limitValue === undefined) throw new MappingConfigError(`${where}: field "${fieldText}" rule "${bound}" must be a number${type === 'date' || type === 'datetime' ? ' or a date' : ''}, got ${preview(limit)}`);
		checks.push((v) => {
			const m = magnitude(v, type);
			if (m === undefined) return undefined;
			const broken = bound === 'min' ? m < limitValue : m > limitValue;
			return broken ? new RuleError(bound, `must be ${bound === 'min' ? 'at least' : 'at most'} ${limit}, got ${preview(v)}`) : undefined;
		});
	}
	if (rules.enum !== undefined) {
		if (!Array.isArray(rules.enum) || rules.enum.length === 0) throw new MappingConfigError(`${where}: field "${fieldText}" rule "enum" must be a non-empty list`);
		const allowed = new Set(rules.enum.map((e) => JSON.stringify(e)));
		checks.push((v) => (allowed.has(JSON.stringify(v)) ? undefined : new RuleError('enum', `must be one of ${rules.enum!.map((e) => JSON.stringify(e)).join(', ')}, got ${preview(v)}`)));
	}
	if (rules.email) {
		checks.push((v) => (typeof v === 'string' && !EMAIL.test(v) ? new RuleError('email', `must be an email address, got ${preview(v)}`) : undefined));
	}
	if (rules.maxLength !== undefined) {
		const max = rules.maxLength;
		if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) throw new MappingConfigError(`${where}: field "${fieldText}" rule "maxLength" must be a whole number`);
		checks.push((v) => {
			if (typeof v !== 'string' || v.length <= max) return undefined;
			const length = [...v].length;
			return length > max ? new RuleError('maxLength', `must be at most ${max} characters long, got ${length}`) : undefined;
		});
	}
	if (rules.currencyField !== undefined) {
		const codePath = parsePath(rules.currencyField);
		if (!codePath) throw new MappingConfigError(`${where}: field "${fieldText}" rule "currencyField" is not a field path, got ${preview(rules.currencyField)}`);
		checks.push((v, record) => {
			if (typeof v !== 'string') return undefined;
			const code = getPath(record, codePath.segments);
			const exponent = typeof code === 'string' ? currencyExponent(code) : undefined;
			if (exponent === undefined) return new RuleError('currency', `needs an ISO 4217 currency code in "${codePath.text}", got ${preview(code)}`);
			const result = attempt(() => decimalToMinor(v, exponent, code as string));
			return result.ok ? undefined : (result.error as RuleError);
		});
	}

	const required = rules.required === true;
	return {
		path,
		check(record) {
			const v = getPath(record, path.segments);
			if (isMissingValue(v)) return required ? [new RuleError('required', 'is required')] : [];
			const errors: RuleError[] = [];
			for (const c of checks) {
				const e = c(v, record);
				if (e) errors.push(e);
			}
			return errors;
		},
	};
}
