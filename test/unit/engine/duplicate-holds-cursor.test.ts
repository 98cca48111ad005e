/**
 * A poll that re-reads a change whose first delivery has not been committed (its execution died between
 * the write and Commit, e.g. the store went away under Commit) must not move the cursor past it. Found by
 * test/acceptance/reliability-outage.test.ts: the Loop Guard dropped the re-read as a duplicate, the
 * poll's other records were written and committed, the cursor moved past the dropped one, and once the
 * dead run's create stopped counting as in flight no poll read the record again: it was never linked to
 * the target. The duplicate now holds the run's cursors (a deferred planned change), so the next poll
 * reads the record again and redoes the create. On both backends.
 */
import { commit } from '../../../lib/engine/commit';
import { guard } from '../../../lib/engine/guard';
import { resolve } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import { BACKENDS } from './backends';
import { change, options } from './fixtures';

const T0 = Date.parse('2031-04-01T10:00:00.000Z');

describe.each(BACKENDS.map((make) => [make().name, make] as const))('a re-read duplicate of an uncommitted delivery on %s', (_name, make) => {
	const backend = make();
	let store: Store;

	beforeAll(async () => {
		await backend.setup();
	});
	beforeEach(async () => {
		store = await openStore(backend.config());
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
	const polled = (id: string, email: string, ts: string) => change('crm', id, { email, name: id }, { changedAt: ts, trace: { runId: 'r', origin: 'crm', hops: 0, cursor: { ts, id } } });

	/** One poll: Loop Guard, Resolver, every planned change written, Commit. */
	async function poll(items: ReturnType<typeof polled>[]) {
		const o = options({ systems: ['crm', 'erp'] });
		const guarded = await guard(store, { sync: o.sync, runId: o.runId }, items);
		const resolved = await resolve(store, o, guarded.passed.map((p) => p.item));
		const results = resolved.changes.map(({ item }) => ({ entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id ?? `erp-${String(item.data.email)}`, data: item.data }));
		const committed = await commit(store, { sync: o.sync, runId: o.runId }, results);
		return { blocked: guarded.blocked.map((b) => `${b.item.id} ${b.reason}`), planned: resolved.changes.map((c) => c.item.data.email), waiting: committed.waiting };
	}

	it('holds the poll\'s cursor while the first delivery is in flight; the next poll after that redoes the create', async () => {
		const first = polled('c1', 'c1@x.io', '2031-04-01T09:00:00.000Z');
		const later = polled('c2', 'c2@x.io', '2031-04-01T09:00:05.000Z');
		// The first delivery (a webhook) is resolved; its execution dies before Commit.
		const dead = options({ systems: ['crm', 'erp'] });
		const { cursor: _cursor, ...webhookTrace } = first.trace;
		const webhook = { ...first, trace: webhookTrace };
		expect((await guard(store, { sync: dead.sync, runId: dead.runId }, [webhook])).passed).toHaveLength(1);
		expect((await resolve(store, dead, [webhook])).changes.map((c) => c.item.system)).toEqual(['erp']);

		// 20 s later a poll reads c1 again and c2, which is new: c2 is written, c1 dropped as a duplicate, and
		// the cursor stays where it was (before c1).
		at(20);
		expect(await poll([first, later])).toEqual({ blocked: ['c1 duplicate-delivery'], planned: ['c2@x.io'], waiting: 1 });
		expect(await store.getCursor('contacts', 'crm', 'contact')).toBeNull();

		// A minute after the dead run planned it, its create no longer counts as in flight: the poll reads c1
		// again (the cursor waited), plans the create, and the cursor moves past both.
		at(65);
		expect(await poll([first, later])).toEqual({ blocked: [], planned: ['c1@x.io'], waiting: 0 });
		expect(await store.getCursor('contacts', 'crm', 'contact')).toEqual({ ts: '2031-04-01T09:00:05.000Z', id: 'c2' });
		expect((await store.listLinks('contact', 'erp')).map((l) => l.externalId).sort()).toEqual(['erp-c1@x.io', 'erp-c2@x.io']);
	});

	it('a duplicate of a delivery that was committed moves the cursor as before', async () => {
		const done = polled('c3', 'c3@x.io', '2031-04-01T09:10:00.000Z');
		const { cursor: _cursor, ...webhookTrace } = done.trace;
		expect(await poll([{ ...done, trace: webhookTrace }])).toMatchObject({ planned: ['c3@x.io'], waiting: 0 });
		at(10);
		expect(await poll([done])).toEqual({ blocked: ['c3 duplicate-delivery'], planned: [], waiting: 0 });
		expect(await store.getCursor('contacts', 'crm', 'contact')).toEqual({ ts: '2031-04-01T09:10:00.000Z', id: 'c3' });
	});
});
