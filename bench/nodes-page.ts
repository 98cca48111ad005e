/**
 * The engine nodes on one page (not a test):
 *   npx node --expose-gc -r ./scripts/register-ts.js bench/nodes-page.ts [--records 5000] [--runs 5]
 *     [--backend sqlite|postgres] [--only nodes|engine] [--against <checkout>] [--profile "update/resolve" --profile-out file]
 *
 * Runs, in-process through n8n-core's real WorkflowExecute (test/helpers/run-node.ts), the Loop Guard,
 * Conflict Resolver and Store Commit nodes of the bidirectional template (systems crm and erp, match key
 * email, priority policy) on a real store (SQLite in a temporary folder by default; `--backend postgres`:
 * a schema per run in a new database of the test server), for one page of records per execution:
 * - first sight: `records` CRM contacts never seen (Loop Guard on the system items, Resolver on their
 *   canonical form: golden records created, one create planned for the ERP each; Commit of those writes);
 * - update: the same contacts changed in two fields (link lookup, three-way merge, one update each);
 * - echo (Loop Guard only): the ERP's change feed handing back exactly what the sync wrote there
 *   (blocked by the written hash).
 * The same work runs through the engine alone (guard / resolve / commit on a store of its own) for
 * comparison: node − engine is what the node and n8n add. Each run uses fresh stores that first take an
 * untimed page of other records. Figures: the median of the runs; wall time, CPU time of the process (less
 * disturbed by other load), and the JS heap the step allocated (collected or not) with the time the
 * collector spent in it.
 *
 * `--against <checkout>` loads the nodes and the engine of another checkout of this package too (e.g. a
 * `git archive` of the previous version, its node_modules linked) and runs both in this one process,
 * alternating run by run, so that both see the same load: a before/after under the same conditions.
 * `--profile` writes a CPU profile of one step of the last run (of this checkout's nodes); node's own
 * `--cpu-prof` profiles the whole run.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, resolve as resolvePath } from 'node:path';
import { GCProfiler } from 'node:v8';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData, INodeType } from 'n8n-workflow';

import type * as Engine from '../lib/engine';
import type { GuardOptions, ResolveOptions, WriteResult } from '../lib/engine';
import { compileMapping, type CompiledMapping } from '../lib/mapping';
import type { SyncItem } from '../lib/item';
import { templateContactMapping } from '../scripts/template-mapping';
import { runNode } from '../test/helpers/run-node';
import { createPgDatabase, createTempDir, type PgTestDatabase } from '../test/helpers/services';
import { contact } from './generate';

function arg(name: string, fallback: string): string {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? fallback : process.argv[i + 1];
}

const RECORDS = Number(arg('records', '5000'));
const RUNS = Number(arg('runs', '5'));
const ONLY = arg('only', '');
const AGAINST = arg('against', '');
const BACKEND = arg('backend', 'sqlite');
/** `--profile "update/resolve"`: a CPU profile of that step of the last run's node path, written to `--profile-out`. */
const PROFILE = arg('profile', '');
const PROFILE_OUT = arg('profile-out', 'nodes-page.cpuprofile');
const SEED = 42;
const SYNC = 'contacts';
const SYSTEMS = ['crm', 'erp'];
const gc = (globalThis as { gc?: () => void }).gc;

/** The nodes and the engine of one checkout of this package. */
interface Variant {
	name: string;
	LoopGuard: new () => INodeType;
	Resolver: new () => INodeType;
	Store: new () => INodeType;
	engine: typeof Engine;
}

function loadVariant(name: string, root: string): Variant {
	// Plain `require` of a node would find its codex (*.node.json) before the .ts file: name them in full.
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const load = (path: string) => require(join(root, path)) as Record<string, unknown>;
	return {
		name,
		LoopGuard: load('nodes/DataSyncLoopGuard/DataSyncLoopGuard.node.ts').DataSyncLoopGuard as Variant['LoopGuard'],
		Resolver: load('nodes/DataSyncConflictResolver/DataSyncConflictResolver.node.ts').DataSyncConflictResolver as Variant['Resolver'],
		Store: load('nodes/DataSyncStore/DataSyncStore.node.ts').DataSyncStore as Variant['Store'],
		engine: load('lib/engine/index.ts') as unknown as typeof Engine,
	};
}

const mapping: CompiledMapping = compileMapping(templateContactMapping());
const crmMapper = mapping.systems.get('crm')!;
const erpMapper = mapping.systems.get('erp')!;

const guardParameters = { sync: SYNC, ownActor: 'datasync', writtenHashCheck: true, duplicateWindowSeconds: 300, maxHops: 3, limits: {} };
const resolverParameters = {
	sync: SYNC,
	entity: 'contact',
	systems: SYSTEMS.join(', '),
	matchKeys: 'email',
	policy: 'priority',
	priority: SYSTEMS.join(', '),
	deletePolicy: 'propagate',
	emptyValueRule: 'keep',
	options: {},
};
const guardOptions = (runId: string): GuardOptions => ({ sync: SYNC, runId, ownActor: 'datasync', writtenHashCheck: true, duplicateWindowSeconds: 300, maxHops: 3 });
const resolveOptions = (runId: string): ResolveOptions => ({
	sync: SYNC,
	entity: 'contact',
	runId,
	systems: SYSTEMS,
	matchKeys: ['email'],
	policy: { kind: 'priority', priority: SYSTEMS },
	deletePolicy: 'propagate',
	emptyValueRule: 'keep',
	sensitiveFields: [],
	dryRun: false,
});

/** A CRM Get Changes page: `records` rows from `first`, as the Database node emits them (system shape, cursor, actor). */
function crmPage(first: number, day: number, tag: string | null, runId: string): SyncItem[] {
	return Array.from({ length: RECORDS }, (_, i) => {
		const n = first + i;
		const c = contact(SEED, n);
		const row: Record<string, unknown> = { ...c };
		if (tag) {
			row.city = `${tag} ${c.city}`;
			row.lastName = `${c.lastName}-${tag}`;
		}
		const updatedAt = new Date(Date.UTC(2024, 0, day, 0, 0, 0, n % 1000)).toISOString();
		row.updatedAt = updatedAt;
		row.modifiedBy = 'alice';
		row.deletedAt = null;
		return {
			entity: 'contact',
			system: 'crm',
			id: c.id,
			op: 'upsert',
			shape: 'system',
			data: row,
			changedAt: updatedAt,
			actor: 'alice',
			trace: { runId, origin: 'crm', hops: 0, cursor: { ts: updatedAt, id: c.id }, sync: SYNC },
		} satisfies SyncItem;
	});
}

/** The Mapper (to canonical) over a page. */
function toCanonical(items: SyncItem[]): SyncItem[] {
	return items.map((item) => {
		const out = crmMapper.toCanonical(item.data, item.id);
		if (!out.ok) throw new Error(`mapping failed: ${JSON.stringify(out.errors)}`);
		return { ...item, shape: 'canonical', data: out.data };
	});
}

let nextErpId = 100000;

/** The Mapper (from canonical) and the Database Upsert over the Resolver's changes: what reaches Commit. */
function written(changes: SyncItem[]): SyncItem[] {
	return changes.map((item) => {
		const out = erpMapper.toSystem(item.data, item.id);
		if (!out.ok) throw new Error(`mapping failed: ${JSON.stringify(out.errors)}`);
		return { ...item, shape: 'system', data: out.data, id: item.id ?? String(nextErpId++) };
	});
}

/** The ERP's change feed handing back the rows the sync wrote (a webhook without the writer's name). */
function echoes(writes: SyncItem[], day: number, runId: string): SyncItem[] {
	return writes.map((w, i) => {
		const at = new Date(Date.UTC(2024, 0, day, 0, 0, 0, i % 1000)).toISOString();
		return {
			entity: 'contact',
			system: 'erp',
			id: w.id,
			op: 'upsert',
			shape: 'system',
			data: w.data,
			changedAt: at,
			trace: { runId, origin: 'erp', hops: 0, cursor: { ts: at, id: String(w.id) }, sync: SYNC },
		} satisfies SyncItem;
	});
}

interface Timing {
	ms: number;
	cpuMs: number;
	/** JS heap allocated during the step (what the collections freed plus what was still in use after it). */
	allocMb: number;
	gcMs: number;
}

let session: Session | undefined;
/** The step to profile in this run (`variant:scenario/step`), set for the last run only. */
let profileStep = '';

async function timed<T>(work: () => Promise<T>, step: string): Promise<{ value: T; t: Timing }> {
	gc?.();
	const profiling = session !== undefined && step === profileStep;
	if (profiling) await session!.post('Profiler.start');
	const heapBefore = process.memoryUsage().heapUsed;
	const profiler = new GCProfiler();
	profiler.start();
	const cpu = process.cpuUsage();
	const start = process.hrtime.bigint();
	const value = await work();
	const ms = Number(process.hrtime.bigint() - start) / 1e6;
	const used = process.cpuUsage(cpu);
	const stats = profiler.stop()?.statistics ?? [];
	const freed = stats.reduce((sum, s) => sum + Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize), 0);
	const allocMb = (freed + process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
	const gcMs = stats.reduce((sum, s) => sum + s.cost, 0) / 1000;
	if (profiling) {
		const { profile } = await session!.post('Profiler.stop');
		writeFileSync(PROFILE_OUT, JSON.stringify(profile));
		process.stderr.write(`profile of ${step} written to ${PROFILE_OUT}\n`);
	}
	return { value, t: { ms, cpuMs: (used.user + used.system) / 1000, allocMb, gcMs } };
}

const asInput = (items: SyncItem[]): INodeExecutionData[] => items.map((json, i) => ({ json: json as unknown as IDataObject, pairedItem: { item: i } }));

type Steps = Map<string, Timing>;

let execution = 0;

/** One page through the three nodes (Loop Guard, Resolver, Commit), each one n8n execution step. */
async function nodesPage(v: Variant, credentials: Record<string, ICredentialDataDecryptedObject>, steps: Steps | null, name: string, page: SyncItem[]): Promise<SyncItem[]> {
	const executionId = `bench-${++execution}`;
	const guardInput = asInput(page);
	const guarded = await timed(() => runNode(v.LoopGuard, { parameters: guardParameters, input: guardInput, credentials, executionId }), `${v.name}:${name}/guard`);
	if (guarded.value.error) throw guarded.value.error;
	const passed = guarded.value.outputs[0].map((i) => i.json as unknown as SyncItem);
	if (passed.length !== page.length) throw new Error(`${name}: the Loop Guard passed ${passed.length} of ${page.length}`);
	const resolverInput = asInput(toCanonical(passed));
	const resolved = await timed(() => runNode(v.Resolver, { parameters: resolverParameters, input: resolverInput, credentials, executionId }), `${v.name}:${name}/resolve`);
	if (resolved.value.error) throw resolved.value.error;
	const changes = resolved.value.outputs[0].map((i) => i.json as unknown as SyncItem);
	if (changes.length !== page.length) throw new Error(`${name}: the Resolver planned ${changes.length} changes for ${page.length} records`);
	const writes = written(changes);
	const commitInput = asInput(writes);
	const committed = await timed(
		() => runNode(v.Store, { parameters: { operation: 'commit', sync: SYNC }, input: commitInput, credentials, executionId }),
		`${v.name}:${name}/commit`,
	);
	if (committed.value.error) throw committed.value.error;
	const outcome = committed.value.outputs[0][0].json as { committed: number; waiting: number };
	if (outcome.committed !== writes.length || outcome.waiting !== 0) throw new Error(`${name}: commit ${JSON.stringify(outcome)}`);
	steps?.set(`${name}/guard`, guarded.t);
	steps?.set(`${name}/resolve`, resolved.t);
	steps?.set(`${name}/commit`, committed.t);
	return writes;
}

async function nodesEchoes(v: Variant, credentials: Record<string, ICredentialDataDecryptedObject>, steps: Steps, page: SyncItem[]): Promise<void> {
	const input = asInput(page);
	const guarded = await timed(() => runNode(v.LoopGuard, { parameters: guardParameters, input, credentials, executionId: `bench-${++execution}` }), `${v.name}:echo/guard`);
	if (guarded.value.error) throw guarded.value.error;
	const blocked = guarded.value.outputs[1].length;
	if (blocked !== page.length) throw new Error(`echo: the Loop Guard blocked ${blocked} of ${page.length}`);
	steps.set('echo/guard', guarded.t);
}

/** The same page through the engine alone, on items already parsed (no n8n, no item checks). */
async function enginePage(v: Variant, store: Engine.Store, steps: Steps | null, name: string, page: SyncItem[]): Promise<SyncItem[]> {
	const runId = `engine-${++execution}`;
	const input = structuredClone(page);
	const guarded = await timed(() => v.engine.guard(store, guardOptions(runId), input), '');
	if (guarded.value.passed.length !== page.length) throw new Error(`${name}: engine guard passed ${guarded.value.passed.length}`);
	const canonical = toCanonical(guarded.value.passed.map((p) => p.item));
	const resolved = await timed(() => v.engine.resolve(store, resolveOptions(runId), canonical), '');
	const changes = resolved.value.changes.map((c) => c.item);
	if (changes.length !== page.length) throw new Error(`${name}: engine planned ${changes.length}`);
	const writes = written(changes);
	const results = structuredClone(writes) as unknown as WriteResult[];
	const committed = await timed(() => v.engine.commit(store, { sync: SYNC, runId }, results), '');
	if (committed.value.committed !== writes.length || committed.value.waiting !== 0) throw new Error(`${name}: engine commit ${JSON.stringify(committed.value)}`);
	steps?.set(`${name}/guard`, guarded.t);
	steps?.set(`${name}/resolve`, resolved.t);
	steps?.set(`${name}/commit`, committed.t);
	return writes;
}

async function engineEchoes(v: Variant, store: Engine.Store, steps: Steps, page: SyncItem[]): Promise<void> {
	const input = structuredClone(page);
	const guarded = await timed(() => v.engine.guard(store, guardOptions(`engine-${++execution}`), input), '');
	if (guarded.value.blocked.length !== page.length) throw new Error(`echo: engine guard blocked ${guarded.value.blocked.length}`);
	steps.set('echo/guard', guarded.t);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const ROWS: Array<[string, string]> = [
	['first sight', 'guard'],
	['first sight', 'resolve'],
	['first sight', 'commit'],
	['update', 'guard'],
	['update', 'resolve'],
	['update', 'commit'],
	['echo', 'guard'],
];
const NODE_NAME: Record<string, string> = { guard: 'Loop Guard', resolve: 'Conflict Resolver', commit: 'Store Commit' };

interface Results {
	nodes: Steps[];
	engine: Steps[];
}

/** Where the stores of the runs live. */
interface Place {
	dir: ReturnType<typeof createTempDir>;
	pg?: PgTestDatabase;
}

function storeConfig(place: Place, name: string): Engine.StoreConfig {
	if (!place.pg) return { backend: 'sqlite', path: place.dir.file(`${name}.sqlite`) };
	return { backend: 'postgres', ...place.pg.config, schema: name.replace(/[^A-Za-z0-9_]/g, '_'), ssl: 'disable' };
}

async function runOnce(v: Variant, run: number, place: Place, into: Results): Promise<void> {
	const base = run * 1_000_000;
	const warm = crmPage(base, 1, null, 'warm');
	const first = crmPage(base + RECORDS, 2, null, 'first');
	const update = crmPage(base + RECORDS, 3, 'upd', 'update');
	if (ONLY !== 'engine') {
		const config = storeConfig(place, `${v.name}_nodes_${run}`);
		const credentials = { dataSyncStoreApi: config as unknown as ICredentialDataDecryptedObject };
		const steps: Steps = new Map();
		await nodesPage(v, credentials, null, 'warm-up', warm);
		await nodesPage(v, credentials, steps, 'first sight', first);
		const writes = await nodesPage(v, credentials, steps, 'update', update);
		await nodesEchoes(v, credentials, steps, echoes(writes, 4, 'echo'));
		into.nodes.push(steps);
		await v.engine.closeAllStores();
	}
	if (ONLY !== 'nodes') {
		const store = await v.engine.openStore(storeConfig(place, `${v.name}_engine_${run}`));
		const steps: Steps = new Map();
		await enginePage(v, store, null, 'warm-up', warm);
		await enginePage(v, store, steps, 'first sight', first);
		const writes = await enginePage(v, store, steps, 'update', update);
		await engineEchoes(v, store, steps, echoes(writes, 4, 'echo'));
		into.engine.push(steps);
		await v.engine.closeAllStores();
	}
}

function report(v: Variant, results: Results, before?: Results) {
	const of = (runs: Steps[], key: string, pick: (t: Timing) => number) => (runs.length ? median(runs.map((r) => pick(r.get(key) as Timing))) : NaN);
	const fmt = (value: number, width: number, digits = 0) => (Number.isNaN(value) ? '-' : value.toFixed(digits)).padStart(width);
	process.stdout.write(`\n${v.name}: ${RECORDS} records per page, ${BACKEND === 'postgres' ? 'Postgres' : 'SQLite'} store, median of ${results.nodes.length || results.engine.length} runs${gc ? '' : ' (no --expose-gc)'}\n`);
	process.stdout.write(
		`${'scenario'.padEnd(12)} ${'node'.padEnd(18)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(7)} ${'alloc MB'.padStart(9)} ${'gc ms'.padStart(6)}` +
			`   ${'engine wall'.padStart(11)} ${'cpu'.padStart(5)} ${'alloc'.padStart(6)}${before ? `   ${'cpu vs before'.padStart(13)}` : ''}\n`,
	);
	for (const [scenario, step] of ROWS) {
		const key = `${scenario}/${step}`;
		const cpu = of(results.nodes, key, (t) => t.cpuMs);
		const change = before ? `   ${`${fmt(of(before.nodes, key, (t) => t.cpuMs), 5)} → ${fmt(cpu, 4)}`.padStart(13)}` : '';
		process.stdout.write(
			`${scenario.padEnd(12)} ${NODE_NAME[step].padEnd(18)} ${fmt(of(results.nodes, key, (t) => t.ms), 8)} ${fmt(cpu, 7)} ${fmt(of(results.nodes, key, (t) => t.allocMb), 9, 1)} ${fmt(of(results.nodes, key, (t) => t.gcMs), 6)}` +
				`   ${fmt(of(results.engine, key, (t) => t.ms), 11)} ${fmt(of(results.engine, key, (t) => t.cpuMs), 5)} ${fmt(of(results.engine, key, (t) => t.allocMb), 6, 1)}${change}\n`,
		);
	}
}

async function main() {
	const here = loadVariant(AGAINST ? 'after' : 'this checkout', resolvePath(__dirname, '..'));
	const variants = AGAINST ? [loadVariant('before', resolvePath(AGAINST)), here] : [here];
	const results = new Map(variants.map((v) => [v.name, { nodes: [], engine: [] } as Results]));
	const place: Place = { dir: createTempDir('datasync-nodes-bench'), pg: BACKEND === 'postgres' ? await createPgDatabase('datasync_nodes_bench') : undefined };
	if (PROFILE) {
		session = new Session();
		session.connect();
		await session.post('Profiler.enable');
		await session.post('Profiler.setSamplingInterval', { interval: 100 });
	}
	try {
		for (let run = 1; run <= RUNS; run++) {
			profileStep = run === RUNS && PROFILE ? `${here.name}:${PROFILE}` : '';
			// Alternate the order, so that neither variant always runs first.
			for (const v of run % 2 ? variants : [...variants].reverse()) await runOnce(v, run, place, results.get(v.name)!);
			process.stderr.write(`run ${run}/${RUNS} done\n`);
		}
	} finally {
		place.dir.remove();
		await place.pg?.drop();
	}
	const before = AGAINST ? results.get('before') : undefined;
	for (const v of variants) report(v, results.get(v.name)!, v === here ? before : undefined);
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack}\n`);
	process.exit(1);
});
