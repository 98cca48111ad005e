/**
 * The store's schema, as numbered migrations. Opening a store applies the missing ones in order; a
 * store written by a newer package (a higher version than the last one here) is refused, because this
 * code would not know what the newer tables mean.
 */
import { PgDriver, type Driver, type Sql } from './driver';
import { newSecret } from '../sensitive';

interface Migration {
	version: number;
	description: string;
	statements: string[];
	/** Rows the migration adds after its statements (in the same transaction). */
	seed?: (sql: Sql) => Promise<void>;
}

/** `{ID}` becomes each backend's auto-numbered primary key. */
const ID = '{ID}';

export const MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		description: 'golden records, links, cursors, audit, conflicts, runs',
		statements: [
			`CREATE TABLE golden_record (
				entity TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, fields TEXT NOT NULL,
				version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
				PRIMARY KEY (entity, key))`,
			`CREATE TABLE match_value (
				entity TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, key TEXT NOT NULL,
				PRIMARY KEY (entity, field, value, key))`,
			`CREATE INDEX match_value_key ON match_value (entity, key)`,
			`CREATE TABLE link (
				entity TEXT NOT NULL, key TEXT NOT NULL, system TEXT NOT NULL, external_id TEXT NOT NULL,
				base TEXT NOT NULL, written_hash TEXT, written_at TEXT, updated_at TEXT NOT NULL,
				PRIMARY KEY (entity, key, system), UNIQUE (entity, system, external_id))`,
			`CREATE TABLE sync_cursor (
				sync TEXT NOT NULL, system TEXT NOT NULL, entity TEXT NOT NULL, ts TEXT NOT NULL, id TEXT NOT NULL,
				updated_at TEXT NOT NULL, PRIMARY KEY (sync, system, entity))`,
			`CREATE TABLE audit (
				id ${ID}, at TEXT NOT NULL, run_id TEXT, sync TEXT, entity TEXT NOT NULL, key TEXT, system TEXT,
				external_id TEXT, action TEXT NOT NULL, before TEXT, after TEXT, actor TEXT, outcome TEXT NOT NULL,
				error TEXT)`,
			`CREATE INDEX audit_at ON audit (at)`,
			`CREATE INDEX audit_record ON audit (entity, key)`,
			`CREATE TABLE conflict (
				id ${ID}, sync TEXT, run_id TEXT, entity TEXT NOT NULL, key TEXT, system TEXT NOT NULL,
				external_id TEXT, kind TEXT NOT NULL, status TEXT NOT NULL, fields TEXT NOT NULL, competing TEXT NOT NULL,
				item TEXT NOT NULL, created_at TEXT NOT NULL, resolved_at TEXT, resolution TEXT)`,
			`CREATE INDEX conflict_status ON conflict (status, entity)`,
			`CREATE INDEX conflict_record ON conflict (entity, key)`,
			`CREATE TABLE run (
				run_id TEXT NOT NULL PRIMARY KEY, sync TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
				metrics TEXT NOT NULL, errors INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TABLE planned_change (
				run_id TEXT NOT NULL, entity TEXT NOT NULL, key TEXT NOT NULL, system TEXT NOT NULL, op TEXT NOT NULL,
				data TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
				PRIMARY KEY (run_id, entity, key, system))`,
			`CREATE TABLE run_cursor (
				run_id TEXT NOT NULL, sync TEXT NOT NULL, system TEXT NOT NULL, entity TEXT NOT NULL, ts TEXT NOT NULL,
				id TEXT NOT NULL, PRIMARY KEY (run_id, sync, system, entity))`,
		],
	},
	{
		version: 2,
		description: 'counters for limits, delivery window, last sync per system',
		statements: [
			`CREATE TABLE counter (
				scope TEXT NOT NULL, name TEXT NOT NULL, window_start TEXT NOT NULL, count INTEGER NOT NULL,
				PRIMARY KEY (scope, name, window_start))`,
			`CREATE TABLE delivery (hash TEXT NOT NULL PRIMARY KEY, seen_at TEXT NOT NULL)`,
			`CREATE TABLE sync_status (
				sync TEXT NOT NULL, system TEXT NOT NULL, entity TEXT NOT NULL, last_run_id TEXT, last_success_at TEXT,
				last_failure_at TEXT, written INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
				PRIMARY KEY (sync, system, entity))`,
		],
	},
	{
		version: 3,
		description: 'stale deliveries: the newest source time per link, tombstones of deleted links',
		statements: [
			`ALTER TABLE link ADD COLUMN source_at TEXT`,
			`CREATE TABLE link_tombstone (
				entity TEXT NOT NULL, system TEXT NOT NULL, external_id TEXT NOT NULL, key TEXT NOT NULL, deleted_at TEXT,
				created_at TEXT NOT NULL, PRIMARY KEY (entity, system, external_id))`,
		],
	},
	{
		version: 4,
		description: 'delivery marks know their run: a re-delivery after a failed execution is not a duplicate',
		statements: [`ALTER TABLE delivery ADD COLUMN run_id TEXT`],
	},
	{
		version: 5,
		description: 'planned changes by golden record: creates in flight in another execution are not planned twice',
		statements: [`CREATE INDEX planned_change_by_key ON planned_change (entity, key)`],
	},
	{
		version: 6,
		description: 'webhook signatures accepted, shared by every webhook process on the store: a replay is refused by all',
		statements: [`CREATE TABLE webhook_signature (signature TEXT NOT NULL PRIMARY KEY, expires_at TEXT NOT NULL)`],
	},
	{
		version: 7,
		description: 'keyed digests of the Conflict Resolver sensitive values (never the values): an edit of only such a field is told from an echo',
		statements: [
			`ALTER TABLE link ADD COLUMN sensitive_digest TEXT`,
			`ALTER TABLE golden_record ADD COLUMN sensitive_digest TEXT`,
			`ALTER TABLE planned_change ADD COLUMN sensitive_digest TEXT`,
		],
		// The digests' key: random per store, kept in the store (see lib/engine/sensitive.ts for what it protects).
		seed: async (sql) => {
			await sql.run(`INSERT INTO store_meta (name, value) VALUES ('sensitive_digest_secret', ?) ON CONFLICT (name) DO NOTHING`, [newSecret()]);
		},
	},
	{
		version: 8,
		description: 'volume per hour and per day (sync, system, entity, kind, reason) for the dashboard and Prometheus; audit by run and by system record',
		statements: [
			`CREATE TABLE volume (
				sync TEXT NOT NULL, system TEXT NOT NULL, entity TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
				grain TEXT NOT NULL, bucket TEXT NOT NULL, count INTEGER NOT NULL,
				PRIMARY KEY (sync, grain, bucket, system, entity, kind, reason))`,
			// A run's log and a system record's history without a scan of the audit (failed ones: audit_failed, v9).
			`CREATE INDEX audit_run ON audit (run_id)`,
			`CREATE INDEX audit_external ON audit (system, external_id)`,
		],
	},
	{
		version: 9,
		description: 'alerts: Loop Guard breaker trips, what each alert check has seen, alerts grouped by cause',
		statements: [
			`CREATE TABLE breaker_trip (
				id ${ID}, at TEXT NOT NULL, run_id TEXT, sync TEXT NOT NULL, entity TEXT NOT NULL, systems TEXT NOT NULL,
				detail TEXT NOT NULL, blocked INTEGER NOT NULL)`,
			`CREATE INDEX breaker_trip_sync ON breaker_trip (sync, id)`,
			`CREATE TABLE alert_check (
				sync TEXT NOT NULL PRIMARY KEY, audit_id BIGINT NOT NULL, conflict_id BIGINT NOT NULL, trip_id BIGINT NOT NULL,
				recent TEXT NOT NULL, checked_at TEXT NOT NULL)`,
			`CREATE TABLE alert_group (
				sync TEXT NOT NULL, cause TEXT NOT NULL, kind TEXT NOT NULL, pending INTEGER NOT NULL, first_at TEXT, last_at TEXT NOT NULL,
				sent_at TEXT, sent INTEGER NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (sync, cause))`,
			`CREATE INDEX audit_failed ON audit (sync, id) WHERE outcome = 'failed'`,
			`CREATE INDEX conflict_sync ON conflict (sync, id)`,
		],
	},
	{
		version: 10,
		description: 'rollback: a planned change says why it is written (null = a sync write, rollback = Store Rollback), so Commit audits it as such',
		statements: [`ALTER TABLE planned_change ADD COLUMN action TEXT`],
	},
	{
		version: 11,
		description: 'change compression: the burst of changes to one record waiting to pass as one (encrypted; deleted when it passes)',
		statements: [
			`CREATE TABLE burst (
				sync TEXT NOT NULL, entity TEXT NOT NULL, system TEXT NOT NULL, external_id TEXT NOT NULL,
				burst_id TEXT NOT NULL, seq INTEGER NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL, due_at TEXT NOT NULL,
				change TEXT NOT NULL,
				PRIMARY KEY (sync, entity, system, external_id))`,
			`CREATE INDEX burst_due ON burst (sync, due_at)`,
		],
	},
	{
		version: 12,
		description: 'per-field change times of a link, kept once changes of only some fields were read: an overtaken partial delivery still brings its fields',
		statements: [`ALTER TABLE link ADD COLUMN fields_at TEXT`],
	},
	{
		version: 13,
		description: "a link's base, an audit entry's after and a planned change's data by reference: '' where it is its golden record's data (most), a link's a field diff where that is shorter (see encodeBase, auditFromRow and savePlanned in store.ts)",
		statements: [
			`UPDATE link SET base = '' WHERE base <> '{}' AND base = (SELECT g.data FROM golden_record g WHERE g.entity = link.entity AND g.key = link.key)`,
			`UPDATE audit SET after = '' WHERE key IS NOT NULL AND after IS NOT NULL AND after <> '{}'
				AND after = (SELECT g.data FROM golden_record g WHERE g.entity = audit.entity AND g.key = audit.key)`,
			`UPDATE planned_change SET data = '' WHERE data <> '{}'
				AND data = (SELECT g.data FROM golden_record g WHERE g.entity = planned_change.entity AND g.key = planned_change.key)`,
		],
	},
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export class StoreVersionError extends Error {
	constructor(where: string, found: number) {
		super(
			`The sync store at ${where} has schema version ${found}, newer than this n8n-nodes-datasync understands ` +
				`(${SCHEMA_VERSION}). Update n8n-nodes-datasync on every n8n host that uses this store.`,
		);
		this.name = 'StoreVersionError';
	}
}

function ddl(driver: Driver, statement: string): string {
	return statement.replaceAll(
		ID,
		driver.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
	);
}

/**
 * Brings the store's schema to `target` (the latest by default; tests pass a lower one to build an
 * old store). Each migration runs in its own transaction, which also keeps two processes from
 * migrating at the same time.
 */
export async function migrate(driver: Driver, where: string, target = SCHEMA_VERSION): Promise<number> {
	if (driver instanceof PgDriver) {
		// The schema must exist before anything else; a concurrent CREATE from another worker is harmless.
		await driver.run(`CREATE SCHEMA IF NOT EXISTS "${driver.config.schema}"`).catch((error: { code?: string }) => {
			if (error.code !== '23505' && error.code !== '42P06') throw error;
		});
	}
	await driver.transaction(async (sql) => {
		if (sql.dialect === 'postgres') await sql.run('SELECT pg_advisory_xact_lock(735148201)');
		await sql.run('CREATE TABLE IF NOT EXISTS store_meta (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)');
	}).catch((error: { code?: string }) => {
		if (error.code !== '23505' && error.code !== '42P07') throw error;
	});
	let version = 0;
	for (const migration of MIGRATIONS) {
		if (migration.version > target) break;
		version = await driver.transaction(async (sql) => {
			// Postgres: one migrator at a time across hosts (SQLite's write lock already does this).
			if (sql.dialect === 'postgres') await sql.run('SELECT pg_advisory_xact_lock(735148201)');
			const rows = await sql.all<{ value: string }>(`SELECT value FROM store_meta WHERE name = 'schema_version'`);
			const current = rows.length ? Number(rows[0].value) : 0;
			if (current > SCHEMA_VERSION) throw new StoreVersionError(where, current);
			if (current >= migration.version) return current;
			for (const statement of migration.statements) await sql.run(ddl(driver, statement));
			await migration.seed?.(sql);
			await sql.run(
				`INSERT INTO store_meta (name, value) VALUES ('schema_version', ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
				[String(migration.version)],
			);
			return migration.version;
		});
	}
	return version;
}
