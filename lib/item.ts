/**
 * The item that passes between DataSync nodes (shared/DESIGN.md, "The item between DataSync nodes"):
 * one change of one record. Every DataSync node emits these and checks what it accepts with
 * `parseSyncItem`, which names the item and the field that is wrong.
 *
 * No n8n import here: this module belongs to the engine.
 */

export type SyncOp = 'upsert' | 'delete';
export type SyncShape = 'system' | 'canonical';

/** A position in a system's change feed: the source's own timestamp and id, so equal timestamps are not skipped. */
export interface SyncCursor {
	/** ISO 8601 timestamp taken from the source's data, never the local clock. */
	ts: string;
	/** The record id that came last at that timestamp. */
	id: string;
}

export interface SyncTrace {
	/** The run (execution) that handles this change. */
	runId: string;
	/** The system where the change was first made. */
	origin: string;
	/** How many systems this change has travelled through. */
	hops: number;
	/** Where this change stands in the source's feed (set by Get Changes); Store Commit advances to it. */
	cursor?: SyncCursor;
	/** The sync this change belongs to (its cursors, its counters), once a node knows it. */
	sync?: string;
	/**
	 * On a planned change: the target record's version the plan was made against (its updated-at as last
	 * read or written, ISO 8601). A write node writes the change only if the record is still at it.
	 */
	version?: string;
	/**
	 * The change holds only the fields that changed, not the whole record (the DataSync Trigger's Payload
	 * Holds option): a record first seen this way is not taken as read in full, so nothing is written to
	 * it until it is (lib/engine/source-times.ts).
	 */
	partial?: boolean;
}

export interface SyncItem {
	entity: string;
	/** The source on the way in, the target on the way out. */
	system: string;
	/** The record's id in `system`; null = not there yet (create). */
	id: string | null;
	op: SyncOp;
	shape: SyncShape;
	data: Record<string, unknown>;
	changedAt?: string;
	actor?: string;
	/** The golden record's key in the store, once known. */
	key?: string;
	trace: SyncTrace;
}

/** A record or field that failed a check; the message names the item and the field. */
export class SyncItemError extends Error {
	constructor(
		message: string,
		readonly itemIndex: number | undefined,
		readonly field: string,
	) {
		super(message);
		this.name = 'SyncItemError';
	}
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(index: number | undefined, json: Record<string, unknown>): string {
	const where = index === undefined ? 'item' : `item ${index}`;
	const entity = typeof json.entity === 'string' ? json.entity : undefined;
	const system = typeof json.system === 'string' ? json.system : undefined;
	const id = typeof json.id === 'string' || typeof json.id === 'number' ? String(json.id) : undefined;
	const parts = [entity, system, id].filter((p) => p !== undefined);
	return parts.length ? `${where} (${parts.join(' / ')})` : where;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Throws the error for a wrong field: the item, its record, the field, what it must be and what it is. */
function wrongField(json: Record<string, unknown>, index: number | undefined, field: string, expected: string, value: unknown): never {
	const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80);
	throw new SyncItemError(`${describe(index, json)}: field "${field}" must be ${expected}, got ${got}`, index, field);
}

function isNonEmptyString(value: unknown): value is string {
	return typeof value === 'string' && value.trim() !== '';
}

/**
 * Checks that `json` is a DataSync item and returns it typed. Numeric ids are accepted and turned into
 * strings (SQL and REST systems often use numbers); everything else must match exactly. Runs once per
 * item in every node: the checks are plain tests, and the message of a failure is built only then.
 */
export function parseSyncItem(json: unknown, index?: number): SyncItem {
	if (!isPlainObject(json)) {
		throw new SyncItemError(
			`${index === undefined ? 'item' : `item ${index}`} is not a DataSync item: expected an object with entity, system, id, op, shape, data and trace`,
			index,
			'(item)',
		);
	}
	const entity = json.entity;
	if (!isNonEmptyString(entity)) return wrongField(json, index, 'entity', 'a non-empty string', entity);
	const system = json.system;
	if (!isNonEmptyString(system)) return wrongField(json, index, 'system', 'a non-empty string', system);
	const rawId = json.id;
	let id: string | null;
	if (rawId === null) id = null;
	else if (typeof rawId === 'string' && rawId !== '') id = rawId;
	else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = String(rawId);
	else return wrongField(json, index, 'id', 'a string, a number or null (null = create)', rawId);
	const op = json.op;
	if (op !== 'upsert' && op !== 'delete') return wrongField(json, index, 'op', '"upsert" or "delete"', op);
	const shape = json.shape;
	if (shape !== 'system' && shape !== 'canonical') return wrongField(json, index, 'shape', '"system" or "canonical"', shape);
	const data = json.data;
	if (!isPlainObject(data)) return wrongField(json, index, 'data', 'an object', data);
	const changedAt = json.changedAt;
	if (changedAt !== undefined && changedAt !== null) {
		if (typeof changedAt !== 'string' || !ISO_8601.test(changedAt) || Number.isNaN(Date.parse(changedAt))) {
			return wrongField(json, index, 'changedAt', 'an ISO 8601 date-time', changedAt);
		}
	}
	const actor = json.actor;
	if (actor !== undefined && actor !== null && typeof actor !== 'string') return wrongField(json, index, 'actor', 'a string', actor);
	const key = json.key;
	if (key !== undefined && key !== null && typeof key !== 'string') return wrongField(json, index, 'key', 'a string', key);
	const t = json.trace;
	if (!isPlainObject(t)) return wrongField(json, index, 'trace', 'an object with runId, origin and hops', t);
	const runId = t.runId;
	if (typeof runId !== 'string') return wrongField(json, index, 'trace.runId', 'a string', runId);
	const origin = t.origin;
	if (typeof origin !== 'string' || origin === '') return wrongField(json, index, 'trace.origin', 'a non-empty string', origin);
	const hops = t.hops;
	if (typeof hops !== 'number' || !Number.isInteger(hops) || hops < 0) return wrongField(json, index, 'trace.hops', 'a whole number >= 0', hops);
	const cursor = t.cursor;
	if (cursor !== undefined && cursor !== null) {
		if (!isPlainObject(cursor) || typeof cursor.ts !== 'string' || typeof cursor.id !== 'string') {
			return wrongField(json, index, 'trace.cursor', 'an object { ts, id } of strings', cursor);
		}
	}
	const sync = t.sync;
	if (sync !== undefined && typeof sync !== 'string') return wrongField(json, index, 'trace.sync', 'a string', sync);
	const version = t.version;
	if (version !== undefined && version !== null && typeof version !== 'string') return wrongField(json, index, 'trace.version', 'a string', version);

	const trace: SyncTrace = { runId, origin, hops };
	if (cursor) trace.cursor = cursor as unknown as SyncCursor;
	if (sync) trace.sync = sync;
	if (typeof version === 'string' && version !== '') trace.version = version;
	if (t.partial !== undefined && t.partial !== null && typeof t.partial !== 'boolean') return wrongField(json, index, 'trace.partial', 'true or false', t.partial);
	if (t.partial === true) trace.partial = true;
	const item: SyncItem = { entity, system, id, op, shape, data, trace };
	if (typeof changedAt === 'string') item.changedAt = changedAt;
	if (typeof actor === 'string') item.actor = actor;
	if (typeof key === 'string') item.key = key;
	return item;
}

/** Checks that the item has the expected shape (e.g. the Resolver takes canonical items only). */
export function expectShape(item: SyncItem, shape: SyncShape, index?: number): void {
	if (item.shape !== shape) {
		throw new SyncItemError(
			`${describe(index, item as unknown as Record<string, unknown>)}: field "shape" must be "${shape}" here, got "${item.shape}"`,
			index,
			'shape',
		);
	}
}
