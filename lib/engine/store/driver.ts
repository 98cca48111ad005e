/**
 * The two store backends behind one small interface: SQL is written once with `?` placeholders and
 * JSON-array parameters, and each driver adapts what differs (placeholders, row sources, locking).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Pool, type PoolClient } from 'pg';

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

/** `json`: an object or array, stored as its JSON text; a batch carries it as that text. */
export type ColumnType = 'text' | 'int' | 'json';

/** What a store statement runs on: the backend inside or outside a transaction. */
export interface Sql {
	readonly dialect: 'sqlite' | 'postgres';
	all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
	run(sql: string, params?: readonly SqlValue[]): Promise<number>;
	/**
	 * A row source for a FROM clause that reads one parameter, the batch as `encodeRows` writes it, so a
	 * whole batch travels in one parameter and one round trip whatever its size.
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
 * The parameter of a batch row source: a JSON array of rows, each an array of its column values in
 * column order (json columns as their JSON text). Positional rows, not objects: both backends then read
 * each value by index from a row parsed once, where a key lookup per column re-parsed the row (SQLite)
 * and a nested object was parsed and printed again (both).
 */
export function encodeRows<T>(columns: Record<string, ColumnType>, list: readonly T[], row: (item: T) => Record<string, unknown>): string {
	const names = Object.keys(columns);
	const json = names.map((name) => columns[name] === 'json');
	// One record often fills several rows (a golden record planned for two targets): print it once.
	const printed = new Map<unknown, string>();
	const print = (value: unknown) => {
		let text = printed.get(value);
		if (text === undefined) printed.set(value, (text = JSON.stringify(value)));
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

function bindable(params: readonly SqlValue[]): SqlValue[] {
	return params.map((p) => (p === undefined ? null : p));
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

export class SqliteDriver implements Driver {
	readonly dialect = 'sqlite' as const;

	private readonly db: DatabaseSync;

	private readonly mutex = new Mutex();

	private readonly statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();

	constructor(readonly path: string) {
		if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
		// The busy timeout makes a writer in another process wait for the lock instead of failing.
		this.db = new DatabaseSync(path, { timeout: 15000 });
		// A 64 MB page cache keeps the index pages of a big batch in memory.
		this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 15000; PRAGMA cache_size = -65536;');
	}

	private prepare(sql: string) {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	private direct: Sql = {
		dialect: 'sqlite',
		all: async <T extends Row>(sql: string, params: readonly SqlValue[] = []) => this.prepare(sql).all(...bindable(params)) as T[],
		run: async (sql: string, params: readonly SqlValue[] = []) => Number(this.prepare(sql).run(...bindable(params)).changes),
		rows: (columns, alias) => sqliteRows(columns, alias),
	};

	all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
		return this.mutex.run(() => this.direct.all<T>(sql, params));
	}

	run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
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
			if (this.db.isOpen) this.db.close();
		});
	}
}

function sqliteRows(columns: Record<string, ColumnType>, alias: string): string {
	const select = Object.keys(columns)
		.map((c, i) => `value ->> ${i} AS ${c}`)
		.join(', ');
	// jsonb_each: each row comes as binary JSON, so reading a column is an index lookup, not a parse of its text.
	return `(SELECT ${select} FROM jsonb_each(?)) AS ${alias}`;
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

	private static on(client: Pool | PoolClient): Sql {
		return {
			dialect: 'postgres',
			all: async <T extends Row>(sql: string, params: readonly SqlValue[] = []) =>
				(await client.query(toPgPlaceholders(sql), bindable(params))).rows as T[],
			run: async (sql: string, params: readonly SqlValue[] = []) =>
				(await client.query(toPgPlaceholders(sql), bindable(params))).rowCount ?? 0,
			rows: pgRows,
		};
	}

	all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
		return PgDriver.on(this.pool).all<T>(sql, params);
	}

	run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
		return PgDriver.on(this.pool).run(sql, params);
	}

	rows(columns: Record<string, ColumnType>, alias: string): string {
		return pgRows(columns, alias);
	}

	async transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
		for (let attempt = 0; ; attempt++) {
			const client = await this.pool.connect();
			const done = await outcome(async () => {
				// SERIALIZABLE: two workers merging the same record cannot both commit on a stale read;
				// the loser gets a serialisation failure and runs its batch again on the new state.
				await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
				const result = await work(PgDriver.on(client));
				await client.query('COMMIT');
				return result;
			});
			if ('error' in done) await client.query('ROLLBACK').catch(() => undefined);
			client.release();
			if (!('error' in done)) return done.value;
			const code = (done.error as { code?: string }).code;
			if (attempt >= 30 || !code || !PG_RETRY_CODES.has(code)) throw done.error;
			await sleep(Math.random() * Math.min(200, 10 * 2 ** attempt));
		}
	}

	async close(): Promise<void> {
		if (!this.pool.ended) await this.pool.end();
	}
}

function pgRows(columns: Record<string, ColumnType>, alias: string): string {
	// jsonb: the batch is parsed once, then each value is an index lookup; json columns arrive as text
	// inside it, so their text (key order included) is kept as it came.
	const select = Object.entries(columns)
		.map(([c, t], i) => (t === 'int' ? `(x ->> ${i})::bigint AS ${c}` : `x ->> ${i} AS ${c}`))
		.join(', ');
	return `(SELECT ${select} FROM jsonb_array_elements(?::jsonb) AS x) AS ${alias}`;
}
