/**
 * The Mapper's work on DataSync items (lib/item.ts): wrap raw records from any n8n node into items, and
 * map an item to or from the canonical shape. No n8n import: the node only reads its parameters,
 * compiles once and calls these per item.
 */
import { DateTime } from 'luxon';

import { SyncItemError, expectShape, type SyncItem, type SyncShape } from '../item';
import { preview, type FieldError } from './errors';
import type { CompiledMapping } from './compile';
import { getPath, parsePath, type FieldPath } from './path';

export type MapDirection = 'toCanonical' | 'fromCanonical';

export interface WrapSettings {
	entity: string;
	system: string;
	/** Path of the record's id; empty = the mapping's `idField` for that system. */
	idField?: string;
	/** Path of a field holding "upsert"/"delete", or a boolean "deleted" flag. Absent = every record is an upsert. */
	opField?: string;
	/** Path of the time of the change (ISO 8601, SQL or RFC 2822 text, epoch seconds or milliseconds). */
	changedAtField?: string;
	/** Path of who made the change in the source. */
	actorField?: string;
	/** The shape of the raw records: system records on the way in, canonical ones on the way out. */
	shape: SyncShape;
	/** The run (execution) id for `trace.runId`. */
	runId: string;
}

export interface CompiledWrap {
	wrap(record: unknown, index: number): SyncItem;
}

function optionalPath(text: string | undefined, name: string): FieldPath | undefined {
	if (text === undefined || text.trim() === '') return undefined;
	const path = parsePath(text);
	if (!path) throw new SyncItemError(`wrap: "${name}" ${preview(text)} is not a field name or dotted path`, undefined, name);
	return path;
}

/** The longest record id (in UTF-16 units), the same bound as the DataSync Trigger's (docs/connectors.md). */
export const MAX_ID_LENGTH = 255;

/** Control characters (NUL, line breaks…), line and paragraph separators, and surrogates without their pair. */
const NOT_PRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Epoch numbers below this are seconds, above it milliseconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const MILLIS_THRESHOLD = 1e11;

function toIsoTime(value: unknown): string | undefined {
	let dt: DateTime | undefined;
	if (value instanceof Date) dt = DateTime.fromJSDate(value);
	else if (typeof value === 'number' && Number.isFinite(value)) {
		dt = DateTime.fromMillis(Math.abs(value) < MILLIS_THRESHOLD ? value * 1000 : value);
	} else if (typeof value === 'string') {
		for (const parse of [DateTime.fromISO, DateTime.fromSQL, DateTime.fromRFC2822]) {
			const candidate = parse(value, { zone: 'utc', setZone: true });
			if (candidate.isValid) {
				dt = candidate;
				break;
			}
		}
	}
	return dt?.isValid ? (dt.toUTC().toISO() as string) : undefined;
}

/** Checks the wrap settings once and returns the per-record function. */
export function compileWrap(settings: WrapSettings, mapping: CompiledMapping): CompiledWrap {
	if (settings.system.trim() === '') throw new SyncItemError('wrap: "system" must name the system the records come from', undefined, 'system');
	if (settings.entity !== mapping.entity) {
		throw new SyncItemError(`wrap: entity "${settings.entity}" differs from the mapping's entity "${mapping.entity}"`, undefined, 'entity');
	}
	const idPath = optionalPath(settings.idField, 'idField') ?? mapping.systems.get(settings.system)?.idField;
	const opPath = optionalPath(settings.opField, 'opField');
	const changedAtPath = optionalPath(settings.changedAtField, 'changedAtField');
	const actorPath = optionalPath(settings.actorField, 'actorField');
	return {
		wrap(record, index) {
			if (record === null || typeof record !== 'object' || Array.isArray(record)) {
				throw new SyncItemError(`item ${index}: a raw record must be an object`, index, '(item)');
			}
			const data = record as Record<string, unknown>;
			const where = `item ${index} (${settings.entity} / ${settings.system})`;
			let id: string | null = null;
			if (idPath) {
				const v = getPath(data, idPath.segments);
				if (typeof v === 'number' && Number.isFinite(v)) id = String(v);
				else if (typeof v === 'string' && v !== '') id = v;
				else if (v !== undefined && v !== null && v !== '') {
					throw new SyncItemError(`${where}: id field "${idPath.text}" must be a string or a number, got ${preview(v)}`, index, idPath.text);
				}
				if (id !== null && id.length > MAX_ID_LENGTH) {
					throw new SyncItemError(`${where}: id field "${idPath.text}" is ${id.length} characters, more than ${MAX_ID_LENGTH}`, index, idPath.text);
				}
				if (id !== null && (id.trim() === '' || NOT_PRINTABLE.test(id))) {
					throw new SyncItemError(`${where}: id field "${idPath.text}" must be printable text (no control characters, no lone surrogates, not blank), got ${preview(v)}`, index, idPath.text);
				}
			}
			let op: SyncItem['op'] = 'upsert';
			if (opPath) {
				const v = getPath(data, opPath.segments);
				if (v === true || (typeof v === 'string' && v.toLowerCase() === 'delete')) op = 'delete';
				else if (!(v === undefined || v === null || v === false || (typeof v === 'string' && v.toLowerCase() === 'upsert'))) {
					throw new SyncItemError(`${where}: op field "${opPath.text}" must be "upsert", "delete" or a boolean deleted flag, got ${preview(v)}`, index, opPath.text);
				}
			}
			const item: SyncItem = {
				entity: settings.entity,
				system: settings.system,
				id,
				op,
				shape: settings.shape,
				data,
				trace: { runId: settings.runId, origin: settings.system, hops: 0 },
			};
			if (changedAtPath) {
				const v = getPath(data, changedAtPath.segments);
				if (v !== undefined && v !== null && v !== '') {
					const iso = toIsoTime(v);
					if (!iso) throw new SyncItemError(`${where}: changedAt field "${changedAtPath.text}" is not a date-time, got ${preview(v)}`, index, changedAtPath.text);
					item.changedAt = iso;
				}
			}
			if (actorPath) {
				const v = getPath(data, actorPath.segments);
				if (typeof v === 'string' || typeof v === 'number') item.actor = String(v);
			}
			return item;
		},
	};
}

export type ItemOutcome =
	| { valid: true; item: SyncItem }
	| { valid: false; item: SyncItem & { errors: FieldError[] } };

/**
 * Maps one item with a compiled mapping. Structural problems (another entity, the wrong shape, a system
 * the mapping does not know) throw SyncItemError; data that breaks a rule gives `valid: false` with the
 * errors and the record without its sensitive fields.
 */
export function mapSyncItem(mapping: CompiledMapping, item: SyncItem, direction: MapDirection, index: number): ItemOutcome {
	const where = () => `item ${index} (${item.entity} / ${item.system} / ${item.id ?? 'new'})`;
	if (item.entity !== mapping.entity) {
		throw new SyncItemError(`${where()}: field "entity" is "${item.entity}" but this Mapper maps "${mapping.entity}"`, index, 'entity');
	}
	expectShape(item, direction === 'toCanonical' ? 'system' : 'canonical', index);
	const mapper = mapping.systems.get(item.system);
	if (!mapper) {
		throw new SyncItemError(
			`${where()}: field "system": no mapping for system "${item.system}" (this Mapper maps ${[...mapping.systems.keys()].map((s) => `"${s}"`).join(', ')})`,
			index,
			'system',
		);
	}
	const way = direction === 'toCanonical' ? 'toCanonical' : 'toSystem';
	if (!mapper.supports(way)) {
		throw new SyncItemError(`${where()}: field "system": the mapping of "${item.system}" is one-way ("${mapper.direction}") and cannot map ${direction === 'toCanonical' ? 'to' : 'from'} canonical`, index, 'system');
	}
	const outcome = way === 'toCanonical' ? mapper.toCanonical(item.data, item.id) : mapper.toSystem(item.data, item.id);
	const shape: SyncShape = way === 'toCanonical' ? 'canonical' : 'system';
	if (outcome.ok) return { valid: true, item: { ...item, shape, data: outcome.data } };
	// A delete is identified by entity, system and id; its data is not written, so it is not held back.
	if (item.op === 'delete') return { valid: true, item: { ...item, shape, data: {} } };
	return { valid: false, item: { ...item, data: mapper.redact(item.data, item.shape), errors: outcome.errors } };
}
