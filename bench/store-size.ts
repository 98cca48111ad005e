/**
 * The sync store's size per record (not a test): an initial load of N contacts from System A into
 * System B as the bidirectional template does it, page by page (Loop Guard → Conflict Resolver → the
 * write's results → Store Commit, pages of 5,000), on a fresh store of each backend; then the rows of
 * every store table and their bytes, per contact.
 *
 *   npx node -r ./scripts/register-ts.js bench/store-size.ts [--records 20000] [--backend sqlite|postgres] [--out bench/results/store-size.json]
 *
 * Bytes: SQLite, the pages each table and index uses (the dbstat table; the file size when this SQLite
 * has none); Postgres, pg_total_relation_size of each table (its indexes and TOAST included). Rows and
 * bytes are the whole store's after the load, divided by the contacts loaded.
 */
import { statSync, writeFileSync } from 'node:fs';
import type { SyncItem } from '../lib/item';
import { commit, type WriteResult } from '../lib/engine/commit';
import { guard } from '../lib/engine/guard';
import { resolve } from '../lib/engine/resolve';
import { closeAllStores, openStore, type Store, type StoreConfig } from '../lib/engine/store';
import { createPgDatabase, createTempDir } from '../test/helpers/services';

function arg(name: string, fallback: string): string {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? fallback : process.argv[i + 1];
}

const RECORDS = Number(arg('records', '20000'));
const PAGE = 5000;
const ONLY = arg('backend', '');
const OUT = arg('out', '');
const SYSTEMS = ['crm', 'erp'];

/** A's contacts in canonical form, as the template's Mapper makes them (bench/generate.ts's fields). */
function contact(n: number): SyncItem {
	const at = new Date(Date.UTC(2024, 0, 1, 0, 0, 0, n)).toISOString();
	return {
		entity: 'contact',
		system: 'crm',
		id: String(n + 1),
		op: 'upsert',
		shape: 'canonical',
		data: {
			email: `person${n}@example.com`,
			firstName: `First${n}`,
			lastName: `Last${n}`,
			phone: `+44 20 7946 ${String(1000 + (n % 9000))}`,
			birthDate: '1990-04-12',
			status: 'active',
			marketingOptIn: n % 2 === 0,
			address: { street: `${n} High Street`, city: 'London', postalCode: 'SW1Y 4JH', countryCode: 'GB' },
		},
		changedAt: at,
		trace: { runId: 'load', origin: 'crm', hops: 0, cursor: { ts: at, id: String(n + 1) }, sync: 'contacts' },
	};
}

async function load(store: Store): Promise<void> {
	for (let from = 0, page = 0; from < RECORDS; from += PAGE, page++) {
		const runId = `load-${page}`;
		const batch = Array.from({ length: Math.min(PAGE, RECORDS - from) }, (_, i) => contact(from + i));
		const guarded = await guard(store, { sync: 'contacts', runId, ownActor: 'datasync' }, batch);
		const passed = guarded.passed.map((p) => p.item);
		const resolved = await resolve(store, { sync: 'contacts', entity: 'contact', runId, systems: SYSTEMS, matchKeys: ['email'], policy: { kind: 'priority', priority: SYSTEMS } }, passed);
		const results: WriteResult[] = resolved.changes.map(({ item, sourceIndex }) => ({
			entity: item.entity,
			system: item.system,
			key: item.key as string,
			id: `b-${passed[sourceIndex].id}`,
			op: item.op,
			data: item.data,
			changedAt: new Date(Date.UTC(2024, 1, 1)).toISOString(),
		}));
		const done = await commit(store, { sync: 'contacts', runId }, results);
		if (done.committed !== batch.length || done.waiting !== 0) throw new Error(`page ${page}: committed ${done.committed} of ${batch.length}, ${done.waiting} waiting`);
	}
}

interface Size {
	backend: string;
	records: number;
	rowsPerRecord: number;
	bytesPerRecord: number;
	tables: Record<string, { rows: number; bytes: number }>;
}

async function sizeOf(store: Store, backend: 'sqlite' | 'postgres', file?: string): Promise<Size> {
	const tables = (
		backend === 'sqlite'
			? await store.driver.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
			: await store.driver.all<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()`)
	).map((t) => t.name);
	const out: Size['tables'] = {};
	let dbstat = backend === 'sqlite';
	const pages = new Map<string, number>();
	if (backend === 'sqlite') {
		try {
			// Each table's pages with those of its indexes.
			const rows = await store.driver.all<{ tbl: string; bytes: number }>(
				`SELECT m.tbl_name AS tbl, SUM(s.pgsize) AS bytes FROM dbstat s JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name`,
			);
			for (const r of rows) pages.set(r.tbl, Number(r.bytes));
		} catch {
			dbstat = false;
		}
	}
	for (const t of tables) {
		const [{ n }] = await store.driver.all<{ n: number }>(`SELECT COUNT(*) AS n FROM "${t}"`);
		let bytes = 0;
		if (backend === 'postgres') [{ bytes }] = await store.driver.all<{ bytes: number }>(`SELECT pg_total_relation_size(quote_ident(current_schema()) || '.' || quote_ident(?)) AS bytes`, [t]);
		else bytes = pages.get(t) ?? 0;
		out[t] = { rows: Number(n), bytes: Number(bytes) };
	}
	const rows = Object.values(out).reduce((s, t) => s + t.rows, 0);
	let bytes = Object.values(out).reduce((s, t) => s + t.bytes, 0);
	if (backend === 'sqlite' && !dbstat && file) bytes = statSync(file).size;
	return { backend, records: RECORDS, rowsPerRecord: rows / RECORDS, bytesPerRecord: bytes / RECORDS, tables: out };
}

async function main() {
	const sizes: Size[] = [];
	if (!ONLY || ONLY === 'sqlite') {
		const dir = createTempDir('store-size');
		const file = dir.file('store.sqlite');
		const config: StoreConfig = { backend: 'sqlite', path: file };
		const store = await openStore(config);
		await load(store);
		sizes.push(await sizeOf(store, 'sqlite', file));
		await closeAllStores();
		dir.remove();
	}
	if (!ONLY || ONLY === 'postgres') {
		const db = await createPgDatabase('store_size');
		const store = await openStore({ backend: 'postgres', ...db.config, schema: 'store', ssl: 'disable' });
		await load(store);
		await store.driver.run('VACUUM ANALYZE').catch(() => undefined);
		sizes.push(await sizeOf(store, 'postgres'));
		await closeAllStores();
		await db.drop();
	}
	for (const s of sizes) {
		process.stdout.write(`${s.backend}: ${s.records} contacts, ${s.rowsPerRecord.toFixed(2)} rows and ${Math.round(s.bytesPerRecord)} bytes per contact\n`);
		for (const [t, v] of Object.entries(s.tables).filter(([, v]) => v.rows > 0 || v.bytes > 8192)) {
			process.stdout.write(`  ${t.padEnd(20)} ${String(v.rows).padStart(8)} rows  ${String(Math.round(v.bytes / s.records)).padStart(6)} B/contact\n`);
		}
	}
	if (OUT) writeFileSync(OUT, `${JSON.stringify({ at: new Date().toISOString(), sizes }, null, 2)}\n`);
}

main().catch((error) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
