/**
 * Turns the body of a change notification into DataSync items: one change or an array of them, with the
 * id, op, changedAt and actor taken by field name or dotted path. A bad payload is refused whole, with the
 * reason (which change, which field), so the sender can fix it and nothing half-arrives.
 */
import type { SyncItem } from '../../item';

/**
 * A request the trigger refuses, with the HTTP status it is answered with: 400 (a bad body or change),
 * 413 (too large: bytes or changes), 415 (not JSON). The message names the change and the field.
 */
export class PayloadError extends Error {
	constructor(
		message: string,
		readonly status: 400 | 413 | 415 = 400,
	) {
		super(message);
		this.name = 'PayloadError';
	}
}

/** The bounds of one delivery (docs/connectors.md, "What the trigger refuses"). */
export interface DeliveryLimits {
	/** Bytes of the (decompressed) body. */
	maxBytes: number;
	/** Changes in one body; more are refused whole (413), never cut. */
	maxChanges: number;
	/** Nesting levels of the body, the body itself being level 1. */
	maxDepth: number;
	/** Characters of a record id. */
	maxIdLength: number;
}

export const DEFAULT_LIMITS: DeliveryLimits = { maxBytes: 8 * 1024 * 1024, maxChanges: 10_000, maxDepth: 32, maxIdLength: 255 };

/** Keys that reach an object's prototype when code copies by assignment: never taken from a sender. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface ChangeFields {
	/** Dotted path to the list of changes in the body; '' = the body is the change or the list. */
	changesPath: string;
	id: string;
	op: string;
	changedAt: string;
	actor: string;
	/** Dotted path to the record's fields inside a change; '' = the whole change. */
	data: string;
	/** Values of the op field that mean the record was deleted (compared without case). */
	deleteValues: string[];
	/**
	 * Values of the op field that mean the record was created or changed (compared without case). With an
	 * op field set, a change whose op is missing or in neither list is refused, never taken as an upsert.
	 */
	upsertValues?: string[];
	/**
	 * The operation of every change of the delivery, taken from a request header (Shopify's X-Shopify-Topic,
	 * WooCommerce's X-WC-Webhook-Event…) instead of Op Field; `opHeader` names that header in messages.
	 */
	opValue?: string;
	opHeader?: string;
}

/** The upsert values of a trigger that has none set (docs/connectors.md). */
export const DEFAULT_UPSERT_VALUES = ['upsert', 'create', 'created', 'insert', 'inserted', 'update', 'updated', 'change', 'changed', 'save', 'saved'];

export interface ChangeContext {
	entity: string;
	system: string;
	runId: string;
	/** The sender posts only the fields that changed (the trigger's Payload Holds option). */
	partial?: boolean;
}

/** Reads a dotted path (`a.b.0.c`); a key that itself holds dots is found before the path is split. */
export function getPath(value: unknown, path: string): unknown {
	if (path === '') return value;
	if (typeof value !== 'object' || value === null) return undefined;
	const record = value as Record<string, unknown>;
	if (Object.prototype.hasOwnProperty.call(record, path)) return record[path];
	let current: unknown = value;
	for (const key of path.split('.')) {
		if (typeof current !== 'object' || current === null) return undefined;
		current = Object.prototype.hasOwnProperty.call(current, key) ? (current as Record<string, unknown>)[key] : undefined;
	}
	return current;
}

/** The earliest and latest change time taken (epoch ms): 1970-01-01 and the end of 9999. */
const MIN_TIME = 0;
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A date-time as ISO 8601, or undefined when it is not one that exists. JavaScript's own parser rolls an
 * impossible date over (2023-02-29 becomes 1 March, 24:00 the next day): the parts are checked here.
 */
export function toIso(value: unknown): string | undefined {
	if (typeof value === 'number') {
		if (!Number.isFinite(value) || value < 0) return undefined;
		// Epoch seconds or milliseconds, told apart by size (seconds stay below 1e11 until the year 5138).
		const ms = value < 1e11 ? value * 1000 : value;
		return ms <= MAX_TIME ? new Date(ms).toISOString() : undefined;
	}
	if (typeof value !== 'string') return undefined;
	const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
	if (!m) return undefined;
	const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
	if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
	if (hour > 23 || minute > 59 || second > 59) return undefined;
	if (m[8] && m[8] !== 'Z') {
		const [, sign, hh, mm] = /^([+-])(\d{2}):?(\d{2})$/.exec(m[8])!;
		if (Number(hh) > 14 || Number(mm) > 59 || (sign === '+' && Number(hh) === 14 && Number(mm) > 0)) return undefined;
	}
	const ms = Date.parse(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : value.replace(' ', 'T'));
	if (Number.isNaN(ms) || ms < MIN_TIME || ms > MAX_TIME) return undefined;
	// Kept as sent when it is already ISO 8601 with a zone, so sub-millisecond digits survive.
	return m[4] !== undefined && m[8] !== undefined && value[10] === 'T' ? value : new Date(ms).toISOString();
}

/** A UTF-16 surrogate without its pair: JSON can carry one ("\ud800"), UTF-8 and the databases cannot. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a text cannot travel on (NUL, a lone UTF-16 surrogate), or undefined when it can. */
function badText(text: string): string | undefined {
	if (text.includes('\u0000')) return 'holds a NUL character';
	if (LONE_SURROGATE.test(text)) return 'holds a lone UTF-16 surrogate (not valid Unicode)';
	return undefined;
}

/** A dotted field path for messages: data.address.city, data.tags[2]. */
function fieldPath(parent: string, key: string | number): string {
	if (typeof key === 'number') return `${parent}[${key}]`;
	return parent ? `${parent}.${key}` : key;
}

/**
 * Checks every key and text of a parsed change: no key that reaches a prototype, no NUL or lone
 * surrogate, no deeper nesting than allowed. Iterative, so a hostile depth cannot overflow the stack.
 */
function checkTree(root: unknown, where: string, depthOfRoot: number, maxDepth: number): void {
	const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '', depth: depthOfRoot }];
	while (stack.length) {
		const { value, path, depth } = stack.pop()!;
		if (typeof value === 'string') {
			const bad = badText(value);
			if (bad) throw new PayloadError(`${where}: field "${path || '(the change)'}" ${bad}`);
			continue;
		}
		if (typeof value !== 'object' || value === null) continue;
		if (depth > maxDepth) throw new PayloadError(`${where}: field "${path}" is nested deeper than ${maxDepth} levels`);
		if (Array.isArray(value)) {
			for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: fieldPath(path, i), depth: depth + 1 });
			continue;
		}
		for (const key of Object.keys(value)) {
			const at = fieldPath(path, key);
			if (FORBIDDEN_KEYS.has(key)) throw new PayloadError(`${where}: field "${at}" is not allowed (a key that reaches an object's prototype)`);
			const bad = badText(key);
			if (bad) throw new PayloadError(`${where}: a field name in "${path || '(the change)'}" ${bad}`);
			stack.push({ value: (value as Record<string, unknown>)[key], path: at, depth: depth + 1 });
		}
	}
}

/** Nesting depth of a JSON text, counted without parsing (a 5,000-deep body is refused before JSON.parse). */
function jsonDepth(text: string, limit: number): number {
	let depth = 0;
	let max = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (inString) {
			if (c === 0x5c) i++;
			else if (c === 0x22) inString = false;
		} else if (c === 0x22) inString = true;
		else if (c === 0x7b || c === 0x5b) {
			if (++depth > max && (max = depth) > limit) return max;
		} else if (c === 0x7d || c === 0x5d) depth--;
	}
	return max;
}

/** What the HTTP layer tells about the body. */
export interface DeliveryMeta {
	contentType?: string;
}

/** Refuses (415) a body that is not declared as JSON in UTF-8: application/json or application/*+json. */
export function checkContentType(contentType: string | undefined): void {
	const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
	if (type !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(type)) {
		throw new PayloadError(`the content type must be application/json, got ${type ? JSON.stringify(type.slice(0, 80)) : 'none'}`, 415);
	}
	const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
	if (charset && charset !== 'utf-8' && charset !== 'utf8') throw new PayloadError(`the body must be UTF-8, the content type says ${charset}`, 415);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The DataSync items of one delivery's exact bytes: checks the size, the content type, UTF-8, JSON,
 * nesting and the changes themselves (parseChanges). All or nothing: a bad change refuses the whole
 * delivery. Throws PayloadError with the status to answer (400, 413, 415).
 */
export function parseDelivery(
	rawBody: Buffer,
	meta: DeliveryMeta,
	fields: ChangeFields,
	context: ChangeContext,
	limits: Partial<DeliveryLimits> = {},
): SyncItem[] {
	const bounds = { ...DEFAULT_LIMITS, ...limits };
	if (rawBody.length > bounds.maxBytes) {
		throw new PayloadError(`the body is ${rawBody.length} bytes, more than the limit of ${bounds.maxBytes} (the trigger's Max Body Size option)`, 413);
	}
	checkContentType(meta.contentType);
	if (rawBody.length === 0) throw new PayloadError('the body is empty');
	let text: string;
	try {
		text = UTF8.decode(rawBody);
	} catch {
		throw new PayloadError('the body is not valid UTF-8');
	}
	if (jsonDepth(text, bounds.maxDepth) > bounds.maxDepth) throw new PayloadError(`the body is nested deeper than ${bounds.maxDepth} levels`);
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch (error) {
		throw new PayloadError(`the body is not JSON: ${(error as Error).message.slice(0, 120)}`);
	}
	return parseChanges(body, fields, context, bounds);
}

/** Why a record id cannot be used, or undefined (the id rules of docs/connectors.md). */
export function badId(rawId: unknown, maxLength: number): string | undefined {
	if (typeof rawId === 'number') {
		if (!Number.isSafeInteger(rawId)) return 'a number id must be a whole number below 2^53 (send larger or decimal ids as text)';
		return undefined;
	}
	if (typeof rawId !== 'string') return `must be a string or a number, got ${rawId === null ? 'null' : Array.isArray(rawId) ? 'an array' : typeof rawId}`;
	if (rawId.trim() === '') return 'is empty';
	if (rawId.length > maxLength) return `is ${rawId.length} characters, more than ${maxLength}`;
	if (LONE_SURROGATE.test(rawId)) return 'holds a lone UTF-16 surrogate (not valid Unicode)';
	// Printable characters only: no C0/C1 controls (NUL, tab, line breaks…), no line or paragraph separator.
	if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(rawId)) return 'holds a control character (only printable characters are allowed)';
	return undefined;
}

/** The DataSync items of one notification body; throws PayloadError naming the change and field. */
export function parseChanges(body: unknown, fields: ChangeFields, context: ChangeContext, limits: Partial<DeliveryLimits> = {}): SyncItem[] {
	const bounds = { ...DEFAULT_LIMITS, ...limits };
	const root = getPath(body, fields.changesPath);
	if (root === undefined) throw new PayloadError(`the body has no "${fields.changesPath}"`);
	const changes = Array.isArray(root) ? root : [root];
	if (changes.length === 0) throw new PayloadError('the body holds no change');
	if (changes.length > bounds.maxChanges) {
		throw new PayloadError(`the body holds ${changes.length} changes, more than the limit of ${bounds.maxChanges} (the trigger's Max Changes option); none was taken`, 413);
	}
	const deletes = new Set(fields.deleteValues.map((v) => v.trim().toLowerCase()).filter(Boolean));
	const upserts = new Set((fields.upsertValues ?? DEFAULT_UPSERT_VALUES).map((v) => v.trim().toLowerCase()).filter(Boolean));
	const known = () => [...upserts, ...deletes].join(', ');
	const rootDepth = fields.changesPath ? fields.changesPath.split('.').length + 1 : 1;
	return changes.map((change, i) => {
		const where = changes.length === 1 && !Array.isArray(root) ? 'the change' : `change ${i}`;
		if (typeof change !== 'object' || change === null || Array.isArray(change)) {
			throw new PayloadError(`${where} is not an object`);
		}
		checkTree(change, where, rootDepth + (Array.isArray(root) ? 1 : 0), bounds.maxDepth);
		const rawId = getPath(change, fields.id);
		const idProblem = rawId === undefined ? 'is missing' : badId(rawId, bounds.maxIdLength);
		if (idProblem) throw new PayloadError(`${where}: field "${fields.id}" (the record id) ${idProblem}`);
		let op: 'upsert' | 'delete' = 'upsert';
		const fromHeader = fields.opHeader !== undefined && fields.opHeader !== '';
		if (fields.op || fromHeader) {
			const rawOp = fromHeader ? fields.opValue : getPath(change, fields.op);
			const what = fromHeader ? `header "${fields.opHeader}" (the operation)` : `field "${fields.op}" (the operation)`;
			if (rawOp === undefined || rawOp === null || rawOp === '') {
				throw new PayloadError(`${where}: ${what} is missing; it must be one of ${known()}`);
			}
			if (typeof rawOp !== 'string') throw new PayloadError(`${where}: ${what} must be text, one of ${known()}`);
			const value = rawOp.trim().toLowerCase();
			if (deletes.has(value)) op = 'delete';
			else if (!upserts.has(value)) {
				throw new PayloadError(`${where}: ${what} is ${JSON.stringify(rawOp.slice(0, 40))}, not one of ${known()}`);
			}
		}
		const rawAt = fields.changedAt ? getPath(change, fields.changedAt) : undefined;
		let changedAt: string | undefined;
		if (rawAt !== undefined && rawAt !== null) {
			changedAt = toIso(rawAt);
			if (changedAt === undefined) {
				throw new PayloadError(
					`${where}: field "${fields.changedAt}" must be a date-time that exists, ISO 8601 or epoch seconds / milliseconds, from 1970 to 9999; got ${JSON.stringify(rawAt).slice(0, 60)}`,
				);
			}
		}
		const rawActor = fields.actor ? getPath(change, fields.actor) : undefined;
		if (rawActor !== undefined && rawActor !== null && typeof rawActor !== 'string' && typeof rawActor !== 'number') {
			throw new PayloadError(`${where}: field "${fields.actor}" (the actor) must be text`);
		}
		const rawData = getPath(change, fields.data);
		let data: Record<string, unknown>;
		if (typeof rawData === 'object' && rawData !== null && !Array.isArray(rawData)) data = rawData as Record<string, unknown>;
		else if ((rawData === undefined || rawData === null) && op === 'delete') data = {};
		else throw new PayloadError(`${where}: field "${fields.data}" (the record) must be an object`);

		const item: SyncItem = {
			entity: context.entity,
			system: context.system,
			id: String(rawId),
			op,
			shape: 'system',
			data,
			trace: { runId: context.runId, origin: context.system, hops: 0 },
		};
		if (changedAt) item.changedAt = changedAt;
		if (rawActor !== undefined && rawActor !== null) item.actor = String(rawActor);
		if (context.partial && op !== 'delete') item.trace.partial = true;
		return item;
	});
}
