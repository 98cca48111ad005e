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
import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';

const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const ZONED_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** The canonical form of a value (see the module comment). */
export function canonicalValue(value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
	if (typeof value === 'bigint') return Number(value);
	if (typeof value === 'string') {
		// Both forms below start with a digit (or a minus sign): most text (names, emails) is neither.
		const first = value.charCodeAt(0);
		if (!((first >= 48 && first <= 57) || first === 45)) return value;
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

/** A value `write` and `equal` leave to the general path (JSON.stringify of canonicalValue). */
const UNUSUAL = Symbol('unusual');

/**
 * Keys the direct paths cannot take: JSON.stringify puts integer-like keys first in number order (not
 * sorted as text), and `__proto__` is not an own key once canonicalValue has copied it.
 */
function unusualKey(key: string): boolean {
	const c = key.charCodeAt(0);
	return (c >= 48 && c <= 57) || key === '__proto__';
}

/** The canonical form of a scalar (not an object or array), or UNUSUAL. */
function canonicalScalar(value: unknown): unknown {
	switch (typeof value) {
		case 'string':
			return canonicalValue(value);
		case 'number':
			return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
		case 'boolean':
			return value;
		case 'undefined':
			return null;
		default:
			if (value === null) return null;
			if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
			return UNUSUAL;
	}
}

/**
 * An object's own keys in the order Array.prototype.sort gives them (by UTF-16 code units): a record's few
 * dozen keys sorted in place, where sort() would copy them into a work area for every record hashed.
 */
function sortedKeys(value: object): string[] {
	const keys = Object.keys(value);
	if (keys.length > 64) return keys.sort();
	for (let i = 1; i < keys.length; i++) {
		const key = keys[i];
		let j = i - 1;
		while (j >= 0 && keys[j] > key) {
			keys[j + 1] = keys[j];
			j--;
		}
		keys[j + 1] = key;
	}
	return keys;
}

/**
 * The JSON text of an object key with its colon, without and with the comma before it (keys repeat from
 * record to record; bounded: cleared when full).
 */
const keyTexts = new Map<string, [string, string]>();

function keyText(key: string): [string, string] {
	let text = keyTexts.get(key);
	if (text === undefined) {
		if (keyTexts.size >= 10_000) keyTexts.clear();
		const quoted = `${JSON.stringify(key)}:`;
		keyTexts.set(key, (text = [quoted, `,${quoted}`]));
	}
	return text;
}

/** The canonical JSON text of a scalar (JSON.stringify of canonicalScalar), or undefined where that is UNUSUAL. */
function writeScalar(value: unknown): string | undefined {
	switch (typeof value) {
		case 'string': {
			const canonical = canonicalValue(value);
			// A number from a decimal text is finite: its JSON text is its String.
			return typeof canonical === 'string' ? JSON.stringify(canonical) : String(canonical);
		}
		case 'number':
			// String(-0) is "0", as JSON writes it.
			return Number.isFinite(value) ? String(value) : 'null';
		case 'boolean':
			return value ? 'true' : 'false';
		case 'undefined':
			return 'null';
		default:
			if (value === null) return 'null';
			if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : `"${value.toISOString()}"`;
			return undefined;
	}
}

/**
 * The canonical JSON text of `value`, the same text as JSON.stringify(canonicalValue(value)) without
 * building the canonical copy; undefined for what it leaves to that path.
 */
function write(value: unknown): string | undefined {
	if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
		if (Array.isArray(value)) {
			let out = '[';
			for (let i = 0; i < value.length; i++) {
				const item = write(value[i]);
				if (item === undefined) return undefined;
				out += i ? `,${item}` : item;
			}
			return `${out}]`;
		}
		const keys = sortedKeys(value);
		let out = '{';
		let first = true;
		for (let k = 0; k < keys.length; k++) {
			const key = keys[k];
			const v = (value as Record<string, unknown>)[key];
			if (v === undefined) continue;
			if (unusualKey(key)) return undefined;
			const item = typeof v === 'object' && v !== null ? write(v) : writeScalar(v);
			if (item === undefined) return undefined;
			out += keyText(key)[first ? 0 : 1] + item;
			first = false;
		}
		return `${out}}`;
	}
	return writeScalar(value);
}

/** The canonical JSON text of a value: equal texts mean equal data. */
export function canonicalJson(value: unknown): string {
	return write(value) ?? JSON.stringify(canonicalValue(value));
}

/** SHA-256 (hex) of the canonical JSON text (one-shot: no hash object per record). */
export function canonicalHash(value: unknown): string {
	return hash('sha256', canonicalJson(value), 'hex');
}

/**
 * HMAC-SHA256 (hex) of the canonical JSON text with the store's secret (hex; see sensitive.ts): what the
 * store keeps of a record's data (written hash, delivery marks). A plain hash of a record whose other
 * fields are in the store's base snapshots would let a sensitive value be found by trying guesses.
 */
export function keyedHash(secret: string, value: unknown): string {
	return createHmac('sha256', secretKey(secret)).update(canonicalJson(value)).digest('hex');
}

/**
 * The secret as a key object, made once per secret: given as bytes, every HMAC imports the key again
 * (about 18 µs of a 20 µs HMAC on Node 24, i.e. 0.2 s of a Loop Guard page of 5,000 records).
 */
let lastSecret: { text: string; key: KeyObject } | undefined;
export function secretKey(secret: string): KeyObject {
	if (lastSecret?.text !== secret) lastSecret = { text: secret, key: createSecretKey(Buffer.from(secret, 'hex')) };
	return lastSecret.key;
}

/**
 * Whether two values have the same canonical form, walked side by side so that a difference stops the
 * walk at once; UNUSUAL where only the canonical texts can tell.
 */
function equal(a: unknown, b: unknown): boolean | typeof UNUSUAL {
	if (a === b) return true;
	const objectA = typeof a === 'object' && a !== null && !(a instanceof Date);
	const objectB = typeof b === 'object' && b !== null && !(b instanceof Date);
	if (objectA !== objectB) {
		// Never the same text, unless the scalar prints as nothing or the object prints itself (toJSON).
		const [object, scalar] = objectA ? [a as object, b] : [b as object, a];
		return canonicalScalar(scalar) === UNUSUAL || Object.prototype.hasOwnProperty.call(object, 'toJSON') ? UNUSUAL : false;
	}
	if (!objectA) {
		const ca = canonicalScalar(a);
		const cb = canonicalScalar(b);
		return ca === UNUSUAL || cb === UNUSUAL ? UNUSUAL : ca === cb;
	}
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	if (Array.isArray(a)) {
		const list = b as unknown[];
		if (a.length !== list.length) return false;
		let unsure = false;
		for (let i = 0; i < a.length; i++) {
			const same = equal(a[i], list[i]);
			if (same === false) return false;
			if (same === UNUSUAL) unsure = true;
		}
		return unsure ? UNUSUAL : true;
	}
	const ra = a as Record<string, unknown>;
	const rb = b as Record<string, unknown>;
	let unsure = false;
	let count = 0;
	for (const key of Object.keys(ra)) {
		const va = ra[key];
		if (va === undefined) continue;
		// JSON leaves out functions and symbols in objects, as it does undefined.
		if (unusualKey(key) || typeof va === 'function' || typeof va === 'symbol') return UNUSUAL;
		count++;
		const vb = rb[key];
		if (vb === undefined || !Object.prototype.propertyIsEnumerable.call(rb, key)) return false;
		const same = equal(va, vb);
		if (same === false) return false;
		if (same === UNUSUAL) unsure = true;
	}
	for (const key of Object.keys(rb)) {
		const vb = rb[key];
		if (vb === undefined) continue;
		if (unusualKey(key) || typeof vb === 'function' || typeof vb === 'symbol') return UNUSUAL;
		count--;
	}
	if (count !== 0) return false;
	return unsure ? UNUSUAL : true;
}

/** Whether two values are the same data in canonical form. */
export function sameValue(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	const same = equal(a, b);
	return same === UNUSUAL ? canonicalJson(a) === canonicalJson(b) : same;
}

/** Empty for the empty-value rule: missing, null, a blank string, an empty array or object. */
export function isEmptyValue(value: unknown): boolean {
	if (value === null || value === undefined) return true;
	if (typeof value === 'string') return value.trim() === '';
	if (Array.isArray(value)) return value.length === 0;
	if (typeof value === 'object' && !(value instanceof Date)) return Object.keys(value as object).length === 0;
	return false;
}
