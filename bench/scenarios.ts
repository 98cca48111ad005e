/**
 * The scenarios of `npm run bench` (bench/run.ts runs them, bench/report.ts reports them): for each suite
 * (a table size) A's table is generated, then each contestant's runs bring A into the scenario's state,
 * run the sync and check B in SQL against A (check.ts); a fast wrong run counts as a failure.
 *
 * - the limit: bench/limit.ts, a plain Node script, its own process;
 * - the built-in way: bench/builtin.ts, n8n's own nodes, run as the editor runs it (REST run endpoint);
 * - ours: the shipped bidirectional template (its manual Refresh and its backup poll) and, page by page,
 *   the nightly-batch template;
 * - real time (10,000 only): signed changes through the DataSync Trigger against n8n's bare webhook round trip.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import mysql from 'mysql2/promise';

import { N8nInstance, REPO_ROOT, prepare, type Execution } from '../test/acceptance/harness';
import { importTemplate, signedPost } from '../test/acceptance/templates-support';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../test/helpers/services';
import { builtinWorkflow, floorWorkflow } from './builtin';
import { checkSync } from './check';
import { changeRows, createCrmTable, createErpTable, fillCrm } from './generate';
import type { LimitConfig } from './limit';
import { RssSampler } from './rss';
import {
	POLL_PAGE,
	REALTIME_BLOCK,
	SCENARIO_TITLE,
	THOUSAND,
	log,
	n,
	percentile,
	percentiles,
	sleep,
	stats,
	type BenchOptions,
	type Contestant,
	type NodeCost,
	type NodeCosts,
	type RealtimeResult,
	type Sample,
	type Samples,
	type Scenario,
} from './samples';

const run = promisify(execFile);

/** The triggers of the shipped templates each scenario starts from. */
const POLL = 'Every 5 minutes (backup poll)';
const REFRESH = 'Refresh (manual)';
const NIGHTLY = 'Nightly at 02:00';
const SECRET_A = 'bench-crm-signing-secret-0123456789';
const SECRET_B = 'bench-erp-signing-secret-0123456789';

export class Bench {
	pgDb!: PgTestDatabase;
	mariaDb!: MariaDbTestDatabase;
	pg!: Client;
	my!: mysql.Connection;
	n8n?: N8nInstance;
	rootPid = 0;
	dirs: TempDir[] = [];
	/** The suite being run: its table size and A's table. */
	scale = 0;
	crm = '';
	samples: Record<number, Samples> = {};
	nodeCosts: NodeCosts = {};
	creds: Record<string, { id: string; name: string }> = {};
	changeCounter = 0;
	realtime?: RealtimeResult;
	lastOurs?: { wf: string; erpTable: string; paths: { crm: string; erp: string } };

	constructor(readonly options: BenchOptions) {}

	// ---- suites: the databases, A's table, n8n ---------------------------------------------------

	async setup(): Promise<void> {
		[this.pgDb, this.mariaDb] = await Promise.all([createPgDatabase('dsbench'), createMariaDbDatabase('dsbench')]);
		this.pg = new Client(this.pgDb.config);
		await this.pg.connect();
		this.my = await mysql.createConnection({ ...this.mariaDb.config, dateStrings: true, timezone: 'Z' });
	}

	/** A's table for one suite, filled with `scale` contacts of the seed. */
	async newSuite(scale: number): Promise<void> {
		this.scale = scale;
		this.crm = `crm_contacts_${scale}`;
		await this.pg.query(`DROP TABLE IF EXISTS "${this.crm}"`);
		await createCrmTable(this.pg, this.crm);
		const t0 = performance.now();
		await fillCrm(this.pg, this.crm, this.options.seed, scale);
		await this.pg.query(`ANALYZE "${this.crm}"`);
		log(`generated ${n(scale)} contacts in A (seed ${this.options.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
	}

	async endSuite(erpTables: string[]): Promise<void> {
		await this.pg.query(`DROP TABLE IF EXISTS "${this.crm}"`);
		for (const t of erpTables) await this.my.query(`DROP TABLE IF EXISTS \`${t}\``);
		for (const d of this.dirs.splice(0)) d.remove();
	}

	async startN8n(): Promise<void> {
		log('starting stock n8n …');
		await prepare();
		// BENCH_N8N_NODE_OPTIONS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile n8n (written when it stops).
		const nodeOptions = process.env.BENCH_N8N_NODE_OPTIONS;
		// N8N_METRICS: n8n's /metrics tells the main process's JS heap apart from its RSS after each run.
		this.n8n = await N8nInstance.start({ env: { N8N_METRICS: 'true', ...this.options.n8nEnv, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
		this.rootPid = (this.n8n as unknown as { child: ChildProcess }).child.pid!;
		const n8n = this.n8n;
		const sql = { dialect: 'postgres', ...this.pgDb.config, ssl: 'disable' };
		this.creds = {
			'System A (CRM database)': await n8n.createCredential('dataSyncSqlApi', 'Bench CRM', sql),
			'System B (ERP database)': await n8n.createCredential('dataSyncSqlApi', 'Bench ERP', { ...sql, dialect: 'mysql', ...this.mariaDb.config }),
			'Webhook secret: System A': await n8n.createCredential('dataSyncWebhookApi', 'Bench CRM secret', { secret: SECRET_A }),
			'Webhook secret: System B': await n8n.createCredential('dataSyncWebhookApi', 'Bench ERP secret', { secret: SECRET_B }),
			postgres: await n8n.createCredential('postgres', 'Bench Postgres', {
				host: this.pgDb.config.host,
				port: this.pgDb.config.port,
				database: this.pgDb.config.database,
				user: this.pgDb.config.user,
				password: this.pgDb.config.password,
				ssl: 'disable',
				allowUnauthorizedCerts: false,
				sshTunnel: false,
			}),
			mySql: await n8n.createCredential('mySql', 'Bench MySQL', {
				host: this.mariaDb.config.host,
				port: this.mariaDb.config.port,
				database: this.mariaDb.config.database,
				user: this.mariaDb.config.user,
				password: this.mariaDb.config.password,
				ssl: false,
				sshTunnel: false,
			}),
		};
		log(`n8n ready on ${n8n.baseUrl} (pid ${this.rootPid})`);
	}

	async stopN8n(): Promise<void> {
		await this.n8n?.stop();
		this.n8n = undefined;
	}

	async newErpTable(name: string): Promise<string> {
		await this.my.query(`DROP TABLE IF EXISTS \`${name}\``);
		await createErpTable(this.my, name);
		return name;
	}

	// ---- a scenario's starting state, and its samples --------------------------------------------

	async change(count: number): Promise<void> {
		this.changeCounter++;
		await changeRows(this.pg, this.crm, this.options.seed * 7919 + this.changeCounter, count, `c${this.changeCounter}`);
	}

	/** Brings A into the state a scenario starts from (the changes it measures). */
	async before(scenario: Scenario): Promise<void> {
		if (scenario === 'changed1pct' || scenario === 'changed1pctPoll') await this.change(Math.ceil(this.scale / 100));
		if (scenario === 'thousand') await this.change(THOUSAND);
	}

	record(scenario: Scenario, contestant: Contestant, sample: Sample): void {
		((this.samples[this.scale] ??= {})[scenario] ??= {})[contestant] ??= [];
		this.samples[this.scale][scenario]![contestant]!.push(sample);
		const status = sample.ok ? 'ok' : `WRONG ${JSON.stringify({ ...sample.check, examples: sample.check.examples.slice(0, 3) })} ${sample.error ?? ''}`;
		log(`${n(this.scale)} · ${SCENARIO_TITLE[scenario]} · ${contestant}: ${sample.seconds.toFixed(2)} s, peak RSS ${sample.peakRssMb.toFixed(0)} MB${sample.startRssMb === undefined ? '' : ` (${sample.startRssMb.toFixed(0)} MB before)`}${sample.heapAfterMb === undefined ? '' : `, n8n heap ${sample.heapBeforeMb?.toFixed(0)} → ${sample.heapAfterMb.toFixed(0)} MB (main RSS ${sample.mainRssAfterMb?.toFixed(0)} MB)`}, check ${status}`);
	}

	// ---- the limit -------------------------------------------------------------------------------

	async limitOnce(erpTable: string): Promise<{ seconds: number; peakRssMb: number }> {
		const config: LimitConfig = { pg: this.pgDb.config, maria: this.mariaDb.config, crmTable: this.crm, erpTable };
		const { stdout } = await run(process.execPath, ['-r', './scripts/register-ts.js', 'bench/limit.ts', JSON.stringify(config)], {
			cwd: REPO_ROOT,
			maxBuffer: 16 * 1024 * 1024,
			timeout: 30 * 60 * 1000,
		});
		const out = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number };
		return out;
	}

	async limitRun(r: number, scenarios: Scenario[]): Promise<string> {
		const erp = await this.newErpTable(`erp_limit_${this.scale}_${r}`);
		for (const scenario of scenarios) {
			await this.before(scenario);
			const { seconds, peakRssMb } = await this.limitOnce(erp);
			const check = await checkSync(this.pg, this.crm, this.my, erp);
			this.record(scenario, 'limit', { seconds, peakRssMb, ok: check.ok, check });
		}
		return erp;
	}

	// ---- n8n contestants -------------------------------------------------------------------------

	/** Starts a workflow from one trigger, as the editor's "Execute workflow" does, and waits until the execution is finished (polled every 50 ms without its data). */
	async execute(workflowId: string, trigger: string, timeoutMs: number): Promise<Execution> {
		const n8n = this.n8n!;
		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/rest/workflows/${workflowId}/run`, { triggerToStartFrom: { name: trigger } });
		const id = started.data.executionId;
		if (!id) throw new Error(`no execution started: ${JSON.stringify(started)}`);
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			try {
				const execution = await n8n.api<Execution>('GET', `/executions/${id}`);
				if (execution.finished || !['running', 'new', 'waiting', undefined].includes(execution.status)) return execution;
			} catch {
				// not saved yet
			}
			if (Date.now() > deadline) throw new Error(`execution ${id} did not finish within ${timeoutMs} ms`);
			await sleep(50);
		}
	}

	/** One execution timed, with the n8n tree's RSS sampled meanwhile. */
	async runTimed(workflowId: string, trigger: string, timeoutMs: number): Promise<{ seconds: number; peakRssMb: number; startRssMb: number; execution: Execution }> {
		const sampler = new RssSampler(this.rootPid);
		sampler.start();
		const t0 = performance.now();
		try {
			const execution = await this.execute(workflowId, trigger, timeoutMs);
			return { seconds: (performance.now() - t0) / 1000, peakRssMb: sampler.stop(), startRssMb: sampler.startMb, execution };
		} finally {
			sampler.stop();
		}
	}

	/** Where an execution's time went, per node (n8n's own executionTime of each node's runs). */
	async nodeCostsOf(executionId: string): Promise<Record<string, NodeCost>> {
		const full = await this.n8n!.execution(executionId);
		const out: Record<string, NodeCost> = {};
		for (const [name, tasks] of Object.entries(full.data?.resultData.runData ?? {})) {
			const list = tasks as Array<{ executionTime?: number; data?: { main: Array<unknown[] | null> } }>;
			out[name] = {
				ms: list.reduce((sum, t) => sum + (t.executionTime ?? 0), 0),
				items: (list[list.length - 1]?.data?.main ?? []).map((o) => o?.length ?? 0),
			};
		}
		return out;
	}

	timeoutMs(): number {
		return Math.max(10, Math.ceil((this.scale / 100_000) * 40)) * 60 * 1000;
	}

	async n8nScenario(contestant: Contestant, scenario: Scenario, r: number, wf: string, trigger: string, erp: string): Promise<void> {
		const heapBeforeMb = (await this.mainMemory()).heapAfterMb;
		const { seconds, peakRssMb, startRssMb, execution } = await this.runTimed(wf, trigger, this.timeoutMs());
		const check = await checkSync(this.pg, this.crm, this.my, erp);
		const error = execution.status === 'success' ? undefined : `execution ${execution.id} ${execution.status}`;
		const executionSeconds = execution.stoppedAt ? (Date.parse(execution.stoppedAt) - Date.parse(execution.startedAt)) / 1000 : undefined;
		this.record(scenario, contestant, { seconds, peakRssMb, startRssMb, ok: check.ok && !error, check, executionSeconds, error, heapBeforeMb, ...(await this.mainMemory()) });
		if (r === 1) await this.keepCosts(contestant, scenario, execution.id);
	}

	/** The n8n main process's JS heap in use and RSS, from n8n's Prometheus metrics (N8N_METRICS). */
	async mainMemory(): Promise<{ heapAfterMb?: number; mainRssAfterMb?: number }> {
		try {
			const res = await fetch(`${this.n8n!.baseUrl}/metrics`);
			const text = await res.text();
			const metric = (name: string) => {
				const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
				return m ? Number(m[1]) / 1024 / 1024 : undefined;
			};
			return { heapAfterMb: metric('n8n_nodejs_heap_size_used_bytes') ?? metric('nodejs_heap_size_used_bytes'), mainRssAfterMb: metric('n8n_process_resident_memory_bytes') ?? metric('process_resident_memory_bytes') };
		} catch {
			return {};
		}
	}

	async keepCosts(contestant: Contestant, scenario: Scenario, executionId: string): Promise<void> {
		try {
			(((this.nodeCosts[this.scale] ??= {})[contestant] ??= {})[scenario] = await this.nodeCostsOf(executionId));
		} catch (e) {
			log(`per-node costs of ${executionId} not read: ${(e as Error).message}`);
		}
	}

	async builtinRun(r: number, scenarios: Scenario[]): Promise<string> {
		const erp = await this.newErpTable(`erp_builtin_${this.scale}_${r}`);
		const created = await this.n8n!.createWorkflow(builtinWorkflow(`Bench built-in ${this.scale} ${r}`, this.crm, erp, this.creds.postgres, this.creds.mySql));
		for (const scenario of scenarios) {
			await this.before(scenario);
			await this.n8nScenario('builtin', scenario, r, created.id, 'Manual Trigger', erp);
		}
		return erp;
	}

	/** The credential data of a store of its own (`--store`): a SQLite file in `dir`, or a Postgres schema `name`. */
	private storeData(dir: TempDir, name: string): Record<string, unknown> {
		if (this.options.store === 'sqlite') return { backend: 'sqlite', path: dir.file('store.sqlite') };
		const c = this.pgDb.config;
		return { backend: 'postgres', host: c.host, port: c.port, database: c.database, user: c.user, password: c.password ?? '', schema: `store_${name}`, ssl: 'disable' };
	}

	/** The shipped template with a store of its own and B's table of its own. */
	async importOurs(tag: string): Promise<{ wf: string; erp: string; paths: { crm: string; erp: string } }> {
		const erp = await this.newErpTable(`erp_ours_${this.scale}_${tag}`);
		const dir = createTempDir('dsbench-store');
		this.dirs.push(dir);
		const store = await this.n8n!.createCredential('dataSyncStoreApi', `Bench store ${this.scale} ${tag}`, this.storeData(dir, `ours_${this.scale}_${tag}`));
		const paths = { crm: `bench-${this.scale}-${tag}-${process.pid}/crm/contact`, erp: `bench-${this.scale}-${tag}-${process.pid}/erp/contact` };
		const wf = await importTemplate(this.n8n!, 'bidirectional-contacts', {
			name: `Bench ours ${this.scale} ${tag}`,
			credentials: { ...this.creds, 'DataSync store': store },
			tables: { crm_contacts: this.crm, erp_contacts: erp },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
		});
		return { wf, erp, paths };
	}

	/**
	 * The backup-poll path run back to back until both systems' pages come back short: what the schedule
	 * does, without the 5 minutes between pages. Timed as the sum of the executions (the reads of each
	 * execution's item counts in between are not counted); RSS sampled over the whole loop.
	 */
	async pollUntilCaughtUp(wf: string): Promise<{ seconds: number; peakRssMb: number; startRssMb: number; executions: number; failed?: string; firstId: string }> {
		const sampler = new RssSampler(this.rootPid);
		sampler.start();
		let seconds = 0;
		let firstId = '';
		const most = Math.ceil(this.scale / POLL_PAGE) * 2 + 2;
		try {
			for (let polls = 1; ; polls++) {
				const t0 = performance.now();
				const execution = await this.execute(wf, POLL, this.timeoutMs());
				seconds += (performance.now() - t0) / 1000;
				firstId ||= execution.id;
				if (execution.status !== 'success') return { seconds, peakRssMb: sampler.stop(), startRssMb: sampler.startMb, executions: polls, failed: `execution ${execution.id} ${execution.status}`, firstId };
				const costs = await this.nodeCostsOf(execution.id);
				const read = ['Get changes from A', 'Get changes from B'].map((name) => costs[name]?.items[0] ?? 0);
				if (read.every((count) => count < POLL_PAGE)) return { seconds, peakRssMb: sampler.stop(), startRssMb: sampler.startMb, executions: polls, firstId };
				// Enough polls to page through every row of both tables: pages still full means a cursor that does not advance.
				if (polls >= most) {
					return { seconds, peakRssMb: sampler.stop(), startRssMb: sampler.startMb, executions: polls, failed: `still full pages (${read.join(' / ')}) after ${polls} polls: a cursor does not advance`, firstId };
				}
			}
		} finally {
			sampler.stop();
		}
	}

	/**
	 * The page-by-page initial sync: the shipped nightly-batch template (a sub-workflow execution per page
	 * of 5,000, first A then B, each read → guard → map → resolve → map → write → commit), from an empty B
	 * and store; one parent execution, timed to its end.
	 */
	async oursPaged(r: number): Promise<string> {
		const erp = await this.newErpTable(`erp_paged_${this.scale}_${r}`);
		const dir = createTempDir('dsbench-store');
		this.dirs.push(dir);
		const store = await this.n8n!.createCredential('dataSyncStoreApi', `Bench paged store ${this.scale} ${r}`, this.storeData(dir, `paged_${this.scale}_${r}`));
		const wf = await importTemplate(this.n8n!, 'nightly-batch', {
			name: `Bench paged ${this.scale} ${r}`,
			credentials: { ...this.creds, 'DataSync store': store },
			tables: { crm_contacts: this.crm, erp_contacts: erp },
		});
		await this.n8nScenario('ours', 'initialPaged', r, wf, NIGHTLY, erp);
		return erp;
	}

	async oursRun(r: number, scenarios: Scenario[]): Promise<string[]> {
		const tables: string[] = [];
		const refresh = scenarios.filter((s) => s !== 'initialPaged');
		if (refresh.length) {
			const { wf, erp, paths } = await this.importOurs(String(r));
			tables.push(erp);
			let caughtUp = false;
			for (const scenario of refresh) {
				const poll = scenario === 'thousand' || scenario.endsWith('Poll');
				if (poll && !caughtUp) {
					// After the refreshes there are no cursors yet: the first polls read every row once, a page
					// per poll. Untimed: it brings the cursors to the present.
					const catchUp = await this.pollUntilCaughtUp(wf);
					if (catchUp.failed) throw new Error(`backup poll catch-up: ${catchUp.failed}`);
					log(`backup poll catch-up (untimed): ${catchUp.executions} polls, ${catchUp.seconds.toFixed(2)} s`);
					caughtUp = true;
				}
				await this.before(scenario);
				await this.n8nScenario('ours', scenario, r, wf, poll ? POLL : REFRESH, erp);
			}
			this.lastOurs = { wf, erpTable: erp, paths };
		}
		if (scenarios.includes('initialPaged')) tables.push(await this.oursPaged(r));
		return tables;
	}

	// ---- real time -------------------------------------------------------------------------------

	async realtimeScenario(count: number): Promise<void> {
		const n8n = this.n8n!;
		const ours = this.lastOurs!;
		const floorPath = `bench-floor-${process.pid}`;
		const floor = await n8n.createWorkflow(floorWorkflow('Bench floor: Webhook → Respond', floorPath));
		await n8n.publish(floor.id);
		const floorMs: number[] = [];
		let floorCalls = 0;
		const floorBlock = async (size: number, timed: boolean): Promise<void> => {
			for (let k = 0; k < size; k++) {
				const t0 = performance.now();
				const res = await n8n.webhook(floorPath, { i: floorCalls++ });
				if (res.status !== 200) throw new Error(`floor webhook answered ${res.status}: ${res.text}`);
				if (timed) floorMs.push(performance.now() - t0);
			}
		};

		const { rows: idRows } = await this.pg.query<{ id: string }>(`SELECT id FROM "${this.crm}" ORDER BY id LIMIT $1`, [count + 5]);
		const oursMs: number[] = [];
		const ackMs: number[] = [];
		let changes = 0;
		const oursBlock = async (size: number, timed: boolean): Promise<void> => {
			for (let k = 0; k < size; k++) {
				const i = changes++;
				const city = `Realtime ${i} Zürich`;
				const { rows } = await this.pg.query<{ j: Record<string, unknown> }>(
					`UPDATE "${this.crm}" SET city = $1, "modifiedBy" = 'alice', "updatedAt" = clock_timestamp() WHERE id = $2 RETURNING row_to_json("${this.crm}".*) AS j`,
					[city, idRows[i].id],
				);
				const row = rows[0].j;
				const notice = { id: row.id as string, op: 'upsert', changedAt: new Date(String(row.updatedAt)).toISOString(), actor: 'alice', data: row };
				const t0 = performance.now();
				const res = await signedPost(n8n, ours.paths.crm, SECRET_A, notice);
				const t1 = performance.now();
				if (res.status !== 200) throw new Error(`DataSync Trigger answered ${res.status}: ${res.text}`);
				const deadline = Date.now() + 30_000;
				for (;;) {
					const [found] = await this.my.query(`SELECT city FROM \`${ours.erpTable}\` WHERE email = ?`, [row.email]);
					if ((found as Array<{ city: string }>)[0]?.city === city) break;
					if (Date.now() > deadline) throw new Error(`change ${i} (${row.email}) not visible in B after 30 s`);
					await sleep(2);
				}
				if (timed) {
					oursMs.push(performance.now() - t0);
					ackMs.push(t1 - t0);
				}
			}
		};
		const sampler = new RssSampler(this.rootPid);
		sampler.start();
		// Warm-up (untimed), then the floor and ours in alternating blocks: on a shared machine the load
		// changes from minute to minute, and both sides of the comparison should see the same.
		await floorBlock(10, false);
		await oursBlock(5, false);
		for (let done = 0; done < count; done += REALTIME_BLOCK) {
			const size = Math.min(REALTIME_BLOCK, count - done);
			await floorBlock(size, true);
			await oursBlock(size, true);
		}
		log(`floor (Webhook → Respond): p50 ${percentile(floorMs, 50).toFixed(1)} ms, p95 ${percentile(floorMs, 95).toFixed(1)} ms`);
		const peakRssMb = sampler.stop();
		const check = await checkSync(this.pg, this.crm, this.my, ours.erpTable);
		// Where a real-time execution spends its time: per node, the median over the last 50 webhook runs.
		const perNode: Record<string, number[]> = {};
		const webhookRuns = (await n8n.executions(ours.wf)).filter((e) => e.mode === 'webhook').slice(-50);
		for (const e of webhookRuns) {
			for (const [name, cost] of Object.entries(await this.nodeCostsOf(e.id))) (perNode[name] ??= []).push(cost.ms);
		}
		const perNodeMedianMs = Object.fromEntries(Object.entries(perNode).map(([name, ms]) => [name, stats(ms).median]));
		this.realtime = {
			changes: oursMs.length,
			floor: percentiles(floorMs),
			ours: percentiles(oursMs),
			oursAck: percentiles(ackMs),
			p95AboveFloorMs: percentile(oursMs, 95) - percentile(floorMs, 95),
			peakRssMb,
			check,
			perNodeMedianMs,
		};
		log(`ours real time (signed POST → row visible in B): p50 ${percentile(oursMs, 50).toFixed(1)} ms, p95 ${percentile(oursMs, 95).toFixed(1)} ms, p99 ${percentile(oursMs, 99).toFixed(1)} ms; check ${check.ok ? 'ok' : 'WRONG'}`);
	}

	async teardown(): Promise<void> {
		await this.n8n?.stop();
		await this.pg?.end().catch(() => undefined);
		await this.my?.end().catch(() => undefined);
		await this.pgDb?.drop().catch((e: Error) => log(`dropping the Postgres database: ${e.message}`));
		await this.mariaDb?.drop().catch((e: Error) => log(`dropping the MariaDB database: ${e.message}`));
		for (const d of this.dirs) d.remove();
	}
}
