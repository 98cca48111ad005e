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

/**
 * Checks that `json` is a DataSync item and returns it typed. Numeric ids are accepted and turned into
 * strings (SQL and REST systems often use numbers); everything else must match exactly.
 */
export function parseSyncItem(json: unknown, index?: number): SyncItem {
	if (!isPlainObject(json)) {
		throw new SyncItemError(
			`${index === undefined ? 'item' : `item ${index}`} is not a DataSync item: expected an object with entity, system, id, op, shape, data and trace`,
			index,
			'(item)',
		);
	}
	const where = describe(index, json);
	const fail = (field: string, expected: string, value: unknown): never => {
		const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80);
		throw new SyncItemError(`${where}: field "${field}" must be ${expected}, got ${got}`, index, field);
	};
	const nonEmptyString = (field: string) => {
		const v = json[field];
		if (typeof v !== 'string' || v.trim() === '') fail(field, 'a non-empty string', v);
		return v as string;
	};
	const entity = nonEmptyString('entity');
	const system = nonEmptyString('system');
	let id: string | null;
	if (json.id === null) id = null;
	else if (typeof json.id === 'string' && json.id !== '') id = json.id;
	else if (typeof json.id === 'number' && Number.isFinite(json.id)) id = String(json.id);
	else id = fail('id', 'a string, a number or null (null = create)', json.id);
	if (json.op !== 'upsert' && json.op !== 'delete') fail('op', '"upsert" or "delete"', json.op);
	if (json.shape !== 'system' && json.shape !== 'canonical') fail('shape', '"system" or "canonical"', json.shape);
	if (!isPlainObject(json.data)) fail('data', 'an object', json.data);
	if (json.changedAt !== undefined && json.changedAt !== null) {
		if (typeof json.changedAt !== 'string' || !ISO_8601.test(json.changedAt) || Number.isNaN(Date.parse(json.changedAt))) {
			fail('changedAt', 'an ISO 8601 date-time', json.changedAt);
		}
	}
	if (json.actor !== undefined && json.actor !== null && typeof json.actor !== 'string') fail('actor', 'a string', json.actor);
	if (json.key !== undefined && json.key !== null && typeof json.key !== 'string') fail('key', 'a string', json.key);
	const trace = json.trace;
	if (!isPlainObject(trace)) fail('trace', 'an object with runId, origin and hops', trace);
	const t = trace as Record<string, unknown>;
	if (typeof t.runId !== 'string') fail('trace.runId', 'a string', t.runId);
	if (typeof t.origin !== 'string' || t.origin === '') fail('trace.origin', 'a non-empty string', t.origin);
	if (typeof t.hops !== 'number' || !Number.isInteger(t.hops) || t.hops < 0) fail('trace.hops', 'a whole number >= 0', t.hops);
	if (t.cursor !== undefined && t.cursor !== null) {
		const c = t.cursor;
		if (!isPlainObject(c) || typeof c.ts !== 'string' || typeof c.id !== 'string') {
			fail('trace.cursor', 'an object { ts, id } of strings', c);
		}
	}
	if (t.sync !== undefined && typeof t.sync !== 'string') fail('trace.sync', 'a string', t.sync);

	const item: SyncItem = {
		entity,
		system,
		id,
		op: json.op as SyncOp,
		shape: json.shape as SyncShape,
		data: json.data as Record<string, unknown>,
		trace: {
			runId: t.runId as string,
			origin: t.origin as string,
			hops: t.hops as number,
			...(t.cursor ? { cursor: t.cursor as SyncCursor } : {}),
			...(t.sync ? { sync: t.sync as string } : {}),
		},
	};
	if (typeof json.changedAt === 'string') item.changedAt = json.changedAt;
	if (typeof json.actor === 'string') item.actor = json.actor;
	if (typeof json.key === 'string') item.key = json.key;
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
