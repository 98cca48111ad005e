/**
 * Re-deliveries after a crash (found by test/acceptance/reliability-crash.test.ts): n8n died after the
 * Resolver planned a create and before Commit; the same records are read again and again (a Refresh, a
 * night's pages) while the dead run's create still counts as in flight. The Loop Guard drops those
 * re-reads as duplicates of the dead run's delivery only while its create is in flight; after that the
 * next re-read is handled and the create redone — however often the re-reads came. The row the dead
 * run had written carries the sync's own actor; once a later create finds it by match key (an unread
 * link), the Loop Guard lets it be read, or no change would ever be planned for it again. On both backends.
 */
import { commit } from '../../../lib/engine/commit';
import { guard } from '../../../lib/engine/guard';
import { resolve } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import { BACKENDS } from './backends';
import { change, options } from './fixtures';

const T0 = Date.parse('2031-03-01T10:00:00.000Z');
const T1 = '2031-03-01T09:00:00.000Z';

describe.each(BACKENDS.map((make) => [make().name, make] as const))('re-deliveries after a crash on %s', (_name, make) => {
	const backend = make();
	let store: Store;

	beforeAll(async () => {
		await backend.setup();
	});
	beforeEach(async () => {
		store = await openStore(backend.config());
		// Only Date is faked: the store's clock (planned-change and delivery-mark times) moves with it.
		jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
		jest.setSystemTime(T0);
	});
	afterEach(() => {
		jest.useRealTimers();
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	const at = (seconds: number) => jest.setSystemTime(T0 + seconds * 1000);

	it('re-reads every 20 s after the run died: dropped while its create is in flight, then handled and the create planned again', async () => {
		const read = change('crm', 'c1', { email: 'c1@x.io', name: 'Cy' }, { changedAt: T1 });
		const dead = options({ systems: ['crm', 'erp'] });
		expect((await guard(store, { sync: dead.sync, runId: dead.runId }, [read])).passed).toHaveLength(1);
		expect((await resolve(store, dead, [read])).changes.map((c) => [c.item.system, c.item.id])).toEqual([['erp', null]]);
		// n8n dies here: no write, no Commit. The same record is read again at 20, 40 and 65 s.
		const reasons: string[] = [];
		for (const seconds of [20, 40]) {
			at(seconds);
			const o = options({ systems: ['crm', 'erp'] });
			reasons.push(...(await guard(store, { sync: o.sync, runId: o.runId }, [read])).blocked.map((b) => `${seconds}s ${b.reason}`));
		}
		expect(reasons).toEqual(['20s duplicate-delivery', '40s duplicate-delivery']);
		at(65);
		const redo = options({ systems: ['crm', 'erp'] });
		const passed = await guard(store, { sync: redo.sync, runId: redo.runId }, [read]);
		expect(passed.blocked).toEqual([]);
		expect((await resolve(store, redo, passed.passed.map((p) => p.item))).changes.map((c) => [c.item.system, c.item.id])).toEqual([['erp', null]]);
	});

	it('a record whose create a run deferred (another had it in flight) is handled when it is read again, not dropped as a duplicate', async () => {
		const first = options({ systems: ['crm', 'erp'] });
		await resolve(store, first, [change('crm', 'c2', { email: 'c2@x.io', name: 'Di' }, { changedAt: T1 })]);
		// Another execution reads a newer version while that create is in flight: passed, then deferred.
		const newer = change('crm', 'c2', { email: 'c2@x.io', name: 'Dee' }, { changedAt: '2031-03-01T09:30:00.000Z' });
		at(5);
		const deferring = options({ systems: ['crm', 'erp'] });
		expect((await guard(store, { sync: deferring.sync, runId: deferring.runId }, [newer])).passed).toHaveLength(1);
		expect((await resolve(store, deferring, [newer])).changes).toEqual([]);
		// The record is read again (its cursor waited): handled, not taken for a duplicate of the deferring run.
		at(15);
		const again = options({ systems: ['crm', 'erp'] });
		expect((await guard(store, { sync: again.sync, runId: again.runId }, [newer])).blocked).toEqual([]);
	});

	it('a row the sync wrote, found by a create later (unread link), passes the own-actor check when read; a row it wrote and committed does not', async () => {
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [change('crm', 'c3', { email: 'c3@x.io', name: 'Ed' }), change('crm', 'c4', { email: 'c4@x.io', name: 'Flo' })]);
		const [toE3, toE4] = r.changes.map((c) => c.item);
		await commit(store, { sync: o.sync, runId: o.runId }, [
			{ entity: 'contact', system: 'erp', key: toE3.key as string, op: 'upsert', id: 'e3', data: toE3.data, outcome: 'matched', changedAt: T1 },
			{ entity: 'contact', system: 'erp', key: toE4.key as string, op: 'upsert', id: 'e4', data: toE4.data, changedAt: T1 },
		]);
		const g = options({ systems: ['crm', 'erp'] });
		const out = await guard(store, { sync: g.sync, runId: g.runId, ownActor: 'datasync' }, [
			change('erp', 'e3', { email: 'c3@x.io', name: 'Ed (old)' }, { actor: 'datasync', changedAt: T1 }),
			change('erp', 'e4', { email: 'c4@x.io', name: 'Flo' }, { actor: 'datasync', changedAt: T1 }),
		]);
		expect(out.passed.map((p) => p.item.id)).toEqual(['e3']);
		expect(out.blocked.map((b) => [b.item.id, b.reason])).toEqual([['e4', 'own-actor']]);
	});
});
