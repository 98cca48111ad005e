/**
 * The two store backends for the one shared suite: every test file runs its cases against both, each
 * with its own SQLite file or Postgres database, removed afterwards.
 */
import { createPgDatabase, createTempDir, type PgTestDatabase, type TempDir } from '../../helpers/services';
import type { StoreConfig } from '../../../lib/engine/store';

export interface TestBackend {
	name: 'sqlite' | 'postgres';
	/** A fresh, empty store location for one test (own file, or own schema in the file's database). */
	config(): StoreConfig;
	setup(): Promise<void>;
	teardown(): Promise<void>;
}

export function sqliteBackend(): TestBackend {
	let dir: TempDir | undefined;
	let n = 0;
	return {
		name: 'sqlite',
		config: () => ({ backend: 'sqlite', path: dir!.file(`store-${++n}.sqlite`) }),
		setup: async () => {
			dir = createTempDir('datasync-engine');
		},
		teardown: async () => dir?.remove(),
	};
}

export function postgresBackend(): TestBackend {
	let db: PgTestDatabase | undefined;
	let n = 0;
	return {
		name: 'postgres',
		config: () => ({ backend: 'postgres', ...db!.config, schema: `store_${++n}`, ssl: 'disable' }),
		setup: async () => {
			db = await createPgDatabase('datasync_engine');
		},
		teardown: async () => db?.drop(),
	};
}

export const BACKENDS = [sqliteBackend, postgresBackend];
