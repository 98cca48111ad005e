/**
 * `npm run bench` (issue 8): our sync side by side with the raw limit and the built-in-nodes way, in one
 * run, on this machine's Postgres (System A) and MariaDB (System B), in databases of its own that it drops
 * afterwards, through stock n8n started by the acceptance harness.
 *
 *   npx node -r ./scripts/register-ts.js bench/run.ts [--full] [--scales 10000,1000,100000,1000000]
 *        [--runs R] [--runs-1m R] [--seed S] [--only limit,builtin,ours] [--scenarios initial,thousand,…]
 *        [--realtime N | --no-realtime]
 *
 * Suites, each on a table of its own size (n8n is restarted for each, so "RSS before" starts clean):
 * - 10,000: initial sync, nothing changed, 1 % changed for the three contestants; for ours also the
 *   backup-poll path (nothing changed, 1 % changed) and the paged initial sync; then the real-time run:
 *   500 sequential changes through the signed DataSync Trigger against a bare Webhook → Respond floor.
 * - 1,000 and 100,000: 1,000 changed rows (cost proportional to the changes, not the table); at 100,000
 *   also initial, nothing changed, 1 % changed (the built-in way only with --full: ~12 minutes a run).
 * - 1,000,000: initial sync, the limit and ours page by page (the shipped nightly-batch template: a
 *   sub-workflow execution per page of 5,000, so that n8n holds one page at a time).
 * Every run is followed by the SQL correctness check (check.ts); a fast wrong run counts as a failure.
 *
 * Contestants:
 * - limit: bench/limit.ts, a plain Node script (pg + mysql2, keyset pages of 5,000, upserts of 1,000);
 * - built-in: bench/builtin.ts, n8n's own nodes, run as the editor runs it (REST run endpoint);
 * - ours: workflows/bidirectional-contacts.json as shipped (credentials and tables swapped): its
 *   "Refresh (manual)" path (read all of A and B, reconcile, write, commit: one execution) up to 100,000,
 *   and its backup-poll path (Get Changes after the store's cursors, a page per execution); for the
 *   page-by-page initial sync, workflows/nightly-batch.json.
 *
 * Writes bench/results/latest.json, latest.md and README-section.md.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import mysql from 'mysql2/promise';

import { N8nInstance, REPO_ROOT, prepare, prepared, type Execution } from '../test/acceptance/harness';
import { importTemplate, signedPost } from '../test/acceptance/templates-support';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../test/helpers/services';
import { builtinWorkflow, floorWorkflow } from './builtin';
import { checkSync, type CheckResult } from './check';
import { changeRows, createCrmTable, createErpTable, fillCrm } from './generate';
import type { LimitConfig } from './limit';
import { RssSampler } from './rss';

const run = promisify(execFile);

function flag(name: string): boolean {
	return process.argv.includes(`--${name}`);
}
function option(name: string): string | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? undefined : process.argv[i + 1];
}

const FULL = flag('full');
const SCALES = (option('scales') ?? '10000,1000,100000,1000000').split(',').map(Number);
const RUNS = Number(option('runs') ?? 3);
const RUNS_1M = Number(option('runs-1m') ?? RUNS);
const SEED = Number(option('seed') ?? 42);
const ONLY = (option('only') ?? 'limit,builtin,ours').split(',');
/** --scenarios a,b: only these scenarios (names as in SCENARIO_TITLE's keys). */
const ONLY_SCENARIOS = option('scenarios')?.split(',');
const REALTIME = flag('no-realtime') ? 0 : Number(option('realtime') ?? 500);
/** Where the results go (bench/results by default). */
const OUT = option('out');
const POLL = 'Every 5 minutes (backup poll)';
const REFRESH = 'Refresh (manual)';
const NIGHTLY = 'Nightly at 02:00';
/** The page size of the template's Get Changes nodes. */
const POLL_PAGE = 5000;
/** The largest table ours syncs through the one-execution Refresh (above, n8n would hold it all at once). */
const REFRESH_MAX = 100_000;
const THOUSAND = 1000;
const SECRET_A = 'bench-crm-signing-secret-0123456789';
const SECRET_B = 'bench-erp-signing-secret-0123456789';
/** DESIGN.md, "Scale and speed". */
const TARGET = { initialRatio: 2, memoryMb: 512, proportional: 2, realtimeMs: 30 };

type Contestant = 'limit' | 'builtin' | 'ours';
type Scenario = 'initial' | 'initialPaged' | 'unchanged' | 'changed1pct' | 'unchangedPoll' | 'changed1pctPoll' | 'thousand';
const SCENARIO_TITLE: Record<Scenario, string> = {
	initial: 'initial sync',
	initialPaged: 'initial sync, page by page (nightly-batch template)',
	unchanged: 'nothing changed',
	changed1pct: '1 % changed',
	unchangedPoll: 'nothing changed, backup poll',
	changed1pctPoll: '1 % changed, backup poll',
	thousand: '1,000 rows changed',
};
const SCENARIOS = Object.keys(SCENARIO_TITLE) as Scenario[];
/** The limit's and the built-in way's figure a path of ours is compared with. */
const COMPARED_WITH: Partial<Record<Scenario, Scenario>> = { unchangedPoll: 'unchanged', changed1pctPoll: 'changed1pct', initialPaged: 'initial' };
const CONTESTANT_TITLE: Record<Contestant, string> = {
	limit: 'limit (pg + mysql2 script)',
	builtin: 'built-in n8n nodes',
	ours: 'ours (shipped templates)',
};

/** What each suite runs, by table size. */
interface Plan {
	limit: Scenario[];
	builtin: Scenario[];
	ours: Scenario[];
	realtime: boolean;
}
function planOf(scale: number): Plan {
	const has = (c: Contestant) => ONLY.includes(c);
	const pick = (c: Contestant, list: Scenario[]) => (has(c) ? list.filter((s) => !ONLY_SCENARIOS || ONLY_SCENARIOS.includes(s)) : []);
	if (scale > REFRESH_MAX) return { limit: pick('limit', ['initial']), builtin: [], ours: pick('ours', ['initialPaged']), realtime: false };
	if (scale <= THOUSAND) return { limit: pick('limit', ['initial', 'thousand']), builtin: [], ours: pick('ours', ['initial', 'thousand']), realtime: false };
	const full: Scenario[] = ['initial', 'unchanged', 'changed1pct'];
	return {
		limit: pick('limit', scale >= 100_000 ? [...full, 'thousand'] : full),
		builtin: scale <= 10_000 || FULL ? pick('builtin', full) : [],
		ours: pick('ours', [...full, 'unchangedPoll', 'changed1pctPoll', ...(scale >= 100_000 ? (['thousand'] as Scenario[]) : []), 'initialPaged']),
		realtime: scale === 10_000 && REALTIME > 0 && has('ours'),
	};
}

interface Sample {
	seconds: number;
	peakRssMb: number;
	/** RSS of the tree just before the run (n8n keeps what earlier runs grew). */
	startRssMb?: number;
	ok: boolean;
	check: CheckResult;
	/** n8n's own start → stop of the execution (n8n contestants). */
	executionSeconds?: number;
	/** Executions it took (the paged path). */
	executions?: number;
	/** n8n main process after the run, from its /metrics: JS heap in use and RSS (MB). */
	heapAfterMb?: number;
	mainRssAfterMb?: number;
	/** The same just before the run. */
	heapBeforeMb?: number;
	error?: string;
}

interface NodeCost {
	ms: number;
	items: number[];
}

const log = (...args: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const n = (v: number) => v.toLocaleString('en-US');

function stats(values: number[]): { median: number; min: number; max: number; runs: number } {
	const s = [...values].sort((a, b) => a - b);
	const mid = Math.floor(s.length / 2);
	const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
	return { median, min: s[0], max: s[s.length - 1], runs: s.length };
}

function percentile(values: number[], p: number): number {
	const s = [...values].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Samples of one table size. */
type Samples = Partial<Record<Scenario, Partial<Record<Contestant, Sample[]>>>>;

class Bench {
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
	nodeCosts: Record<number, Partial<Record<Contestant, Partial<Record<Scenario, Record<string, NodeCost>>>>>> = {};
	creds: Record<string, { id: string; name: string }> = {};
	changeCounter = 0;
	realtime?: Record<string, unknown>;
	lastOurs?: { wf: string; erpTable: string; paths: { crm: string; erp: string } };

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
		await fillCrm(this.pg, this.crm, SEED, scale);
		await this.pg.query(`ANALYZE "${this.crm}"`);
		log(`generated ${n(scale)} contacts in A (seed ${SEED}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
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
		this.n8n = await N8nInstance.start({ env: { N8N_METRICS: 'true', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
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

	async change(count: number): Promise<void> {
		this.changeCounter++;
		await changeRows(this.pg, this.crm, SEED * 7919 + this.changeCounter, count, `c${this.changeCounter}`);
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

	/** The shipped template with a store of its own and B's table of its own. */
	async importOurs(tag: string): Promise<{ wf: string; erp: string; paths: { crm: string; erp: string } }> {
		const erp = await this.newErpTable(`erp_ours_${this.scale}_${tag}`);
		const dir = createTempDir('dsbench-store');
		this.dirs.push(dir);
		const store = await this.n8n!.createCredential('dataSyncStoreApi', `Bench store ${this.scale} ${tag}`, { backend: 'sqlite', path: dir.file('store.sqlite') });
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
		const store = await this.n8n!.createCredential('dataSyncStoreApi', `Bench paged store ${this.scale} ${r}`, { backend: 'sqlite', path: dir.file('store.sqlite') });
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
		for (let i = 0; i < count + 10; i++) {
			const t0 = performance.now();
			const res = await n8n.webhook(floorPath, { i });
			if (res.status !== 200) throw new Error(`floor webhook answered ${res.status}: ${res.text}`);
			if (i >= 10) floorMs.push(performance.now() - t0);
		}
		log(`floor (Webhook → Respond): p50 ${percentile(floorMs, 50).toFixed(1)} ms, p95 ${percentile(floorMs, 95).toFixed(1)} ms`);

		const { rows: idRows } = await this.pg.query<{ id: string }>(`SELECT id FROM "${this.crm}" ORDER BY id LIMIT $1`, [count + 5]);
		const oursMs: number[] = [];
		const ackMs: number[] = [];
		const sampler = new RssSampler(this.rootPid);
		sampler.start();
		for (let i = 0; i < idRows.length; i++) {
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
			if (i >= 5) {
				oursMs.push(performance.now() - t0);
				ackMs.push(t1 - t0);
			}
		}
		const peakRssMb = sampler.stop();
		const check = await checkSync(this.pg, this.crm, this.my, ours.erpTable);
		// Where a real-time execution spends its time: per node, the median over the last 50 webhook runs.
		const perNode: Record<string, number[]> = {};
		const webhookRuns = (await n8n.executions(ours.wf)).filter((e) => e.mode === 'webhook').slice(-50);
		for (const e of webhookRuns) {
			for (const [name, cost] of Object.entries(await this.nodeCostsOf(e.id))) (perNode[name] ??= []).push(cost.ms);
		}
		const perNodeMedianMs = Object.fromEntries(Object.entries(perNode).map(([name, ms]) => [name, stats(ms).median]));
		const pct = (v: number[]) => ({ p50: percentile(v, 50), p95: percentile(v, 95), p99: percentile(v, 99), min: Math.min(...v), max: Math.max(...v), n: v.length });
		this.realtime = {
			changes: oursMs.length,
			floor: pct(floorMs),
			ours: pct(oursMs),
			oursAck: pct(ackMs),
			p95AboveFloorMs: percentile(oursMs, 95) - percentile(floorMs, 95),
			peakRssMb,
			check,
			perNodeMedianMs,
		};
		log(`ours real time (signed POST → row visible in B): p50 ${percentile(oursMs, 50).toFixed(1)} ms, p95 ${percentile(oursMs, 95).toFixed(1)} ms, p99 ${percentile(oursMs, 99).toFixed(1)} ms; check ${check.ok ? 'ok' : 'WRONG'}`);
	}

	// ---- report ----------------------------------------------------------------------------------

	async facts(): Promise<Record<string, unknown>> {
		const { rows } = await this.pg.query<{ v: string }>("SELECT current_setting('server_version') AS v");
		const [my] = await this.my.query('SELECT VERSION() AS v');
		let n8nVersion = '?';
		try {
			n8nVersion = (JSON.parse(readFileSync(join(prepared().n8nDir, 'node_modules', 'n8n', 'package.json'), 'utf8')) as { version: string }).version;
		} catch {
			// not prepared
		}
		return {
			cpu: cpus()[0]?.model,
			cores: cpus().length,
			memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
			kernel: release(),
			node: process.version,
			n8n: n8nVersion,
			postgres: rows[0].v,
			mariadb: (my as Array<{ v: string }>)[0].v,
			store: 'SQLite file (the templates’ default)',
		};
	}

	/** Figures of one scale: per scenario and contestant, the medians and extremes of the samples. */
	figures(scale: number): Record<string, Record<string, Figure>> {
		const out: Record<string, Record<string, Figure>> = {};
		for (const scenario of SCENARIOS) {
			for (const c of ['limit', 'builtin', 'ours'] as Contestant[]) {
				const list = this.samples[scale]?.[scenario]?.[c];
				if (!list?.length) continue;
				const before = list.every((s) => s.startRssMb !== undefined) ? Math.min(...list.map((s) => s.startRssMb!)) : null;
				const rise = list.every((s) => s.startRssMb !== undefined) ? Math.max(...list.map((s) => s.peakRssMb - s.startRssMb!)) : null;
				const changedRecords = scenario.startsWith('initial') ? scale : scenario.startsWith('unchanged') ? 0 : scenario === 'thousand' ? Math.min(THOUSAND, scale) : Math.ceil(scale / 100);
				const t = stats(list.map((s) => s.seconds));
				(out[scenario] ??= {})[c] = {
					seconds: t,
					recordsPerSecond: scale / t.median,
					peakRssMb: Math.max(...list.map((s) => s.peakRssMb)),
					rssBeforeMb: before,
					rssRiseMb: rise,
					correct: list.every((s) => s.ok),
					changedRecords,
					samples: list,
				};
			}
		}
		return out;
	}

	report(facts: Record<string, unknown>, seconds: number): boolean {
		const fmt = (v: number, d = 2) => v.toFixed(d);
		const scales = SCALES.filter((s) => this.samples[s]);
		const all: Record<number, Record<string, Record<string, Figure>>> = Object.fromEntries(scales.map((s) => [s, this.figures(s)]));
		const med = (scale: number, scenario: Scenario, c: Contestant) => all[scale]?.[scenario]?.[c]?.seconds.median;
		const lines: string[] = [];
		lines.push(
			`Seed ${SEED}. Each figure: median (min–max) of the runs; records/s: table size ÷ median time. Peak RSS: the whole n8n process tree (main + task runner), sampled every 50 ms, or the script's own process for the limit; "before": the tree just before the run (n8n is restarted for each table size); "rise": the largest peak − before of the runs, what the sync itself added. Ours is the shipped bidirectional template: "initial sync", "nothing changed" and "1 % changed" run its manual Refresh (read all of A and B, reconcile, write, commit: one execution); the backup-poll rows and "1,000 rows changed" run its schedule path (Get Changes after the store's cursors, a page of 5,000 per system and execution, after an untimed catch-up); "page by page" is the shipped nightly-batch template (one execution that runs a sub-workflow execution per page of 5,000, A's pages then B's) from an empty B and store. A run whose B is wrong after it (checked in SQL against A) counts as a failure.`,
			'',
		);
		for (const scale of scales) {
			lines.push(`### ${n(scale)} contacts`, '');
			lines.push('| scenario | contestant | seconds, median (min–max) | runs | records/s | peak RSS MB | before MB | rise MB | correct |');
			lines.push('|---|---|---|---|---|---|---|---|---|');
			for (const scenario of SCENARIOS) {
				for (const c of ['limit', 'builtin', 'ours'] as Contestant[]) {
					const f = all[scale][scenario]?.[c];
					if (!f) continue;
					const t = f.seconds;
					const execs = f.samples[0]?.executions ? ` (${f.samples[0].executions} executions)` : '';
					lines.push(
						`| ${SCENARIO_TITLE[scenario]}${execs} | ${CONTESTANT_TITLE[c]} | ${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)}) | ${t.runs} | ${n(Math.round(f.recordsPerSecond))} | ${f.peakRssMb.toFixed(0)} | ${f.rssBeforeMb === null ? '–' : f.rssBeforeMb.toFixed(0)} | ${f.rssRiseMb === null ? '–' : f.rssRiseMb.toFixed(0)} | ${f.correct ? 'yes' : '**NO**'} |`,
					);
				}
			}
			lines.push('');
		}

		const ratios: Record<number, Record<string, { oursOverLimit: number | null; builtinOverOurs: number | null }>> = {};
		lines.push('Ratios of the medians (a path of ours that reads only changes is compared with the limit’s and the built-in way’s run of the same change, which read everything):', '', '| contacts | scenario | ours ÷ limit (time) | built-in ÷ ours (time) |', '|---|---|---|---|');
		for (const scale of scales) {
			for (const scenario of SCENARIOS) {
				const o = med(scale, scenario, 'ours');
				if (o === undefined) continue;
				const other = COMPARED_WITH[scenario] ?? scenario;
				const l = med(scale, other, 'limit');
				const b = med(scale, other, 'builtin');
				const r = { oursOverLimit: l ? o / l : null, builtinOverOurs: b ? b / o : null };
				(ratios[scale] ??= {})[scenario] = r;
				lines.push(`| ${n(scale)} | ${SCENARIO_TITLE[scenario]} | ${r.oursOverLimit === null ? '–' : `${r.oursOverLimit.toFixed(1)}×`} | ${r.builtinOverOurs === null ? '–' : `${r.builtinOverOurs.toFixed(1)}×`} |`);
			}
		}

		// The targets of DESIGN.md, "Scale and speed", each against its figure.
		const targets: Array<{ target: string; figure: string; met: boolean | null }> = [];
		const limit100k = med(100_000, 'initial', 'limit');
		const ours100k = [med(100_000, 'initial', 'ours'), med(100_000, 'initialPaged', 'ours')].filter((v): v is number => v !== undefined);
		if (limit100k && ours100k.length) {
			const best = Math.min(...ours100k);
			targets.push({ target: `initial sync of 100,000 at least half the limit's speed (ours ≤ ${TARGET.initialRatio}× the limit's time)`, figure: `ours ${fmt(best)} s (best of its paths) vs limit ${fmt(limit100k)} s: ${(best / limit100k).toFixed(1)}×`, met: best / limit100k <= TARGET.initialRatio });
		}
		const m = all[1_000_000]?.initialPaged?.ours;
		if (m) {
			const heaps = m.samples.filter((x) => x.heapBeforeMb !== undefined && x.heapAfterMb !== undefined).map((x) => `${x.heapBeforeMb!.toFixed(0)} → ${x.heapAfterMb!.toFixed(0)}`);
			targets.push({
				target: `1,000,000-record sync under ${TARGET.memoryMb} MB peak memory`,
				figure: `ours (page by page): the sync added at most ${m.rssRiseMb?.toFixed(0)} MB to n8n (peak ${m.peakRssMb.toFixed(0)} MB for the whole n8n tree, ${m.rssBeforeMb?.toFixed(0)} MB of it n8n itself before the run)${heaps.length ? `; n8n's JS heap in use before → after the run: ${heaps.join(', ')} MB` : ''}${m.correct ? '' : ', B WRONG'}`,
				met: m.correct && (m.rssRiseMb ?? Infinity) <= TARGET.memoryMb,
			});
		}
		const t1k = med(1000, 'thousand', 'ours');
		const t100k = med(100_000, 'thousand', 'ours');
		if (t1k && t100k) {
			const l1k = med(1000, 'thousand', 'limit');
			const l100k = med(100_000, 'thousand', 'limit');
			targets.push({
				target: `cost proportional to the changes, not the table (1,000 changes on 100,000 rows ≤ ${TARGET.proportional}× 1,000 changes on 1,000)`,
				figure: `ours ${fmt(t100k)} s vs ${fmt(t1k)} s: ${(t100k / t1k).toFixed(2)}×${l1k && l100k ? ` (the limit, which reads everything: ${fmt(l100k)} s vs ${fmt(l1k)} s, ${(l100k / l1k).toFixed(1)}×)` : ''}`,
				met: t100k / t1k <= TARGET.proportional,
			});
		}
		if (this.realtime) {
			const rt = this.realtime as { p95AboveFloorMs: number; check: CheckResult; floor: Record<string, number>; ours: Record<string, number> };
			targets.push({ target: `a webhook change written to the target within ${TARGET.realtimeMs} ms of n8n's bare webhook round trip (p95)`, figure: `p95 ${fmt(rt.ours.p95, 1)} ms vs floor ${fmt(rt.floor.p95, 1)} ms: ${fmt(rt.p95AboveFloorMs, 1)} ms above${rt.check.ok ? '' : ', B WRONG'}`, met: rt.check.ok && rt.p95AboveFloorMs <= TARGET.realtimeMs });
		}
		const b100k = all[100_000]?.initial?.builtin;
		if (b100k) targets.push({ target: 'the built-in way, 100,000 records (DESIGN.md: about 12 minutes and 3 GB): what we replace', figure: `${fmt(b100k.seconds.median / 60)} min, peak ${b100k.peakRssMb.toFixed(0)} MB`, met: null });
		if (targets.length) {
			lines.push('', 'Against the targets of DESIGN.md ("Scale and speed"):', '', '| target | measured | met |', '|---|---|---|');
			for (const t of targets) lines.push(`| ${t.target} | ${t.figure} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);
		}

		if (this.realtime) {
			const rt = this.realtime as { changes: number; floor: Record<string, number>; ours: Record<string, number>; oursAck: Record<string, number>; p95AboveFloorMs: number; check: CheckResult };
			lines.push('', `Real time (10,000-row tables): ${rt.changes} sequential changes in A, each sent signed to the DataSync Trigger, timed until the row is visible in B (polled every 2 ms), against the floor: a bare Webhook → Respond to Webhook round trip in the same n8n.`, '');
			lines.push('| path | p50 ms | p95 ms | p99 ms | min–max ms |', '|---|---|---|---|---|');
			const row = (name: string, v: Record<string, number>) => `| ${name} | ${fmt(v.p50, 1)} | ${fmt(v.p95, 1)} | ${fmt(v.p99, 1)} | ${fmt(v.min, 1)}–${fmt(v.max, 1)} |`;
			lines.push(row('floor: Webhook → Respond', rt.floor), row('ours: change → visible in B', rt.ours), row('ours: the trigger’s HTTP answer only', rt.oursAck));
			lines.push('', `p95 above the floor: ${fmt(rt.p95AboveFloorMs, 1)} ms (target ≤ ${TARGET.realtimeMs} ms); B correct after the real-time run: ${rt.check.ok ? 'yes' : '**NO**'}.`);
			const perNode = (this.realtime as { perNodeMedianMs?: Record<string, number> }).perNodeMedianMs ?? {};
			if (Object.keys(perNode).length) {
				lines.push('', `A real-time execution of ours, per node (median executionTime, ms, of the last webhook runs): ${Object.entries(perNode).map(([name, ms]) => `${name} ${fmt(ms, 1)}`).join(' · ')}.`);
			}
		}
		for (const scale of scales) {
			const costs = this.nodeCosts[scale]?.ours;
			if (!costs) continue;
			const scenarios = SCENARIOS.filter((s) => costs[s]);
			lines.push('', `Where ours spends its time at ${n(scale)} contacts (n8n’s executionTime per node, first run; for the paged and poll rows one execution, the first page):`, '');
			const nodes = [...new Set(scenarios.flatMap((s) => Object.keys(costs[s] ?? {})))];
			lines.push(`| node | ${scenarios.map((s) => `${SCENARIO_TITLE[s]} ms (items out)`).join(' | ')} |`, `|---|${scenarios.map(() => '---').join('|')}|`);
			for (const name of nodes) lines.push(`| ${name} | ${scenarios.map((s) => (costs[s]?.[name] ? `${Math.round(costs[s]![name].ms)} (${costs[s]![name].items.join('/')})` : '–')).join(' | ')} |`);
		}
		lines.push('', `Machine: ${String(facts.cores)} cores (${String(facts.cpu)}), ${String(facts.memoryGb)} GB; Node ${String(facts.node)}, n8n ${String(facts.n8n)}, PostgreSQL ${String(facts.postgres)}, MariaDB ${String(facts.mariadb)}; store: ${String(facts.store)}. Whole run: ${Math.round(seconds / 60)} min.`);
		const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
		lines.push('', `Reproduce: \`${command.replace(/ --$/, '')}\` (\`--full\` adds the built-in way at 100,000; \`--scales\`, \`--runs\`, \`--runs-1m\`, \`--only\` narrow it).`);
		const md = lines.join('\n');
		const dir = OUT ?? join(REPO_ROOT, 'bench', 'results');
		mkdirSync(dir, { recursive: true });
		const json = { generatedAt: new Date().toISOString(), command, scales, seed: SEED, runs: RUNS, runs1m: RUNS_1M, machine: facts, figures: all, ratios, targets, realtime: this.realtime ?? null, oursPerNode: Object.fromEntries(scales.map((s) => [s, this.nodeCosts[s]?.ours ?? null])) };
		writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
		writeFileSync(join(dir, 'latest.md'), `# Benchmark results\n\n${md}\n`);
		writeFileSync(join(dir, 'README-section.md'), `## Performance\n\nMeasured by \`npm run bench\` (bench/run.ts) on one machine, stock n8n ${String(facts.n8n)}, System A in Postgres and System B in MariaDB, against a plain pg + mysql2 script (the limit) and the same sync built from n8n's own nodes.\n\n${md.replace(/^### /gm, '#### ')}\n`);
		console.log(`\n${md}\n`);
		return scales.some((s) => Object.values(all[s]).some((byC) => Object.values(byC).some((f) => !f.correct))) || (this.realtime ? !(this.realtime as { check: CheckResult }).check.ok : false);
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

interface Figure {
	seconds: { median: number; min: number; max: number; runs: number };
	recordsPerSecond: number;
	peakRssMb: number;
	rssBeforeMb: number | null;
	rssRiseMb: number | null;
	correct: boolean;
	changedRecords: number;
	samples: Sample[];
}

async function main(): Promise<void> {
	const started = performance.now();
	const bench = new Bench();
	let failed = false;
	try {
		await bench.setup();
		for (const scale of SCALES) {
			const plan = planOf(scale);
			if (!plan.limit.length && !plan.builtin.length && !plan.ours.length) continue;
			await bench.newSuite(scale);
			const needN8n = plan.builtin.length > 0 || plan.ours.length > 0;
			if (needN8n) await bench.startN8n();
			const tables: string[] = [];
			const runs = scale >= 1_000_000 ? RUNS_1M : RUNS;
			for (let r = 1; r <= runs; r++) {
				log(`${n(scale)} contacts: run ${r} of ${runs}`);
				if (plan.limit.length) tables.push(await bench.limitRun(r, plan.limit));
				if (plan.builtin.length) tables.push(await bench.builtinRun(r, plan.builtin));
				if (plan.ours.length) tables.push(...(await bench.oursRun(r, plan.ours)));
			}
			if (plan.realtime && bench.lastOurs) await bench.realtimeScenario(REALTIME);
			if (needN8n) await bench.stopN8n();
			await bench.endSuite(tables);
			// The results so far, after each table size: a long run that is stopped keeps what it measured.
			bench.report(await bench.facts(), (performance.now() - started) / 1000);
		}
		failed = bench.report(await bench.facts(), (performance.now() - started) / 1000);
	} finally {
		await bench.teardown();
	}
	if (failed) {
		console.error('At least one run left B wrong: see "correct" above.');
		process.exitCode = 1;
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
