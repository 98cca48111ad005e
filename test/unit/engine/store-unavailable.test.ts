/**
 * A Postgres store that cannot be reached: the error names the store (host, port, database, schema) and
 * what happened, not only "terminating connection due to administrator command"; and once the server is
 * back, the next batch works (a connection lost in a transaction is dropped, not handed out again).
 * On a private PostgreSQL cluster of the test's own, stopped and started under the open store.
 */
import { closeAllStores, openStore } from '../../../lib/engine';
import type { StoreConfig } from '../../../lib/engine/store';
import { startPrivatePostgres, type PrivateServer } from '../../helpers/private-servers';

describe('Postgres store: server gone and back', () => {
	let server: PrivateServer;

	beforeAll(async () => {
		server = await startPrivatePostgres('store');
	});

	afterAll(async () => {
		await closeAllStores();
		await server?.destroy();
	});

	it('names the store when it is down, and works again once it is back', async () => {
		const config = { backend: 'postgres', ...server.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		const store = await openStore(config);
		expect(await store.getCursor('s', 'crm', 'contact')).toBeNull();
		// The pool holds idle connections when the server stops under it.
		const where = `DataSync store (PostgreSQL at 127.0.0.1:${server.config.port}, database "store", schema "datasync")`;
		await server.stop();
		const down = await store.getCursor('s', 'crm', 'contact').then(
			() => undefined,
			(e: Error) => e,
		);
		expect(down?.message).toMatch(new RegExp(`^${where.replace(/[().]/g, '\\$&')}: the database could not be reached \\((connection refused|the connection was cut|the server is shutting down)\\)$`));
		const purge = await store.purge({ auditDays: 30 }).then(
			() => undefined,
			(e: Error) => e,
		);
		expect(purge?.message).toMatch(/^DataSync store \(PostgreSQL at .*\): the database could not be reached \(connection refused\)$/);
		expect(purge?.message).not.toMatch(/ECONN/);
		await server.start();
		// Every connection the pool held died with the server; the next calls get new ones.
		for (let i = 0; i < 12; i++) expect(await store.getCursor('s', 'crm', 'contact')).toBeNull();
		await expect(store.purge({ auditDays: 30 })).resolves.toBeDefined();
	});
});
