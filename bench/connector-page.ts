/**
 * The DataSync Database node per page, in-process through n8n-core's WorkflowExecute (test/helpers/run-node):
 * Upsert of 5,000 new records (creates, the table makes the ids), Upsert of the same 5,000 records changed,
 * Get Many (one page of 5,000) and Get Changes (one page of 5,000), on Postgres and MariaDB (and SQLite).
 * The table is the templates' ERP table (B): AUTO_INCREMENT / serial id, unique email, changed_at with
 * microseconds, an actor column and a soft-delete column; the records are what the outbound Mapper emits.
 *
 *   npx node -r ./scripts/register-ts.js bench/connector-page.ts [runs=7] [records=5000] [dialects=postgres,mysql,sqlite]
 *   npx node --cpu-prof --cpu-prof-dir=/tmp/prof -r ./scripts/register-ts.js bench/connector-page.ts
 *
 * Each figure is the median of the runs (after one warm-up): n8n's executionTime of the node, the wall time
 * of the whole runNode call (which adds WorkflowExecute's own work on the items) and the CPU time this
 * process spent in it (steadier than wall time when other work shares the machine). Inputs are built before
 * the clock starts. "driver" is the floor: the same work with plain pg / mysql2 / node:sqlite, statements of
 * 1,000 rows with the values already in column order, and reads that do nothing with the rows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import mysql from 'mysql2/promise';
import { Client, Pool } from 'pg';
import { DataSyncSqlApi } from '../credentials/DataSyncSqlApi.credentials';
import { closeSharedTransports } from '../lib/connectors/sql';
import type { DataSyncDatabase as DatabaseNode } from '../nodes/DataSyncDatabase/DataSyncDatabase.node';
import { runNode } from '../test/helpers/run-node';
import { createMariaDbDatabase, createPgDatabase, createTempDir } from '../test/helpers/services';

// Plain `require` would find DataSyncDatabase.node.json (the codex) before the .ts file: name it in full.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DataSyncDatabase } = require('../nodes/DataSyncDatabase/DataSyncDatabase.node.ts') as { DataSyncDatabase: typeof DatabaseNode };

// n8n-core writes an encryption key under N8N_USER_FOLDER on first use: keep it out of $HOME (as the tests do).
const ownUserFolder = process.env.N8N_USER_FOLDER ? undefined : mkdtempSync(join(tmpdir(), 'datasync-bench-n8n-'));
if (ownUserFolder) process.env.N8N_USER_FOLDER = ownUserFolder;
process.env.N8N_ENCRYPTION_KEY ??= 'datasync-bench-encryption-key';

const RUNS = Number(process.argv[2] ?? 7);
const N = Number(process.argv[3] ?? 5000);
const DIALECTS = (process.argv[4] ?? 'postgres,mysql,sqlite').split(',') as Array<'postgres' | 'mysql' | 'sqlite'>;
const TABLE = 'erp_contacts';

const table = {
	entity: 'contact',
	system: 'erp',
	table: TABLE,
	idColumn: 'contact_id',
	updatedAtColumn: 'changed_at',
	actorColumn: 'modified_by',
	softDeleteColumn: 'deleted_at',
};

/**
 * The floor: the same work with the plain driver, no node around it: statements of 1,000 rows (the node's
 * default batch) with the values already in column order, reads without any conversion of the rows.
 */
interface Driver {
	/** Inserts (id null) or upserts by id; returns the ids. */
	upsert(rows: unknown[][], ids: string[] | null): Promise<string[]>;
	getMany(afterId: string, limit: number): Promise<number>;
	getChanges(limit: number): Promise<number>;
}

const COLUMNS = ['email', 'first_name', 'last_name', 'phone_number', 'birth_date', 'status_code', 'marketing_opt_in', 'street', 'city', 'postal_code', 'country_code'];
const PG_TYPES = ['varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'bpchar', 'bpchar', 'varchar', 'varchar', 'varchar', 'bpchar'];
const BATCH = 1000;

function pgDriver(pool: Pool): Driver {
	return {
		async upsert(rows, ids) {
			const out: string[] = [];
			for (let start = 0; start < rows.length; start += BATCH) {
				const chunk = rows.slice(start, start + BATCH);
				const cols = ids ? ['contact_id', ...COLUMNS] : COLUMNS;
				const arrays = cols.map((_, j) => chunk.map((r, k) => (ids ? (j === 0 ? ids[start + k] : r[j - 1]) : r[j])));
				const types = ids ? ['int4', ...PG_TYPES] : PG_TYPES;
				const set = COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
				const { rows: got } = await pool.query(
					`INSERT INTO ${TABLE} (${cols.join(', ')}, changed_at, modified_by)
					 SELECT *, now(), 'datasync' FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
					 ${ids ? `ON CONFLICT (contact_id) DO UPDATE SET ${set}, changed_at = EXCLUDED.changed_at, modified_by = EXCLUDED.modified_by` : ''} RETURNING contact_id`,
					arrays,
				);
				for (const r of got) out.push(String(r.contact_id));
			}
			return out;
		},
		async getMany(afterId, limit) {
			return (await pool.query(`SELECT * FROM ${TABLE} WHERE contact_id > $1 ORDER BY contact_id LIMIT $2`, [afterId, limit])).rows.length;
		},
		async getChanges(limit) {
			return (await pool.query(`SELECT * FROM ${TABLE} WHERE changed_at > $1 ORDER BY changed_at, contact_id LIMIT $2`, ['2000-01-01', limit])).rows.length;
		},
	};
}

function mysqlDriver(pool: mysql.Pool): Driver {
	return {
		async upsert(rows, ids) {
			const out: string[] = [];
			const set = COLUMNS.map((c) => `${c} = VALUES(${c})`).join(', ');
			for (let start = 0; start < rows.length; start += BATCH) {
				const chunk = rows.slice(start, start + BATCH).map((r, k) => [...(ids ? [ids[start + k]] : []), ...r, 'datasync']);
				const [result] = await pool.query<mysql.ResultSetHeader>(
					`INSERT INTO ${TABLE} (${ids ? 'contact_id, ' : ''}${COLUMNS.join(', ')}, modified_by) VALUES ?${ids ? ` ON DUPLICATE KEY UPDATE ${set}, changed_at = CURRENT_TIMESTAMP(6), modified_by = VALUES(modified_by)` : ''}`,
					[chunk],
				);
				for (let k = 0; k < chunk.length; k++) out.push(ids ? ids[start + k] : String(result.insertId + k));
			}
			return out;
		},
		async getMany(afterId, limit) {
			const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT * FROM ${TABLE} WHERE contact_id > ? ORDER BY contact_id LIMIT ?`, [afterId, limit]);
			return rows.length;
		},
		async getChanges(limit) {
			const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT * FROM ${TABLE} WHERE changed_at > ? ORDER BY changed_at, contact_id LIMIT ?`, ['2000-01-01', limit]);
			return rows.length;
		},
	};
}

function sqliteDriver(db: DatabaseSync): Driver {
	return {
		async upsert(rows, ids) {
			const cols = ids ? ['contact_id', ...COLUMNS] : COLUMNS;
			const set = COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ');
			const statement = db.prepare(
				`INSERT INTO ${TABLE} (${cols.join(', ')}, changed_at, modified_by) VALUES (${cols.map(() => '?').join(', ')}, strftime('%Y-%m-%dT%H:%M:%fZ'), 'datasync')
				 ${ids ? `ON CONFLICT (contact_id) DO UPDATE SET ${set}, changed_at = excluded.changed_at, modified_by = excluded.modified_by` : ''} RETURNING contact_id AS id`,
			);
			const out: string[] = [];
			db.exec('BEGIN');
			rows.forEach((r, k) => {
				const got = statement.get(...((ids ? [ids[k], ...r] : r) as Array<string | null>)) as { id: number };
				out.push(String(got.id));
			});
			db.exec('COMMIT');
			return out;
		},
		async getMany(afterId, limit) {
			return db.prepare(`SELECT * FROM ${TABLE} WHERE contact_id > ? ORDER BY contact_id LIMIT ?`).all(afterId, limit).length;
		},
		async getChanges(limit) {
			return db.prepare(`SELECT * FROM ${TABLE} WHERE changed_at > ? ORDER BY changed_at, contact_id LIMIT ?`).all('2000-01-01', limit).length;
		},
	};
}

interface Setup {
	creds: Record<string, unknown>;
	driver: Driver;
	drop(): Promise<void>;
}

async function setup(dialect: 'postgres' | 'mysql' | 'sqlite'): Promise<Setup> {
	if (dialect === 'postgres') {
		const db = await createPgDatabase('dspage');
		const c = new Client(db.config);
		await c.connect();
		await c.query(`CREATE TABLE ${TABLE} (
			contact_id serial PRIMARY KEY, email varchar(254) NOT NULL UNIQUE, first_name varchar(100), last_name varchar(100),
			phone_number varchar(40), birth_date varchar(10), status_code char(1), marketing_opt_in char(1), street varchar(200),
			city varchar(100), postal_code varchar(20), country_code char(2),
			changed_at timestamptz(6) NOT NULL DEFAULT clock_timestamp(), modified_by varchar(64), deleted_at timestamptz(6))`);
		await c.query(`CREATE INDEX ON ${TABLE} (changed_at, contact_id)`);
		await c.end();
		const pool = new Pool({ ...db.config, max: 2, options: '-c TimeZone=UTC' });
		return { creds: { dialect, ...db.config, ssl: 'disable' }, driver: pgDriver(pool), drop: async () => (await pool.end(), await db.drop()) };
	}
	if (dialect === 'mysql') {
		const db = await createMariaDbDatabase('dspage');
		const c = await mysql.createConnection(db.config);
		await c.query(`CREATE TABLE ${TABLE} (
			contact_id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(254) NOT NULL, first_name VARCHAR(100), last_name VARCHAR(100),
			phone_number VARCHAR(40), birth_date VARCHAR(10), status_code CHAR(1), marketing_opt_in CHAR(1), street VARCHAR(200),
			city VARCHAR(100), postal_code VARCHAR(20), country_code CHAR(2),
			changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), modified_by VARCHAR(64), deleted_at DATETIME(6) NULL,
			UNIQUE KEY (email), INDEX (changed_at, contact_id)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
		await c.end();
		const pool = mysql.createPool({ ...db.config, connectionLimit: 2, dateStrings: true, timezone: 'Z' });
		return { creds: { dialect, ...db.config, ssl: 'disable' }, driver: mysqlDriver(pool), drop: async () => (await pool.end(), await db.drop()) };
	}
	const dir = createTempDir('dspage');
	const file = dir.file('b.sqlite');
	const raw = new DatabaseSync(file);
	raw.exec(`CREATE TABLE ${TABLE} (
		contact_id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT, phone_number TEXT, birth_date TEXT,
		status_code TEXT, marketing_opt_in TEXT, street TEXT, city TEXT, postal_code TEXT, country_code TEXT,
		changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')), modified_by TEXT, deleted_at TEXT)`);
	raw.exec(`CREATE INDEX erp_changes ON ${TABLE} (changed_at, contact_id)`);
	raw.close();
	const sqlite = new DatabaseSync(file);
	return { creds: { dialect, file }, driver: sqliteDriver(sqlite), drop: async () => (sqlite.close(), dir.remove()) };
}

const CITIES = ['Zürich', 'København', 'Kraków', 'São Paulo', "L'Aquila", 'Łódź'];

/** What the outbound Mapper emits for B: one DataSync item of shape 'system' per contact. */
function item(run: number, n: number, id: string | null, tag: string): Record<string, unknown> {
	return {
		entity: 'contact',
		system: 'erp',
		id,
		op: 'upsert',
		shape: 'system',
		key: `k-${run}-${n}`,
		data: {
			email: `contact.${run}.${n}@example.com`,
			first_name: 'Zoë',
			last_name: `O'Brien ${tag}`,
			phone_number: n % 10 ? `+49 30 ${1000000 + n}` : null,
			birth_date: `${String(1 + (n % 28)).padStart(2, '0')}/0${1 + (n % 9)}/19${50 + (n % 50)}`,
			status_code: 'ALI'[n % 3],
			marketing_opt_in: n % 2 ? 'Y' : 'N',
			street: `${n % 200} Hauptstraße`,
			city: CITIES[n % CITIES.length],
			postal_code: String(10000 + n),
			country_code: 'de',
		},
		changedAt: new Date(Date.UTC(2024, 4, 1) + n).toISOString(),
		trace: { runId: 'bench', origin: 'crm', hops: 1 },
	};
}

function median(values: number[]): number {
	const s = [...values].sort((a, b) => a - b);
	return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timedRun(creds: Record<string, unknown>, parameters: Record<string, unknown>, input?: Array<Record<string, unknown>>) {
	const t0 = performance.now();
	const c0 = process.cpuUsage();
	const result = await runNode(DataSyncDatabase, {
		parameters: { ...table, ...parameters } as never,
		input: input as never,
		credentials: { dataSyncSqlApi: creds } as never,
		credentialTypes: [DataSyncSqlApi],
	});
	const wall = performance.now() - t0;
	const used = process.cpuUsage(c0);
	if (result.error) throw result.error;
	const exec = result.run.data.resultData.runData['Node Under Test'][0].executionTime;
	return { wall, exec, cpu: (used.user + used.system) / 1000, out: result.outputs[0] };
}

async function main(): Promise<void> {
	const rows: Array<Record<string, string>> = [];
	for (const dialect of DIALECTS) {
		const { creds, driver, drop } = await setup(dialect);
		type Times = { exec: number[]; wall: number[]; cpu: number[]; driver: number[]; driverCpu: number[] };
		const t: Record<string, Times> = {};
		const times = (name: string) => (t[name] ??= { exec: [], wall: [], cpu: [], driver: [], driverCpu: [] });
		const add = (name: string, r: { exec: number; wall: number; cpu: number }, warm: boolean) => {
			if (warm) return;
			times(name).exec.push(r.exec);
			times(name).wall.push(r.wall);
			times(name).cpu.push(r.cpu);
		};
		const floor = async (name: string, warm: boolean, work: () => Promise<unknown>) => {
			const t0 = performance.now();
			const c0 = process.cpuUsage();
			await work();
			const used = process.cpuUsage(c0);
			if (warm) return;
			times(name).driver.push(performance.now() - t0);
			times(name).driverCpu.push((used.user + used.system) / 1000);
		};
		try {
			for (let run = 0; run <= RUNS; run++) {
				const warm = run === 0;
				// Upsert of new records (the table makes the ids).
				const creates = Array.from({ length: N }, (_, n) => item(run, n, null, 'new'));
				const created = await timedRun(creds, { operation: 'upsert' }, creates);
				add('upsert new', created, warm);
				if (created.out.length !== N) throw new Error(`${dialect}: ${created.out.length} items out of ${N}`);
				// The same records changed: updates by id.
				const ids = created.out.map((o) => String((o.json as { id: string }).id));
				const updates = Array.from({ length: N }, (_, n) => item(run, n, ids[n], `changed ${run}`));
				add('upsert changed', await timedRun(creds, { operation: 'upsert' }, updates), warm);
				// One page of the snapshot, after the rows of earlier runs.
				const afterId = String(Number(ids[0]) - 1);
				const many = await timedRun(creds, { operation: 'getMany', pageSize: N, afterId });
				if (many.out.length !== N) throw new Error(`${dialect}: Get Many gave ${many.out.length}`);
				add('getMany page', many, warm);
				// One page of changes, from a start cursor before the rows of this run.
				const changes = await timedRun(creds, {
					operation: 'getChanges',
					sync: 'bench',
					cursorSource: 'explicit',
					pageSize: N,
					start: { ts: '2000-01-01T00:00:00Z' },
				});
				if (changes.out.length !== N) throw new Error(`${dialect}: Get Changes gave ${changes.out.length}`);
				add('getChanges page', changes, warm);

				// The same with the plain driver, on rows of their own.
				const plain = (tag: string) =>
					Array.from({ length: N }, (_, n) => {
						const data = item(run + 10_000, n, null, tag).data as Record<string, unknown>;
						return COLUMNS.map((c) => data[c]);
					});
				const newRows = plain('new');
				let plainIds: string[] = [];
				await floor('upsert new', warm, async () => (plainIds = await driver.upsert(newRows, null)));
				const changedRows = plain(`changed ${run}`);
				await floor('upsert changed', warm, () => driver.upsert(changedRows, plainIds));
				await floor('getMany page', warm, () => driver.getMany(String(Number(plainIds[0]) - 1), N));
				await floor('getChanges page', warm, () => driver.getChanges(N));
			}
		} finally {
			await closeSharedTransports();
			await drop();
		}
		for (const [op, { exec, wall, cpu, driver: plain, driverCpu }] of Object.entries(t)) {
			rows.push({
				dialect,
				operation: op,
				'node ms': median(exec).toFixed(0),
				'µs / record': ((median(exec) * 1000) / N).toFixed(1),
				'node min–max': `${Math.min(...exec).toFixed(0)}–${Math.max(...exec).toFixed(0)}`,
				'runNode wall ms': median(wall).toFixed(0),
				'runNode CPU ms': median(cpu).toFixed(0),
				'driver ms': median(plain).toFixed(0),
				'driver µs / rec': ((median(plain) * 1000) / N).toFixed(1),
				'driver CPU ms': median(driverCpu).toFixed(0),
			});
		}
	}
	console.log(`DataSync Database node, ${N.toLocaleString('en')} records per execution, median of ${RUNS} runs, Node ${process.versions.node}`);
	console.table(rows);
	// For comparisons between two trees (A/B runs): the table as JSON.
	if (process.env.CONNECTOR_PAGE_JSON) writeFileSync(process.env.CONNECTOR_PAGE_JSON, JSON.stringify(rows));
}

main()
	.catch((error: unknown) => {
		console.error(error);
		process.exitCode = 1;
	})
	.finally(() => ownUserFolder && rmSync(ownUserFolder, { recursive: true, force: true }));
