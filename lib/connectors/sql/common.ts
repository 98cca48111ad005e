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
 * Error codes that mean the server could not be reached or went away, as opposed to a refused statement
 * (socket errors, mysql2's lost connections and server shutdown, Postgres' 57P01–57P03: the server
 * shutting down or starting; Postgres' SQLSTATE class 08 is matched apart), each with what it means in
 * words. The words carry no error code on purpose: n8n replaces a message that holds one (ECONNREFUSED…)
 * with a generic line that no longer names the system.
 */
const CONNECTION_CODES: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'the connection was cut',
	ECONNABORTED: 'the connection was cut',
	EPIPE: 'the connection was cut',
	PROTOCOL_CONNECTION_LOST: 'the connection was cut',
	ETIMEDOUT: 'no answer in time',
	PROTOCOL_SEQUENCE_TIMEOUT: 'no answer in time',
	EHOSTUNREACH: 'host unreachable',
	ENETUNREACH: 'host unreachable',
	ENOTFOUND: 'host name not found',
	EAI_AGAIN: 'host name not found',
	ER_SERVER_SHUTDOWN: 'the server is shutting down',
	ER_CON_COUNT_ERROR: 'the server has too many connections',
	'57P01': 'the server is shutting down',
	'57P02': 'the server is shutting down',
	'57P03': 'the server is starting up or shutting down',
};

/** pg's own messages for a connection that could not be made or was cut (they carry no code). */
const CONNECTION_MESSAGES: Array<[RegExp, string]> = [
	[/^Connection terminated/, 'the connection was cut'],
	[/timeout exceeded when trying to connect/, 'no answer in time'],
	[/^Client has encountered a connection error/, 'the connection was cut'],
	[/^Connection lost/, 'the connection was cut'],
];

/** What a connection failure means in words, looking through causes and AggregateErrors; undefined = not one. */
function connectionFailure(error: unknown, depth = 0): string | undefined {
	// Not `instanceof Error`: socket errors may come from another realm (a sandbox, a test runner).
	if (typeof error !== 'object' || error === null || depth > 4) return undefined;
	const code = String((error as { code?: unknown }).code ?? '');
	if (CONNECTION_CODES[code]) return CONNECTION_CODES[code];
	if (/^08/.test(code)) return 'the connection failed';
	const message = (error as { message?: unknown }).message;
	if (typeof message === 'string') for (const [re, words] of CONNECTION_MESSAGES) if (re.test(message)) return words;
	for (const inner of [(error as { cause?: unknown }).cause, ...((error as { errors?: unknown[] }).errors ?? [])]) {
		const found = connectionFailure(inner, depth + 1);
		if (found) return found;
	}
	return undefined;
}

/** Whether `error` (or an error it wraps) says the database could not be reached or went away. */
export function isConnectionError(error: unknown): boolean {
	return connectionFailure(error) !== undefined;
}

/** The database of a system could not be reached (or went away during the statement). */
export class SqlUnavailableError extends Error {
	constructor(message: string, cause: unknown) {
		super(message, { cause });
		this.name = 'SqlUnavailableError';
	}
}

/**
 * A connection failure restated with the system, server and table it concerns (`where`), since the
 * driver only says "connect ECONNREFUSED 127.0.0.1:5432"; any other error is returned as it is.
 */
export function describeUnavailable(error: unknown, where: string): unknown {
	if (error instanceof SqlUnavailableError) return error;
	const failure = connectionFailure(error);
	if (!failure) return error;
	return new SqlUnavailableError(`${where}: the database could not be reached (${failure})`, error);
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
	let last: string[] | undefined;
	for (const record of records ?? []) {
		const keys = Object.keys(record.values);
		// The records of a batch mostly carry the same fields: check each list of fields once.
		if (last !== undefined && sameKeys(keys, last)) continue;
		last = keys;
		for (const field of keys) if (field !== spec.idColumn && !columns.has(field)) unknown.add(field);
	}
	return unknown;
}

function sameKeys(a: string[], b: string[]): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

const SQL_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export interface TimeParts {
	/** 'YYYY-MM-DD HH:MM:SS' in UTC. */
	base: string;
	/** The fraction digits as written, without the dot ('' when none): kept as text so microseconds survive. */
	fraction: string;
}

/** Days per month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by the two digits at `at` (the pattern has already checked they are digits). */
function twoDigits(text: string, at: number): number {
	return (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;
}

/** Whether a calendar date ('YYYY-MM-DD') and a time of day ('HH:MM[:SS]') exist as written, so no Date is needed. */
function isPlainUtcTime(date: string, time: string): boolean {
	const month = twoDigits(date, 5);
	const day = twoDigits(date, 8);
	if (month < 1 || month > 12 || day < 1) return false;
	if (day > 28) {
		const year = twoDigits(date, 0) * 100 + twoDigits(date, 2);
		const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
		if (day > (month === 2 && leap ? 29 : MONTH_DAYS[month - 1])) return false;
	}
	return twoDigits(time, 0) <= 23 && twoDigits(time, 3) <= 59 && (time.length === 5 || twoDigits(time, 6) <= 59);
}

/** A zone that is UTC itself: none (our sessions run in UTC), Z, or an offset of zero. */
function isUtcZone(zone: string | undefined): boolean {
	return zone === undefined || zone === 'Z' || zone === 'z' || /^[+-]00(?::?00)?$/.test(zone);
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
	const fraction = m[3] ? m[3].slice(1) : '';
	// The usual case (a real UTC date-time, as every database here writes them) needs no Date: a Date
	// would give the same text back. Other zones and values that roll over ('24:00', 30 February) take it.
	if (isUtcZone(m[4]) && isPlainUtcTime(m[1], m[2])) return { base: `${m[1]} ${time}`, fraction };
	let zone = (m[4] ?? 'Z').toUpperCase();
	if (zone !== 'Z') {
		const digits = zone.replace(':', '');
		zone = digits.length === 3 ? `${digits}:00` : `${digits.slice(0, 3)}:${digits.slice(3)}`;
	}
	const ms = Date.parse(`${m[1]}T${time}${zone}`);
	if (Number.isNaN(ms)) return null;
	const iso = new Date(ms).toISOString();
	return { base: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, fraction };
}

function isoOf(parts: TimeParts): string {
	return `${parts.base.slice(0, 10)}T${parts.base.slice(11)}${parts.fraction ? `.${parts.fraction}` : ''}Z`;
}

/** ISO 8601 in UTC ('…T…Z'), keeping every fraction digit of the source. */
export function toIsoUtc(value: string): string {
	const parts = parseTime(value);
	if (!parts) throw new SqlConfigError(`"${value}" is not a date-time`);
	return isoOf(parts);
}

/** ISO 8601 UTC for a timestamp the database gave as text; null for what is not a date-time ('infinity'). */
export function readTime(value: unknown): string | null {
	if (typeof value !== 'string') return null;
	const parts = parseTime(value);
	return parts ? isoOf(parts) : null;
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC: what MySQL and MariaDB accept for DATETIME and TIMESTAMP. */
export function toSqlUtc(value: string): string {
	const parts = parseTime(value);
	if (!parts) throw new SqlConfigError(`"${value}" is not a date-time`);
	return `${parts.base}${parts.fraction ? `.${parts.fraction.slice(0, 6)}` : ''}`;
}

/**
 * A conversion applied to every value of one column, remembering its last answer: the values of a column
 * in a batch often repeat (the time of the write in updated-at), and time conversions cost a parse each.
 */
export function lastValueCache<T>(convert: (value: T) => unknown): (value: T) => unknown {
	let input: T | undefined;
	let output: unknown;
	let filled = false;
	return (value: T) => {
		if (filled && value === input) return output;
		output = convert(value);
		input = value;
		filled = true;
		return output;
	};
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value) && !(value instanceof Uint8Array);
}

/**
 * What a column can hold, as far as a write checks it before sending: values a database would refuse for
 * the whole batch (with no record named) or, worse, store changed (MySQL rounds 1.5 into an INT, a JS date
 * rolls 29 February over into March), are refused per record and field instead.
 */
export interface ColumnLimit {
	/** The column's type as errors name it, e.g. `numeric(5,2)`. */
	type: string;
	/** varchar(n) / char(n): at most n characters. */
	maxChars?: number;
	/** Integer columns: the range, inclusive. */
	integer?: { min: bigint; max: bigint };
	/** numeric(p, s) / decimal(p, s); `nan`: the column also takes NaN (Postgres). */
	numeric?: { precision: number; scale: number; nan?: boolean };
	/** Date and time columns; `infinity`: Postgres also takes 'infinity' and '-infinity'. */
	time?: { infinity?: boolean };
}

export const INTEGER_RANGES: Record<string, { min: bigint; max: bigint }> = {
	tinyint: { min: -128n, max: 127n },
	smallint: { min: -32768n, max: 32767n },
	mediumint: { min: -8388608n, max: 8388607n },
	integer: { min: -2147483648n, max: 2147483647n },
	bigint: { min: -9223372036854775808n, max: 9223372036854775807n },
};

/** An integer range of MySQL's UNSIGNED columns: 0 to twice the signed maximum plus one. */
export function unsignedRange(range: { max: bigint }): { min: bigint; max: bigint } {
	return { min: 0n, max: range.max * 2n + 1n };
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
const DECIMAL_TEXT = /^\s*[+-]?(\d*)(?:\.(\d*))?\s*$/;

/** Whether a date-time written as ISO 8601 or SQL text exists as written: year 1–9999, no 24:00, no 30 February. */
export function isRealDateTime(text: string): boolean {
	const m = DATE_TIME.exec(text.trim());
	if (!m) return false;
	const year = Number(m[1]);
	const month = Number(m[2]);
	const day = Number(m[3]);
	if (year < 1 || month < 1 || month > 12 || day < 1) return false;
	const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
	if (day > (month === 2 && leap ? 29 : MONTH_DAYS[month - 1])) return false;
	if (m[4] === undefined) return true;
	return Number(m[4]) <= 23 && Number(m[5]) <= 59 && (m[6] === undefined || Number(m[6]) <= 59);
}

/** A value as an error shows it: numbers and numeric text plain, other text quoted. */
function shown(value: string | number | bigint): string {
	if (typeof value !== 'string' || DECIMAL_TEXT.test(value)) return String(value).trim();
	return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/**
 * Digits before the point of a decimal number once the database rounds it to `scale` places (999.995 in
 * numeric(5,2) is 1000.00: 4 digits), or undefined when it is no number. Numbers are read in the decimal
 * form the driver sends them in (String(n)), so the rounding is the database's, not a binary float's.
 */
function integerDigits(value: string | number | bigint, scale: number): number | undefined {
	if (typeof value === 'bigint') return (value < 0n ? -value : value).toString().replace(/^0+/, '').length;
	let text: string;
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) return undefined;
		text = String(Math.abs(value));
		if (text.includes('e')) return Math.abs(value) < 1 ? 0 : text.length;
	} else {
		text = value;
	}
	const m = DECIMAL_TEXT.exec(text);
	if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
	const whole = m[1].replace(/^0+/, '');
	const fraction = m[2] ?? '';
	const carries = fraction.length > scale && fraction.charCodeAt(scale) >= 53 && /^9*$/.test(fraction.slice(0, scale));
	if (!carries) return whole.length;
	return /^9*$/.test(whole) ? whole.length + 1 : whole.length;
}

/**
 * Refuses a value its column cannot hold as given, naming the record and the field: text that is not
 * valid Unicode (a lone surrogate would be stored as U+FFFD), text longer than the column, integers out
 * of range or with a fraction, decimals with too many digits before the point, date-times that do not
 * exist. Anything else is left to the database.
 */
export function checkValue(value: string | number | bigint, limit: ColumnLimit | undefined, record: { label: string; index: number }, field: string): void {
	const refuse = (why: string) => {
		throw new SyncItemError(`${record.label}: field "${field}" ${why}`, record.index, `data.${field}`);
	};
	// String.prototype.isWellFormed (ES2024, Node 20+): native, so every text value pays next to nothing.
	if (typeof value === 'string' && !(value as string & { isWellFormed(): boolean }).isWellFormed()) {
		const at = [...value].findIndex((c) => c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff);
		const offset = [...value].slice(0, at).join('').length;
		refuse(`holds text that is not valid Unicode (a lone surrogate at character ${offset})`);
	}
	if (!limit) return;
	if (limit.maxChars !== undefined && typeof value === 'string' && value.length > limit.maxChars) {
		// Columns count characters, JS strings UTF-16 units: only a string long in units can be too long.
		const chars = [...value].length;
		if (chars > limit.maxChars) refuse(`is ${chars} characters long; column "${field}" holds at most ${limit.maxChars}`);
	}
	if (limit.integer) {
		const whole =
			typeof value === 'bigint' ? value : typeof value === 'number' ? (Number.isInteger(value) ? BigInt(value) : undefined) : INTEGER_TEXT.test(value) ? BigInt(value.trim()) : undefined;
		if (whole === undefined) refuse(`is ${shown(value)}, not a whole number (column "${field}" is an integer)`);
		else if (whole < limit.integer.min || whole > limit.integer.max) {
			refuse(`is ${shown(value)}, out of range for column "${field}" (${limit.integer.min} to ${limit.integer.max})`);
		}
	}
	const nan = typeof value === 'number' ? Number.isNaN(value) : typeof value === 'string' && /^\s*nan\s*$/i.test(value);
	if (limit.numeric && !(limit.numeric.nan && nan)) {
		const digits = integerDigits(value, limit.numeric.scale);
		const allowed = limit.numeric.precision - limit.numeric.scale;
		if (digits === undefined) refuse(`is ${shown(value)}, not a number (column "${field}" is ${limit.type})`);
		else if (digits > allowed) refuse(`is ${shown(value)}, more than ${allowed} digits before the point (column "${field}" is ${limit.type})`);
	}
	if (limit.time && typeof value === 'string' && !(limit.time.infinity && /^\s*[+-]?infinity\s*$/i.test(value)) && !isRealDateTime(value)) {
		refuse(`is ${JSON.stringify(value)}, not a date-time that exists (YYYY-MM-DD[THH:MM[:SS]] with an optional zone; column "${field}" is ${limit.type})`);
	}
}

/** Whether a column with this limit can hold the value at all (an id that cannot is in no row of it). */
export function canHold(limit: ColumnLimit | undefined, value: string): boolean {
	try {
		checkValue(value, limit, { label: '', index: 0 }, '');
		return true;
	} catch {
		return false;
	}
}

/** One group of a write batch: records with the same columns go into one multi-row statement. */
export interface UpsertGroup {
	/** The columns written, sorted; without the id column. */
	columns: string[];
	/** The records of the group (their id, label and index); null id = creates. */
	records: Array<{ id: string | null; label: string; index: number }>;
	/** Per record, its values in the order of `columns` (undefined already made null). */
	rows: unknown[][];
}

export interface UpsertPlan {
	groups: UpsertGroup[];
	/** For each record given, the (group, row) that writes it: duplicates of one id share a row. */
	slots: Array<{ group: number; row: number }>;
}

/** Where a column's value comes from: a field of the record, the time of the write, or the sync's actor. */
const NOW = 1;
const ACTOR = 2;
type Source = string | typeof NOW | typeof ACTOR;

/**
 * What every record with one list of fields (in one order) writes: worked out once per list, not per
 * record, since the records of a batch nearly always carry the same fields.
 */
interface Shape {
	keys: string[];
	columns: string[];
	sources: Source[];
	/** Per column, what it can hold (checked for the record's own values, not for the sync's). */
	limits: Array<ColumnLimit | undefined>;
	/** The group of the records of this shape: [creates, updates]; set when the first one is placed. */
	group: [number | undefined, number | undefined];
}

/** One record after duplicates of an id were merged: written through its shape, or (merged) from `values`. */
interface Planned {
	id: string | null;
	label: string;
	index: number;
	raw: SqlRow;
	shape: Shape | null;
	values: SqlRow | null;
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
	limits?: ReadonlyMap<string, ColumnLimit>,
): UpsertPlan {
	const actor = spec.actorColumn && options.actor ? options.actor : undefined;
	const shapes = new Map<string, Shape>();
	let last: Shape | undefined;
	const shapeOf = (record: UpsertRecord): Shape => {
		const keys = Object.keys(record.values);
		if (last !== undefined && sameKeys(keys, last.keys)) return last;
		const name = keys.join('\u0000');
		let shape = shapes.get(name);
		if (shape === undefined) {
			const fields = new Set<string>();
			for (const field of keys) {
				if (field === spec.idColumn) continue;
				if (!columnNames.has(field)) {
					if (options.ignoreUnknownFields) continue;
					throw new SyncItemError(`${record.label}: field "${field}" is not a column of table "${spec.table}"`, record.index, `data.${field}`);
				}
				fields.add(field);
			}
			const all = new Set(fields);
			if (options.touchUpdatedAt) all.add(spec.updatedAtColumn);
			if (actor !== undefined) all.add(spec.actorColumn!);
			const columns = [...all].sort();
			const sources = columns.map((c): Source => (actor !== undefined && c === spec.actorColumn ? ACTOR : fields.has(c) ? c : NOW));
			shape = { keys, columns, sources, limits: columns.map((c) => limits?.get(c)), group: [undefined, undefined] };
			shapes.set(name, shape);
		}
		last = shape;
		return shape;
	};
	const valueOf = (raw: SqlRow, source: Source): unknown => {
		if (source === NOW) return nowValue;
		if (source === ACTOR) return actor;
		const value = raw[source];
		return value === undefined ? null : value;
	};
	/** Checks the record's own values (not the sync's time or actor) against what their columns hold. */
	const checkRow = (row: unknown[], shape: Shape, record: { label: string; index: number }): void => {
		for (let j = 0; j < row.length; j++) {
			const value = row[j];
			if (typeof shape.sources[j] === 'string' && (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint')) {
				checkValue(value, shape.limits[j], record, shape.columns[j]);
			}
		}
	};
	const checkRecord = (raw: SqlRow, shape: Shape, record: { label: string; index: number }): void =>
		checkRow(shape.sources.map((source) => valueOf(raw, source)), shape, record);
	const materialise = (raw: SqlRow, shape: Shape): SqlRow => {
		const values: SqlRow = {};
		shape.columns.forEach((c, j) => (values[c] = valueOf(raw, shape.sources[j])));
		return values;
	};

	const merged: Planned[] = [];
	const slotOf: number[] = [];
	const byId = new Map<string, number>();
	for (const record of records) {
		const shape = shapeOf(record);
		const existing = record.id === null ? undefined : byId.get(record.id);
		if (existing !== undefined) {
			// The same id again: one row whose values are the earlier ones overwritten by these.
			const first = merged[existing];
			// Each record's own values are checked before they are merged into one row.
			if (first.shape) checkRecord(first.raw, first.shape, first);
			checkRecord(record.values, shape, record);
			first.values = Object.assign(first.values ?? materialise(first.raw, first.shape!), materialise(record.values, shape));
			first.shape = null;
			slotOf.push(existing);
			continue;
		}
		if (record.id !== null) byId.set(record.id, merged.length);
		slotOf.push(merged.length);
		merged.push({ id: record.id, label: record.label, index: record.index, raw: record.values, shape, values: null });
	}

	const groups: UpsertGroup[] = [];
	const groupOfKey = new Map<string, number>();
	const groupFor = (columns: string[], create: boolean): number => {
		// Creates and updates differ in the id column, so they never share a statement.
		const key = `${create ? 'new' : 'id'}\u0000${columns.join('\u0000')}`;
		let g = groupOfKey.get(key);
		if (g === undefined) {
			g = groups.length;
			groupOfKey.set(key, g);
			groups.push({ columns, records: [], rows: [] });
		}
		return g;
	};
	const position: Array<{ group: number; row: number }> = [];
	for (const record of merged) {
		const kind = record.id === null ? 0 : 1;
		let g: number;
		let row: unknown[];
		const shape = record.shape;
		if (shape !== null) {
			g = shape.group[kind] ??= groupFor(shape.columns, kind === 0);
			const sources = shape.sources;
			row = new Array<unknown>(sources.length);
			for (let j = 0; j < sources.length; j++) row[j] = valueOf(record.raw, sources[j]);
			checkRow(row, shape, record);
		} else {
			const values = record.values!;
			const columns = Object.keys(values).sort();
			g = groupFor(columns, kind === 0);
			row = columns.map((c) => values[c]);
		}
		const group = groups[g];
		position.push({ group: g, row: group.records.length });
		group.records.push({ id: record.id, label: record.label, index: record.index });
		group.rows.push(row);
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

/**
 * A failed batch statement, naming the table and the records in the batch (the database names the key).
 * Postgres' "Failing row contains (…)" detail is left out: it quotes every column of the row, also those
 * the sync never reads (a system's own sensitive fields), and the message goes to the audit and n8n's logs.
 */
export function batchError(spec: TableSpec, what: string, count: number, cause: unknown): Error {
	const e = cause as { message?: string; detail?: string; sqlMessage?: string };
	const detail = e.detail && !/^Failing row contains/i.test(e.detail) ? ` (${e.detail})` : '';
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
