/**
 * The machine's services for tests: every test run gets its own Postgres database, MariaDB database or
 * SQLite file, and drops it afterwards. A service that is down fails the test with a clear message
 * (`.ci/run` starts them; under CI a missing service is a failure, never a skip).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientConfig } from 'pg';
import mysql from 'mysql2/promise';

export const PG = {
	host: process.env.DATASYNC_TEST_PG_HOST ?? '127.0.0.1',
	port: Number(process.env.DATASYNC_TEST_PG_PORT ?? 5432),
	user: process.env.DATASYNC_TEST_PG_USER ?? 'postgres',
	password: process.env.DATASYNC_TEST_PG_PASSWORD ?? '',
	database: 'test',
};

export const MARIADB = {
	host: process.env.DATASYNC_TEST_MYSQL_HOST ?? '127.0.0.1',
	port: Number(process.env.DATASYNC_TEST_MYSQL_PORT ?? 3306),
	user: process.env.DATASYNC_TEST_MYSQL_USER ?? 'root',
	password: process.env.DATASYNC_TEST_MYSQL_PASSWORD ?? '',
};

export function uniqueName(prefix: string): string {
	return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface PgTestDatabase {
	/** Connection settings of the new database (same server, user and password as PG). */
	config: { host: string; port: number; user: string; password: string; database: string };
	/** Drops the database, closing what still uses it. */
	drop(): Promise<void>;
}

async function pgAdmin(): Promise<Client> {
	const client = new Client({ ...PG } as ClientConfig);
	try {
		await client.connect();
	} catch (error) {
		throw new Error(
			`PostgreSQL is not reachable at ${PG.host}:${PG.port} (${(error as Error).message}). ` +
				'Start it (see README, "Running the tests") or set DATASYNC_TEST_PG_*.',
		);
	}
	return client;
}

/** Creates a fresh Postgres database for one test file. */
export async function createPgDatabase(prefix = 'datasync'): Promise<PgTestDatabase> {
	const name = uniqueName(prefix).toLowerCase();
	const admin = await pgAdmin();
	try {
		await admin.query(`CREATE DATABASE "${name}"`);
	} finally {
		await admin.end();
	}
	return {
		config: { ...PG, database: name },
		async drop() {
			const c = await pgAdmin();
			try {
				await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
			} finally {
				await c.end();
			}
		},
	};
}

export interface MariaDbTestDatabase {
	config: { host: string; port: number; user: string; password: string; database: string };
	drop(): Promise<void>;
}

async function mariaAdmin(): Promise<mysql.Connection> {
	try {
		return await mysql.createConnection({ ...MARIADB });
	} catch (error) {
		throw new Error(
			`MariaDB is not reachable at ${MARIADB.host}:${MARIADB.port} (${(error as Error).message}). ` +
				'Start it (see README, "Running the tests") or set DATASYNC_TEST_MYSQL_*.',
		);
	}
}

/** Creates a fresh MariaDB database for one test file. */
export async function createMariaDbDatabase(prefix = 'datasync'): Promise<MariaDbTestDatabase> {
	const name = uniqueName(prefix).toLowerCase();
	const admin = await mariaAdmin();
	try {
		await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
	} finally {
		await admin.end();
	}
	return {
		config: { ...MARIADB, database: name },
		async drop() {
			const c = await mariaAdmin();
			try {
				await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
			} finally {
				await c.end();
			}
		},
	};
}

export interface TempDir {
	path: string;
	file(name: string): string;
	remove(): void;
}

/** A temporary folder (for SQLite files), removed afterwards. */
export function createTempDir(prefix = 'datasync'): TempDir {
	const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
	return {
		path,
		file: (name: string) => join(path, name),
		remove: () => rmSync(path, { recursive: true, force: true }),
	};
}
