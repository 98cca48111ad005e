/**
 * Postgres through `pg`: one pool per connection, sessions in UTC, timestamps read as text so that
 * microseconds survive into the cursor, `INSERT … ON CONFLICT … RETURNING` for upserts.
 */
import { Pool, types, type ClientConfig, type FieldDef, type PoolClient, type PoolConfig } from 'pg';
import { SyncItemError, type SyncCursor } from '../../item';
import {
	asBatch,
	canHold,
	checkColumns,
	checkIdentifier,
	checkTableSpec,
	chunkRows,
	idToString,
	INTEGER_RANGES,
	isPlainObject,
	planUpsert,
	SqlConfigError,
	readTime,
	TableDescriptions,
} from './common';
import type { ColumnLimit } from './common';
import type { ReadRecord, SqlConnectionConfig, SqlRow, SqlSession, SqlTransport, TableSpec, UpsertRecord, WriteOptions } from './types';

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const DATE = 1082;
/** Postgres binds at most 65535 parameters per statement. */
const MAX_PARAMS = 65535;

type ColumnKind = 'timestamp' | 'json' | 'other';

interface Column {
	kind: ColumnKind;
	/** What the column can hold, checked per record before a write. */
	limit?: ColumnLimit;
	uuid?: boolean;
	/** The column's type as SQL text for a cast (`bigint`, `timestamp with time zone`); undefined for array columns. */
	unnestType?: string;
}

function quote(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

function tableName(spec: TableSpec): string {
	return spec.schema ? `${quote(spec.schema)}.${quote(spec.table)}` : quote(spec.table);
}

/** Dates and timestamps stay text (pg would turn them into JS dates and drop microseconds). */
const rawTimeTypes = {
	getTypeParser(oid: number, format?: 'text' | 'binary') {
		if (oid === TIMESTAMP || oid === TIMESTAMPTZ || oid === DATE) return (value: string) => value;
		return types.getTypeParser(oid, format as 'text');
	},
};

/**
 * A column's values as a Postgres array literal ('{"a","b",NULL}'), built the way pg builds one from a JS
 * array but without its two regular expressions per value; values other than text, numbers and booleans
 * (Buffers, Dates, objects) leave the array to pg.
 */
export function arrayLiteral(values: unknown[]): string | unknown[] {
	let text = '{';
	for (let i = 0; i < values.length; i++) {
		if (i > 0) text += ',';
		const value = values[i];
		if (value === null || value === undefined) {
			text += 'NULL';
			continue;
		}
		let element: string;
		if (typeof value === 'string') element = value;
		else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') element = String(value);
		else return values;
		text += element.includes('\\') || element.includes('"') ? `"${element.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${element}"`;
	}
	return `${text}}`;
}

const PG_INTEGERS: Record<string, { min: bigint; max: bigint }> = { int2: INTEGER_RANGES.smallint, int4: INTEGER_RANGES.integer, int8: INTEGER_RANGES.bigint };

/** What a column of this type can hold (varchar(n), integers, numeric(p,s), dates and times); undefined = no check. */
function limitOf(type: string, typmod: number, full: string): ColumnLimit | undefined {
	if ((type === 'varchar' || type === 'bpchar') && typmod > 4) return { type: full, maxChars: typmod - 4 };
	if (Object.hasOwn(PG_INTEGERS, type)) return { type: full, integer: PG_INTEGERS[type] };
	if (type === 'numeric') {
		// An unconstrained numeric takes any number (and NaN, Infinity): left to Postgres.
		if (typmod < 4) return undefined;
		const mod = typmod - 4;
		return { type: full, numeric: { precision: (mod >> 16) & 0xffff, scale: mod & 0xffff, nan: true } };
	}
	if (type === 'timestamp' || type === 'timestamptz' || type === 'date') return { type: full, time: { infinity: true } };
	return undefined;
}

const UUID = /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;

/** How `pg` connects to this system: the pool's settings, shared with the Database Trigger's listening client. */
export function pgConnectionOptions(config: SqlConnectionConfig): ClientConfig {
	return {
		host: config.host,
		port: config.port,
		database: config.database,
		user: config.user,
		password: config.password,
		options: '-c TimeZone=UTC',
		types: rawTimeTypes as ClientConfig['types'],
		ssl: config.ssl === 'require' ? { rejectUnauthorized: true } : config.ssl === 'allow-unauthorized' ? { rejectUnauthorized: false } : undefined,
	};
}

export class PostgresTransport implements SqlTransport {
	readonly dialect = 'postgres' as const;

	private readonly pool: Pool;

	private readonly columns = new TableDescriptions<Map<string, Column>>((columns) => columns);

	constructor(config: SqlConnectionConfig) {
		const poolConfig: PoolConfig = {
			...pgConnectionOptions(config),
			max: 10,
			idleTimeoutMillis: 30_000,
			connectionTimeoutMillis: 10_000,
			// Idle pooled connections must not keep a worker or a test process alive.
			allowExitOnIdle: true,
		};
		this.pool = new Pool(poolConfig);
		// A connection that dies while idle must not crash n8n; the pool replaces it on the next query.
		this.pool.on('error', () => undefined);
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
	private async describe(spec: TableSpec, records?: UpsertRecord[]): Promise<Map<string, Column>> {
		checkTableSpec(spec);
		const key = `${spec.schema ?? ''}\u0000${spec.table}`;
		const known = this.columns.lookup(key, spec, records);
		if (known) return known;
		const { rows } = await this.pool.query<{ name: string; type: string; sqltype: string; category: string; typmod: number; full: string }>(
			`SELECT a.attname AS name, t.typname AS type, format_type(a.atttypid, NULL) AS sqltype, t.typcategory AS category,
			        a.atttypmod AS typmod, format_type(a.atttypid, a.atttypmod) AS full
			   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
			  WHERE a.attrelid = to_regclass(CASE WHEN $1::text = '' THEN format('%I', $2::text) ELSE format('%I.%I', $1::text, $2::text) END)
			    AND a.attnum > 0 AND NOT a.attisdropped`,
			[spec.schema ?? '', spec.table],
		);
		if (rows.length === 0) {
			throw new SqlConfigError(`table "${spec.schema ? `${spec.schema}.` : ''}${spec.table}" does not exist`);
		}
		const columns = new Map<string, Column>();
		for (const row of rows) {
			columns.set(row.name, {
				kind: row.type === 'timestamp' || row.type === 'timestamptz' ? 'timestamp' : row.type === 'json' || row.type === 'jsonb' ? 'json' : 'other',
				// unnest() flattens nested arrays, so array columns take the VALUES form.
				unnestType: row.category === 'A' ? undefined : row.sqltype,
				limit: limitOf(row.type, row.typmod, row.full),
				uuid: row.type === 'uuid',
			});
		}
		checkColumns(spec, columns);
		return this.columns.store(key, columns, spec, records);
	}

	private readonly limitMaps = new WeakMap<Map<string, Column>, Map<string, ColumnLimit>>();

	/** The columns' limits as planUpsert takes them, built once per description. */
	private limits(columns: Map<string, Column>): Map<string, ColumnLimit> {
		let limits = this.limitMaps.get(columns);
		if (!limits) {
			limits = new Map();
			for (const [name, column] of columns) if (column.limit) limits.set(name, column.limit);
			this.limitMaps.set(columns, limits);
		}
		return limits;
	}

	/**
	 * The ids an id column can hold: Postgres refuses a whole statement over one id that is no integer
	 * (or no UUID) for such a column, where MySQL and SQLite find no row; an id it cannot hold is in no row.
	 */
	private possibleIds(columns: Map<string, Column>, spec: TableSpec, ids: string[]): string[] {
		const column = columns.get(spec.idColumn);
		if (column?.uuid) return ids.filter((id) => UUID.test(id));
		if (column?.limit?.integer) return ids.filter((id) => canHold(column.limit, id));
		return ids;
	}

	private toRecords(spec: TableSpec, rows: SqlRow[], fields: FieldDef[]): ReadRecord[] {
		const u = spec.updatedAtColumn;
		const timeFields = fields.filter((f) => f.name !== u && (f.dataTypeID === TIMESTAMP || f.dataTypeID === TIMESTAMPTZ)).map((f) => f.name);
		return rows.map((row) => {
			// Values that are no date-time ('infinity') stay as Postgres wrote them.
			for (const f of timeFields) row[f] = readTime(row[f]) ?? row[f];
			const updatedAt = readTime(row[u]);
			if (updatedAt) row[u] = updatedAt;
			return { id: idToString(row[spec.idColumn], spec), updatedAt, row };
		});
	}

	async readChanges(spec: TableSpec, after: SyncCursor | null, limit: number): Promise<ReadRecord[]> {
		await this.describe(spec);
		const u = quote(spec.updatedAtColumn);
		const id = quote(spec.idColumn);
		const order = `ORDER BY ${u}, ${id} LIMIT`;
		const result = !after
			? await this.pool.query(`SELECT * FROM ${tableName(spec)} WHERE ${u} IS NOT NULL ${order} $1`, [limit])
			: after.id === ''
				? await this.pool.query(`SELECT * FROM ${tableName(spec)} WHERE ${u} > $1 ${order} $2`, [after.ts, limit])
				: await this.pool.query(`SELECT * FROM ${tableName(spec)} WHERE (${u}, ${id}) > ($1, $2) ${order} $3`, [after.ts, after.id, limit]);
		return this.toRecords(spec, result.rows, result.fields);
	}

	async readSnapshot(spec: TableSpec, afterId: string | null, limit: number): Promise<ReadRecord[]> {
		await this.describe(spec);
		const id = quote(spec.idColumn);
		const result =
			afterId === null
				? await this.pool.query(`SELECT * FROM ${tableName(spec)} ORDER BY ${id} LIMIT $1`, [limit])
				: await this.pool.query(`SELECT * FROM ${tableName(spec)} WHERE ${id} > $1 ORDER BY ${id} LIMIT $2`, [afterId, limit]);
		return this.toRecords(spec, result.rows, result.fields);
	}

	async readByIds(spec: TableSpec, ids: string[]): Promise<ReadRecord[]> {
		const columns = await this.describe(spec);
		const out: ReadRecord[] = [];
		for (const chunk of chunkRows(this.possibleIds(columns, spec, ids), 1, MAX_PARAMS)) {
			const result = await this.pool.query(
				`SELECT * FROM ${tableName(spec)} WHERE ${quote(spec.idColumn)} IN (${chunk.map((_, i) => `$${i + 1}`).join(', ')})`,
				chunk,
			);
			out.push(...this.toRecords(spec, result.rows, result.fields));
		}
		return out;
	}

	private value(kind: ColumnKind | undefined, value: unknown, record: { label: string; index: number }, field: string): unknown {
		if (typeof value === 'string') {
			// Postgres text cannot hold NUL; say which record and field instead of a driver error for the batch.
			if (value.includes('\u0000')) {
				throw new SyncItemError(`${record.label}: field "${field}" contains a NUL character, which Postgres cannot store`, record.index, `data.${field}`);
			}
			return value;
		}
		if (kind === 'json' && value !== null) return JSON.stringify(value);
		if (isPlainObject(value)) return JSON.stringify(value);
		return value;
	}

	/** BEGIN … COMMIT on one pooled connection; anything short of COMMIT rolls back. */
	private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
		const client = await this.pool.connect();
		let committed = false;
		try {
			await client.query('BEGIN');
			const result = await work(client);
			await client.query('COMMIT');
			committed = true;
			return result;
		} finally {
			const rolledBack = committed || (await client.query('ROLLBACK').then(() => true, () => false));
			// A connection whose rollback failed is in an unknown state: destroy it rather than pool it.
			client.release(!rolledBack);
		}
	}

	async session<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
		return this.transaction((client) =>
			work({
				lockByIds: async (spec, ids) => {
					const columns = await this.describe(spec);
					const out: ReadRecord[] = [];
					for (const chunk of chunkRows(this.possibleIds(columns, spec, ids), 1, MAX_PARAMS)) {
						const result = await client.query(
							`SELECT * FROM ${tableName(spec)} WHERE ${quote(spec.idColumn)} IN (${chunk.map((_, i) => `$${i + 1}`).join(', ')}) FOR UPDATE`,
							chunk,
						);
						out.push(...this.toRecords(spec, result.rows, result.fields));
					}
					return out;
				},
				lockByMatch: async (spec, column, values) => {
					checkIdentifier(column, 'match column');
					await this.describe(spec);
					const result = await client.query(
						`SELECT * FROM ${tableName(spec)} WHERE lower(btrim(${quote(column)}::text)) = ANY($1::text[]) FOR UPDATE`,
						[values],
					);
					return this.toRecords(spec, result.rows, result.fields);
				},
				upsert: (spec, records, options) => this.upsert(spec, records, options, client),
				delete: (spec, ids, mode, options) => this.delete(spec, ids, mode, options, client),
			}),
		);
	}

	async upsert(spec: TableSpec, records: UpsertRecord[], options: WriteOptions, client?: PoolClient): Promise<string[]> {
		const columns = await this.describe(spec, records);
		const plan = planUpsert(spec, records, options, new Set(columns.keys()), options.now, this.limits(columns));
		const statements: Array<{ sql: string; params: unknown[]; expect: Array<string | null> }> = [];
		for (const group of plan.groups) {
			const withId = group.records[0].id !== null;
			const set = group.columns.length
				? group.columns.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')
				: `${quote(spec.idColumn)} = EXCLUDED.${quote(spec.idColumn)}`;
			const conflict = withId ? ` ON CONFLICT (${quote(spec.idColumn)}) DO UPDATE SET ${set}` : '';
			const unnestCols = withId ? [spec.idColumn, ...group.columns] : group.columns;
			if (unnestCols.length > 0 && unnestCols.every((c) => columns.get(c)?.unnestType)) {
				// One array per column: the statement stays the same size whatever the batch, and Postgres
				// parses it about twice as fast as a VALUES list of the same rows.
				const offset = withId ? 1 : 0;
				const params = unnestCols.map((c, i) => {
					if (withId && i === 0) return arrayLiteral(group.records.map((r) => r.id));
					const kind = columns.get(c)?.kind;
					const j = i - offset;
					const values = new Array<unknown>(group.rows.length);
					for (let k = 0; k < values.length; k++) {
						const value = this.value(kind, group.rows[k][j], group.records[k], c);
						// Inside an array a JS array would become a second dimension: a scalar column gets it as JSON.
						values[k] = Array.isArray(value) ? JSON.stringify(value) : value;
					}
					return arrayLiteral(values);
				});
				const arrays = unnestCols.map((c, i) => `$${i + 1}::${columns.get(c)!.unnestType}[]`).join(', ');
				statements.push({
					sql: `INSERT INTO ${tableName(spec)} (${unnestCols.map(quote).join(', ')}) SELECT * FROM unnest(${arrays})${conflict} RETURNING ${quote(spec.idColumn)}`,
					params,
					expect: group.records.map((r) => r.id),
				});
				continue;
			}
			// Creates name the id column too, with DEFAULT: the table makes the id, and a create with no
			// other column still has a row to insert.
			const cols = [spec.idColumn, ...group.columns];
			const rowNumbers = group.records.map((_, k) => k);
			for (const chunk of chunkRows(rowNumbers, cols.length, MAX_PARAMS)) {
				const params: unknown[] = [];
				const tuples = chunk.map((k) => {
					const record = group.records[k];
					const slots: string[] = [];
					if (withId) {
						params.push(record.id);
						slots.push(`$${params.length}`);
					} else {
						slots.push('DEFAULT');
					}
					group.columns.forEach((c, j) => {
						params.push(this.value(columns.get(c)?.kind, group.rows[k][j], record, c));
						slots.push(`$${params.length}`);
					});
					return `(${slots.join(', ')})`;
				});
				const head = `(${cols.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`;
				statements.push({
					sql: `INSERT INTO ${tableName(spec)} ${head}${conflict} RETURNING ${quote(spec.idColumn)}`,
					params,
					expect: chunk.map((k) => group.records[k].id),
				});
			}
		}
		const rowIds: string[][] = plan.groups.map(() => []);
		const groupOf = plan.groups.flatMap((group, g) => Array.from({ length: group.records.length }, () => g));
		const run = async (query: (sql: string, params: unknown[]) => Promise<SqlRow[]>) => {
			let row = 0;
			for (const statement of statements) {
				const returned = await query(statement.sql, statement.params);
				const ids = returned.map((r) => idToString(r[spec.idColumn], spec));
				// RETURNING follows the VALUES order; check it where the ids are known, never assume.
				if (ids.length !== statement.expect.length || statement.expect.some((e, i) => e !== null && e !== ids[i])) {
					throw new SqlConfigError(`table "${spec.table}": the returned ids do not match the rows written`);
				}
				rowIds[groupOf[row]].push(...ids);
				row += ids.length;
			}
		};
		await asBatch(spec, 'Upsert', records.length, async () => {
			// One statement is atomic on its own: no BEGIN / COMMIT, one round trip for the batch.
			if (client) await run(async (sql, params) => (await client.query(sql, params)).rows);
			else if (statements.length === 1) await run(async (sql, params) => (await this.pool.query(sql, params)).rows);
			else await this.transaction((client) => run(async (sql, params) => (await client.query(sql, params)).rows));
		});
		return plan.slots.map((slot) => rowIds[slot.group][slot.row]);
	}

	async delete(spec: TableSpec, ids: string[], mode: 'hard' | 'soft', options: WriteOptions, client?: PoolClient): Promise<void> {
		const columns = await this.describe(spec);
		if (mode === 'soft' && !spec.softDelete) throw new SqlConfigError(`table "${spec.table}": soft delete needs a soft-delete column`);
		const statements = chunkRows(this.possibleIds(columns, spec, ids), 1, MAX_PARAMS - 3).map((chunk) => {
			const params: unknown[] = [];
			let sql: string;
			if (mode === 'hard') {
				sql = `DELETE FROM ${tableName(spec)}`;
			} else {
				const soft = spec.softDelete!;
				params.push(soft.kind === 'boolean' ? true : options.now);
				const sets = [`${quote(soft.column)} = $1`];
				if (options.touchUpdatedAt) {
					params.push(options.now);
					sets.push(`${quote(spec.updatedAtColumn)} = $${params.length}`);
				}
				if (spec.actorColumn && options.actor) {
					params.push(options.actor);
					sets.push(`${quote(spec.actorColumn)} = $${params.length}`);
				}
				sql = `UPDATE ${tableName(spec)} SET ${sets.join(', ')}`;
			}
			const start = params.length;
			params.push(...chunk);
			return { sql: `${sql} WHERE ${quote(spec.idColumn)} IN (${chunk.map((_, i) => `$${start + i + 1}`).join(', ')})`, params };
		});
		if (!statements.length) return;
		await asBatch(spec, 'Delete', ids.length, async () => {
			if (client) {
				for (const statement of statements) await client.query(statement.sql, statement.params);
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
