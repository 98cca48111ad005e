/**
 * Scale-out: stock n8n in queue mode (a main process, two workers, Redis, n8n's own data in Postgres)
 * runs the CRM → ERP flow with the sync store in Postgres, shared by every worker. Thirty new contacts
 * each arrive twice at the same moment (two deliveries of one change); the workers run them in
 * parallel, yet every contact is written to the ERP exactly once and linked exactly once.
 */
import { closeAllStores, openStore, type Store, type StoreConfig } from '../../lib/engine';
import { createPgDatabase, type PgTestDatabase } from '../helpers/services';
import { changeTrigger, CrmErp, signedPost, syncChain } from './crm-erp';
import { workflow } from './flows';
import { N8nInstance, queueModeEnv, uniqueId } from './harness';

const CONTACTS = 30;

describe('queue mode: two n8n workers share one Postgres sync store', () => {
	let n8n: N8nInstance;
	const systems = new CrmErp();
	let n8nDb: PgTestDatabase;
	let storeDb: PgTestDatabase;
	let store: Store;
	let workflowId: string;
	const path = `crm-${uniqueId('queue')}`;

	beforeAll(async () => {
		await systems.setup();
		[n8nDb, storeDb] = await Promise.all([createPgDatabase('ds_n8n'), createPgDatabase('ds_store')]);
		const storeConfig: StoreConfig = { backend: 'postgres', ...storeDb.config, schema: 'datasync', ssl: 'disable' };
		n8n = await N8nInstance.start({ env: queueModeEnv(n8nDb.config, `datasync-${uniqueId('bull')}`), workers: 2 });
		const creds = await systems.credentials(n8n, storeConfig);
		const chain = syncChain(creds, 'erp', 'DataSync Trigger');
		workflowId = (await n8n.createWorkflow(workflow('CRM → ERP (webhook)', [changeTrigger(creds, 'crm', path), ...chain.nodes], chain.edges) as unknown as Record<string, unknown>)).id;
		await n8n.publish(workflowId);
		store = await openStore(storeConfig);
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await systems.teardown();
		await n8nDb?.drop();
		await storeDb?.drop();
	});

	it('writes each of 30 contacts, delivered twice at once, exactly once', async () => {
		const rows = [];
		for (let i = 0; i < CONTACTS; i++) {
			const { rows: [row] } = await systems.crm.query(
				`INSERT INTO crm_contacts (email, "firstName", "lastName", "birthDate", "modifiedBy") VALUES ($1, $2, 'Queue', '2024-02-29', 'alice') RETURNING *`,
				[`person${i}@example.com`, `Person ${i}`],
			);
			rows.push({ ...row, updatedAt: (row.updatedAt as Date).toISOString() });
		}
		// The second delivery of each change is its own request (fields in another order, so not a replay of
		// the first, which the trigger would refuse), sent at the same moment as the first.
		const again = rows.map((row) => Object.fromEntries(Object.entries(row).reverse()));
		const answers = await Promise.all([...rows, ...again].map((row) => signedPost(n8n, path, row)));
		expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));

		const runs = await n8n.waitForExecutions(workflowId, 2 * CONTACTS, 120_000);
		expect(runs.filter((r) => r.status !== 'success').map((r) => r.data?.resultData.error?.message)).toEqual([]);

		const erp = await systems.erpRows();
		expect(erp).toHaveLength(CONTACTS);
		expect(new Set(erp.map((r) => r.email)).size).toBe(CONTACTS);
		expect(erp.every((r) => r.birth_date === '29/02/2024' && r.modified_by === 'datasync')).toBe(true);

		const links = [...(await store.listLinks('contact', 'crm')), ...(await store.listLinks('contact', 'erp'))];
		expect(links).toHaveLength(2 * CONTACTS);
		expect(new Set(links.map((l) => l.key)).size).toBe(CONTACTS);
		const writes = (await store.audit({ system: 'erp', limit: 1000 })).filter((e) => e.action === 'write' && e.outcome === 'ok');
		expect(writes).toHaveLength(CONTACTS);
	});
});
