/**
 * Where the real-time path's time goes (webhook change → row visible in B), ours vs n8n's own.
 *
 *   npx node -r ./scripts/register-ts.js bench/realtime-profile.ts [--changes N] [--scale N]
 *        [--variants base,nosave,...] [--only floor,stock,stockv1,trigger,template,idle,overlap] [--profile [phases]]
 *        [--trigger-version V] [--out DIR]
 *
 * Starts stock n8n (the acceptance harness) once per environment variant, with the bench's tables
 * (bench/generate.ts), imports the bidirectional template as bench/run.ts does (after a manual Refresh so
 * B and the store hold every contact), and measures, each over N sequential calls after a warm-up:
 *
 * - floor:    Webhook (responseNode) → Respond to Webhook: the bench's floor;
 * - stock:    Webhook (onReceived) → NoOp: n8n's own "answer at once, run afterwards";
 * - stockv1:  the same with the Webhook's version 1, which n8n runs with an expression isolate in the
 *             webhook phase, as it runs every start node but its Webhook v2 (and so every community trigger);
 * - trigger:  DataSync Trigger (signed) → NoOp: our trigger alone (signature check, parse);
 * - template: the template's real-time path: UPDATE in A, signed POST, poll B every 2 ms until visible;
 *             the trigger's HTTP answer (ack) and change → visible; per node, n8n's executionTime from the
 *             saved executions, the gaps between nodes and the timeline (request → execution start →
 *             first node → last node end → execution stopped);
 * - idle:     the same, but each change waits until the previous execution is saved and 100 ms more:
 *             is the next request slowed by the previous execution's tail (Commit, saving the execution)?
 * - overlap:  a floor request sent right after each template ack, while that execution runs: what an
 *             execution in flight costs other requests.
 *
 * Variants (each a fresh n8n): base (harness defaults), nosave (EXECUTIONS_DATA_SAVE_ON_SUCCESS=none,
 * EXECUTIONS_DATA_SAVE_ON_PROGRESS=false), noinsights (N8N_DISABLED_MODULES += insights), lean (both),
 * legacy (N8N_EXPRESSION_ENGINE=legacy: no isolated-vm isolates), pool4 (N8N_EXPRESSION_ENGINE_POOL_SIZE=4),
 * lazy (N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true: an isolate only for an expression that needs one),
 * lazynosave (lazy and nosave).
 * --profile [phases]: a CPU profile of n8n's main process during these phases (default: template), through
 * the inspector (SIGUSR1 on a port of our own), written to the out folder with a top-functions summary.
 * --trigger-version V: the DataSync Trigger's typeVersion in the workflows built and imported here (the
 * template ships 1; 1.1 spares n8n an expression per request, see the node).
 *
 * Writes <out>/realtime-profile.json and prints a summary (default out: bench/results/profile).
 */
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { randomUUID } from 'node:crypto';

import { N8nInstance, REPO_ROOT, freePort, prepare, type Execution } from '../test/acceptance/harness';
import { importTemplate, runFromTrigger, signedPost } from '../test/acceptance/templates-support';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../test/helpers/services';
import { floorWorkflow } from './builtin';
import { createCrmTable, createErpTable, fillCrm } from './generate';

function option(name: string): string | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? undefined : process.argv[i + 1];
}
const CHANGES = Number(option('changes') ?? 200);
const WARMUP = 10;
const SCALE = Number(option('scale') ?? 2000);
const VARIANTS = (option('variants') ?? 'base,nosave').split(',');
const ONLY = (option('only') ?? 'floor,stock,trigger,template,idle,overlap').split(',');
/** Phases to take a CPU profile of n8n's main process in (`--profile trigger,template`; bare `--profile` = template). */
const PROFILE_PHASES = process.argv.includes('--profile')
	? (option('profile') && !option('profile')!.startsWith('--') ? option('profile')!.split(',') : ['template'])
	: [];
const PROFILE = PROFILE_PHASES.length > 0;
const OUT = option('out') ?? join(REPO_ROOT, 'bench', 'results', 'profile');
/** The DataSync Trigger's typeVersion in the workflows this script builds and imports (default: as shipped). */
const TRIGGER_VERSION = option('trigger-version') ? Number(option('trigger-version')) : undefined;
const CRM = 'crm_contacts';
const SECRET_A = 'bench-crm-signing-secret-0123456789';
const SEED = 42;

const VARIANT_ENV: Record<string, Record<string, string>> = {
	base: {},
	nosave: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', EXECUTIONS_DATA_SAVE_ON_PROGRESS: 'false' },
	noinsights: { N8N_DISABLED_MODULES: 'mcp-registry,insights' },
	lean: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', EXECUTIONS_DATA_SAVE_ON_PROGRESS: 'false', N8N_DISABLED_MODULES: 'mcp-registry,insights' },
	/** n8n 2.x evaluates expressions in isolated-vm isolates from a pool of 1: the old in-process engine instead. */
	legacy: { N8N_EXPRESSION_ENGINE: 'legacy' },
	/** A bigger isolate pool: fewer isolates built inline while a request waits. */
	pool4: { N8N_EXPRESSION_ENGINE_POOL_SIZE: '4' },
	/** An isolate is built only when an expression needs the engine, not for every execution and credential read. */
	lazy: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
	/** lazy, and successful executions not saved: what n8n's own database costs per execution. */
	lazynosave: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true', EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', EXECUTIONS_DATA_SAVE_ON_PROGRESS: 'false' },
};

const log = (...args: unknown[]) => console.log(`[profile ${new Date().toISOString().slice(11, 19)}]`, ...args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(values: number[], p: number): number {
	if (!values.length) return NaN;
	const s = [...values].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const median = (v: number[]) => percentile(v, 50);
type Pct = { p50: number; p95: number; min: number; max: number; n: number };
const pct = (v: number[]): Pct => ({ p50: percentile(v, 50), p95: percentile(v, 95), min: Math.min(...v), max: Math.max(...v), n: v.length });
const fmt = (p: Pct) => `p50 ${p.p50.toFixed(1)} / p95 ${p.p95.toFixed(1)} ms (min ${p.min.toFixed(1)}, max ${p.max.toFixed(1)}, n ${p.n})`;

type Json = Record<string, unknown>;
const node = (name: string, type: string, typeVersion: number, x: number, parameters: Json, extra: Json = {}): Json => ({
	id: randomUUID(),
	name,
	type,
	typeVersion,
	position: [x, 0],
	parameters,
	...extra,
});

/**
 * n8n's own Webhook (onReceived) → NoOp. Version 2 with static parameters is the one start node n8n runs its
 * webhook phase for without an expression isolate (LiveWebhooks.webhookPhaseNeedsIsolate); version 1 is
 * n8n's own node that gets no such pass, as no community trigger does.
 */
function stockWorkflow(path: string, typeVersion = 2): Json {
	return {
		name: `Profile: Webhook v${typeVersion} (onReceived) → NoOp`,
		nodes: [
			node('Webhook', 'n8n-nodes-base.webhook', typeVersion, 0, { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} }, { webhookId: randomUUID() }),
			node('NoOp', 'n8n-nodes-base.noOp', 1, 220, {}),
		],
		connections: { Webhook: { main: [[{ node: 'NoOp', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

/** Trigger 1.2 and later keep their replay guard in the sync store: `store` is its credential. */
function triggerWorkflow(path: string, cred: { id: string; name: string }, store: { id: string; name: string }): Json {
	return {
		name: 'Profile: DataSync Trigger → NoOp',
		nodes: [
			node('Trigger', 'n8n-nodes-datasync.dataSyncTrigger', TRIGGER_VERSION ?? 1, 0, { path, entity: 'contact', system: 'crm', options: {} }, { webhookId: randomUUID(), credentials: { dataSyncWebhookApi: cred, dataSyncStoreApi: store } }),
			node('NoOp', 'n8n-nodes-base.noOp', 1, 220, {}),
		],
		connections: { Trigger: { main: [[{ node: 'NoOp', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

interface Timeline {
	/** request sent → execution startedAt (n8n creating the execution). */
	toStart: number;
	/** execution startedAt → first node's start. */
	startToFirst: number;
	/** Sum of n8n's executionTime of every node. */
	nodes: number;
	/** Sum of gaps between one node's end and the next node's start (n8n between nodes). */
	gaps: number;
	/** last node's end → execution stoppedAt. */
	lastToStop: number;
	/** request sent → stoppedAt. */
	total: number;
}

interface PhaseResult {
	ms?: Pct;
	ack?: Pct;
	visible?: Pct;
	afterAckFloor?: Pct;
	perNode?: Record<string, number>;
	perNodeP95?: Record<string, number>;
	gapsAfter?: Record<string, number>;
	timeline?: Record<keyof Timeline, number>;
}

class Profiler {
	pgDb!: PgTestDatabase;
	mariaDb!: MariaDbTestDatabase;
	pg!: Client;
	my!: mysql.Connection;
	dirs: TempDir[] = [];
	results: Record<string, Record<string, PhaseResult>> = {};
	changeNo = 0;

	async setup(): Promise<void> {
		[this.pgDb, this.mariaDb] = await Promise.all([createPgDatabase('dsprof'), createMariaDbDatabase('dsprof')]);
		this.pg = new Client(this.pgDb.config);
		await this.pg.connect();
		this.my = await mysql.createConnection({ ...this.mariaDb.config, dateStrings: true, timezone: 'Z' });
		await createCrmTable(this.pg, CRM);
		await fillCrm(this.pg, CRM, SEED, SCALE);
		log(`generated ${SCALE} contacts in A`);
	}

	async teardown(): Promise<void> {
		await this.pg?.end().catch(() => undefined);
		await this.my?.end().catch(() => undefined);
		await this.pgDb?.drop().catch(() => undefined);
		await this.mariaDb?.drop().catch(() => undefined);
		for (const d of this.dirs) d.remove();
	}

	inspector?: Inspector;

	/** Runs a phase, under the CPU profiler when asked (--profile). */
	async profiled<T>(variant: string, phase: string, pid: number, port: number, work: () => Promise<T>): Promise<T> {
		if (!PROFILE_PHASES.includes(phase)) return await work();
		this.inspector ??= await Inspector.attach(pid, port);
		await this.inspector.start();
		const result = await work();
		const profile = await this.inspector.stop();
		mkdirSync(OUT, { recursive: true });
		const file = join(OUT, `n8n-${variant}-${phase}.cpuprofile`);
		writeFileSync(file, JSON.stringify(profile));
		writeFileSync(join(OUT, `n8n-${variant}-${phase}.top.txt`), summarize(profile));
		log(`${variant} ${phase}: CPU profile in ${file} (summary .top.txt)`);
		return result;
	}

	/** Sequential POSTs; returns the round trips after the warm-up. */
	async loop(count: number, call: (i: number) => Promise<void>): Promise<number[]> {
		const out: number[] = [];
		for (let i = 0; i < count + WARMUP; i++) {
			const t0 = performance.now();
			await call(i);
			if (i >= WARMUP) out.push(performance.now() - t0);
		}
		return out;
	}

	async variant(name: string): Promise<void> {
		const env = VARIANT_ENV[name];
		if (!env) throw new Error(`unknown variant ${name}`);
		const inspectPort = PROFILE ? await freePort() : 0;
		const n8n = await N8nInstance.start({ env: { ...env, ...(PROFILE ? { NODE_OPTIONS: `--inspect-port=127.0.0.1:${inspectPort}` } : {}) } });
		const pid = (n8n as unknown as { child: ChildProcess }).child.pid!;
		const res: Record<string, PhaseResult> = (this.results[name] = {});
		const saving = !env.EXECUTIONS_DATA_SAVE_ON_SUCCESS;
		log(`variant ${name}: n8n ${n8n.baseUrl} (pid ${pid}) env ${JSON.stringify(env)}`);
		try {
			const webhookCred = await n8n.createCredential('dataSyncWebhookApi', 'Profile CRM secret', { secret: SECRET_A });

			if (ONLY.includes('floor')) {
				const path = `prof-floor-${name}`;
				const wf = await n8n.createWorkflow(floorWorkflow('Profile floor', path));
				await n8n.publish(wf.id);
				const ms = await this.profiled(name, 'floor', pid, inspectPort, () =>
					this.loop(CHANGES, async (i) => {
						const r = await n8n.webhook(path, { i });
						if (r.status !== 200) throw new Error(`floor ${r.status}`);
					}),
				);
				res.floor = { ms: pct(ms) };
				log(`${name} floor (Webhook → Respond): ${fmt(res.floor.ms!)}`);
				await n8n.unpublish(wf.id);
			}

			if (ONLY.includes('stock')) {
				const path = `prof-stock-${name}`;
				const wf = await n8n.createWorkflow(stockWorkflow(path));
				await n8n.publish(wf.id);
				const ms = await this.profiled(name, 'stock', pid, inspectPort, () =>
					this.loop(CHANGES, async (i) => {
						const r = await n8n.webhook(path, { i });
						if (r.status !== 200) throw new Error(`stock ${r.status}`);
					}),
				);
				res.stock = { ms: pct(ms) };
				log(`${name} stock Webhook (onReceived) → NoOp: ${fmt(res.stock.ms!)}`);
				await n8n.unpublish(wf.id);
			}
			if (ONLY.includes('stockv1')) {
				const path = `prof-stockv1-${name}`;
				const wf = await n8n.createWorkflow(stockWorkflow(path, 1));
				await n8n.publish(wf.id);
				const ms = await this.profiled(name, 'stockv1', pid, inspectPort, () =>
					this.loop(CHANGES, async (i) => {
						const r = await n8n.webhook(path, { i });
						if (r.status !== 200) throw new Error(`stock v1 ${r.status}`);
					}),
				);
				res.stockv1 = { ms: pct(ms) };
				log(`${name} stock Webhook v1 (onReceived) → NoOp: ${fmt(res.stockv1.ms!)}`);
				await n8n.unpublish(wf.id);
			}

			if (ONLY.includes('trigger')) {
				const path = `prof-trigger-${name}`;
				const dir = createTempDir('dsprof-store');
				this.dirs.push(dir);
				const store = await n8n.createCredential('dataSyncStoreApi', 'Profile trigger store', { backend: 'sqlite', path: dir.file('store.sqlite') });
				const wf = await n8n.createWorkflow(triggerWorkflow(path, webhookCred, store));
				await n8n.publish(wf.id);
				const ms = await this.profiled(name, 'trigger', pid, inspectPort, () =>
					this.loop(CHANGES, async (i) => {
						const r = await signedPost(n8n, path, SECRET_A, { id: `x${i}`, op: 'upsert', changedAt: new Date().toISOString(), actor: 'alice', data: { id: `x${i}`, city: 'Zürich', email: `x${i}@example.com` } });
						if (r.status !== 200) throw new Error(`trigger ${r.status} ${r.text}`);
					}),
				);
				res.trigger = { ms: pct(ms) };
				log(`${name} DataSync Trigger → NoOp: ${fmt(res.trigger.ms!)}`);
				await n8n.unpublish(wf.id);
			}

			if (['template', 'idle', 'overlap'].some((p) => ONLY.includes(p))) {
				const erp = `erp_${name}`;
				await this.my.query(`DROP TABLE IF EXISTS \`${erp}\``);
				await createErpTable(this.my, erp);
				const dir = createTempDir('dsprof-store');
				this.dirs.push(dir);
				const sql = { dialect: 'postgres', ...this.pgDb.config, ssl: 'disable' };
				const creds = {
					'System A (CRM database)': await n8n.createCredential('dataSyncSqlApi', 'Profile CRM', sql),
					'System B (ERP database)': await n8n.createCredential('dataSyncSqlApi', 'Profile ERP', { ...sql, dialect: 'mysql', ...this.mariaDb.config }),
					'Webhook secret: System A': webhookCred,
					'Webhook secret: System B': await n8n.createCredential('dataSyncWebhookApi', 'Profile ERP secret', { secret: 'bench-erp-signing-secret-0123456789' }),
					'DataSync store': await n8n.createCredential('dataSyncStoreApi', 'Profile store', { backend: 'sqlite', path: dir.file('store.sqlite') }),
				};
				const paths = { crm: `prof-${name}-${process.pid}/crm/contact`, erp: `prof-${name}-${process.pid}/erp/contact` };
				const wf = await importTemplate(n8n, 'bidirectional-contacts', {
					name: `Profile ${name}`,
					credentials: creds,
					tables: { crm_contacts: CRM, erp_contacts: erp },
					paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
					patch: (w) => {
						for (const n of w.nodes) if (TRIGGER_VERSION !== undefined && n.type === 'n8n-nodes-datasync.dataSyncTrigger') n.typeVersion = TRIGGER_VERSION;
					},
				});
				const t0 = performance.now();
				const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)', 10 * 60 * 1000);
				log(`${name} refresh: ${refresh.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
				const { rows: ids } = await this.pg.query<{ id: string }>(`SELECT id FROM "${CRM}" ORDER BY id`);
				let next = 0;
				const oneChange = async (): Promise<{ sent: number; ack: number; visible: number }> => {
					const id = ids[next++ % ids.length].id;
					const city = `Realtime ${++this.changeNo} Zürich`;
					const { rows } = await this.pg.query<{ j: Json }>(
						`UPDATE "${CRM}" SET city = $1, "modifiedBy" = 'alice', "updatedAt" = clock_timestamp() WHERE id = $2 RETURNING row_to_json("${CRM}".*) AS j`,
						[city, id],
					);
					const row = rows[0].j;
					const notice = { id: row.id as string, op: 'upsert', changedAt: new Date(String(row.updatedAt)).toISOString(), actor: 'alice', data: row };
					const sent = Date.now();
					const t0 = performance.now();
					const r = await signedPost(n8n, paths.crm, SECRET_A, notice);
					const ack = performance.now() - t0;
					if (r.status !== 200) throw new Error(`template trigger ${r.status} ${r.text}`);
					const deadline = Date.now() + 30_000;
					for (;;) {
						const [found] = await this.my.query(`SELECT city FROM \`${erp}\` WHERE email = ?`, [row.email]);
						if ((found as Array<{ city: string }>)[0]?.city === city) break;
						if (Date.now() > deadline) throw new Error(`change not visible in B after 30 s`);
						await sleep(2);
					}
					return { sent, ack, visible: performance.now() - t0 };
				};
				const known = async () => new Set((await n8n.executions(wf)).map((e) => e.id));

				if (ONLY.includes('template')) {
					const before = await known();
					const samples: Array<{ sent: number; ack: number; visible: number }> = [];
					await this.profiled(name, 'template', pid, inspectPort, async () => {
						for (let i = 0; i < CHANGES + WARMUP; i++) {
							const s = await oneChange();
							if (i >= WARMUP) samples.push(s);
						}
					});
					res.template = { ack: pct(samples.map((s) => s.ack)), visible: pct(samples.map((s) => s.visible)) };
					log(`${name} template ack: ${fmt(res.template.ack!)}`);
					log(`${name} template change → visible: ${fmt(res.template.visible!)}`);
					if (saving) Object.assign(res.template, await this.timelines(n8n, wf, before, samples.map((s) => s.sent)));
				}

				if (ONLY.includes('idle')) {
					const before = await known();
					const samples: Array<{ sent: number; ack: number; visible: number }> = [];
					const n = Math.min(CHANGES, 100);
					for (let i = 0; i < n + WARMUP; i++) {
						const s = await oneChange();
						if (i >= WARMUP) samples.push(s);
						// The previous execution is done and saved (or, without saving, given time to be).
						if (saving) {
							const deadline = Date.now() + 5000;
							while (Date.now() < deadline) {
								const list = (await n8n.executions(wf)).filter((e) => !before.has(e.id));
								if (list.length >= i + 1 && list.every((e) => e.stoppedAt)) break;
								await sleep(5);
							}
						}
						await sleep(100);
					}
					res.idle = { ack: pct(samples.map((s) => s.ack)), visible: pct(samples.map((s) => s.visible)) };
					log(`${name} idle between changes: ack ${fmt(res.idle.ack!)}; visible ${fmt(res.idle.visible!)}`);
				}

				if (ONLY.includes('overlap')) {
					const path = `prof-floor2-${name}`;
					const floor = await n8n.createWorkflow(floorWorkflow('Profile floor (overlap)', path));
					await n8n.publish(floor.id);
					await n8n.webhook(path, {});
					const floorMs: number[] = [];
					const acks: number[] = [];
					const n = Math.min(CHANGES, 100);
					for (let i = 0; i < n + WARMUP; i++) {
						const id = ids[next++ % ids.length].id;
						const { rows } = await this.pg.query<{ j: Json }>(
							`UPDATE "${CRM}" SET city = $1, "modifiedBy" = 'alice', "updatedAt" = clock_timestamp() WHERE id = $2 RETURNING row_to_json("${CRM}".*) AS j`,
							[`Overlap ${++this.changeNo}`, id],
						);
						const row = rows[0].j;
						const t0 = performance.now();
						await signedPost(n8n, paths.crm, SECRET_A, { id: row.id, op: 'upsert', changedAt: new Date(String(row.updatedAt)).toISOString(), actor: 'alice', data: row });
						const t1 = performance.now();
						await n8n.webhook(path, { i });
						if (i >= WARMUP) {
							acks.push(t1 - t0);
							floorMs.push(performance.now() - t1);
						}
						await sleep(300);
					}
					res.overlap = { ack: pct(acks), afterAckFloor: pct(floorMs) };
					log(`${name} floor request sent right after a template ack: ${fmt(res.overlap.afterAckFloor!)}`);
					await n8n.unpublish(floor.id);
				}
				await n8n.unpublish(wf);
			}
		} finally {
			this.inspector?.close();
			this.inspector = undefined;
			await n8n.stop();
		}
	}

	/** Per node and per phase of an execution, from the saved executions of the phase. */
	async timelines(n8n: N8nInstance, wf: string, before: Set<string>, sentAt: number[]): Promise<PhaseResult> {
		let list: Execution[] = [];
		const deadline = Date.now() + 30_000;
		for (;;) {
			list = (await n8n.executions(wf)).filter((e) => !before.has(e.id) && e.mode === 'webhook');
			if (list.length >= sentAt.length + WARMUP && list.every((e) => e.stoppedAt)) break;
			if (Date.now() > deadline) break;
			await sleep(200);
		}
		list = list.slice(-sentAt.length);
		const perNode: Record<string, number[]> = {};
		const gapsAfter: Record<string, number[]> = {};
		const tl: Record<keyof Timeline, number[]> = { toStart: [], startToFirst: [], nodes: [], gaps: [], lastToStop: [], total: [] };
		for (let i = 0; i < list.length; i++) {
			const full = await n8n.execution(list[i].id);
			const runData = (full.data?.resultData.runData ?? {}) as unknown as Record<string, Array<{ startTime: number; executionTime: number }>>;
			const tasks = Object.entries(runData)
				.flatMap(([name, ts]) => ts.map((t) => ({ name, start: t.startTime, ms: t.executionTime })))
				.sort((a, b) => a.start - b.start);
			if (!tasks.length) continue;
			let gaps = 0;
			for (let k = 0; k < tasks.length; k++) {
				(perNode[tasks[k].name] ??= []).push(tasks[k].ms);
				if (k + 1 < tasks.length) {
					const gap = tasks[k + 1].start - (tasks[k].start + tasks[k].ms);
					gaps += gap;
					(gapsAfter[tasks[k].name] ??= []).push(gap);
				}
			}
			const started = Date.parse(full.startedAt);
			const stopped = Date.parse(full.stoppedAt ?? full.startedAt);
			const last = tasks[tasks.length - 1];
			tl.toStart.push(started - sentAt[i]);
			tl.startToFirst.push(tasks[0].start - started);
			tl.nodes.push(tasks.reduce((s, t) => s + t.ms, 0));
			tl.gaps.push(gaps);
			tl.lastToStop.push(stopped - (last.start + last.ms));
			tl.total.push(stopped - sentAt[i]);
		}
		const med = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
		const out: PhaseResult = {
			perNode: med(perNode),
			perNodeP95: Object.fromEntries(Object.entries(perNode).map(([k, v]) => [k, percentile(v, 95)])),
			gapsAfter: med(gapsAfter),
			timeline: med(tl) as Record<keyof Timeline, number>,
		};
		log(`per node (median ms): ${Object.entries(out.perNode!).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
		log(`per node (p95 ms): ${Object.entries(out.perNodeP95!).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
		log(`gap after node (median ms): ${Object.entries(out.gapsAfter!).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
		log(`timeline (median ms): ${Object.entries(out.timeline!).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
		return out;
	}
}

// ---- CPU profile of n8n's main process through the inspector -------------------------------------

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	hitCount?: number;
	children?: number[];
}
interface CpuProfile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples?: number[];
	timeDeltas?: number[];
}

class Inspector {
	private seq = 0;
	private readonly pending = new Map<number, (v: { result?: unknown; error?: unknown }) => void>();

	private constructor(private readonly ws: WebSocket) {
		ws.addEventListener('message', (event) => {
			const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
			if (msg.id !== undefined) this.pending.get(msg.id)?.(msg);
		});
	}

	/** SIGUSR1 opens the inspector on the port given by --inspect-port; then attach over CDP. */
	static async attach(pid: number, port: number): Promise<Inspector> {
		process.kill(pid, 'SIGUSR1');
		const deadline = Date.now() + 10_000;
		let url: string | undefined;
		while (!url) {
			try {
				const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
				url = list[0]?.webSocketDebuggerUrl;
			} catch {
				if (Date.now() > deadline) throw new Error('the n8n inspector did not open');
				await sleep(100);
			}
		}
		const ws = new WebSocket(url);
		await new Promise((resolve, reject) => {
			ws.addEventListener('open', resolve);
			ws.addEventListener('error', reject);
		});
		return new Inspector(ws);
	}

	async send<T>(method: string, params: Json = {}): Promise<T> {
		const id = ++this.seq;
		const reply = new Promise<{ result?: unknown; error?: unknown }>((resolve) => this.pending.set(id, resolve));
		this.ws.send(JSON.stringify({ id, method, params }));
		const msg = await reply;
		if (msg.error) throw new Error(`${method}: ${JSON.stringify(msg.error)}`);
		return msg.result as T;
	}

	async start(): Promise<void> {
		await this.send('Profiler.enable');
		await this.send('Profiler.setSamplingInterval', { interval: 200 });
		await this.send('Profiler.start');
	}

	async stop(): Promise<CpuProfile> {
		return (await this.send<{ profile: CpuProfile }>('Profiler.stop')).profile;
	}

	close(): void {
		this.ws.close();
	}
}

/** Our package's files as n8n loads them (the cache folder of stock n8n is also named after the package). */
const OURS = /node_modules\/n8n-nodes-datasync\/dist\//;

/** Self time per function and per package (node_modules/<pkg> or our dist), the top entries. */
function summarize(profile: CpuProfile): string {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const self = new Map<number, number>();
	const deltas = profile.timeDeltas ?? [];
	(profile.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0) / 1000));
	const total = [...self.values()].reduce((a, b) => a + b, 0);
	const fnSelf = new Map<string, number>();
	const pkgSelf = new Map<string, number>();
	const where = (url: string) => {
		if (!url) return '(native/idle)';
		const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/g;
		let last: string | undefined;
		for (const x of url.matchAll(m)) last = x[1];
		if (OURS.test(url)) return 'n8n-nodes-datasync (ours)';
		return last ?? (url.startsWith('node:') ? 'node core' : url);
	};
	for (const [id, ms] of self) {
		const n = byId.get(id)!;
		const f = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*node_modules\//, '')}:${n.callFrame.lineNumber + 1}`;
		fnSelf.set(f, (fnSelf.get(f) ?? 0) + ms);
		const p = where(n.callFrame.url);
		pkgSelf.set(p, (pkgSelf.get(p) ?? 0) + ms);
	}
	// Inclusive time of our package's frames: any sample whose stack has one of our frames.
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	let ours = 0;
	for (const [id, ms] of self) {
		for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
			if (OURS.test(byId.get(cur)!.callFrame.url)) {
				ours += ms;
				break;
			}
		}
	}
	// Inclusive time under some frames of interest (a sample counts once per marker).
	const markers: Array<[string, RegExp]> = [
		['expression isolates (create, context, vendor libs, dispose)', /^(IsolatedVmBridge|createBridge|replenish|dispose|initialize) .*expression-runtime/],
		['expression evaluation (renderExpression)', /^renderExpression /],
		['credentials (getDecrypted)', /^getDecrypted /],
		['n8n database (typeorm, sqlite3)', /@n8n\/typeorm|sqlite3\/lib/],
		['execution lifecycle hooks (save, events)', /execution-lifecycle-hooks|save-execution-progress|execution-persistence/],
		['our package', /n8n-nodes-datasync\/dist\//],
	];
	const frame = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url}`;
	const inclusive = markers.map(([label, re]) => {
		let ms = 0;
		for (const [id, t] of self) {
			for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
				if (re.test(frame(byId.get(cur)!))) {
					ms += t;
					break;
				}
			}
		}
		return `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${label}`;
	});
	const top = (m: Map<string, number>, n: number) =>
		[...m.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, n)
			.map(([k, v]) => `${v.toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
			.join('\n');
	return [
		`profile ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms wall, ${total.toFixed(0)} ms sampled`,
		`inclusive in our package's frames: ${ours.toFixed(0)} ms (${((100 * ours) / total).toFixed(1)} %)`,
		'',
		'inclusive time under:',
		...inclusive,
		'',
		'self time by package:',
		top(pkgSelf, 30),
		'',
		'self time by function:',
		top(fnSelf, 60),
	].join('\n');
}

async function main(): Promise<void> {
	const p = new Profiler();
	try {
		log('building and packing the package, preparing stock n8n …');
		await prepare();
		await p.setup();
		for (const v of VARIANTS) await p.variant(v);
	} finally {
		await p.teardown();
	}
	mkdirSync(OUT, { recursive: true });
	const file = join(OUT, 'realtime-profile.json');
	writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), changes: CHANGES, scale: SCALE, results: p.results }, null, 2)}\n`);
	log(`written ${file}`);
	for (const [variant, phases] of Object.entries(p.results)) {
		console.log(`\n== ${variant}`);
		for (const [phase, r] of Object.entries(phases)) {
			const parts = [r.ms && `round trip ${fmt(r.ms)}`, r.ack && `ack ${fmt(r.ack)}`, r.visible && `visible ${fmt(r.visible)}`, r.afterAckFloor && `floor after ack ${fmt(r.afterAckFloor)}`].filter(Boolean);
			console.log(`${phase.padEnd(9)} ${parts.join('; ')}`);
		}
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
