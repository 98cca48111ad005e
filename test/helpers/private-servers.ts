/**
 * Database servers of a test's own, for outage tests: a private PostgreSQL cluster (initdb + pg_ctl) and
 * a private MariaDB server (mariadb-install-db + mariadbd), each with its own data folder, free port and
 * socket, so a test can stop and start them without touching the machine's shared servers.
 *
 * initdb refuses to run as root, so when the test runs as root the cluster belongs to the `postgres` OS
 * user (runuser); MariaDB runs as root with `--user=root`. Each server is stopped and its folder removed
 * by `destroy()`; the data folder survives `stop()` / `start()`, as a real server's does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { freePort } from './ports';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The newest PostgreSQL server binaries of the machine (/usr/lib/postgresql/<major>/bin), or PG_BIN. */
function pgBin(): string {
	if (process.env.DATASYNC_TEST_PG_BIN) return process.env.DATASYNC_TEST_PG_BIN;
	const root = '/usr/lib/postgresql';
	const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))) : [];
	if (majors.length === 0) throw new Error('no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql: install postgresql or set DATASYNC_TEST_PG_BIN');
	return join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL tool as the `postgres` OS user when we are root (initdb and postgres refuse root). */
async function asPostgres(tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
	const bin = join(pgBin(), tool);
	const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
	try {
		return await run(cmd, argv, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
	} catch (error) {
		const e = error as Error & { stdout?: string; stderr?: string };
		throw new Error(`${tool} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
	}
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			if (await check()) return;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms${last instanceof Error ? ` (last: ${last.message})` : ''}`);
		await sleep(100);
	}
}

export interface PrivateServerConfig {
	host: string;
	port: number;
	user: string;
	password: string;
	database: string;
}

export interface PrivateServer {
	/** Connection settings of the server's test database. */
	readonly config: PrivateServerConfig;
	/** Whether the server is running (as far as this helper knows). */
	readonly running: boolean;
	/** Stops the server (fast shutdown: open connections are cut, as when a host goes away). */
	stop(): Promise<void>;
	/** Starts it again on the same port and data folder; resolves when it accepts connections. */
	start(): Promise<void>;
	/** Stops it and removes its data folder. */
	destroy(): Promise<void>;
}

/**
 * A private PostgreSQL cluster on a free port, trust authentication for `postgres` on 127.0.0.1, with a
 * database `database` made in it. Started when this resolves.
 */
export async function startPrivatePostgres(database = 'outage'): Promise<PrivateServer> {
	const root = mkdtempSync(join(tmpdir(), 'datasync-pg-'));
	chmodSync(root, 0o755);
	const data = join(root, 'data');
	const sockets = join(root, 'run');
	for (const dir of [data, sockets]) {
		rmSync(dir, { recursive: true, force: true });
		await run('mkdir', ['-m', '0700', dir]);
		if (isRoot()) {
			const { stdout } = await run('id', ['-u', 'postgres']);
			const { stdout: gid } = await run('id', ['-g', 'postgres']);
			chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
		}
	}
	const port = await freePort();
	await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
	const log = join(sockets, 'server.log');
	const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB`;
	const config: PrivateServerConfig = { host: '127.0.0.1', port, user: 'postgres', password: '', database };
	let running = false;

	const start = async () => {
		await asPostgres('pg_ctl', ['-D', data, '-l', log, '-o', options, '-w', '-t', '60', 'start']);
		await waitUntil(`private Postgres on port ${port} accepts connections`, async () => {
			const c = new Client({ ...config, database: 'postgres', connectionTimeoutMillis: 2000 });
			await c.connect();
			await c.end();
			return true;
		}, 30_000);
		running = true;
	};
	const stop = async () => {
		if (!running) return;
		await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
		running = false;
	};
	await start();
	const admin = new Client({ ...config, database: 'postgres' });
	await admin.connect();
	try {
		await admin.query(`CREATE DATABASE "${database}"`);
	} finally {
		await admin.end();
	}
	return {
		config,
		get running() {
			return running;
		},
		stop,
		start,
		async destroy() {
			try {
				await stop();
			} finally {
				rmSync(root, { recursive: true, force: true });
			}
		},
	};
}

/** The MariaDB server binaries: mariadbd and mariadb-install-db (or their mysql names). */
function mariaBins(): { server: string; install: string } {
	const pick = (names: string[]) => names.find((n) => existsSync(n));
	const server = pick(['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd']);
	const install = pick(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db', '/usr/sbin/mariadb-install-db']);
	if (!server || !install) throw new Error('no MariaDB server binaries (mariadbd, mariadb-install-db): install mariadb-server');
	return { server, install };
}

/**
 * A private MariaDB server on a free port and its own socket, user root with no password on 127.0.0.1,
 * with a database `database` (utf8mb4_bin) made in it. Started when this resolves.
 */
export async function startPrivateMariaDb(database = 'outage'): Promise<PrivateServer> {
	const { server, install } = mariaBins();
	const root = mkdtempSync(join(tmpdir(), 'datasync-maria-'));
	const data = join(root, 'data');
	const socket = join(root, 'mariadb.sock');
	const port = await freePort();
	const user = isRoot() ? 'root' : (process.env.USER ?? 'root');
	try {
		await run(install, ['--no-defaults', `--datadir=${data}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
			timeout: 180_000,
			maxBuffer: 16 * 1024 * 1024,
		});
	} catch (error) {
		const e = error as Error & { stdout?: string; stderr?: string };
		throw new Error(`mariadb-install-db failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
	}
	const config: PrivateServerConfig = { host: '127.0.0.1', port, user: 'root', password: '', database };
	let child: ChildProcess | undefined;

	const start = async () => {
		const proc = spawn(
			server,
			[
				'--no-defaults',
				`--datadir=${data}`,
				`--socket=${socket}`,
				`--port=${port}`,
				'--bind-address=127.0.0.1',
				`--user=${user}`,
				`--pid-file=${join(root, 'mariadb.pid')}`,
				`--log-error=${join(root, 'error.log')}`,
				'--skip-name-resolve',
				'--innodb-buffer-pool-size=16M',
				'--innodb-log-file-size=16M',
				'--innodb-flush-log-at-trx-commit=0',
				'--skip-log-bin',
				'--max-connections=60',
			],
			{ stdio: 'ignore' },
		);
		child = proc;
		let exited = false;
		proc.once('exit', () => (exited = true));
		await waitUntil(`private MariaDB on port ${port} accepts connections`, async () => {
			if (exited) throw new Error(`mariadbd exited; see ${join(root, 'error.log')}`);
			const c = await mysql.createConnection({ host: config.host, port, user: 'root', password: '', connectTimeout: 2000 });
			await c.end();
			return true;
		}, 60_000);
	};
	const stop = async () => {
		const proc = child;
		if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
		const gone = new Promise<void>((r) => proc.once('exit', () => r()));
		// SIGTERM: mariadbd closes its connections and shuts down (no recovery needed on start).
		proc.kill('SIGTERM');
		const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
		await gone;
		clearTimeout(timer);
		child = undefined;
	};
	await start();
	const admin = await mysql.createConnection({ host: config.host, port, user: 'root', password: '' });
	try {
		await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
	} finally {
		await admin.end();
	}
	return {
		config,
		get running() {
			return child !== undefined;
		},
		stop,
		start,
		async destroy() {
			try {
				await stop();
			} finally {
				rmSync(root, { recursive: true, force: true });
			}
		},
	};
}
