/**
 * Turns the body of a change notification into DataSync items: one change or an array of them, with the
 * id, op, changedAt and actor taken by field name or dotted path. A bad payload is refused whole, with the
 * reason (which change, which field), so the sender can fix it and nothing half-arrives.
 */
import type { SyncItem } from '../../item';

export class PayloadError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'PayloadError';
	}
}

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
}

export interface ChangeContext {
	entity: string;
	system: string;
	runId: string;
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

function toIso(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) {
		// Epoch seconds or milliseconds, told apart by size (seconds stay below 1e11 until the year 5138).
		return new Date(value < 1e11 ? value * 1000 : value).toISOString();
	}
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) {
		// Kept as sent when it is already ISO 8601 with a zone, so sub-millisecond digits survive.
		return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : new Date(value).toISOString();
	}
	return undefined;
}

/** The DataSync items of one notification body; throws PayloadError naming the change and field. */
export function parseChanges(body: unknown, fields: ChangeFields, context: ChangeContext): SyncItem[] {
	const root = getPath(body, fields.changesPath);
	if (root === undefined) throw new PayloadError(`the body has no "${fields.changesPath}"`);
	const changes = Array.isArray(root) ? root : [root];
	if (changes.length === 0) throw new PayloadError('the body holds no change');
	const deletes = new Set(fields.deleteValues.map((v) => v.trim().toLowerCase()).filter(Boolean));
	return changes.map((change, i) => {
		const where = changes.length === 1 && !Array.isArray(root) ? 'the change' : `change ${i}`;
		if (typeof change !== 'object' || change === null || Array.isArray(change)) {
			throw new PayloadError(`${where} is not an object`);
		}
		const rawId = getPath(change, fields.id);
		if ((typeof rawId !== 'string' || rawId === '') && (typeof rawId !== 'number' || !Number.isFinite(rawId))) {
			throw new PayloadError(`${where}: field "${fields.id}" (the record id) must be a string or a number`);
		}
		const rawOp = fields.op ? getPath(change, fields.op) : undefined;
		if (rawOp !== undefined && rawOp !== null && typeof rawOp !== 'string') {
			throw new PayloadError(`${where}: field "${fields.op}" (the operation) must be text`);
		}
		const op = typeof rawOp === 'string' && deletes.has(rawOp.trim().toLowerCase()) ? 'delete' : 'upsert';
		const rawAt = fields.changedAt ? getPath(change, fields.changedAt) : undefined;
		let changedAt: string | undefined;
		if (rawAt !== undefined && rawAt !== null) {
			changedAt = toIso(rawAt);
			if (changedAt === undefined) {
				throw new PayloadError(`${where}: field "${fields.changedAt}" must be an ISO 8601 date-time or epoch time, got ${JSON.stringify(rawAt).slice(0, 60)}`);
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
		return item;
	});
}
