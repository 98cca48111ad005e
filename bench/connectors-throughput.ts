/**
 * Throughput of the SQL transports, per dialect: upsert N rows (batches of 1,000, one statement and one
 * transaction each) as inserts and again as updates, then read them back with Get Changes (keyset pages
 * of 5,000 on (updated-at, id)) and Get Many (pages of 5,000 on id). Rows are built before the clock starts.
 *
 *   npx node -r ./scripts/register-ts.js bench/connectors-throughput.ts [rows=100000]   (npx: Node 24)
 *
 * Each dialect gets a fresh database (Postgres, MariaDB) or file (SQLite) on this machine, dropped after.
 */
import { openTransport, type SqlDialect, type SqlTransport, type TableSpec, type UpsertRecord } from '../lib/connectors/sql';
import type { SyncCursor } from '../lib/item';
import { createMariaDbDatabase, createPgDatabase, createTempDir } from '../test/helpers/services';
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import mysql from 'mysql2/promise';

const ROWS = Number(process.argv[2] ?? 100_000);
const BATCH = 1000;
const PAGE = 5000;
const spec: TableSpec = { table: 'contacts', idColumn: 'id', updatedAtColumn: 'updated_at' };

interface Setup {
	transport: SqlTransport;
	drop(): Promise<void>;
}

async function setup(dialect: SqlDialect): Promise<Setup> {
	if (dialect === 'postgres') {
		const db = await createPgDatabase('dsbench');
		const c = new Client(db.config);
		await c.connect();
		await c.query('CREATE TABLE contacts (id bigint PRIMARY KEY, email text, name text, city text, score int, updated_at timestamptz(6))');
		await c.query('CREATE INDEX ON contacts (updated_at, id)');
		await c.end();
		const transport = openTransport({ dialect, ...db.config, ssl: 'disable' });
		return { transport, drop: async () => (await transport.close(), await db.drop()) };
	}
	if (dialect === 'mysql') {
		const db = await createMariaDbDatabase('dsbench');
		const c = await mysql.createConnection(db.config);
		await c.query(
			'CREATE TABLE contacts (id bigint PRIMARY KEY, email varchar(255), name varchar(255), city varchar(255), score int, updated_at datetime(6), INDEX (updated_at, id))',
		);
		await c.end();
		const transport = openTransport({ dialect, ...db.config, ssl: 'disable' });
		return { transport, drop: async () => (await transport.close(), await db.drop()) };
	}
	const dir = createTempDir('dsbench');
	const file = dir.file('bench.sqlite');
	const raw = new DatabaseSync(file);
	raw.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, name TEXT, city TEXT, score INTEGER, updated_at TEXT)');
	raw.exec('CREATE INDEX contacts_changes ON contacts (updated_at, id)');
	raw.close();
	const transport = openTransport({ dialect, file });
	return { transport, drop: async () => (await transport.close(), dir.remove()) };
}

function rows(pass: number): UpsertRecord[][] {
	const batches: UpsertRecord[][] = [];
	for (let start = 0; start < ROWS; start += BATCH) {
		batches.push(
			Array.from({ length: Math.min(BATCH, ROWS - start) }, (_, k) => {
				const i = start + k;
				return {
					id: String(i + 1),
					values: {
						email: `contact${i}@example.com`,
						name: `Contact ${i} (${pass})`,
						city: ['Berlin', 'Lyon', 'Porto', 'Łódź'][i % 4],
						score: i % 1000,
						// 100 rows per millisecond: page boundaries fall inside runs of equal timestamps.
						updated_at: new Date(Date.UTC(2024, 0, 1 + pass) + Math.floor(i / 100)).toISOString(),
					},
					label: `row ${i}`,
					index: k,
				};
			}),
		);
	}
	return batches;
}

async function timed(work: () => Promise<number>): Promise<{ count: number; seconds: number }> {
	const start = process.hrtime.bigint();
	const count = await work();
	return { count, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function main(): Promise<void> {
	const results: Array<Record<string, string>> = [];
	for (const dialect of ['postgres', 'mysql', 'sqlite'] as const) {
		const { transport, drop } = await setup(dialect);
		try {
			const options = { touchUpdatedAt: false, now: new Date().toISOString() };
			const inserts = rows(0);
			const insert = await timed(async () => {
				for (const batch of inserts) await transport.upsert(spec, batch, options);
				return ROWS;
			});
			const updates = rows(1);
			const update = await timed(async () => {
				for (const batch of updates) await transport.upsert(spec, batch, options);
				return ROWS;
			});
			const changes = await timed(async () => {
				let cursor: SyncCursor | null = null;
				let n = 0;
				for (;;) {
					const page = await transport.readChanges(spec, cursor, PAGE);
					n += page.length;
					if (page.length < PAGE) return n;
					const last = page[page.length - 1];
					cursor = { ts: last.updatedAt as string, id: last.id };
				}
			});
			const snapshot = await timed(async () => {
				let after: string | null = null;
				let n = 0;
				for (;;) {
					const page = await transport.readSnapshot(spec, after, PAGE);
					n += page.length;
					if (page.length < PAGE) return n;
					after = page[page.length - 1].id;
				}
			});
			if (changes.count !== ROWS || snapshot.count !== ROWS) throw new Error(`${dialect}: read ${changes.count} changes and ${snapshot.count} rows, expected ${ROWS}`);
			const rate = (r: { count: number; seconds: number }) => `${Math.round(r.count / r.seconds).toLocaleString('en')} rows/s (${r.seconds.toFixed(2)} s)`;
			results.push({
				dialect,
				'upsert (insert)': rate(insert),
				'upsert (update)': rate(update),
				'read: Get Changes': rate(changes),
				'read: Get Many': rate(snapshot),
			});
		} finally {
			await drop();
		}
	}
	console.log(`SQL transports, ${ROWS.toLocaleString('en')} rows, upsert batches of ${BATCH}, read pages of ${PAGE}, Node ${process.versions.node}`);
	console.table(results);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
