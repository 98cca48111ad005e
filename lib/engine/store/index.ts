/**
 * Opening the sync store. n8n runs many executions in one process, so each store config gets one
 * handle (SQLite connection or Postgres pool), opened and migrated once, then shared.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { outcome, PgDriver, SqliteDriver, type Driver } from './driver';
import { migrate } from './migrations';
import { Store } from './store';

export { Store, StoreTx, compareCursors } from './store';
export type { AuditQuery, ConflictQuery, PurgeResult, VolumeCount, VolumeKind, VolumeRow } from './store';
export { MIGRATIONS, SCHEMA_VERSION, StoreVersionError, migrate } from './migrations';
export * from './types';

export type StoreConfig =
	| { backend: 'sqlite'; path: string }
	| {
			backend: 'postgres';
			host: string;
			port: number;
			database: string;
			user: string;
			password: string;
			schema: string;
			ssl: 'disable' | 'require' | 'allow-unauthorized';
	  };

/** A store config or credential that is wrong; the message names the field. */
export class StoreConfigError extends Error {
	constructor(
		message: string,
		readonly field: string,
	) {
		super(message);
		this.name = 'StoreConfigError';
	}
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function expandHome(path: string): string {
	if (path === '~') return homedir();
	if (path.startsWith('~/')) return join(homedir(), path.slice(2));
	return path;
}

/** Builds the store config from the DataSync Store credential's fields, checking each one. */
export function storeConfigFromCredentials(creds: Record<string, unknown>): StoreConfig {
	const backend = creds.backend ?? 'sqlite';
	const text = (field: string, fallback?: string): string => {
		const value = creds[field] ?? fallback;
		if (typeof value !== 'string' || value.trim() === '') {
			throw new StoreConfigError(`DataSync Store credential: field "${field}" must be a non-empty text`, field);
		}
		return value.trim();
	};
	if (backend === 'sqlite') return { backend, path: text('path') };
	if (backend !== 'postgres') {
		throw new StoreConfigError(`DataSync Store credential: field "backend" must be "sqlite" or "postgres", got ${JSON.stringify(backend)}`, 'backend');
	}
	const port = Number(creds.port ?? 5432);
	if (!Number.isInteger(port) || port < 1 || port > 65535) {
		throw new StoreConfigError(`DataSync Store credential: field "port" must be a port number, got ${JSON.stringify(creds.port)}`, 'port');
	}
	const schema = text('schema', 'datasync');
	if (!IDENTIFIER.test(schema)) {
		throw new StoreConfigError(
			`DataSync Store credential: field "schema" must be a plain identifier (letters, digits, _), got ${JSON.stringify(schema)}`,
			'schema',
		);
	}
	const ssl = creds.ssl ?? 'disable';
	if (ssl !== 'disable' && ssl !== 'require' && ssl !== 'allow-unauthorized') {
		throw new StoreConfigError(`DataSync Store credential: field "ssl" must be disable, require or allow-unauthorized, got ${JSON.stringify(ssl)}`, 'ssl');
	}
	const password = creds.password ?? '';
	if (typeof password !== 'string') throw new StoreConfigError('DataSync Store credential: field "password" must be text', 'password');
	return {
		backend,
		host: text('host'),
		port,
		database: text('database'),
		user: text('user'),
		password,
		schema,
		ssl,
	};
}

function handleKey(config: StoreConfig): string {
	return config.backend === 'sqlite'
		? `sqlite:${resolve(expandHome(config.path))}`
		: `postgres:${config.user}@${config.host}:${config.port}/${config.database}/${config.schema}/${config.ssl}`;
}

const open = new Map<string, Promise<Store>>();

/**
 * Opens (or returns the already open) store for `config`, creating and migrating its schema on first
 * use. A store made by a newer version of this package is refused with a StoreVersionError.
 */
export function openStore(config: StoreConfig): Promise<Store> {
	const key = handleKey(config);
	let store = open.get(key);
	if (!store) {
		store = connect(config, key);
		open.set(key, store);
		// A failed open is not cached: the next execution tries again (the database may be back).
		store.catch(() => open.delete(key));
	}
	return store;
}

async function connect(config: StoreConfig, key: string): Promise<Store> {
	let driver: Driver;
	let where: string;
	if (config.backend === 'sqlite') {
		if (typeof config.path !== 'string' || config.path.trim() === '') {
			throw new StoreConfigError('DataSync Store: field "path" must be the SQLite file path', 'path');
		}
		where = resolve(expandHome(config.path));
		driver = new SqliteDriver(where);
	} else {
		if (!IDENTIFIER.test(config.schema)) {
			throw new StoreConfigError(`DataSync Store: field "schema" must be a plain identifier, got ${JSON.stringify(config.schema)}`, 'schema');
		}
		where = `postgres://${config.host}:${config.port}/${config.database} (schema ${config.schema})`;
		driver = new PgDriver(config);
	}
	const migrated = await outcome(() => migrate(driver, where));
	if ('error' in migrated) {
		await driver.close().catch(() => undefined);
		throw migrated.error;
	}
	return new Store(driver, where, () => {
		if (open.get(key) !== undefined) open.delete(key);
	});
}

/** Closes every store this process opened (tests, shutdown). */
export async function closeAllStores(): Promise<void> {
	const stores = [...open.values()];
	open.clear();
	for (const store of stores) {
		const opened = await store.catch(() => null);
		if (opened) await opened.driver.close().catch(() => undefined);
	}
}
