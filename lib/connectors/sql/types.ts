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
	/** A trivial query: proves the connection and the credentials. */
	ping(): Promise<void>;
	close(): Promise<void>;
}
