/**
 * Merge + plan throughput of the engine on one 100k-record batch, per store backend (not a test):
 *   npx node -r ./scripts/register-ts.js scripts/bench-engine.ts [--records 100000]
 * Pass 1: 100k records seen for the first time (identity by match key, golden records created, links,
 * a create planned for two other systems). Pass 2: the same 100k records changed in one field
 * (link lookup, three-way merge, an update planned for two systems). Each pass is one resolve call,
 * i.e. one store transaction, timed from the call to its result.
 */
import type { SyncItem } from '../lib/item';
import { resolve } from '../lib/engine/resolve';
import { closeAllStores, openStore, type StoreConfig } from '../lib/engine/store';
import { createPgDatabase, createTempDir } from '../test/helpers/services';

const i = process.argv.indexOf('--records');
const RECORDS = i === -1 ? 100_000 : Number(process.argv[i + 1]);

function items(pass: number): SyncItem[] {
	return Array.from({ length: RECORDS }, (_, n) => ({
		entity: 'contact',
		system: 'crm',
		id: `c${n}`,
		op: 'upsert' as const,
		shape: 'canonical' as const,
		data: { email: `user${n}@bench.test`, name: `User ${n}`, city: pass === 1 ? 'Rome' : 'Oslo', score: n % 100 },
		changedAt: new Date(Date.UTC(2024, 0, pass, 0, 0, 0, n % 1000)).toISOString(),
		trace: { runId: `bench-${pass}`, origin: 'crm', hops: 0 },
	}));
}

async function bench(name: string, config: StoreConfig) {
	const store = await openStore(config);
	for (const pass of [1, 2]) {
		const batch = items(pass);
		const started = process.hrtime.bigint();
		const result = await resolve(
			store,
			{
				sync: 'bench',
				entity: 'contact',
				runId: `bench-${pass}`,
				systems: ['crm', 'erp', 'shop'],
				matchKeys: ['email'],
				policy: { kind: 'priority', priority: ['crm', 'erp', 'shop'] },
			},
			batch,
		);
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		const what = pass === 1 ? 'first sight (create + plan)' : 'update (merge + plan)';
		process.stdout.write(
			`${name.padEnd(8)} ${what.padEnd(28)} ${RECORDS} records in ${seconds.toFixed(2)} s = ${Math.round(RECORDS / seconds)} records/s, ${result.changes.length} changes planned, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB\n`,
		);
	}
	await closeAllStores();
}

async function main() {
	const dir = createTempDir('datasync-bench');
	const pg = await createPgDatabase('datasync_bench');
	try {
		await bench('sqlite', { backend: 'sqlite', path: dir.file('bench.sqlite') });
		await bench('postgres', { backend: 'postgres', ...pg.config, schema: 'bench', ssl: 'disable' });
	} finally {
		dir.remove();
		await pg.drop();
	}
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack}\n`);
	process.exit(1);
});
