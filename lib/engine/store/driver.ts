/**
 * The two store backends behind one small interface: SQL is written once with `?` placeholders, a
 * batch of rows travelling as one parameter (`RowBatch`), and each driver adapts what differs
 * (placeholders, row sources, locking).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { Pool, type PoolClient } from 'pg';
import { describeUnavailable, isConnectionError } from '../../connectors/sql/common';

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

/** `json`: an object or array, stored as its JSON text; a batch carries it as that text. */
export type ColumnType = 'text' | 'int' | 'json';

/**
 * A batch of rows for a row source (`Sql.rows`): one `?` in the SQL text, whatever the batch's size.
 * Each driver binds it its own way (see `encodeRows` and the SQLite driver).
 */
export class RowBatch {
	private constructor(
		readonly columns: Record<string, ColumnType>,
		readonly list: readonly unknown[],
		readonly row: (item: unknown) => Record<string, unknown>,
		/** The JSON text of a json column's value (the caller may serve it from a cache). */
		readonly print: (value: unknown) => string,
	) {}

	/** `row` gives each item's column values by column name. */
	static of<T>(
		columns: Record<string, ColumnType>,
		list: readonly T[],
		row: (item: T) => Record<string, unknown>,
		print: (value: unknown) => string = (value) => JSON.stringify(value),
	): RowBatch {
		return new RowBatch(columns, list, row as (item: unknown) => Record<string, unknown>, print);
	}
}

/** A statement parameter: a value, or a batch of rows for the statement's one row source. */
export type SqlParam = SqlValue | RowBatch;

/** What a store statement runs on: the backend inside or outside a transaction. */
export interface Sql {
	readonly dialect: 'sqlite' | 'postgres';
	all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
	run(sql: string, params?: readonly SqlParam[]): Promise<number>;
	/**
	 * A row source for a FROM clause that reads one parameter, a `RowBatch`, so that a whole batch is
	 * one statement (one round trip on Postgres) whatever its size. A statement has at most one.
	 */
	rows(columns: Record<string, ColumnType>, alias: string): string;
}

export interface Driver extends Sql {
	/**
	 * Runs `work` in one transaction that serialises against every other writer of the same store
	 * (other executions, other processes, other hosts). `work` may be run again when the backend
	 * reports a serialisation conflict, so it must not have effects outside the transaction.
	 */
	transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
	close(): Promise<void>;
}

/**
 * A batch as one text parameter (Postgres): a JSON array of rows, each an array of its column values in
 * column order (json columns as their JSON text). Positional rows, not objects: the backend then reads
 * each value by index from a row parsed once, where a key lookup per column re-parsed the row and a
 * nested object was parsed and printed again.
 */
export function encodeRows<T>(
	columns: Record<string, ColumnType>,
	list: readonly T[],
	row: (item: T) => Record<string, unknown>,
	printJson: (value: unknown) => string = (value) => JSON.stringify(value),
): string {
	const names = Object.keys(columns);
	const json = names.map((name) => columns[name] === 'json');
	// One record often fills several rows (a golden record planned for two targets): print it once.
	const printed = new Map<unknown, string>();
	const print = (value: unknown) => {
		let text = printed.get(value);
		if (text === undefined) printed.set(value, (text = printJson(value)));
		return text;
	};
	const rows = new Array<unknown[]>(list.length);
	for (let r = 0; r < list.length; r++) {
		const values = row(list[r]);
		const out = new Array<unknown>(names.length);
		for (let i = 0; i < names.length; i++) {
			const value = values[names[i]];
			out[i] = value === undefined || value === null ? null : json[i] ? print(value) : value;
		}
		rows[r] = out;
	}
	return JSON.stringify(rows);
}

function bindable(params: readonly SqlParam[]): SqlValue[] {
	return params.map((p) => {
		if (p instanceof RowBatch) throw new Error('A statement takes at most one batch of rows');
		return p === undefined ? null : p;
	});
}

/** Where a statement's batch of rows is among its parameters (-1: none). */
function batchAt(params: readonly SqlParam[]): number {
	for (let i = 0; i < params.length; i++) if (params[i] instanceof RowBatch) return i;
	return -1;
}

/** A promise chain: one SQLite connection runs one transaction at a time, whatever the callers await. */
class Mutex {
	private tail: Promise<unknown> = Promise.resolve();

	run<T>(work: () => Promise<T>): Promise<T> {
		const next = this.tail.then(work, work);
		this.tail = next.catch(() => undefined);
		return next;
	}
}

/** The value of `work`, or what it threw: lets a caller decide to retry or give up outside a catch block. */
export async function outcome<T>(work: () => Promise<T>): Promise<{ value: T } | { error: unknown }> {
	try {
		return { value: await work() };
	} catch (error) {
		return { error };
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Rows per statement when SQLite binds a batch (see SqliteDriver): far under SQLite's 32,766 variables
 * for any row width here, and about as fast per row as any larger size.
 */
const SQLITE_CHUNK = 256;

/** A statement around a batch: the SQL before and after the batch's `?`, and its prepared forms by row count. */
interface BatchStatement {
	before: string;
	after: string;
	at: number;
	byRows: Map<number, StatementSync>;
}

/**
 * A batch column's value as SQLite gets it: the same value and type that reading it back from the JSON
 * text of `encodeRows` gave (`->>`): integers as INTEGER, json columns as their text, true/false as 1/0.
 */
function sqliteValue(type: ColumnType, value: unknown, print: (value: unknown) => string): SQLInputValue {
	if (value === undefined || value === null) return null;
	if (type === 'json') return print(value);
	switch (typeof value) {
		case 'string':
			return value;
		case 'number':
			if (!Number.isFinite(value)) return null;
			if (!Number.isInteger(value) || Math.abs(value) >= 2 ** 63) return value;
			// Beyond 2^53 the JSON text holds the shortest digits that read back as this double, not its exact value.
			return Number.isSafeInteger(value) ? BigInt(value) : BigInt(String(value));
		case 'boolean':
			return value ? 1n : 0n;
		case 'bigint':
			return value;
		default:
			return JSON.stringify(value);
	}
}

export class SqliteDriver implements Driver {
	readonly dialect = 'sqlite' as const;

	private readonly db: DatabaseSync;

	private readonly mutex = new Mutex();

	private readonly statements = new Map<string, StatementSync>();

	private readonly batchStatements = new Map<string, BatchStatement>();

	constructor(readonly path: string) {
		if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
		// The busy timeout makes a writer in another process wait for the lock instead of failing.
		this.db = new DatabaseSync(path, { timeout: 15000 });
		// A 64 MB page cache keeps the index pages of a big batch in memory.
		this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 15000; PRAGMA cache_size = -65536;');
	}

	private prepare(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	/**
	 * Runs a statement with a batch of rows: SQLite is in-process, so there is no round trip to save, and
	 * binding the rows as parameters (`VALUES (?, ?), …`, SQLITE_CHUNK rows a statement) costs about
	 * half of printing them into one JSON text, escaping the JSON of json columns inside it, and parsing
	 * it all again. A remainder runs as statements of 128, 64, … 1 rows, so every size is prepared once.
	 */
	private eachChunk(sql: string, params: readonly SqlParam[], at: number, execute: (statement: StatementSync, values: SQLInputValue[]) => void): void {
		const batch = params[at] as RowBatch;
		const count = batch.list.length;
		if (count === 0) return;
		let shape = this.batchStatements.get(sql);
		if (!shape) {
			let index = -1;
			for (let k = 0; k <= at; k++) {
				index = sql.indexOf('?', index + 1);
				if (index === -1) throw new Error('The statement has fewer placeholders than parameters');
			}
			shape = { before: sql.slice(0, index), after: sql.slice(index + 1), at, byRows: new Map() };
			this.batchStatements.set(sql, shape);
		}
		if (shape.at !== at) throw new Error('The batch of rows must keep its place among the statement\'s parameters');
		const names = Object.keys(batch.columns);
		const types = names.map((name) => batch.columns[name]);
		const width = names.length;
		const head = bindable(params.slice(0, at));
		const tail = bindable(params.slice(at + 1));
		// One record often fills several rows (a golden record planned for two targets): print it once.
		const printed = new Map<unknown, string>();
		const print = (value: unknown) => {
			let text = printed.get(value);
			if (text === undefined) printed.set(value, (text = batch.print(value)));
			return text;
		};
		for (let start = 0; start < count; ) {
			const left = count - start;
			const rows = left >= SQLITE_CHUNK ? SQLITE_CHUNK : 2 ** Math.floor(Math.log2(left));
			let statement = shape.byRows.get(rows);
			if (!statement) {
				const tuple = `(${new Array<string>(width).fill('?').join(', ')})`;
				statement = this.db.prepare(`${shape.before}${new Array<string>(rows).fill(tuple).join(', ')}${shape.after}`);
				shape.byRows.set(rows, statement);
			}
			const values = new Array<SQLInputValue>(head.length + rows * width + tail.length);
			let k = 0;
			for (const value of head) values[k++] = value;
			for (let r = start; r < start + rows; r++) {
				const row = batch.row(batch.list[r]);
				for (let i = 0; i < width; i++) values[k++] = sqliteValue(types[i], row[names[i]], print);
			}
			for (const value of tail) values[k++] = value;
			execute(statement, values);
			start += rows;
		}
	}

	private direct: Sql = {
		dialect: 'sqlite',
		all: async <T extends Row>(sql: string, params: readonly SqlParam[] = []) => {
			const at = batchAt(params);
			if (at === -1) return this.prepare(sql).all(...bindable(params)) as T[];
			let out: T[] | undefined;
			this.eachChunk(sql, params, at, (statement, values) => {
				const rows = statement.all(...values) as T[];
				if (out === undefined) out = rows;
				else for (const row of rows) out.push(row);
			});
			return out ?? [];
		},
		run: async (sql: string, params: readonly SqlParam[] = []) => {
			const at = batchAt(params);
			if (at === -1) return Number(this.prepare(sql).run(...bindable(params)).changes);
			let changes = 0;
			this.eachChunk(sql, params, at, (statement, values) => {
				changes += Number(statement.run(...values).changes);
			});
			return changes;
		},
		rows: (columns, alias) => sqliteRows(columns, alias),
	};

	all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
		return this.mutex.run(() => this.direct.all<T>(sql, params));
	}

	run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
		return this.mutex.run(() => this.direct.run(sql, params));
	}

	rows(columns: Record<string, ColumnType>, alias: string): string {
		return sqliteRows(columns, alias);
	}

	transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
		return this.mutex.run(async () => {
			// BEGIN IMMEDIATE takes the write lock up front: every read in the transaction then sees the
			// state it will write over, which serialises merges across processes on this host.
			for (let attempt = 0; ; attempt++) {
				const begun = await outcome(async () => this.db.exec('BEGIN IMMEDIATE'));
				if (!('error' in begun)) break;
				if (attempt >= 20 || !/locked|busy/i.test((begun.error as Error).message)) throw begun.error;
				await sleep(20 + Math.random() * 80);
			}
			let committed = false;
			try {
				const result = await work(this.direct);
				this.db.exec('COMMIT');
				committed = true;
				return result;
			} finally {
				if (!committed && this.db.isTransaction) this.db.exec('ROLLBACK');
			}
		});
	}

	async close(): Promise<void> {
		await this.mutex.run(async () => {
			this.statements.clear();
			this.batchStatements.clear();
			if (this.db.isOpen) this.db.close();
		});
	}
}

/** The batch's rows as a row source: its `?` becomes `(?, ?, …), …` when it runs (see eachChunk). */
function sqliteRows(columns: Record<string, ColumnType>, alias: string): string {
	const select = Object.keys(columns)
		.map((c, i) => `column${i + 1} AS ${c}`)
		.join(', ');
	return `(SELECT ${select} FROM (VALUES ?)) AS ${alias}`;
}

export interface PgDriverConfig {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	schema: string;
	ssl: 'disable' | 'require' | 'allow-unauthorized';
}

/** Serialisation failure, deadlock, and a unique violation from a concurrent insert: retried. */
const PG_RETRY_CODES = new Set(['40001', '40P01', '23505']);

/** Postgres takes a batch of rows as one JSON text (one round trip whatever its size). */
function pgParams(params: readonly SqlParam[]): SqlValue[] {
	if (batchAt(params) === -1) return bindable(params);
	let batches = 0;
	return params.map((p) => {
		if (!(p instanceof RowBatch)) return p === undefined ? null : p;
		if (++batches > 1) throw new Error('A statement takes at most one batch of rows');
		return encodeRows(p.columns, p.list, p.row, p.print);
	});
}

function toPgPlaceholders(sql: string): string {
	let n = 0;
	return sql.replace(/\?/g, () => `$${++n}`);
}

export class PgDriver implements Driver {
	readonly dialect = 'postgres' as const;

	readonly pool: Pool;

	constructor(readonly config: PgDriverConfig) {
		this.pool = new Pool({
			host: config.host,
			port: config.port,
			database: config.database,
			user: config.user,
			password: config.password,
			ssl: config.ssl === 'disable' ? false : { rejectUnauthorized: config.ssl === 'require' },
			// Every connection works in the store's schema; its name was checked to be a plain identifier.
			options: `-c search_path=${config.schema}`,
			max: 10,
		});
		// An idle client that loses its connection must not crash the n8n process.
		this.pool.on('error', () => undefined);
	}

	/** Rows the store's statements changed since the statistics were last looked at (see freshenStatistics). */
	private changed = 0;

	private on(client: Pool | PoolClient): Sql {
		return {
			dialect: 'postgres',
			all: async <T extends Row>(sql: string, params: readonly SqlParam[] = []) =>
				(await client.query(toPgPlaceholders(sql), pgParams(params))).rows as T[],
			run: async (sql: string, params: readonly SqlParam[] = []) => {
				const rows = (await client.query(toPgPlaceholders(sql), pgParams(params))).rowCount ?? 0;
				this.changed += rows;
				return rows;
			},
			rows: pgRows,
		};
	}

	/**
	 * Refreshes the planner's statistics of the store's tables that grew or changed by half since they were
	 * last analysed (1,000 rows at least), looked at after every 2,000 rows changed. Postgres's own autovacuum
	 * analyses a table only a minute or more later: in between, while an initial load of 100,000 records
	 * filled the store, one page's read of its links ran for 66 s on statistics taken while the store was
	 * small (a nested loop that read the batch's rows again for every row of the table). Errors are
	 * ignored: the statistics only speed the statements up.
	 */
	private async freshenStatistics(): Promise<void> {
		if (this.changed < 2000) return;
		this.changed = 0;
		try {
			const { rows } = await this.pool.query<{ name: string }>(
				`SELECT s.relname AS name FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
				WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= 1000 AND s.n_mod_since_analyze > GREATEST(c.reltuples, 0) / 2`,
			);
			for (const { name } of rows) await this.pool.query(`ANALYZE ${quoteIdent(this.config.schema)}.${quoteIdent(name)}`);
		} catch {
			// not needed for correctness
		}
	}

	/** What the store's errors call it when it cannot be reached (no password). */
	private get where(): string {
		return `DataSync store (PostgreSQL at ${this.config.host}:${this.config.port}, database "${this.config.database}", schema "${this.config.schema}")`;
	}

	async all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
		try {
			return await this.on(this.pool).all<T>(sql, params);
		} catch (error) {
			throw describeUnavailable(error, this.where);
		}
	}

	async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
		try {
			return await this.on(this.pool).run(sql, params);
		} catch (error) {
			throw describeUnavailable(error, this.where);
		}
	}

	rows(columns: Record<string, ColumnType>, alias: string): string {
		return pgRows(columns, alias);
	}

	async transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
		for (let attempt = 0; ; attempt++) {
			const client = await this.pool.connect().catch((error: unknown) => {
				throw describeUnavailable(error, this.where);
			});
			const done = await outcome(async () => {
				// SERIALIZABLE: two workers merging the same record cannot both commit on a stale read;
				// the loser gets a serialisation failure and runs its batch again on the new state.
				await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
				const result = await work(this.on(client));
				await client.query('COMMIT');
				return result;
			});
			const lost = 'error' in done && isConnectionError(done.error);
			if ('error' in done && !lost) await client.query('ROLLBACK').catch(() => undefined);
			// A connection that went away is dropped, not handed to the next transaction.
			client.release(lost ? (done.error as Error) : undefined);
			if (!('error' in done)) {
				await this.freshenStatistics();
				return done.value;
			}
			if (lost) throw describeUnavailable(done.error, this.where);
			const code = (done.error as { code?: string }).code;
			if (attempt >= 30 || !code || !PG_RETRY_CODES.has(code)) throw done.error;
			// Full jitter, growing to 2 s: with ten executions at once on two workers a wait capped at 200 ms
			// kept the same batches colliding until all 30 attempts were spent (the load test's Conflict
			// Resolver failed with "could not serialize access"); longer waits let them pass one by one.
			await sleep(Math.random() * Math.min(2000, 10 * 2 ** attempt));
		}
	}

	async close(): Promise<void> {
		if (!this.pool.ended) await this.pool.end();
	}
}

/** A Postgres identifier in double quotes. */
const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

function pgRows(columns: Record<string, ColumnType>, alias: string): string {
	// jsonb: the batch is parsed once, then each value is an index lookup; json columns arrive as text
	// inside it, so their text (key order included) is kept as it came.
	const select = Object.entries(columns)
		.map(([c, t], i) => (t === 'int' ? `(x ->> ${i})::bigint AS ${c}` : `x ->> ${i} AS ${c}`))
		.join(', ');
	return `(SELECT ${select} FROM jsonb_array_elements(?::jsonb) AS x) AS ${alias}`;
}
