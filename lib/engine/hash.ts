/**
 * The one canonical form of record data, and its hash. Two spellings of the same data give the same
 * hash, so a target that reformats what we wrote is still recognised as our echo:
 *
 * - object keys are sorted; keys whose value is `undefined` are left out;
 * - numbers are written the way JavaScript prints them (`1.50` and `1.5` are one number, `-0` is `0`);
 *   a string that spells a plain decimal number (`"12.50"`, `"-3"`, no leading zeros, no exponent) is that
 *   number, because SQL drivers hand back NUMERIC columns as strings; `"007"` stays a string;
 * - a string that is an ISO 8601 date-time with a time zone (`Z` or an offset) is that instant in UTC with
 *   milliseconds (`2024-05-01T12:00:00+02:00` = `2024-05-01T10:00:00.000Z`); a Date object likewise;
 * - arrays keep their order; NaN and infinities become null (JSON cannot hold them).
 *
 * The hash is SHA-256 (hex) of the JSON text of that canonical form.
 */
import { createHash } from 'node:crypto';

const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const ZONED_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** The canonical form of a value (see the module comment). */
export function canonicalValue(value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
	if (typeof value === 'bigint') return Number(value);
	if (typeof value === 'string') {
		if (DECIMAL.test(value)) {
			const n = Number(value);
			// Only when the number prints back as the same digits (trailing fraction zeros aside): a long id
			// or an amount with more digits than a double holds stays a string instead of being rounded.
			const digits = value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
			if (String(n) === digits) return n;
		}
		if (ZONED_DATE_TIME.test(value)) {
			const t = Date.parse(value.replace(' ', 'T'));
			if (!Number.isNaN(t)) return new Date(t).toISOString();
		}
		return value;
	}
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
	if (Array.isArray(value)) return value.map(canonicalValue);
	if (typeof value === 'object') {
		const out: Record<string, unknown> = {};
		for (const k of Object.keys(value as object).sort()) {
			const v = (value as Record<string, unknown>)[k];
			if (v !== undefined) out[k] = canonicalValue(v);
		}
		return out;
	}
	return value;
}

/** The canonical JSON text of a value: equal texts mean equal data. */
export function canonicalJson(value: unknown): string {
	return JSON.stringify(canonicalValue(value));
}

/** SHA-256 (hex) of the canonical JSON text. */
export function canonicalHash(value: unknown): string {
	return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** Whether two values are the same data in canonical form. */
export function sameValue(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	return canonicalJson(a) === canonicalJson(b);
}

/** Empty for the empty-value rule: missing, null, a blank string, an empty array or object. */
export function isEmptyValue(value: unknown): boolean {
	if (value === null || value === undefined) return true;
	if (typeof value === 'string') return value.trim() === '';
	if (Array.isArray(value)) return value.length === 0;
	if (typeof value === 'object' && !(value instanceof Date)) return Object.keys(value as object).length === 0;
	return false;
}
