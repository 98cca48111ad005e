/**
 * The one interface the DataSync Database node talks to; each dialect (postgres.ts, mysql.ts, sqlite.ts)
 * implements it and keeps its differences (quoting, RETURNING, ON CONFLICT vs ON DUPLICATE KEY, types,
 * time zones) to itself. No n8n import here: these modules are plain code, tested on their own.
 */
import type { SyncCursor } from '../../item';

export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

export type SqlSsl = 'disable' | 'require' | 'allow-unauthorized';

export interface SqlConnectionConfig {
	dialect: SqlDialect;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	ssl?: SqlSsl;
	/** SQLite only: the database file (must exist; a system's database is never created by us). */
	file?: string;
}

export type SoftDeleteKind = 'timestamp' | 'boolean';

/** Where an entity lives in a SQL system and which columns carry the sync's meaning. */
export interface TableSpec {
	/** Postgres schema or MySQL database; empty = the connection's default. Unused by SQLite. */
	schema?: string;
	table: string;
	idColumn: string;
	/** The column the source updates on every change; Get Changes reads in (updated-at, id) order. */
	updatedAtColumn: string;
	/** A timestamp column (set = deleted) or a boolean column (true = deleted). */
	softDelete?: { column: string; kind: SoftDeleteKind };
	/** Who made the change; read into the item's `actor` and written with the sync's own actor. */
	actorColumn?: string;
}

export type SqlRow = Record<string, unknown>;

/** One record read from a table; timestamps in `row` are ISO 8601 strings in UTC at full precision. */
export interface ReadRecord {
	id: string;
	/** The updated-at column as ISO 8601 UTC, or null when the row has none. */
	updatedAt: string | null;
	row: SqlRow;
}

/** One record to write. `id` null = create (the table makes the id). */
export interface UpsertRecord {
	id: string | null;
	/** Column → value; the id column is taken from `id`, never from here. */
	values: SqlRow;
	/** Names the record in errors, e.g. `item 3 (contact / crm / 17)`. */
	label: string;
	/** The position of the record in the caller's batch (for SyncItemError.itemIndex). */
	index: number;
}

export interface WriteOptions {
	/** Set the updated-at column to `now` when the record does not carry it. */
	touchUpdatedAt: boolean;
	/** Written to the actor column (when the table has one) so the sync can recognise its own writes. */
	actor?: string;
	/** ISO 8601 UTC: the time written to updated-at and to a timestamp soft-delete column. */
	now: string;
	/** Skip fields that are not columns of the table instead of refusing the record. */
	ignoreUnknownFields?: boolean;
}

/** One record of a conditional write (`writeGuarded`). */
export interface GuardedRecord extends UpsertRecord {
	op: 'upsert' | 'delete';
	/**
	 * The row's version (its updated-at, ISO 8601) as the caller last read or wrote it: the record is
	 * written only if the row is still at it. Undefined: no check (the version is not known).
	 */
	expect?: string;
	/**
	 * For a create (id null): the values to find the row by before inserting it, each compared after
	 * `normalise` (e.g. e-mails trimmed, lower-case, NFC); the value given is already normalised.
	 */
	match?: Array<{ column: string; value: string; normalise: (text: string) => string | null }>;
}

/** What a conditional write did with one record. */
export type GuardedOutcome =
	| { outcome: 'written'; id: string; version: string | null }
	| { outcome: 'matched'; id: string; version: string | null; column: string }
	| { outcome: 'stale'; id: string; version: string | null }
	| { outcome: 'target-deleted'; id: string }
	| { outcome: 'ambiguous'; ids: string[]; column: string };

/** The reads and writes of one transaction (`SqlTransport.session`); reads lock the rows they return. */
export interface SqlSession {
	/** The rows with these ids, locked until the transaction ends (FOR UPDATE where the dialect has it). */
	lockByIds(table: TableSpec, ids: string[]): Promise<ReadRecord[]>;
	/** Rows whose `column`, trimmed and lower-cased, is one of `values` (already lower-cased), locked. */
	lockByMatch(table: TableSpec, column: string, values: string[]): Promise<ReadRecord[]>;
	upsert(table: TableSpec, records: UpsertRecord[], options: WriteOptions): Promise<string[]>;
	delete(table: TableSpec, ids: string[], mode: 'hard' | 'soft', options: WriteOptions): Promise<void>;
}

export interface SqlTransport {
	readonly dialect: SqlDialect;
	/**
	 * Rows after `after` in (updated-at, id) order, at most `limit`; rows without updated-at are not changes.
	 * A cursor with an empty id reads the rows changed strictly after its timestamp (a start point given by hand).
	 */
	readChanges(table: TableSpec, after: SyncCursor | null, limit: number): Promise<ReadRecord[]>;
	/** Every row in id order after `afterId` (keyset), at most `limit`: the snapshot for reconcile. */
	readSnapshot(table: TableSpec, afterId: string | null, limit: number): Promise<ReadRecord[]>;
	/** The rows with these ids, in no particular order; missing ids are left out. */
	readByIds(table: TableSpec, ids: string[]): Promise<ReadRecord[]>;
	/**
	 * Inserts or updates the records in one transaction (all or nothing) and returns the final id of each,
	 * in the order given, including the ids the table created.
	 */
	upsert(table: TableSpec, records: UpsertRecord[], options: WriteOptions): Promise<string[]>;
	/** Deletes (or soft-deletes) the rows in one transaction; ids that are not there are no error. */
	delete(table: TableSpec, ids: string[], mode: 'hard' | 'soft', options: WriteOptions): Promise<void>;
	/** Runs `work` in one transaction (all or nothing); its reads lock the rows they return. */
	session<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
	/** A trivial query: proves the connection and the credentials. */
	ping(): Promise<void>;
	close(): Promise<void>;
}
