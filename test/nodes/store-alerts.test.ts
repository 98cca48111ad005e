/**
 * DataSync Store "Get Alerts" and "Purge" through n8n-core, on both store backends: the node's
 * parameters reach the engine (kinds, options), an alert item is ready for Send Email as it is, a second
 * check emits nothing, a bad option fails naming it, and Purge reports what the alerts' tables lost.
 */
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { DataSyncStore } from '../../nodes/DataSyncStore/DataSyncStore.node';
import { closeAllStores, commit, openStore, resolve, type StoreConfig, type WriteResult } from '../../lib/engine';
import { runNode } from '../helpers/run-node';
import { BACKENDS } from '../unit/engine/backends';
import { change, options } from '../unit/engine/fixtures';

describe.each(BACKENDS.map((make) => [make().name, make] as const))('Store Get Alerts node on the %s store', (_name, make) => {
	const backend = make();
	let config: StoreConfig;
	let credentials: Record<string, ICredentialDataDecryptedObject>;

	beforeAll(() => backend.setup());
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});
	beforeEach(() => {
		config = backend.config();
		credentials = { dataSyncStoreApi: config as unknown as ICredentialDataDecryptedObject };
	});

	it('emits one ready-to-send item per cause, then nothing; bad options are named', async () => {
		const store = await openStore(config);
		const opts = options();
		const planned = await resolve(store, opts, [1, 2, 3].map((i) => change('crm', `c${i}`, { email: `p${i}@example.com` })));
		const writes: WriteResult[] = planned.changes.map(({ item }) => ({
			entity: item.entity,
			system: item.system,
			key: item.key as string,
			op: item.op,
			id: null,
			data: item.data,
			error: `${item.system} answered HTTP 503 for ${String(item.data.email)}`,
		}));
		await commit(store, { sync: 'contacts', runId: opts.runId }, writes);

		const parameters = {
			operation: 'alerts',
			sync: 'contacts',
			alertKinds: ['write-error'],
			alertOptions: { dashboardUrl: 'http://127.0.0.1:5678/webhook/datasync/status', maxRecords: 2, subjectPrefix: '[Sync]' },
		};
		const first = await runNode(DataSyncStore, { parameters, credentials, input: [{}] });
		expect(first.error).toBeUndefined();
		const alerts = first.outputs[0].map((i) => i.json as IDataObject);
		expect(alerts.map((a) => a.subject).sort()).toEqual(['[Sync] contacts: 3 writes to erp failed (contact)', '[Sync] contacts: 3 writes to shop failed (contact)']);
		for (const a of alerts) {
			expect(a).toMatchObject({ kind: 'write-error', severity: 'error', count: 3, moreRecords: 1, cause: `${String(a.system)} answered HTTP # for …`, dashboardUrl: 'http://127.0.0.1:5678/webhook/datasync/status' });
			expect((a.records as unknown[]).length).toBe(2);
			expect(String(a.text)).toContain('Dashboard: http://127.0.0.1:5678/webhook/datasync/status');
		}
		expect(first.outputs[0][0].pairedItem).toEqual([{ item: 0 }]);
		expect(JSON.stringify(alerts)).not.toMatch(/p\d@example\.com/);

		const again = await runNode(DataSyncStore, { parameters, credentials, input: [{}] });
		expect(again.outputs[0]).toEqual([]);

		const bad = await runNode(DataSyncStore, { parameters: { ...parameters, alertOptions: { groupWindowMinutes: -5 } }, credentials, input: [{}] });
		expect(bad.error?.message).toContain('Get Alerts: "groupWindowMinutes" must be a number >= 0, got -5');

		const purge = await runNode(DataSyncStore, { parameters: { operation: 'purge', sync: 'contacts', retentionDays: 30 }, credentials, input: [{}] });
		expect(purge.outputs[0][0].json).toMatchObject({ retentionDays: 30, purged: { audit: 0, breakerTrips: 0, alertGroups: 0 } });
		const status = await runNode(DataSyncStore, { parameters: { operation: 'status', sync: 'contacts' }, credentials, input: [{}] });
		expect((status.outputs[0][0].json as IDataObject).retention).toMatchObject({ retentionDays: 30, oldestAuditAt: expect.any(String) });
	});
});
