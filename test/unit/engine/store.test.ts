import { DatabaseSync } from 'node:sqlite';
import { closeAllStores, openStore, SCHEMA_VERSION, storeConfigFromCredentials, StoreVersionError } from '../../../lib/engine/store';
import { migrate } from '../../../lib/engine/store/migrations';
import { PgDriver, SqliteDriver } from '../../../lib/engine/store/driver';
import { BACKENDS } from './backends';

describe.each(BACKENDS.map((make) => [make().name, make] as const))('store on %s', (_name, make) => {
	const backend = make();
	beforeAll(() => backend.setup());
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	it('creates its schema on open and reuses one handle per config', async () => {
		const config = backend.config();
		const a = await openStore(config);
		const b = await openStore({ ...config });
		expect(a).toBe(b);
		const rows = await a.driver.all<{ value: string }>(`SELECT value FROM store_meta WHERE name = 'schema_version'`);
		expect(Number(rows[0].value)).toBe(SCHEMA_VERSION);
	});

	it('accepts a webhook signature once until it expires, also when many callers race for it', async () => {
		const store = await openStore(backend.config());
		const sig = `sig-${Math.random()}`;
		const until = new Date(Date.now() + 60_000).toISOString();
		const answers = await Promise.all(Array.from({ length: 8 }, () => store.acceptSignature(sig, until)));
		expect(answers.filter(Boolean)).toHaveLength(1);
		expect(await store.acceptSignature(sig, until)).toBe(false);
		// Once expired it may be taken again (the sender's timestamp would be refused by then anyway).
		await store.driver.run(`UPDATE webhook_signature SET expires_at = ? WHERE signature = ?`, [new Date(Date.now() - 1000).toISOString(), sig]);
		expect(await store.acceptSignature(sig, until)).toBe(true);
		expect(await store.acceptSignature(sig, until)).toBe(false);
		await store.driver.run(`UPDATE webhook_signature SET expires_at = ? WHERE signature = ?`, [new Date(Date.now() - 1000).toISOString(), sig]);
		expect((await store.purge()).signatures).toBeGreaterThanOrEqual(1);
	});

	it('stores cursors as (timestamp, id) and only moves them forward', async () => {
		const store = await openStore(backend.config());
		expect(await store.getCursor('s', 'crm', 'contact')).toBeNull();
		await store.transaction((tx) => tx.advanceCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00Z', id: '5' }));
		expect(await store.getCursor('s', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:00Z', id: '5' });
		await store.transaction((tx) => tx.advanceCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00.000Z', id: '4' }));
		expect(await store.getCursor('s', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:00Z', id: '5' });
		await store.transaction((tx) => tx.advanceCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00Z', id: '6' }));
		expect(await store.getCursor('s', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:00Z', id: '6' });
		expect(await store.getCursor('s', 'erp', 'contact')).toBeNull();
		// Microseconds count (Postgres and MySQL keep them), and integer ids order as numbers.
		await store.transaction((tx) => tx.advanceCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00.000004Z', id: '1' }));
		expect(await store.getCursor('s', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:00.000004Z', id: '1' });
		await store.transaction((tx) => tx.advanceCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00.000004Z', id: '10' }));
		expect(await store.getCursor('s', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:00.000004Z', id: '10' });
		await store.transaction((tx) => tx.advanceCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00.000004Z', id: '9' }));
		expect(await store.getCursor('s', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:00.000004Z', id: '10' });
	});

	it('upgrades an older store on open', async () => {
		const config = backend.config();
		const driver = config.backend === 'sqlite' ? new SqliteDriver(config.path) : new PgDriver(config);
		expect(await migrate(driver, 'test', 1)).toBe(1);
		await driver.close();
		const store = await openStore(config);
		const rows = await store.driver.all<{ value: string }>(`SELECT value FROM store_meta WHERE name = 'schema_version'`);
		expect(Number(rows[0].value)).toBe(SCHEMA_VERSION);
		expect(await store.transaction((tx) => tx.bumpCounters([{ scope: 'a', name: 'b', windowStart: 'w', by: 2 }]))).toEqual([2]);
	});

	it('refuses a store made by a newer version, saying so', async () => {
		const config = backend.config();
		const store = await openStore(config);
		await store.driver.run(`UPDATE store_meta SET value = ? WHERE name = 'schema_version'`, [String(SCHEMA_VERSION + 1)]);
		await store.close();
		await expect(openStore(config)).rejects.toThrow(StoreVersionError);
		await expect(openStore(config)).rejects.toThrow(/newer than this n8n-nodes-datasync understands/);
	});

	it('rolls a failed transaction back entirely', async () => {
		const store = await openStore(backend.config());
		await expect(
			store.transaction(async (tx) => {
				await tx.setCursor('s', 'crm', 'contact', { ts: '2024-01-01T00:00:00Z', id: '1' });
				throw new Error('boom');
			}),
		).rejects.toThrow('boom');
		expect(await store.getCursor('s', 'crm', 'contact')).toBeNull();
	});
});

describe('store config from the credential', () => {
	it('takes the SQLite path and expands ~ when opening', () => {
		expect(storeConfigFromCredentials({ backend: 'sqlite', path: '~/x.sqlite' })).toEqual({ backend: 'sqlite', path: '~/x.sqlite' });
	});

	it('checks the Postgres fields and names the wrong one', () => {
		const good = { backend: 'postgres', host: 'h', port: 5432, database: 'd', user: 'u', password: 'p', schema: 'datasync', ssl: 'require' };
		expect(storeConfigFromCredentials(good)).toEqual(good);
		expect(() => storeConfigFromCredentials({ ...good, schema: 'x; drop' })).toThrow(/field "schema"/);
		expect(() => storeConfigFromCredentials({ ...good, port: 'abc' })).toThrow(/field "port"/);
		expect(() => storeConfigFromCredentials({ ...good, backend: 'mysql' })).toThrow(/field "backend"/);
		expect(() => storeConfigFromCredentials({ backend: 'sqlite', path: '' })).toThrow(/field "path"/);
	});

	it('keeps the SQLite file in WAL mode for several processes', async () => {
		const dir = (await import('../../helpers/services')).createTempDir('datasync-wal');
		try {
			const store = await openStore({ backend: 'sqlite', path: dir.file('w.sqlite') });
			await store.close();
			const db = new DatabaseSync(dir.file('w.sqlite'));
			expect(db.prepare('PRAGMA journal_mode').get()).toEqual(expect.objectContaining({ journal_mode: 'wal' }));
			db.close();
		} finally {
			dir.remove();
		}
	});
});
