/**
 * Layer 2: DataSync Store → Rollback through n8n-core on a real store (both backends): the targets as
 * the node's parameters give them (a run, a record by system and ID, a time span), the two outputs in each
 * mode, and the errors a user sees for a blank run ID, a bad date or a run the audit does not know.
 */
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { DataSyncStore } from '../../nodes/DataSyncStore/DataSyncStore.node';
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { runIdOfExecution, runNode } from '../helpers/run-node';
import { BACKENDS } from '../unit/engine/backends';
import { change, round } from '../unit/engine/fixtures';

describe.each(BACKENDS.map((make) => [make().name, make] as const))('Store Rollback node on the %s store', (_name, make) => {
	const backend = make();
	let credentials: Record<string, ICredentialDataDecryptedObject>;
	let store: Store;
	beforeAll(() => backend.setup());
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});
	beforeEach(async () => {
		const config = backend.config();
		credentials = { dataSyncStoreApi: config as unknown as ICredentialDataDecryptedObject };
		store = await openStore(config);
	});

	const rollbackNode = (parameters: IDataObject, executionId = `rb-${Math.random().toString(36).slice(2, 8)}`) =>
		runNode(DataSyncStore, { parameters: { operation: 'rollback', sync: 'contacts', ...parameters }, input: [{}], credentials, executionId });

	async function seed() {
		await round(store, [change('crm', 'c1', { email: 'a@x.io', city: 'Paris' }), change('crm', 'c2', { email: 'b@x.io', city: 'Rome' })]);
		await new Promise((r) => setTimeout(r, 5));
		const since = new Date().toISOString();
		const bad = await round(store, [change('crm', 'c1', { email: 'a@x.io', city: 'X' }), change('crm', 'c2', { email: 'b@x.io', city: 'Y' })]);
		return { bad, since };
	}

	it('a run: dry run fills only the Report; execute emits the changes to write under its own run and the report', async () => {
		const { bad } = await seed();
		const dry = await rollbackNode({ rollbackTarget: 'run', rollbackRunId: bad.runId, rollbackSystem: 'erp' });
		expect(dry.error).toBeUndefined();
		expect(dry.outputs[0]).toHaveLength(0);
		expect(dry.outputs[1].map((i) => [i.json.system, i.json.status, i.json.dryRun, (i.json.after as IDataObject).city])).toEqual(
			expect.arrayContaining([
				['erp', 'planned', true, 'Paris'],
				['erp', 'planned', true, 'Rome'],
			]),
		);
		expect(dry.outputs[1]).toHaveLength(2);
		const executionId = 'rb-exec';
		const done = await rollbackNode({ rollbackTarget: 'run', rollbackRunId: bad.runId, rollbackMode: 'execute', rollbackOptions: { matchKeys: 'email' } }, executionId);
		expect(done.error).toBeUndefined();
		expect(done.outputs[0]).toHaveLength(4);
		expect(done.outputs[0].every((i) => (i.json.trace as IDataObject).runId === runIdOfExecution(executionId) && i.json.shape === 'canonical')).toBe(true);
		expect(done.outputs[1].every((i) => i.json.dryRun === false)).toBe(true);
	});

	it('a record by system and ID, and a time span', async () => {
		const { bad, since } = await seed();
		const erpId = (await store.listLinks('contact', 'erp')).find((l) => l.base.email === 'a@x.io')!.externalId;
		const one = await rollbackNode({ rollbackTarget: 'record', rollbackSystem: 'erp', rollbackRecordId: erpId });
		expect(one.outputs[1].map((i) => [i.json.system, i.json.externalId, i.json.runs])).toEqual([['erp', erpId, [bad.runId]]]);
		const span = await rollbackNode({ rollbackTarget: 'span', rollbackSince: since });
		expect(span.outputs[1]).toHaveLength(4);
		expect(span.outputs[1].every((i) => (i.json.runs as string[])[0] === bad.runId)).toBe(true);
	});

	it('says what is wrong: no run ID, a date that is none, a run the audit does not hold', async () => {
		await seed();
		// n8n itself refuses an empty required Run ID before the node runs.
		await expect(rollbackNode({ rollbackTarget: 'run', rollbackRunId: '' })).rejects.toThrow(/Parameter "Run ID" is required/);
		expect((await rollbackNode({ rollbackTarget: 'run', rollbackRunId: '  ' })).error?.message).toMatch(/Run ID: give the run to roll back/);
		expect((await rollbackNode({ rollbackTarget: 'span', rollbackSince: 'last tuesday' })).error?.message).toMatch(/Since: "last tuesday" is not a date-time/);
		expect((await rollbackNode({ rollbackTarget: 'run', rollbackRunId: '999-zzz' })).error?.message).toMatch(/no successful writes of sync "contacts" for runId "999-zzz"/);
		expect((await rollbackNode({ rollbackTarget: 'record', rollbackRecordId: '7' })).error?.message).toMatch(/needs "system" too/);
	});
});
