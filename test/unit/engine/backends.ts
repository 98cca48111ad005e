/**
 * The two store backends for the one shared suite: every test file runs its cases against both, each
 * with its own SQLite file or Postgres database, removed afterwards.
 */
import { createPgDatabase, createTempDir, type PgTestDatabase, type TempDir } from '../../helpers/services';
import { closeAllStores, openStore, type Store, type StoreConfig } from '../../../lib/engine/store';

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

/**
 * One describe block per backend, with a fresh store for each test at `ctx.store` (the title gets the
 * backend's name for %s); every store and the backend's files or database are removed afterwards.
 */
export function describeOnBackends(title: string, body: (ctx: { store: Store }) => void): void {
	describe.each(BACKENDS.map((make) => [make().name, make] as const))(title, (_name, make) => {
		const backend = make();
		const ctx = {} as { store: Store };
		beforeAll(() => backend.setup());
		beforeEach(async () => {
			ctx.store = await openStore(backend.config());
		});
		afterAll(async () => {
			await closeAllStores();
			await backend.teardown();
		});
		body(ctx);
	});
}
