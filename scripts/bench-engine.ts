/**
 * Engine throughput and memory per page, per store backend (not a test):
 *   npx node --expose-gc -r ./scripts/register-ts.js scripts/bench-engine.ts [--records 5000] [--runs 3] [--backend sqlite|postgres]
 * The flows handle a page of about 5,000 records per execution, so that is what is measured: resolve
 * and commit of one page, each one store transaction, in three scenarios:
 * - first sight: records never seen (identity by match key, golden records created, creates planned for
 *   two other systems), then the commit of those 2 × page writes;
 * - update: the same records changed in one field (link lookup, three-way merge, two updates each);
 * - nothing changed: the same records delivered again (the echo path: nothing merged, nothing planned),
 *   then a commit with no results.
 * Each run uses a fresh store that first takes one untimed page of other records (warm code, non-empty
 * tables). Figures are the median of the runs. Memory: the peak RSS of the process during the step,
 * sampled by a worker thread every 2 ms (RSS never shrinks much, so it mostly shows the process's high-water
 * mark), and what the step itself needs: the rise of the JS heap from just before the step (after a GC
 * with --expose-gc) to its highest point, read before each collection, garbage not yet collected included.
 */
import { GCProfiler } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { SyncItem } from '../lib/item';
import { commit, type WriteResult } from '../lib/engine/commit';
import { resolve, type ResolveResult } from '../lib/engine/resolve';
import { closeAllStores, openStore, type Store, type StoreConfig } from '../lib/engine/store';
import { createPgDatabase, createTempDir } from '../test/helpers/services';

function arg(name: string, fallback: string): string {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? fallback : process.argv[i + 1];
}

const RECORDS = Number(arg('records', '5000'));
const RUNS = Number(arg('runs', '3'));
const ONLY = arg('backend', '');
const SYSTEMS = ['crm', 'erp', 'shop'];

/** Peak RSS (KB) since the last reset, kept by a worker thread: the page work itself never yields to timers. */
const peak = new Int32Array(new SharedArrayBuffer(8));
const sampler = new Worker(
	`const { workerData } = require('node:worker_threads');
	const peak = new Int32Array(workerData);
	const tick = new Int32Array(new SharedArrayBuffer(4));
	for (;;) {
		const rss = Math.round(process.memoryUsage.rss() / 1024);
		if (rss > Atomics.load(peak, 0)) Atomics.store(peak, 0, rss);
		Atomics.wait(tick, 0, 0, 2);
	}`,
	{ eval: true, workerData: peak.buffer },
);
sampler.unref();

const gc = (globalThis as { gc?: () => void }).gc;

function items(prefix: string, city: string, day: number): SyncItem[] {
	return Array.from({ length: RECORDS }, (_, n) => ({
		entity: 'contact',
		system: 'crm',
		id: `${prefix}${n}`,
		op: 'upsert' as const,
		shape: 'canonical' as const,
		data: { email: `${prefix}${n}@bench.test`, name: `User ${n}`, city, score: n % 100, phone: `+39 06 ${1000000 + n}`, active: true },
		changedAt: new Date(Date.UTC(2024, 0, day, 0, 0, 0, n % 1000)).toISOString(),
		trace: { runId: 'bench', origin: 'crm', hops: 0, cursor: { ts: new Date(Date.UTC(2024, 0, day)).toISOString(), id: `${prefix}${n}` } },
	}));
}

/** What the connectors report after writing the planned changes: each target gives its own id. */
function written(result: ResolveResult, batch: SyncItem[]): WriteResult[] {
	return result.changes.map(({ item, sourceIndex }) => ({
		entity: item.entity,
		system: item.system,
		key: item.key as string,
		id: item.id ?? `${item.system}-${batch[sourceIndex].id}`,
		op: item.op,
		data: item.data,
	}));
}

interface Step {
	seconds: number;
	/** CPU time of this process (JS and SQLite; not the Postgres server): less disturbed by other load. */
	cpuSeconds: number;
	peakMb: number;
	heapRiseMb: number;
}

async function measure<T>(work: () => Promise<T>): Promise<{ value: T; step: Step }> {
	gc?.();
	const heapBefore = process.memoryUsage().heapUsed;
	const profiler = new GCProfiler();
	profiler.start();
	Atomics.store(peak, 0, 0);
	const cpu = process.cpuUsage();
	const started = process.hrtime.bigint();
	const value = await work();
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	const used = process.cpuUsage(cpu);
	const top = Math.max(Atomics.load(peak, 0), process.memoryUsage.rss() / 1024);
	const heapTop = Math.max(process.memoryUsage().heapUsed, ...(profiler.stop()?.statistics ?? []).map((s) => s.beforeGC.heapStatistics.usedHeapSize));
	return { value, step: { seconds, cpuSeconds: (used.user + used.system) / 1e6, peakMb: top / 1024, heapRiseMb: (heapTop - heapBefore) / 2 ** 20 } };
}

const SCENARIOS = ['first sight', 'update', 'nothing changed'] as const;
type Scenario = (typeof SCENARIOS)[number];

async function runOnce(store: Store, run: number): Promise<Map<string, Step>> {
	const steps = new Map<string, Step>();
	const options = (runId: string) => ({
		sync: 'bench',
		entity: 'contact',
		runId,
		systems: SYSTEMS,
		matchKeys: ['email'],
		policy: { kind: 'priority' as const, priority: SYSTEMS },
	});
	const page = async (scenario: Scenario | 'warm-up', batch: SyncItem[], expectChanges: number) => {
		const runId = `bench-${run}-${scenario}`;
		const resolved = await measure(() => resolve(store, options(runId), batch));
		if (resolved.value.changes.length !== expectChanges) throw new Error(`${scenario}: ${resolved.value.changes.length} changes planned, expected ${expectChanges}`);
		const results = written(resolved.value, batch);
		const committed = await measure(() => commit(store, { sync: 'bench', runId }, results));
		if (committed.value.committed !== results.length || committed.value.waiting !== 0) throw new Error(`${scenario}: commit left ${committed.value.waiting} waiting`);
		steps.set(`${scenario}/resolve`, resolved.step);
		steps.set(`${scenario}/commit`, committed.step);
	};
	await page('warm-up', items('w', 'Rome', 1), RECORDS * 2);
	await page('first sight', items('c', 'Rome', 2), RECORDS * 2);
	await page('update', items('c', 'Oslo', 3), RECORDS * 2);
	await page('nothing changed', items('c', 'Oslo', 3), 0);
	return steps;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function bench(name: string, configFor: (run: number) => StoreConfig) {
	const runs: Array<Map<string, Step>> = [];
	for (let run = 1; run <= RUNS; run++) {
		const store = await openStore(configFor(run));
		runs.push(await runOnce(store, run));
		await closeAllStores();
	}
	for (const scenario of SCENARIOS) {
		const of = (part: string, pick: (s: Step) => number) => median(runs.map((r) => pick(r.get(`${scenario}/${part}`) as Step)));
		const total = median(runs.map((r) => (r.get(`${scenario}/resolve`) as Step).seconds + (r.get(`${scenario}/commit`) as Step).seconds));
		const rate = (s: number) => `${Math.round(RECORDS / s)}/s`.padStart(9);
		process.stdout.write(
			`${name.padEnd(8)} ${scenario.padEnd(15)} resolve ${(of('resolve', (s) => s.seconds) * 1000).toFixed(0).padStart(5)} ms ${rate(of('resolve', (s) => s.seconds))}` +
				`  commit ${(of('commit', (s) => s.seconds) * 1000).toFixed(0).padStart(5)} ms ${rate(of('commit', (s) => s.seconds))}` +
				`  both ${rate(total)} (cpu ${(of('resolve', (s) => s.cpuSeconds) * 1000).toFixed(0)}+${(of('commit', (s) => s.cpuSeconds) * 1000).toFixed(0)} ms)` +
				`  peak rss ${of('resolve', (s) => s.peakMb).toFixed(0)}/${of('commit', (s) => s.peakMb).toFixed(0)} MB` +
				`  heap +${of('resolve', (s) => s.heapRiseMb).toFixed(0)}/+${of('commit', (s) => s.heapRiseMb).toFixed(0)} MB\n`,
		);
	}
}

async function main() {
	gc?.();
	process.stdout.write(
		`${RECORDS} records per page, median of ${RUNS} runs, systems ${SYSTEMS.join(', ')}, rss before any store ${Math.round(process.memoryUsage.rss() / 1e6)} MB` +
			`${gc ? '' : ' (no --expose-gc: heap rises start from uncollected garbage)'}\n`,
	);
	const dir = createTempDir('datasync-bench');
	const pg = await createPgDatabase('datasync_bench');
	try {
		if (ONLY !== 'postgres') await bench('sqlite', (run) => ({ backend: 'sqlite', path: dir.file(`bench-${run}.sqlite`) }));
		if (ONLY !== 'sqlite') await bench('postgres', (run) => ({ backend: 'postgres', ...pg.config, schema: `bench_${run}`, ssl: 'disable' }));
	} finally {
		dir.remove();
		await pg.drop();
	}
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack}\n`);
	process.exit(1);
});
