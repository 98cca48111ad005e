/**
 * `npm run bench` (issue 8): our sync side by side with the raw limit and the built-in-nodes way, in one
 * run, on this machine's Postgres (System A) and MariaDB (System B), in databases of its own that it drops
 * afterwards, through stock n8n started by the acceptance harness.
 *
 *   npx node -r ./scripts/register-ts.js bench/run.ts [--full] [--scale N] [--runs R] [--seed S]
 *        [--only limit,builtin,ours] [--realtime N | --no-realtime]
 *
 * Default: 10,000 contacts, 3 runs of each scenario (initial sync, nothing changed, 1 % changed) for each
 * contestant, then 200 sequential real-time changes against a bare Webhook → Respond floor. --full: 100,000
 * contacts (the built-in way takes about 12 minutes per run there) and 500 real-time changes. The built-in
 * way runs only at ≤ 10,000 unless --full. Every run is followed by the SQL correctness check (check.ts);
 * a run that is fast and wrong counts as a failure.
 *
 * Contestants:
 * - limit: bench/limit.ts, a plain Node script (pg + mysql2, keyset pages of 5,000, upserts of 1,000);
 * - built-in: bench/builtin.ts, n8n's own nodes, run as the editor runs it (REST run endpoint);
 * - ours: workflows/bidirectional-contacts.json as shipped (credentials and tables swapped), its
 *   "Refresh (manual)" path (Get all from A and B → Loop Guard → Mapper → Resolver → Mapper → Write →
 *   Commit in one execution): what an analyst runs for an initial sync or a reconcile.
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
const SCALE = Number(option('scale') ?? (FULL ? 100_000 : 10_000));
const RUNS = Number(option('runs') ?? 3);
const SEED = Number(option('seed') ?? 42);
const ONLY = (option('only') ?? 'limit,builtin,ours').split(',');
const REALTIME = flag('no-realtime') ? 0 : Number(option('realtime') ?? (FULL ? 500 : 200));
/** Where the results go (bench/results by default). */
const OUT = option('out');
const BUILTIN = ONLY.includes('builtin') && (SCALE <= 10_000 || FULL);
const CRM = 'crm_contacts';
const POLL = 'Every 5 minutes (backup poll)';
/** The page size of the template's Get Changes nodes. */
const POLL_PAGE = 5000;
const SECRET_A = 'bench-crm-signing-secret-0123456789';
const SECRET_B = 'bench-erp-signing-secret-0123456789';

type Contestant = 'limit' | 'builtin' | 'ours';
type Scenario = 'initial' | 'unchanged' | 'changed1pct' | 'unchangedPoll' | 'changed1pctPoll';
const SCENARIO_TITLE: Record<Scenario, string> = {
	initial: 'initial sync',
	unchanged: 'nothing changed',
	changed1pct: '1 % changed',
	unchangedPoll: 'nothing changed, backup poll',
	changed1pctPoll: '1 % changed, backup poll',
};
/** The limit's and the built-in way's figure an incremental path of ours is compared with. */
const COMPARED_WITH: Partial<Record<Scenario, Scenario>> = { unchangedPoll: 'unchanged', changed1pctPoll: 'changed1pct' };
const CONTESTANT_TITLE: Record<Contestant, string> = {
	limit: 'limit (pg + mysql2 script)',
	builtin: 'built-in n8n nodes',
	ours: 'ours (bidirectional template)',
};

interface Sample {
	seconds: number;
	peakRssMb: number;
	/** RSS of the tree just before the run (n8n keeps what earlier runs grew). */
	startRssMb?: number;
	ok: boolean;
	check: CheckResult;
	/** n8n's own start → stop of the execution (n8n contestants). */
	executionSeconds?: number;
	error?: string;
}

interface NodeCost {
	ms: number;
	items: number[];
}

const log = (...args: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

class Bench {
	pgDb!: PgTestDatabase;
	mariaDb!: MariaDbTestDatabase;
	pg!: Client;
	my!: mysql.Connection;
	n8n?: N8nInstance;
	rootPid = 0;
	dirs: TempDir[] = [];
	samples: Record<Scenario, Partial<Record<Contestant, Sample[]>>> = { initial: {}, unchanged: {}, changed1pct: {}, unchangedPoll: {}, changed1pctPoll: {} };
	nodeCosts: Partial<Record<Contestant, Partial<Record<Scenario, Record<string, NodeCost>>>>> = {};
	creds: Record<string, { id: string; name: string }> = {};
	changeCounter = 0;
	realtime?: Record<string, unknown>;
	lastOurs?: { wf: string; erpTable: string; paths: { crm: string; erp: string } };

	async setup(): Promise<void> {
		[this.pgDb, this.mariaDb] = await Promise.all([createPgDatabase('dsbench'), createMariaDbDatabase('dsbench')]);
		this.pg = new Client(this.pgDb.config);
		await this.pg.connect();
		this.my = await mysql.createConnection({ ...this.mariaDb.config, dateStrings: true, timezone: 'Z' });
		await createCrmTable(this.pg, CRM);
		const t0 = performance.now();
		await fillCrm(this.pg, CRM, SEED, SCALE);
		log(`generated ${SCALE} contacts in A (seed ${SEED}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
	}

	async startN8n(): Promise<void> {
		log('building and packing the package, preparing stock n8n …');
		await prepare();
		this.n8n = await N8nInstance.start();
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

	async newErpTable(name: string): Promise<string> {
		await this.my.query(`DROP TABLE IF EXISTS \`${name}\``);
		await createErpTable(this.my, name);
		return name;
	}

	async changeOnePercent(): Promise<void> {
		this.changeCounter++;
		await changeRows(this.pg, CRM, SEED * 7919 + this.changeCounter, Math.ceil(SCALE / 100), `c${this.changeCounter}`);
	}

	record(scenario: Scenario, contestant: Contestant, sample: Sample): void {
		(this.samples[scenario][contestant] ??= []).push(sample);
		const status = sample.ok ? 'ok' : `WRONG ${JSON.stringify({ ...sample.check, examples: sample.check.examples.slice(0, 3) })} ${sample.error ?? ''}`;
		log(`${SCENARIO_TITLE[scenario]} · ${contestant}: ${sample.seconds.toFixed(2)} s, peak RSS ${sample.peakRssMb.toFixed(0)} MB${sample.startRssMb === undefined ? '' : ` (${sample.startRssMb.toFixed(0)} MB before)`}, check ${status}`);
	}

	// ---- the limit -------------------------------------------------------------------------------

	async limitOnce(erpTable: string): Promise<{ seconds: number; peakRssMb: number }> {
		const config: LimitConfig = { pg: this.pgDb.config, maria: this.mariaDb.config, crmTable: CRM, erpTable };
		const { stdout } = await run(process.execPath, ['-r', './scripts/register-ts.js', 'bench/limit.ts', JSON.stringify(config)], {
			cwd: REPO_ROOT,
			maxBuffer: 16 * 1024 * 1024,
			timeout: 30 * 60 * 1000,
		});
		const out = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number };
		return out;
	}

	async limitRun(r: number): Promise<void> {
		const erp = await this.newErpTable(`erp_limit_${r}`);
		for (const scenario of ['initial', 'unchanged', 'changed1pct'] as Scenario[]) {
			if (scenario === 'changed1pct') await this.changeOnePercent();
			const { seconds, peakRssMb } = await this.limitOnce(erp);
			const check = await checkSync(this.pg, CRM, this.my, erp);
			this.record(scenario, 'limit', { seconds, peakRssMb, ok: check.ok, check });
		}
	}

	// ---- n8n contestants -------------------------------------------------------------------------

	/**
	 * Runs a workflow from one trigger, as the editor's "Execute workflow" does, and times it until the
	 * execution is finished (polled every 50 ms without its data), sampling the n8n tree's RSS meanwhile.
	 */
	async runTimed(workflowId: string, trigger: string, timeoutMs: number): Promise<{ seconds: number; peakRssMb: number; startRssMb: number; execution: Execution }> {
		const n8n = this.n8n!;
		const sampler = new RssSampler(this.rootPid);
		sampler.start();
		const t0 = performance.now();
		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/rest/workflows/${workflowId}/run`, { triggerToStartFrom: { name: trigger } });
		const id = started.data.executionId;
		if (!id) throw new Error(`no execution started: ${JSON.stringify(started)}`);
		const deadline = Date.now() + timeoutMs;
		let execution: Execution | undefined;
		for (;;) {
			try {
				execution = await n8n.api<Execution>('GET', `/executions/${id}`);
				if (execution.finished || !['running', 'new', 'waiting', undefined].includes(execution.status)) break;
			} catch {
				// not saved yet
			}
			if (Date.now() > deadline) {
				sampler.stop();
				throw new Error(`execution ${id} did not finish within ${timeoutMs} ms`);
			}
			await sleep(50);
		}
		const seconds = (performance.now() - t0) / 1000;
		const peakRssMb = sampler.stop();
		return { seconds, peakRssMb, startRssMb: sampler.startMb, execution: execution! };
	}

	/** Where an execution's time went, per node (n8n's own executionTime of each node's last run). */
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

	async n8nScenario(contestant: Contestant, scenario: Scenario, r: number, wf: string, trigger: string, erp: string): Promise<void> {
		const timeoutMs = (FULL ? 40 : 10) * 60 * 1000;
		const { seconds, peakRssMb, startRssMb, execution } = await this.runTimed(wf, trigger, timeoutMs);
		const check = await checkSync(this.pg, CRM, this.my, erp);
		const error = execution.status === 'success' ? undefined : `execution ${execution.id} ${execution.status}`;
		const executionSeconds = execution.stoppedAt ? (Date.parse(execution.stoppedAt) - Date.parse(execution.startedAt)) / 1000 : undefined;
		this.record(scenario, contestant, { seconds, peakRssMb, startRssMb, ok: check.ok && !error, check, executionSeconds, error });
		if (r === 1) {
			try {
				((this.nodeCosts[contestant] ??= {})[scenario] = await this.nodeCostsOf(execution.id));
			} catch (e) {
				log(`per-node costs of ${execution.id} not read: ${(e as Error).message}`);
			}
		}
	}

	async builtinRun(r: number): Promise<void> {
		const erp = await this.newErpTable(`erp_builtin_${r}`);
		const created = await this.n8n!.createWorkflow(builtinWorkflow(`Bench built-in ${r}`, CRM, erp, this.creds.postgres, this.creds.mySql));
		for (const scenario of ['initial', 'unchanged', 'changed1pct'] as Scenario[]) {
			if (scenario === 'changed1pct') await this.changeOnePercent();
			await this.n8nScenario('builtin', scenario, r, created.id, 'Manual Trigger', erp);
		}
	}

	async oursRun(r: number): Promise<void> {
		const erp = await this.newErpTable(`erp_ours_${r}`);
		const dir = createTempDir('dsbench-store');
		this.dirs.push(dir);
		const store = await this.n8n!.createCredential('dataSyncStoreApi', `Bench store ${r}`, { backend: 'sqlite', path: dir.file('store.sqlite') });
		const paths = { crm: `bench-${r}-${process.pid}/crm/contact`, erp: `bench-${r}-${process.pid}/erp/contact` };
		const wf = await importTemplate(this.n8n!, 'bidirectional-contacts', {
			name: `Bench ours ${r}`,
			credentials: { ...this.creds, 'DataSync store': store },
			tables: { crm_contacts: CRM, erp_contacts: erp },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
		});
		for (const scenario of ['initial', 'unchanged', 'changed1pct'] as Scenario[]) {
			if (scenario === 'changed1pct') await this.changeOnePercent();
			await this.n8nScenario('ours', scenario, r, wf, 'Refresh (manual)', erp);
		}
		// The change-proportional path: the backup poll (Get Changes from the store's cursors, one page of
		// 5,000 per system and run). After the refreshes there are no cursors yet: the first polls read every
		// row once, a page per poll. Untimed catch-up: poll until both pages come back short.
		let catchUpSeconds = 0;
		for (let polls = 1; ; polls++) {
			const catchUp = await this.runTimed(wf, POLL, 10 * 60 * 1000);
			catchUpSeconds += catchUp.seconds;
			const costs = await this.nodeCostsOf(catchUp.execution.id);
			const read = ['Get changes from A', 'Get changes from B'].map((n) => costs[n]?.items[0] ?? 0);
			if (catchUp.execution.status !== 'success') throw new Error(`backup poll catch-up failed: execution ${catchUp.execution.id}`);
			if (read.every((n) => n < POLL_PAGE)) {
				log(`backup poll catch-up (untimed in the table): ${polls} polls, ${catchUpSeconds.toFixed(2)} s`);
				break;
			}
			// Enough polls to page through every row once: if pages still come back full, the cursor is not
			// advancing (seen: a page of echoes only never reaches Commit, so no cursor is saved).
			if (polls >= Math.ceil(SCALE / POLL_PAGE) + 1) {
				log(`backup poll catch-up: still full pages (${read.join(' / ')}) after ${polls} polls: the poll's cursor does not advance`);
				break;
			}
		}
		for (const scenario of ['unchangedPoll', 'changed1pctPoll'] as Scenario[]) {
			if (scenario === 'changed1pctPoll') await this.changeOnePercent();
			await this.n8nScenario('ours', scenario, r, wf, POLL, erp);
		}
		this.lastOurs = { wf, erpTable: erp, paths };
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

		const { rows: idRows } = await this.pg.query<{ id: string }>(`SELECT id FROM "${CRM}" ORDER BY id LIMIT $1`, [count + 5]);
		const oursMs: number[] = [];
		const ackMs: number[] = [];
		const sampler = new RssSampler(this.rootPid);
		sampler.start();
		for (let i = 0; i < idRows.length; i++) {
			const city = `Realtime ${i} Zürich`;
			const { rows } = await this.pg.query<{ j: Record<string, unknown> }>(
				`UPDATE "${CRM}" SET city = $1, "modifiedBy" = 'alice', "updatedAt" = clock_timestamp() WHERE id = $2 RETURNING row_to_json("${CRM}".*) AS j`,
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
		const check = await checkSync(this.pg, CRM, this.my, ours.erpTable);
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

	report(facts: Record<string, unknown>, seconds: number): void {
		const scenarios = Object.keys(this.samples) as Scenario[];
		const figures: Record<string, Record<string, unknown>> = {};
		const lines: string[] = [];
		const fmt = (v: number, d = 2) => v.toFixed(d);
		lines.push(`Contacts: ${SCALE.toLocaleString('en-US')} (seed ${SEED}). Each figure: median (min–max) of the runs; records/s from the median; peak RSS: the whole n8n process tree (main + task runner), sampled every 50 ms, or the script's own process for the limit. Ours is the shipped bidirectional template: its manual Refresh (read all of A and B, reconcile, write, commit: one execution), and in the backup-poll rows its schedule path (Get Changes from the store's cursors, one page of 5,000 per system and poll, timed after an untimed catch-up that brings the cursors to the present). records/s: table size ÷ time.`, '');
		lines.push('| scenario | contestant | seconds, median (min–max) | runs | records/s | peak RSS MB (max) | RSS before, MB (min) | correct |');
		lines.push('|---|---|---|---|---|---|---|---|');
		for (const scenario of scenarios) {
			figures[scenario] = {};
			for (const c of ['limit', 'builtin', 'ours'] as Contestant[]) {
				const list = this.samples[scenario][c];
				if (!list?.length) continue;
				const t = stats(list.map((s) => s.seconds));
				const rss = Math.max(...list.map((s) => s.peakRssMb));
				const before = list.every((s) => s.startRssMb !== undefined) ? Math.min(...list.map((s) => s.startRssMb!)) : undefined;
				const ok = list.every((s) => s.ok);
				const changedRecords = scenario === 'initial' ? SCALE : scenario.startsWith('unchanged') ? 0 : Math.ceil(SCALE / 100);
				figures[scenario][c] = { seconds: t, recordsPerSecond: SCALE / t.median, peakRssMb: rss, rssBeforeMb: before ?? null, correct: ok, changedRecords, samples: list };
				lines.push(`| ${SCENARIO_TITLE[scenario]} ${SCALE.toLocaleString('en-US')} | ${CONTESTANT_TITLE[c]} | ${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)}) | ${t.runs} | ${Math.round(SCALE / t.median).toLocaleString('en-US')} | ${rss.toFixed(0)} | ${before === undefined ? '–' : before.toFixed(0)} | ${ok ? 'yes' : '**NO**'} |`);
			}
		}
		const ratios: Record<string, Record<string, number | null>> = {};
		for (const scenario of scenarios) {
			const med = (c: Contestant) => (figures[scenario][c] as { seconds?: { median: number } } | undefined)?.seconds?.median;
			const other = COMPARED_WITH[scenario] ?? scenario;
			const medOther = (c: Contestant) => (figures[other]?.[c] as { seconds?: { median: number } } | undefined)?.seconds?.median;
			const [l, b, o] = [medOther('limit'), medOther('builtin'), med('ours')];
			ratios[scenario] = { oursOverLimit: o && l ? o / l : null, builtinOverOurs: b && o ? b / o : null };
		}
		lines.push('', 'Ratios of the medians (the backup-poll rows of ours are compared with the limit’s and the built-in way’s run of the same change, which read everything):', '', '| scenario | ours ÷ limit (time) | built-in ÷ ours (time) |', '|---|---|---|');
		for (const scenario of scenarios) {
			const r = ratios[scenario];
			lines.push(`| ${SCENARIO_TITLE[scenario]} | ${r.oursOverLimit === null ? '–' : `${r.oursOverLimit.toFixed(1)}×`} | ${r.builtinOverOurs === null ? '–' : `${r.builtinOverOurs.toFixed(1)}×`} |`);
		}
		if (this.realtime) {
			const rt = this.realtime as { changes: number; floor: Record<string, number>; ours: Record<string, number>; oursAck: Record<string, number>; p95AboveFloorMs: number; check: CheckResult };
			lines.push('', `Real time: ${rt.changes} sequential changes in A, each sent signed to the DataSync Trigger, timed until the row is visible in B (polled every 2 ms), against the floor: a bare Webhook → Respond to Webhook round trip in the same n8n.`, '');
			lines.push('| path | p50 ms | p95 ms | p99 ms | min–max ms |', '|---|---|---|---|---|');
			const row = (name: string, v: Record<string, number>) => `| ${name} | ${fmt(v.p50, 1)} | ${fmt(v.p95, 1)} | ${fmt(v.p99, 1)} | ${fmt(v.min, 1)}–${fmt(v.max, 1)} |`;
			lines.push(row('floor: Webhook → Respond', rt.floor), row('ours: change → visible in B', rt.ours), row('ours: the trigger’s HTTP answer only', rt.oursAck));
			lines.push('', `p95 above the floor: ${fmt(rt.p95AboveFloorMs, 1)} ms (target ≤ 30 ms); B correct after the real-time run: ${rt.check.ok ? 'yes' : '**NO**'}.`);
			const perNode = (this.realtime as { perNodeMedianMs?: Record<string, number> }).perNodeMedianMs ?? {};
			if (Object.keys(perNode).length) {
				lines.push('', `A real-time execution of ours, per node (median executionTime, ms, of the last webhook runs): ${Object.entries(perNode).map(([n, ms]) => `${n} ${fmt(ms, 1)}`).join(' · ')}.`);
			}
		}
		const costs = this.nodeCosts.ours;
		if (costs) {
			lines.push('', 'Where ours spends its time (n8n’s executionTime per node, first run):', '');
			const nodes = [...new Set(Object.values(costs).flatMap((c) => Object.keys(c ?? {})))];
			lines.push(`| node | ${scenarios.map((s) => `${SCENARIO_TITLE[s]} ms (items out)`).join(' | ')} |`, `|---|${scenarios.map(() => '---').join('|')}|`);
			for (const n of nodes) lines.push(`| ${n} | ${scenarios.map((s) => (costs[s]?.[n] ? `${Math.round(costs[s]![n].ms)} (${costs[s]![n].items.join('/')})` : '–')).join(' | ')} |`);
		}
		lines.push('', `Machine: ${facts.cores} cores (${String(facts.cpu)}), ${String(facts.memoryGb)} GB; Node ${String(facts.node)}, n8n ${String(facts.n8n)}, PostgreSQL ${String(facts.postgres)}, MariaDB ${String(facts.mariadb)}; store: ${String(facts.store)}. Whole run: ${Math.round(seconds)} s.`);
		const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
		lines.push('', `Reproduce: \`${command}\` (\`--full\` for 100,000 contacts with the built-in way, \`--scale N\`).`);
		const md = lines.join('\n');
		const dir = OUT ?? join(REPO_ROOT, 'bench', 'results');
		mkdirSync(dir, { recursive: true });
		const json = { generatedAt: new Date().toISOString(), command, scale: SCALE, seed: SEED, runs: RUNS, machine: facts, figures, ratios, realtime: this.realtime ?? null, oursPerNode: this.nodeCosts.ours ?? null, builtinPerNode: this.nodeCosts.builtin ?? null };
		writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
		writeFileSync(join(dir, 'latest.md'), `# Benchmark results\n\n${md}\n`);
		writeFileSync(join(dir, 'README-section.md'), `## Performance\n\nMeasured by \`npm run bench\` (bench/run.ts) on one machine, stock n8n ${String(facts.n8n)}, System A in Postgres and System B in MariaDB; ours is the shipped bidirectional template (manual Refresh; backup poll for the incremental rows). A run whose result in B is wrong counts as a failure.\n\n${md}\n`);
		console.log(`\n${md}\n`);
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

async function main(): Promise<void> {
	const started = performance.now();
	const bench = new Bench();
	let failed = false;
	try {
		await bench.setup();
		const needN8n = ONLY.includes('ours') || BUILTIN;
		if (needN8n) await bench.startN8n();
		for (let r = 1; r <= RUNS; r++) {
			log(`run ${r} of ${RUNS}`);
			if (ONLY.includes('limit')) await bench.limitRun(r);
			if (BUILTIN) await bench.builtinRun(r);
			if (ONLY.includes('ours')) await bench.oursRun(r);
		}
		if (REALTIME > 0 && bench.lastOurs) await bench.realtimeScenario(REALTIME);
		const facts = await bench.facts();
		bench.report(facts, (performance.now() - started) / 1000);
		failed = Object.values(bench.samples).some((byC) => Object.values(byC).some((list) => list?.some((s) => !s.ok)));
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
