/**
 * MySQL and MariaDB through `mysql2`: one pool per connection, sessions in UTC, dates read as text (no JS
 * date in between, so microseconds survive), `INSERT … ON DUPLICATE KEY UPDATE` for records with an id and
 * a plain multi-row INSERT for creates, whose ids follow from the first AUTO_INCREMENT id (MySQL has no
 * RETURNING; InnoDB hands a multi-row insert of known size consecutive ids).
 */
import mysql from 'mysql2/promise';
import type { FieldPacket, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { SyncItemError, type SyncCursor } from '../../item';
import {
	asBatch,
	checkColumns,
	checkIdentifier,
	checkTableSpec,
	chunkRows,
	idToString,
	INTEGER_RANGES,
	isPlainObject,
	lastValueCache,
	planUpsert,
	SqlConfigError,
	readTime,
	TableDescriptions,
	toSqlUtc,
	unsignedRange,
	type ColumnLimit,
} from './common';
import type { ReadRecord, SqlConnectionConfig, SqlRow, SqlSession, SqlTransport, TableSpec, UpsertRecord, WriteOptions } from './types';

/** MySQL field types that hold a date and a time (TIMESTAMP, DATETIME and their fractional forms). */
const TIME_TYPES = new Set([7, 12, 17, 18]);
/** Rows per statement; mysql2 inlines escaped values, so the limit is the packet size, not a parameter count. */
const MAX_VALUES = 50_000;
/** Keeps one statement well under MariaDB's default max_allowed_packet (16 MB). */
const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

type ColumnKind = 'timestamp' | 'other';

/** The server's sql_mode with strictness added and the modes that break mysql2's escaping taken out. */
const SESSION_SQL_MODE = `CONCAT_WS(',', 'STRICT_ALL_TABLES', 'NO_ZERO_IN_DATE', 'NO_ZERO_DATE', NULLIF(TRIM(BOTH ',' FROM REPLACE(REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','), ',ANSI_QUOTES,', ',')), ''))`;

function quote(name: string): string {
	return `\`${name.replace(/`/g, '``')}\``;
}

function tableName(spec: TableSpec): string {
	return spec.schema ? `${quote(spec.schema)}.${quote(spec.table)}` : quote(spec.table);
}

/** Splits tuples (rows of values, as sent) by bound values and by the estimated size of the statement. */
function chunkBySize(tuples: unknown[][], paramsPerRow: number): unknown[][][] {
	const chunks: unknown[][][] = [];
	for (const byCount of chunkRows(tuples, paramsPerRow, MAX_VALUES)) {
		let current: unknown[][] = [];
		let bytes = 0;
		for (const tuple of byCount) {
			let size = 16;
			for (let j = 0; j < tuple.length; j++) {
				const v = tuple[j];
				size += typeof v === 'string' ? v.length * 4 + 8 : 24;
			}
			if (current.length && bytes + size > MAX_STATEMENT_BYTES) {
				chunks.push(current);
				current = [];
				bytes = 0;
			}
			current.push(tuple);
			bytes += size;
		}
		if (current.length) chunks.push(current);
	}
	return chunks;
}

/** A time as MySQL takes it: Dates and date-time text become UTC 'YYYY-MM-DD HH:MM:SS.ffffff'. */
function timestampValue(value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (value instanceof Date) return toSqlUtc(value.toISOString());
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) return toSqlUtc(value);
	return value;
}

function otherValue(value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (typeof value === 'boolean') return value ? 1 : 0;
	// mysql2 would expand an object into `key = value` pairs: JSON is what a column can hold.
	if (isPlainObject(value) || Array.isArray(value)) return JSON.stringify(value);
	return value;
}

const MYSQL_INTEGERS: Record<string, { min: bigint; max: bigint }> = {
	tinyint: INTEGER_RANGES.tinyint,
	smallint: INTEGER_RANGES.smallint,
	mediumint: INTEGER_RANGES.mediumint,
	int: INTEGER_RANGES.integer,
	bigint: INTEGER_RANGES.bigint,
};

/** What a column of this type can hold (varchar(n), integers, decimal(p,s), dates and times); undefined = no check. */
function limitOf(type: string, full: string, chars: unknown, precision: unknown, scale: unknown): ColumnLimit | undefined {
	// TEXT types count bytes, not characters: left to the server (strict mode refuses an overflow).
	if ((type === 'varchar' || type === 'char') && chars !== null && chars !== undefined) return { type: full, maxChars: Number(chars) };
	if (Object.hasOwn(MYSQL_INTEGERS, type)) {
		const integer = MYSQL_INTEGERS[type];
		return { type: full, integer: full.includes('unsigned') ? unsignedRange(integer) : integer };
	}
	if (type === 'decimal') return { type: full, numeric: { precision: Number(precision), scale: Number(scale) } };
	if (type === 'datetime' || type === 'timestamp' || type === 'date') return { type: full, time: {} };
	return undefined;
}

/** MySQL errors about one value of one row: too long, out of range, not of the column's type. */
const VALUE_ERRORS = new Set([1264, 1265, 1292, 1366, 1406]);

/**
 * A MySQL error about one value ("Data too long for column 'x' at row 3") as an error of that record and
 * field, so Continue On Fail can set that record aside; undefined for any other error.
 */
function valueError(error: unknown, recordAt: (row: number) => { label: string; index: number } | undefined): SyncItemError | undefined {
	const e = error as { errno?: number; sqlMessage?: string };
	if (e.errno === undefined || !VALUE_ERRORS.has(e.errno) || !e.sqlMessage) return undefined;
	const m = /column '((?:[^']|'')*)' at row (\d+)/.exec(e.sqlMessage);
	const record = m ? recordAt(Number(m[2]) - 1) : undefined;
	if (!m || !record) return undefined;
	const field = m[1].replace(/''/g, "'");
	// The row number counts within one statement of the batch: the record's label says which it is.
	return new SyncItemError(`${record.label}: field "${field}": ${e.sqlMessage.replace(/ at row \d+$/, '')}`, record.index, `data.${field}`);
}

export class MySqlTransport implements SqlTransport {
	readonly dialect = 'mysql' as const;

	private readonly pool: mysql.Pool;

	private readonly columns = new TableDescriptions<Map<string, ColumnKind>>((columns) => columns);

	/** Per description of a table, what its columns can hold (checked per record before a write). */
	private readonly limits = new WeakMap<Map<string, ColumnKind>, Map<string, ColumnLimit>>();

	private increment: number | undefined;

	constructor(config: SqlConnectionConfig) {
		this.pool = mysql.createPool({
			host: config.host,
			port: config.port,
			database: config.database || undefined,
			user: config.user,
			password: config.password,
			connectionLimit: 10,
			maxIdle: 10,
			idleTimeout: 30_000,
			connectTimeout: 10_000,
			charset: 'utf8mb4',
			dateStrings: true,
			supportBigNumbers: true,
			bigNumberStrings: true,
			timezone: 'Z',
			ssl:
				config.ssl === 'require'
					? { rejectUnauthorized: true }
					: config.ssl === 'allow-unauthorized'
						? { rejectUnauthorized: false }
						: undefined,
		});
		// Every session in UTC, so TIMESTAMP columns read and compare the same on every server; and strict,
		// whatever the server's sql_mode: without STRICT_ALL_TABLES a value too long or out of range is cut or
		// clamped with a warning, and under NO_BACKSLASH_ESCAPES the driver's escaping of quotes (\') fails.
		this.pool.on('connection', (connection) => {
			connection.query(`SET time_zone = '+00:00', sql_mode = ${SESSION_SQL_MODE}`);
		});
	}

	async ping(): Promise<void> {
		await this.pool.query('SELECT 1');
	}

	async close(): Promise<void> {
		await this.pool.end();
	}

	/**
	 * The table's columns and their kinds; read once per table and process, and again when the table may
	 * have changed since (a column the spec or a record to write names is not in the cached list).
	 */
	private async describe(spec: TableSpec, records?: UpsertRecord[]): Promise<Map<string, ColumnKind>> {
		checkTableSpec(spec);
		const key = `${spec.schema ?? ''}\u0000${spec.table}`;
		const known = this.columns.lookup(key, spec, records);
		if (known) return known;
		const [rows] = await this.pool.query<RowDataPacket[]>(
			`SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_TYPE AS full, CHARACTER_MAXIMUM_LENGTH AS chars,
			        NUMERIC_PRECISION AS \`precision\`, NUMERIC_SCALE AS scale FROM information_schema.COLUMNS
			  WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?`,
			[spec.schema ?? '', spec.table],
		);
		if (rows.length === 0) throw new SqlConfigError(`table "${spec.schema ? `${spec.schema}.` : ''}${spec.table}" does not exist`);
		const columns = new Map<string, ColumnKind>();
		const limits = new Map<string, ColumnLimit>();
		for (const row of rows) {
			const type = String(row.type).toLowerCase();
			columns.set(String(row.name), type === 'datetime' || type === 'timestamp' ? 'timestamp' : 'other');
			const limit = limitOf(type, String(row.full).toLowerCase(), row.chars, row.precision, row.scale);
			if (limit) limits.set(String(row.name), limit);
		}
		this.limits.set(columns, limits);
		checkColumns(spec, columns);
		return this.columns.store(key, columns, spec, records);
	}

	private toRecords(spec: TableSpec, rows: RowDataPacket[], fields: FieldPacket[]): ReadRecord[] {
		const u = spec.updatedAtColumn;
		const timeFields = fields.filter((f) => TIME_TYPES.has(f.columnType ?? f.type ?? -1)).map((f) => f.name);
		// Zero dates ('0000-00-00 …') are no times: they read as null.
		const time = (value: unknown) => (typeof value === 'string' && value.startsWith('0000') ? null : (readTime(value) ?? value));
		const updatedIsTime = timeFields.includes(u);
		return rows.map((raw) => {
			const row = raw as SqlRow;
			for (const f of timeFields) row[f] = time(row[f]);
			const updatedAt = updatedIsTime ? (row[u] as string | null) : readTime(row[u]);
			return { id: idToString(row[spec.idColumn], spec), updatedAt, row };
		});
	}

	async readChanges(spec: TableSpec, after: SyncCursor | null, limit: number): Promise<ReadRecord[]> {
		await this.describe(spec);
		const u = quote(spec.updatedAtColumn);
		const id = quote(spec.idColumn);
		// `u >= ts` lets the (updated-at, id) index do a range scan; the OR settles equal timestamps.
		const order = `ORDER BY ${u}, ${id} LIMIT ?`;
		const [rows, fields] = !after
			? await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${tableName(spec)} WHERE ${u} IS NOT NULL ${order}`, [limit])
			: after.id === ''
				? await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${tableName(spec)} WHERE ${u} > ? ${order}`, [toSqlUtc(after.ts), limit])
				: await this.pool.query<RowDataPacket[]>(
						`SELECT * FROM ${tableName(spec)} WHERE ${u} >= ? AND (${u} > ? OR ${id} > ?) ${order}`,
						[toSqlUtc(after.ts), toSqlUtc(after.ts), after.id, limit],
					);
		return this.toRecords(spec, rows, fields);
	}

	async readSnapshot(spec: TableSpec, afterId: string | null, limit: number): Promise<ReadRecord[]> {
		await this.describe(spec);
		const id = quote(spec.idColumn);
		const [rows, fields] =
			afterId === null
				? await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${tableName(spec)} ORDER BY ${id} LIMIT ?`, [limit])
				: await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${tableName(spec)} WHERE ${id} > ? ORDER BY ${id} LIMIT ?`, [afterId, limit]);
		return this.toRecords(spec, rows, fields);
	}

	async readByIds(spec: TableSpec, ids: string[]): Promise<ReadRecord[]> {
		await this.describe(spec);
		const out: ReadRecord[] = [];
		for (const chunk of chunkRows(ids, 1, 10_000)) {
			const [rows, fields] = await this.pool.query<RowDataPacket[]>(
				`SELECT * FROM ${tableName(spec)} WHERE ${quote(spec.idColumn)} IN (?)`,
				[chunk],
			);
			out.push(...this.toRecords(spec, rows, fields));
		}
		return out;
	}

	/** The conversion of each column's values, chosen once per batch (times remember their last value). */
	private converters(columns: Map<string, ColumnKind>, names: string[]): Array<(value: unknown) => unknown> {
		return names.map((c) => (columns.get(c) === 'timestamp' ? lastValueCache(timestampValue) : otherValue));
	}

	/** One transaction on one pooled connection; anything short of COMMIT rolls back. */
	private async transaction<T>(work: (connection: PoolConnection) => Promise<T>): Promise<T> {
		const connection = await this.pool.getConnection();
		let committed = false;
		try {
			await connection.beginTransaction();
			const result = await work(connection);
			await connection.commit();
			committed = true;
			return result;
		} finally {
			const rolledBack = committed || (await connection.rollback().then(() => true, () => false));
			// A connection whose rollback failed is in an unknown state: destroy it rather than pool it.
			if (rolledBack) connection.release();
			else connection.destroy();
		}
	}

	/** The server's AUTO_INCREMENT step (1 unless replication spreads ids), asked once per transport. */
	private async autoIncrementStep(): Promise<number> {
		if (this.increment === undefined) {
			const [rows] = await this.pool.query<RowDataPacket[]>('SELECT @@auto_increment_increment AS step');
			this.increment = Number(rows[0].step) || 1;
		}
		return this.increment;
	}

	async session<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
		return this.transaction((connection) =>
			work({
				lockByIds: async (spec, ids) => {
					await this.describe(spec);
					const out: ReadRecord[] = [];
					for (const chunk of chunkRows(ids, 1, 10_000)) {
						const [rows, fields] = await connection.query<RowDataPacket[]>(`SELECT * FROM ${tableName(spec)} WHERE ${quote(spec.idColumn)} IN (?) FOR UPDATE`, [chunk]);
						out.push(...this.toRecords(spec, rows, fields));
					}
					return out;
				},
				lockByMatch: async (spec, column, values) => {
					checkIdentifier(column, 'match column');
					await this.describe(spec);
					if (!values.length) return [];
					const [rows, fields] = await connection.query<RowDataPacket[]>(
						`SELECT * FROM ${tableName(spec)} WHERE LOWER(TRIM(${quote(column)})) IN (?) FOR UPDATE`,
						[values],
					);
					return this.toRecords(spec, rows, fields);
				},
				upsert: (spec, records, options) => this.upsert(spec, records, options, connection),
				delete: (spec, ids, mode, options) => this.delete(spec, ids, mode, options, connection),
			}),
		);
	}

	async upsert(spec: TableSpec, records: UpsertRecord[], options: WriteOptions, connection?: PoolConnection): Promise<string[]> {
		const columns = await this.describe(spec, records);
		const plan = planUpsert(spec, records, options, new Set(columns.keys()), options.now, this.limits.get(columns));
		const statements: Array<{ sql: string; params: unknown[]; group: number; ids: string[] | null; rows: number; first: number }> = [];
		plan.groups.forEach((group, g) => {
			const withId = group.records[0].id !== null;
			const cols = withId ? [spec.idColumn, ...group.columns] : group.columns;
			const convert = this.converters(columns, group.columns);
			const offset = withId ? 1 : 0;
			// `VALUES ?` with an array of rows: mysql2 escapes each value into `(…), (…)`.
			const tuples = group.rows.map((row, k) => {
				const tuple = new Array<unknown>(row.length + offset);
				if (withId) tuple[0] = group.records[k].id;
				for (let j = 0; j < row.length; j++) tuple[j + offset] = convert[j](row[j]);
				return tuple;
			});
			const head = `INSERT INTO ${tableName(spec)} (${cols.map(quote).join(', ')}) VALUES ?`;
			const set = (group.columns.length ? group.columns : [spec.idColumn]).map((c) => `${quote(c)} = VALUES(${quote(c)})`).join(', ');
			let first = 0;
			for (const chunk of chunkBySize(tuples, cols.length)) {
				statements.push({
					sql: withId ? `${head} ON DUPLICATE KEY UPDATE ${set}` : head,
					params: [chunk],
					group: g,
					ids: withId ? chunk.map((tuple) => tuple[0] as string) : null,
					rows: chunk.length,
					first,
				});
				first += chunk.length;
			}
		});
		const rowIds: string[][] = plan.groups.map(() => []);
		const run = async (query: (sql: string, params: unknown[]) => Promise<ResultSetHeader>) => {
			for (const statement of statements) {
				const result = await query(statement.sql, statement.params).catch((error: unknown) => {
					throw valueError(error, (row) => plan.groups[statement.group].records[statement.first + row]) ?? error;
				});
				if (statement.ids) {
					rowIds[statement.group].push(...statement.ids);
					continue;
				}
				if (!result.insertId) {
					throw new SqlConfigError(`table "${spec.table}" makes no AUTO_INCREMENT ids: give each new record its id ("${spec.idColumn}")`);
				}
				const step = await this.autoIncrementStep();
				for (let k = 0; k < statement.rows; k++) rowIds[statement.group].push(String(BigInt(result.insertId) + BigInt(k * step)));
			}
		};
		await asBatch(spec, 'Upsert', records.length, async () => {
			// One statement is atomic on its own: no BEGIN / COMMIT, one round trip for the batch.
			if (connection) {
				await run(async (sql, params) => (await connection.query<ResultSetHeader>(sql, params))[0]);
			} else if (statements.length === 1 && (statements[0].ids || this.increment !== undefined)) {
				await run(async (sql, params) => (await this.pool.query<ResultSetHeader>(sql, params))[0]);
			} else {
				await this.transaction((connection) => run(async (sql, params) => (await connection.query<ResultSetHeader>(sql, params))[0]));
			}
		});
		return plan.slots.map((slot) => rowIds[slot.group][slot.row]);
	}

	async delete(spec: TableSpec, ids: string[], mode: 'hard' | 'soft', options: WriteOptions, connection?: PoolConnection): Promise<void> {
		await this.describe(spec);
		if (mode === 'soft' && !spec.softDelete) throw new SqlConfigError(`table "${spec.table}": soft delete needs a soft-delete column`);
		const statements = chunkRows(ids, 1, 10_000).map((chunk) => {
			if (mode === 'hard') return { sql: `DELETE FROM ${tableName(spec)} WHERE ${quote(spec.idColumn)} IN (?)`, params: [chunk] as unknown[] };
			const soft = spec.softDelete!;
			const sets = [`${quote(soft.column)} = ?`];
			const params: unknown[] = [soft.kind === 'boolean' ? 1 : toSqlUtc(options.now)];
			if (options.touchUpdatedAt) {
				sets.push(`${quote(spec.updatedAtColumn)} = ?`);
				params.push(toSqlUtc(options.now));
			}
			if (spec.actorColumn && options.actor) {
				sets.push(`${quote(spec.actorColumn)} = ?`);
				params.push(options.actor);
			}
			return { sql: `UPDATE ${tableName(spec)} SET ${sets.join(', ')} WHERE ${quote(spec.idColumn)} IN (?)`, params: [...params, chunk] };
		});
		await asBatch(spec, 'Delete', ids.length, async () => {
			if (connection) {
				for (const statement of statements) await connection.query(statement.sql, statement.params);
				return;
			}
			if (statements.length === 1) {
				await this.pool.query(statements[0].sql, statements[0].params);
				return;
			}
			await this.transaction(async (c) => {
				for (const statement of statements) await c.query(statement.sql, statement.params);
			});
		});
	}
}
