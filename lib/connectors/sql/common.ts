/**
 * What the three SQL dialects share: identifier checks, time conversions, and the plan of a write batch.
 */
import { SyncItemError } from '../../item';
import type { SqlRow, TableSpec, UpsertRecord, WriteOptions } from './types';

/** A configuration error (table, column, connection), as opposed to a bad record. */
export class SqlConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SqlConfigError';
	}
}

/**
 * Identifiers are quoted by each dialect, so almost any name works (spaces, quotes, capitals, unicode);
 * what no dialect accepts is refused here with the name that is wrong: empty names, control characters,
 * names over 63 bytes (Postgres cuts them silently) and trailing spaces (MySQL refuses them).
 */
export function checkIdentifier(name: unknown, what: string): string {
	if (typeof name !== 'string' || name.length === 0) throw new SqlConfigError(`${what} is empty`);
	if (Buffer.byteLength(name, 'utf8') > 63) throw new SqlConfigError(`${what} "${name.slice(0, 70)}" is longer than 63 bytes`);
	if (/[\u0000-\u001f\u007f]/.test(name)) throw new SqlConfigError(`${what} ${JSON.stringify(name)} contains a control character`);
	if (name !== name.trimEnd()) throw new SqlConfigError(`${what} "${name}" ends with a space`);
	return name;
}

/** Checks every identifier of a table spec once (table, schema, columns). */
export function checkTableSpec(spec: TableSpec): void {
	if (spec.schema) checkIdentifier(spec.schema, 'Schema');
	checkIdentifier(spec.table, 'Table');
	checkIdentifier(spec.idColumn, 'ID column');
	checkIdentifier(spec.updatedAtColumn, 'Updated-at column');
	if (spec.softDelete) checkIdentifier(spec.softDelete.column, 'Soft-delete column');
	if (spec.actorColumn) checkIdentifier(spec.actorColumn, 'Actor column');
}

/** Every column the spec names must exist, or the error names the one that does not. */
export function checkColumns(spec: TableSpec, columns: { has(name: string): boolean }): void {
	for (const [column, what] of [
		[spec.idColumn, 'ID column'],
		[spec.updatedAtColumn, 'Updated-at column'],
		[spec.softDelete?.column, 'Soft-delete column'],
		[spec.actorColumn, 'Actor column'],
	] as const) {
		if (column && !columns.has(column)) throw new SqlConfigError(`${what} "${column}" is not a column of table "${spec.table}"`);
	}
}

/** A field the table lacked is looked up again after this long (a column added meanwhile is then found). */
export const MISSING_COLUMN_RECHECK_MS = 60_000;

/**
 * The descriptions of tables (their columns), read once and reused by every execution of the process, but
 * read again when the table may have changed since: when a column the spec names is not there, or when a
 * record to write carries a field that is no column (a column added while n8n runs must not be refused,
 * nor silently dropped with Ignore Unknown Fields, until a restart). A field already found missing by the
 * last read is only looked up again after MISSING_COLUMN_RECHECK_MS, so a sync whose records always carry
 * an extra field does not pay a query per batch.
 */
export class TableDescriptions<T> {
	private readonly entries = new Map<string, { value: T; at: number; missing: Set<string> }>();

	constructor(private readonly columnsOf: (value: T) => { has(name: string): boolean }) {}

	/** The cached description, or undefined when it must be read again. */
	lookup(key: string, spec: TableSpec, records?: UpsertRecord[], now = Date.now()): T | undefined {
		const entry = this.entries.get(key);
		if (!entry) return undefined;
		const columns = this.columnsOf(entry.value);
		for (const column of [spec.idColumn, spec.updatedAtColumn, spec.softDelete?.column, spec.actorColumn]) {
			if (column && !columns.has(column)) return undefined;
		}
		for (const field of unknownFields(spec, records, columns)) {
			if (!entry.missing.has(field) || now - entry.at > MISSING_COLUMN_RECHECK_MS) return undefined;
		}
		return entry.value;
	}

	/** Keeps a description just read, with the fields of `records` it lacks. */
	store(key: string, value: T, spec: TableSpec, records?: UpsertRecord[], now = Date.now()): T {
		this.entries.set(key, { value, at: now, missing: unknownFields(spec, records, this.columnsOf(value)) });
		return value;
	}
}

function unknownFields(spec: TableSpec, records: UpsertRecord[] | undefined, columns: { has(name: string): boolean }): Set<string> {
	const unknown = new Set<string>();
	for (const record of records ?? []) {
		for (const field of Object.keys(record.values)) if (field !== spec.idColumn && !columns.has(field)) unknown.add(field);
	}
	return unknown;
}

const SQL_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export interface TimeParts {
	/** 'YYYY-MM-DD HH:MM:SS' in UTC. */
	base: string;
	/** The fraction digits as written, without the dot ('' when none): kept as text so microseconds survive. */
	fraction: string;
}

/**
 * Splits a SQL or ISO timestamp into UTC date-time and fraction. A value without a zone is UTC (all our
 * sessions run in UTC). JS dates hold milliseconds only, so the fraction is carried as text: a cursor
 * that lost microseconds would read the same row again.
 */
export function parseTime(value: string): TimeParts | null {
	const m = SQL_TIME.exec(value.trim());
	if (!m) return null;
	const time = m[2].length === 5 ? `${m[2]}:00` : m[2];
	let zone = (m[4] ?? 'Z').toUpperCase();
	if (zone !== 'Z') {
		const digits = zone.replace(':', '');
		zone = digits.length === 3 ? `${digits}:00` : `${digits.slice(0, 3)}:${digits.slice(3)}`;
	}
	const ms = Date.parse(`${m[1]}T${time}${zone}`);
	if (Number.isNaN(ms)) return null;
	const iso = new Date(ms).toISOString();
	return { base: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, fraction: m[3] ? m[3].slice(1) : '' };
}

/** ISO 8601 in UTC ('…T…Z'), keeping every fraction digit of the source. */
export function toIsoUtc(value: string): string {
	const parts = parseTime(value);
	if (!parts) throw new SqlConfigError(`"${value}" is not a date-time`);
	return `${parts.base.replace(' ', 'T')}${parts.fraction ? `.${parts.fraction}` : ''}Z`;
}

/** ISO 8601 UTC for a timestamp the database gave as text; null for what is not a date-time ('infinity'). */
export function readTime(value: unknown): string | null {
	if (typeof value !== 'string') return null;
	const parts = parseTime(value);
	return parts ? `${parts.base.replace(' ', 'T')}${parts.fraction ? `.${parts.fraction}` : ''}Z` : null;
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC: what MySQL and MariaDB accept for DATETIME and TIMESTAMP. */
export function toSqlUtc(value: string): string {
	const parts = parseTime(value);
	if (!parts) throw new SqlConfigError(`"${value}" is not a date-time`);
	return `${parts.base}${parts.fraction ? `.${parts.fraction.slice(0, 6)}` : ''}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value) && !(value instanceof Uint8Array);
}

/** One group of a write batch: records with the same columns go into one multi-row statement. */
export interface UpsertGroup {
	columns: string[];
	records: Array<{ id: string | null; values: SqlRow; label: string; index: number }>;
}

export interface UpsertPlan {
	groups: UpsertGroup[];
	/** For each record given, the (group, row) that writes it: duplicates of one id share a row. */
	slots: Array<{ group: number; row: number }>;
}

/**
 * Turns a batch into multi-row statements: the sync fields (updated-at, actor) are filled in, the same id
 * given twice becomes one row (the later values win, as they would one after the other), and records
 * with the same set of columns share a statement. Unknown columns are refused with the record and field.
 */
export function planUpsert(
	spec: TableSpec,
	records: UpsertRecord[],
	options: WriteOptions,
	columnNames: ReadonlySet<string>,
	nowValue: unknown,
): UpsertPlan {
	const merged: Array<{ id: string | null; values: SqlRow; label: string; index: number }> = [];
	const slotOf: number[] = [];
	const byId = new Map<string, number>();
	for (const record of records) {
		const values: SqlRow = {};
		for (const [field, value] of Object.entries(record.values)) {
			if (field === spec.idColumn) continue;
			if (!columnNames.has(field)) {
				if (options.ignoreUnknownFields) continue;
				throw new SyncItemError(
					`${record.label}: field "${field}" is not a column of table "${spec.table}"`,
					record.index,
					`data.${field}`,
				);
			}
			values[field] = value === undefined ? null : value;
		}
		if (options.touchUpdatedAt && values[spec.updatedAtColumn] === undefined) values[spec.updatedAtColumn] = nowValue;
		if (spec.actorColumn && options.actor) values[spec.actorColumn] = options.actor;
		const existing = record.id === null ? undefined : byId.get(record.id);
		if (existing !== undefined) {
			Object.assign(merged[existing].values, values);
			slotOf.push(existing);
			continue;
		}
		if (record.id !== null) byId.set(record.id, merged.length);
		slotOf.push(merged.length);
		merged.push({ id: record.id, values, label: record.label, index: record.index });
	}

	const groups: UpsertGroup[] = [];
	const groupOfKey = new Map<string, number>();
	const position: Array<{ group: number; row: number }> = [];
	for (const record of merged) {
		const columns = Object.keys(record.values).sort();
		// Creates and updates differ in the id column, so they never share a statement.
		const key = `${record.id === null ? 'new' : 'id'}\u0000${columns.join('\u0000')}`;
		let g = groupOfKey.get(key);
		if (g === undefined) {
			g = groups.length;
			groupOfKey.set(key, g);
			groups.push({ columns, records: [] });
		}
		position.push({ group: g, row: groups[g].records.length });
		groups[g].records.push(record);
	}
	return { groups, slots: slotOf.map((m) => position[m]) };
}

/** Splits rows so that one statement stays under the dialect's limit of bound parameters. */
export function chunkRows<T>(rows: T[], paramsPerRow: number, maxParams: number): T[][] {
	const size = Math.max(1, Math.floor(maxParams / Math.max(1, paramsPerRow)));
	const chunks: T[][] = [];
	for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
	return chunks;
}

/** A failed batch statement, naming the table and the records in the batch (the database names the key). */
export function batchError(spec: TableSpec, what: string, count: number, cause: unknown): Error {
	const e = cause as { message?: string; detail?: string; sqlMessage?: string };
	const detail = e.detail ? ` (${e.detail})` : '';
	return new Error(
		`${what} of ${count} record${count === 1 ? '' : 's'} in table "${spec.table}" failed, nothing was written: ${e.sqlMessage ?? e.message ?? String(cause)}${detail}`,
		{ cause },
	);
}

/**
 * Runs the statements of one batch; a database failure becomes an error that names the table and the
 * batch, while configuration and record errors (which already name what is wrong) pass unchanged.
 */
export function asBatch<T>(spec: TableSpec, what: string, count: number, work: () => Promise<T>): Promise<T> {
	return work().catch((error: unknown) =>
		Promise.reject(error instanceof SqlConfigError || error instanceof SyncItemError ? error : batchError(spec, what, count, error)),
	);
}

/** Turns the raw id of a row into the string the sync item carries. */
export function idToString(value: unknown, spec: TableSpec): string {
	if (value === null || value === undefined) {
		throw new SqlConfigError(`a row of table "${spec.table}" has no value in id column "${spec.idColumn}"`);
	}
	if (Buffer.isBuffer(value)) return value.toString('hex');
	return String(value);
}
