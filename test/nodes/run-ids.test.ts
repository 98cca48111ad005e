/**
 * Layer 2: run ids when a fresh n8n database meets an old sync store. n8n numbers executions from 1 again
 * in a new database; the store outlives it. A dead execution of the old database (killed after its
 * Resolver planned, before Commit) and a new execution with the same id are two runs: the new one must not
 * take the dead one's planned creates, saved cursors or pending count for its own. The Resolver and Commit
 * nodes run in-process through n8n-core, on both store backends; the run id comes from the execution
 * context n8n-core establishes (nodes/shared/run-id.ts).
 */
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { DataSyncConflictResolver } from '../../nodes/DataSyncConflictResolver/DataSyncConflictResolver.node';
import { DataSyncStore } from '../../nodes/DataSyncStore/DataSyncStore.node';
import { closeAllStores, openStore, type StoreConfig } from '../../lib/engine';
import { runIdOf } from '../../nodes/shared/run-id';
import { runIdOfExecution, runNode } from '../helpers/run-node';
import { BACKENDS } from '../unit/engine/backends';

const json = (items: INodeExecutionData[]) => items.map((i) => i.json as IDataObject);
const T0 = Date.parse('2026-01-05T08:00:00.000Z');

/** A change of A (`crm`) as the poll reads it, with its position; or as a webhook brings it (no position). */
function change(n: number, polled = true): IDataObject {
	const at = new Date(T0 + n * 1000).toISOString();
	return {
		entity: 'contact',
		system: 'crm',
		id: `a${n}`,
		op: 'upsert',
		shape: 'canonical',
		data: { email: `a${n}@example.com`, name: `A ${n}` },
		changedAt: at,
		trace: { runId: 'poll', origin: 'crm', hops: 0, ...(polled ? { cursor: { ts: at, id: `a${n}` } } : {}) },
	};
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))('run ids on the %s store', (_name, make) => {
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

	async function resolver(items: IDataObject[], executionId: string, startedAt: number) {
		const result = await runNode(DataSyncConflictResolver, {
			parameters: { sync: 'contacts', entity: 'contact', systems: 'crm, erp', matchKeys: 'email', policy: 'priority', priority: 'crm, erp' },
			input: items,
			credentials,
			executionId,
			startedAt,
		});
		if (result.error) throw result.error;
		return { changes: json(result.outputs[0]), skipped: json(result.outputs[2]) };
	}

	/** The write node's results (a create gets B's id), then Commit, in the same execution. */
	async function writeAndCommit(changes: IDataObject[], executionId: string, startedAt: number) {
		const written = changes.map((c) => ({ ...c, id: c.id ?? `E-${String(c.key).slice(0, 8)}` }));
		const result = await runNode(DataSyncStore, { parameters: { operation: 'commit', sync: 'contacts' }, input: written, credentials, executionId, startedAt });
		if (result.error) throw result.error;
		return result.outputs[0][0].json as IDataObject;
	}

	it('the run id is the execution id and the execution start time: every node of one execution has the same, another start another', async () => {
		const started = Date.parse('2026-01-05T07:59:59.123Z');
		const planned = await resolver([change(1)], '41', started);
		expect(planned.changes.map((c) => (c.trace as IDataObject).runId)).toEqual([`41-${started.toString(36)}`]);
		const committed = await writeAndCommit(planned.changes, '41', started);
		expect(committed).toMatchObject({ runId: `41-${started.toString(36)}`, committed: 1, waiting: 0 });
		expect(runIdOfExecution('41', started)).toBe(committed.runId);
	});

	it("a new execution with a dead one's id does not plan again the creates the dead one has in flight", async () => {
		const dead = T0 - 60 * 60 * 1000; // the old n8n database's execution 7
		const fresh = T0; // execution 7 of the new n8n database
		// The dead execution: a poll read a1 and a2, the Resolver planned their creates in B; killed before Commit.
		const first = await resolver([change(1), change(2)], '7', dead);
		expect(first.changes.map((c) => [c.system, c.op, c.id])).toEqual([
			['erp', 'upsert', null],
			['erp', 'upsert', null],
		]);
		// The new execution 7: the poll reads the same two again (the cursor never moved). The dead run's
		// creates count as in flight (for a minute): held back, not planned twice at once.
		const second = await resolver([change(1), change(2)], '7', fresh);
		expect(second.changes).toEqual([]);
		const store = await openStore(config);
		expect(await store.listCursors('contacts')).toEqual([]);
		// Nothing of the dead run became the new run's: its run record is its own, unfinished.
		expect((await store.getRun(runIdOfExecution('7', dead)))?.finishedAt ?? null).toBeNull();
	});

	it("a new execution with a dead one's id waits only for its own writes, and moves only its own cursors", async () => {
		const dead = T0 - 60 * 60 * 1000;
		const fresh = T0;
		// The dead execution 8 read a1 and a2 (its saved positions reach a2) and planned their creates.
		const first = await resolver([change(1), change(2)], '8', dead);
		expect(first.changes).toHaveLength(2);
		// Execution 8 of the new database: a webhook brings a3 (no position), written and committed.
		const second = await resolver([change(3, false)], '8', fresh);
		expect(second.changes.map((c) => [c.system, (c.data as IDataObject).email])).toEqual([['erp', 'a3@example.com']]);
		const committed = await writeAndCommit(second.changes, '8', fresh);
		// All of its own writes are committed: nothing to wait for, and no cursor of the dead run's moved by it.
		expect(committed).toMatchObject({ committed: 1, failed: 0, waiting: 0 });
		const store = await openStore(config);
		expect(await store.listCursors('contacts')).toEqual([]);
		// The dead run's audit is its own: no write of the new run is recorded under it.
		const deadRun = runIdOfExecution('8', dead);
		const deadAudit = await store.audit({ runId: deadRun, limit: 100 });
		expect(deadAudit.filter((e) => e.action === 'write')).toEqual([]);
		const newAudit = await store.audit({ runId: String(committed.runId), limit: 100 });
		expect(newAudit.filter((e) => e.action === 'write').map((e) => e.externalId)).toEqual([expect.stringMatching(/^E-/)]);
	});
});

describe('runIdOf', () => {
	const ctx = (id: string | undefined, context?: unknown) => ({ getExecutionId: () => id as string, getExecutionContext: () => context as never });

	it('puts the start time in base 36 after the execution id', () => {
		expect(runIdOf(ctx('1234', { version: 1, establishedAt: 1_767_600_000_000, source: 'webhook' }))).toBe(`1234-${(1_767_600_000_000).toString(36)}`);
	});

	it('is the execution id alone without an execution context, or one without a start time (an n8n that has none)', () => {
		expect(runIdOf({ getExecutionId: () => '55' })).toBe('55');
		expect(runIdOf(ctx('55', undefined))).toBe('55');
		expect(runIdOf(ctx('55', { version: 1, source: 'manual' }))).toBe('55');
		expect(runIdOf(ctx('55', { version: 1, establishedAt: Number.NaN, source: 'manual' }))).toBe('55');
	});

	it('without an execution id: from the start time when there is one, else unique per call', () => {
		expect(runIdOf(ctx(undefined, { version: 1, establishedAt: 36 ** 3, source: 'manual' }))).toBe('run-1000');
		const [a, b] = [runIdOf(ctx(undefined)), runIdOf(ctx(undefined))];
		expect(a).toMatch(/^run-[0-9a-z]+-[0-9a-z]+$/);
		expect(a).not.toBe(b);
	});
});
