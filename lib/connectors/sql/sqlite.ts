/**
 * SQLite through Node's built-in `node:sqlite` (no native module). SQLite has no date type: the updated-at
 * column holds either text in UTC with a fixed layout (e.g. `2024-05-01T10:00:00.123Z`, what
 * `strftime('%Y-%m-%dT%H:%M:%fZ')` writes) or epoch milliseconds as an integer. The layout is learnt from
 * the table's own values so the cursor is compared in the same form the column sorts in.
 * Statements run in-process, so a batch is prepared statements inside one transaction: no round trips.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SyncCursor } from '../../item';
import {
	asBatch,
	checkColumns,
	checkIdentifier,
	checkTableSpec,
	chunkRows,
	idToString,
	isPlainObject,
	lastValueCache,
	parseTime,
	planUpsert,
	readTime,
	SqlConfigError,
	TableDescriptions,
	type ColumnLimit,
} from './common';
import type { ReadRecord, SqlConnectionConfig, SqlRow, SqlSession, SqlTransport, TableSpec, UpsertRecord, WriteOptions } from './types';

/** SQLite's default limit of bound parameters per statement. */
const MAX_PARAMS = 32_766;

type TimeStyle = { kind: 'epoch-ms' } | { kind: 'epoch-s' } | { kind: 'text'; separator: string; fraction: number; suffix: string };

const TEXT_TIME = /^\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}:\d{2}(?:\.(\d+))?(Z|[+-]00:?00)?$/;

interface TableInfo {
	columns: Set<string>;
	/** The declared type of the updated-at column, for tables that hold no row yet. */
	declared: string;
	/** Date and time columns (declared DATE, DATETIME or TIMESTAMP, and the updated-at column): text written there must exist as a date-time. */
	limits: Map<string, ColumnLimit>;
	style?: TimeStyle;
}

function quote(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

export function expandHome(path: string): string {
	return path === '~' || path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

function styleOf(value: unknown): TimeStyle | undefined {
	if (typeof value === 'number' || typeof value === 'bigint') return Number(value) > 1e11 ? { kind: 'epoch-ms' } : { kind: 'epoch-s' };
	if (typeof value !== 'string') return undefined;
	const m = TEXT_TIME.exec(value);
	if (!m) return undefined;
	return { kind: 'text', separator: m[1], fraction: m[2]?.length ?? 0, suffix: m[3] ?? '' };
}

function sameStyle(a: TimeStyle | undefined, b: TimeStyle): boolean {
	if (!a || a.kind !== b.kind) return false;
	return a.kind !== 'text' || b.kind !== 'text' || (a.separator === b.separator && a.fraction === b.fraction && a.suffix === b.suffix);
}

/** Writes an ISO time in the layout of the column, so text comparison orders it with the stored values. */
function formatTime(iso: string, style: TimeStyle): string | number {
	if (style.kind !== 'text') {
		const ms = Date.parse(iso);
		if (Number.isNaN(ms)) throw new SqlConfigError(`"${iso}" is not a date-time`);
		return style.kind === 'epoch-ms' ? ms : Math.floor(ms / 1000);
	}
	const parts = parseTime(iso);
	if (!parts) throw new SqlConfigError(`"${iso}" is not a date-time`);
	const fraction = style.fraction ? `.${parts.fraction.padEnd(style.fraction, '0').slice(0, style.fraction)}` : '';
	return `${parts.base.replace(' ', style.separator)}${fraction}${style.suffix}`;
}

function timeToIso(value: unknown): string | null {
	if (typeof value === 'number' || typeof value === 'bigint') {
		const n = Number(value);
		return new Date(n > 1e11 ? n : n * 1000).toISOString();
	}
	return readTime(value);
}

export class SqliteTransport implements SqlTransport {
	readonly dialect = 'sqlite' as const;

	private readonly db: DatabaseSync;

	private readonly tables = new TableDescriptions<TableInfo>((info) => info.columns);

	private readonly statements = new Map<string, StatementSync>();

	/** The statements that read rows (SELECT *), kept apart: they hand rows over as arrays where Node can. */
	private readonly readers = new Map<string, { statement: StatementSync; arrays: boolean }>();

	constructor(config: SqlConnectionConfig) {
		const file = expandHome(config.file ?? '');
		// A system's database is never created by us: a wrong path must fail, not start an empty database.
		if (!file || !existsSync(file)) throw new SqlConfigError(`SQLite file "${config.file ?? ''}" does not exist`);
		this.db = new DatabaseSync(file);
		this.db.exec('PRAGMA busy_timeout = 5000');
		// SQLite's lower() folds ASCII only: match values are compared folded as the engine folds them.
		this.db.function('datasync_fold', { deterministic: true }, (value: unknown) =>
			value === null || value === undefined ? null : String(value).normalize('NFC').trim().toLowerCase(),
		);
	}

	async ping(): Promise<void> {
		this.db.prepare('SELECT 1').get();
	}

	async close(): Promise<void> {
		this.statements.clear();
		this.readers.clear();
		if (this.db.isOpen) this.db.close();
	}

	private statement(sql: string): StatementSync {
		let s = this.statements.get(sql);
		if (!s) {
			// The cache holds the statements of the tables in use; a runaway set of shapes must not grow it forever.
			if (this.statements.size > 500) this.statements.clear();
			s = this.db.prepare(sql);
			this.statements.set(sql, s);
		}
		return s;
	}

	/**
	 * The rows of a query as plain objects. node:sqlite makes each row an object without prototype, which
	 * n8n cannot take as it is and which is slow to copy; so rows come as arrays (Node 24) and are built
	 * with the result's column names, read after each run (SQLite re-prepares a `SELECT *` whose table changed).
	 */
	private select(sql: string, params: SQLInputValue[], cache = true): SqlRow[] {
		let reader = this.readers.get(sql);
		if (!reader) {
			const statement = this.db.prepare(sql);
			const arrays = typeof statement.setReturnArrays === 'function' && typeof statement.columns === 'function';
			if (arrays) statement.setReturnArrays(true);
			reader = { statement, arrays };
			if (cache) {
				if (this.readers.size > 500) this.readers.clear();
				this.readers.set(sql, reader);
			}
		}
		const result = reader.statement.all(...params) as unknown[];
		if (result.length === 0) return [];
		if (!reader.arrays) {
			const keys = Object.keys(result[0] as SqlRow);
			return (result as SqlRow[]).map((raw) => {
				const row: SqlRow = {};
				for (const key of keys) row[key] = raw[key];
				return row;
			});
		}
		const names = reader.statement.columns().map((c) => c.name);
		return (result as unknown[][]).map((values) => {
			const row: SqlRow = {};
			for (let j = 0; j < names.length; j++) row[names[j]] = values[j];
			return row;
		});
	}

	/**
	 * The table's columns; read once per table and process, and again when the table may have changed
	 * since (a column the spec or a record to write names is not in the cached list).
	 */
	private describe(spec: TableSpec, records?: UpsertRecord[]): TableInfo {
		checkTableSpec(spec);
		const known = this.tables.lookup(spec.table, spec, records);
		if (known) return known;
		const rows = this.statement('SELECT name, type FROM pragma_table_info(?)').all(spec.table) as Array<{ name: string; type: string }>;
		if (rows.length === 0) throw new SqlConfigError(`table "${spec.table}" does not exist`);
		const columns = new Set(rows.map((r) => r.name));
		checkColumns(spec, columns);
		// SQLite holds any text in any column (no length or range limits): only date-times are checked.
		const limits = new Map<string, ColumnLimit>();
		for (const row of rows) {
			if (row.name === spec.updatedAtColumn || /DATE|TIMESTAMP/i.test(row.type)) limits.set(row.name, { type: row.type || 'untyped', time: {} });
		}
		const info: TableInfo = { columns, declared: rows.find((r) => r.name === spec.updatedAtColumn)?.type.toUpperCase() ?? '', limits };
		return this.tables.store(spec.table, info, spec, records);
	}

	/** The layout of the updated-at column, learnt from a stored value (once per table and process). */
	private timeStyle(spec: TableSpec, info: TableInfo): TimeStyle {
		if (info.style) return info.style;
		const u = quote(spec.updatedAtColumn);
		const sample = this.statement(`SELECT ${u} AS v FROM ${quote(spec.table)} WHERE ${u} IS NOT NULL LIMIT 1`).get() as { v: unknown } | undefined;
		const found = sample ? styleOf(sample.v) : undefined;
		if (found) {
			info.style = found;
			return found;
		}
		return info.declared.includes('INT') ? { kind: 'epoch-ms' } : { kind: 'text', separator: 'T', fraction: 3, suffix: 'Z' };
	}

	private toRecords(spec: TableSpec, rows: SqlRow[]): ReadRecord[] {
		return rows.map((row) => {
			const updatedAt = timeToIso(row[spec.updatedAtColumn]);
			if (updatedAt !== null) row[spec.updatedAtColumn] = updatedAt;
			return { id: idToString(row[spec.idColumn], spec), updatedAt, row };
		});
	}

	async readChanges(spec: TableSpec, after: SyncCursor | null, limit: number): Promise<ReadRecord[]> {
		const info = this.describe(spec);
		const t = quote(spec.table);
		const u = quote(spec.updatedAtColumn);
		const id = quote(spec.idColumn);
		const order = `ORDER BY ${u}, ${id} LIMIT ?`;
		const rows = !after
			? this.select(`SELECT * FROM ${t} WHERE ${u} IS NOT NULL ${order}`, [limit])
			: after.id === ''
				? this.select(`SELECT * FROM ${t} WHERE ${u} > ? ${order}`, [formatTime(after.ts, this.timeStyle(spec, info)), limit])
				: this.select(`SELECT * FROM ${t} WHERE (${u}, ${id}) > (?, ?) ${order}`, [formatTime(after.ts, this.timeStyle(spec, info)), after.id, limit]);
		return this.toRecords(spec, rows);
	}

	async readSnapshot(spec: TableSpec, afterId: string | null, limit: number): Promise<ReadRecord[]> {
		this.describe(spec);
		const t = quote(spec.table);
		const id = quote(spec.idColumn);
		const rows =
			afterId === null
				? this.select(`SELECT * FROM ${t} ORDER BY ${id} LIMIT ?`, [limit])
				: this.select(`SELECT * FROM ${t} WHERE ${id} > ? ORDER BY ${id} LIMIT ?`, [afterId, limit]);
		return this.toRecords(spec, rows);
	}

	async readByIds(spec: TableSpec, ids: string[]): Promise<ReadRecord[]> {
		this.describe(spec);
		const out: ReadRecord[] = [];
		for (const chunk of chunkRows(ids, 1, 500)) {
			// One statement per number of ids: not kept, or the cache would fill with them.
			const rows = this.select(`SELECT * FROM ${quote(spec.table)} WHERE ${quote(spec.idColumn)} IN (${chunk.map(() => '?').join(', ')})`, chunk, false);
			out.push(...this.toRecords(spec, rows));
		}
		return out;
	}

	/** A value for the updated-at column: date-time text in another layout is rewritten in the column's. */
	private updatedAtValue(value: unknown, style: TimeStyle): SQLInputValue {
		return typeof value === 'string' && !sameStyle(styleOf(value), style) && parseTime(value) ? formatTime(value, style) : this.value(value);
	}

	private value(value: unknown): SQLInputValue {
		if (value === null || value === undefined) return null;
		if (typeof value === 'boolean') return value ? 1 : 0;
		if (value instanceof Date) return value.toISOString();
		if (isPlainObject(value) || Array.isArray(value)) return JSON.stringify(value);
		return value as SQLInputValue;
	}

	/** Sessions one after the other: a session's transaction stays open across its awaits. */
	private sessions: Promise<unknown> = Promise.resolve();

	async session<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
		const run = async (): Promise<T> => {
			this.db.exec('BEGIN IMMEDIATE');
			let committed = false;
			try {
				const result = await work({
					lockByIds: async (spec, ids) => this.readByIds(spec, ids),
					lockByMatch: async (spec, column, values) => {
						checkIdentifier(column, 'match column');
						this.describe(spec);
						const out: ReadRecord[] = [];
						const folded = [...new Set(values.map((v) => v.normalize('NFC')))];
						for (const chunk of chunkRows(folded, 1, 500)) {
							const rows = this.select(`SELECT * FROM ${quote(spec.table)} WHERE datasync_fold(${quote(column)}) IN (${chunk.map(() => '?').join(', ')})`, chunk, false);
							out.push(...this.toRecords(spec, rows));
						}
						return out;
					},
					upsert: (spec, records, options) => this.upsert(spec, records, options),
					delete: (spec, ids, mode, options) => this.delete(spec, ids, mode, options),
				});
				this.db.exec('COMMIT');
				committed = true;
				return result;
			} finally {
				if (!committed && this.db.isTransaction) this.db.exec('ROLLBACK');
			}
		};
		const next = this.sessions.then(run, run);
		this.sessions = next.catch(() => undefined);
		return next;
	}

	/** The work runs synchronously between BEGIN and COMMIT (or inside a session's); anything short of COMMIT rolls back. */
	private transaction<T>(work: () => T): T {
		// Inside a session: part of its transaction.
		if (this.db.isTransaction) return work();
		this.db.exec('BEGIN IMMEDIATE');
		let committed = false;
		try {
			const result = work();
			this.db.exec('COMMIT');
			committed = true;
			return result;
		} finally {
			if (!committed && this.db.isTransaction) this.db.exec('ROLLBACK');
		}
	}

	async upsert(spec: TableSpec, records: UpsertRecord[], options: WriteOptions): Promise<string[]> {
		const info = this.describe(spec, records);
		const style = this.timeStyle(spec, info);
		const plan = planUpsert(spec, records, options, info.columns, formatTime(options.now, style), info.limits);
		const t = quote(spec.table);
		const id = quote(spec.idColumn);
		const rowIds: string[][] = plan.groups.map(() => []);
		await asBatch(spec, 'Upsert', records.length, async () =>
			this.transaction(() => {
				for (let g = 0; g < plan.groups.length; g++) {
					const group = plan.groups[g];
					const withId = group.records[0].id !== null;
					const cols = withId ? [spec.idColumn, ...group.columns] : group.columns;
					const set = (group.columns.length ? group.columns : [spec.idColumn]).map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ');
					const sql = cols.length
						? `INSERT INTO ${t} (${cols.map(quote).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})${withId ? ` ON CONFLICT (${id}) DO UPDATE SET ${set}` : ''} RETURNING ${id} AS id`
						: `INSERT INTO ${t} DEFAULT VALUES RETURNING ${id} AS id`;
					const statement = this.statement(sql);
					// The updated-at column must keep its layout, or text comparison would misplace the row.
					const convert = group.columns.map((c) => (c === spec.updatedAtColumn ? lastValueCache((v: unknown) => this.updatedAtValue(v, style)) : (v: unknown) => this.value(v)));
					const params = new Array<SQLInputValue>(cols.length);
					const offset = withId ? 1 : 0;
					for (let k = 0; k < group.records.length; k++) {
						const row = group.rows[k];
						if (withId) params[0] = group.records[k].id as string;
						for (let j = 0; j < row.length; j++) params[j + offset] = convert[j](row[j]) as SQLInputValue;
						const written = statement.get(...params) as { id: unknown };
						rowIds[g].push(idToString(written.id, spec));
					}
				}
			}),
		);
		return plan.slots.map((slot) => rowIds[slot.group][slot.row]);
	}

	async delete(spec: TableSpec, ids: string[], mode: 'hard' | 'soft', options: WriteOptions): Promise<void> {
		const info = this.describe(spec);
		if (mode === 'soft' && !spec.softDelete) throw new SqlConfigError(`table "${spec.table}": soft delete needs a soft-delete column`);
		const style = this.timeStyle(spec, info);
		await asBatch(spec, 'Delete', ids.length, async () =>
			this.transaction(() => {
				for (const chunk of chunkRows(ids, 1, MAX_PARAMS - 3)) {
					const where = `${quote(spec.idColumn)} IN (${chunk.map(() => '?').join(', ')})`;
					if (mode === 'hard') {
						this.db.prepare(`DELETE FROM ${quote(spec.table)} WHERE ${where}`).run(...chunk);
						continue;
					}
					const soft = spec.softDelete!;
					const sets = [`${quote(soft.column)} = ?`];
					const params: SQLInputValue[] = [soft.kind === 'boolean' ? 1 : formatTime(options.now, style)];
					if (options.touchUpdatedAt) {
						sets.push(`${quote(spec.updatedAtColumn)} = ?`);
						params.push(formatTime(options.now, style));
					}
					if (spec.actorColumn && options.actor) {
						sets.push(`${quote(spec.actorColumn)} = ?`);
						params.push(options.actor);
					}
					this.db.prepare(`UPDATE ${quote(spec.table)} SET ${sets.join(', ')} WHERE ${where}`).run(...params, ...chunk);
				}
			}),
		);
	}
}
