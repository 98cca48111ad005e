import { guard } from '../../../lib/engine/guard';
import { resolveConflict } from '../../../lib/engine/conflicts';
import { resolve } from '../../../lib/engine/resolve';
import { status } from '../../../lib/engine/status';
import { closeAllStores, openStore, Store, type Store as StoreType } from '../../../lib/engine/store';
import { BACKENDS } from './backends';
import { change, options, removal, round, SYSTEMS } from './fixtures';

describe.each(BACKENDS.map((make) => [make().name, make] as const))('review, guard, retention on %s', (_name, make) => {
	const backend = make();
	let store: StoreType;
	beforeAll(() => backend.setup());
	beforeEach(async () => {
		store = await openStore(backend.config());
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	const review = (runId = 'review') => ({ runId, systems: SYSTEMS, matchKeys: ['email'], policy: { kind: 'manual' as const } });

	it('settles a field conflict with the chosen value and plans the writes it causes', async () => {
		const manual = { policy: { kind: 'manual' as const } };
		const r = await round(store, [change('crm', 'f1', { email: 'f@x.io', name: 'Fay' })], manual);
		const key = r.changes[0].item.key as string;
		await resolve(store, options(manual), [change('crm', 'f1', { email: 'f@x.io', name: 'Faye' })]);
		const open = await resolve(store, options(manual), [change('erp', `erp-${key}`, { email: 'f@x.io', name: 'Fae' })]);
		const [conflict] = await store.listConflicts({ key, status: 'open' });
		expect(open.conflicts[0].kind).toBe('field');
		await expect(resolveConflict(store, conflict.id, { values: {} }, review())).rejects.toThrow(/field "name" needs a chosen value/);
		await expect(resolveConflict(store, conflict.id, { action: 'create' }, review())).rejects.toThrow(/can be settled with values or dismiss/);
		const done = await resolveConflict(store, conflict.id, { values: { name: 'Fae' } }, review());
		expect((await store.getGolden('contact', key))?.data.name).toBe('Fae');
		expect(done.changes.map((c) => c.item.system).sort()).toEqual(['crm', 'shop']);
		await expect(resolveConflict(store, conflict.id, { values: { name: 'x' } }, review())).rejects.toThrow(/already resolved/);
	});

	it('links an ambiguous match where the reviewer says, and approves a held delete', async () => {
		const keys = { matchKeys: ['email', 'phone'] };
		const a = await round(store, [change('crm', 'g1', { email: 'g1@x.io', phone: '10' })], keys);
		await round(store, [change('crm', 'g2', { email: 'g2@x.io', phone: '20' })], keys);
		await resolve(store, options(keys), [change('shop', 'sx', { email: 'g1@x.io', phone: '20' })]);
		const [ambiguous] = await store.listConflicts({ status: 'open' });
		const key = a.changes[0].item.key as string;
		await store.transaction((tx) => tx.deleteLinks('contact', [{ key, system: 'shop' }]));
		await resolveConflict(store, ambiguous.id, { action: 'link', key }, { ...review(), ...keys, policy: { kind: 'priority', priority: SYSTEMS } });
		expect((await store.findLink('contact', 'shop', 'sx'))?.key).toBe(key);

		const held = await round(store, [removal('crm', 'g1')], { deletePolicy: 'approval' });
		expect(held.conflicts[0].kind).toBe('delete-approval');
		const approval = (await store.listConflicts({ status: 'open', key })).find((c) => c.kind === 'delete-approval')!;
		const done = await resolveConflict(store, approval.id, { action: 'apply' }, { ...review(), deletePolicy: 'approval' });
		expect((await store.getGolden('contact', key))?.deleted).toBe(true);
		expect(done.changes.map((c) => [c.item.system, c.item.op])).toEqual([
			['erp', 'delete'],
			['shop', 'delete'],
		]);
	});

	it('guards: own actor, hop limit, written hash, duplicate delivery, per-actor and per-record limits, breaker', async () => {
		const r = await round(store, [change('crm', 'h1', { email: 'h@x.io', name: 'Hal' })]);
		const key = r.changes[0].item.key as string;
		const written = { email: 'h@x.io', name: 'Hal' };
		const items = [
			change('erp', `erp-${key}`, written),
			change('crm', 'h1', { email: 'h@x.io', name: 'Own' }, { actor: 'datasync-bot' }),
			change('crm', 'h1', { email: 'h@x.io', name: 'Far' }, { trace: { runId: 'r', origin: 'crm', hops: 9 } }),
			change('crm', 'h2', { n: 1 }, { actor: 'ann' }),
			change('crm', 'h2', { n: 1 }, { actor: 'ann' }),
			change('crm', 'h3', { n: 2 }, { actor: 'ann' }),
			change('crm', 'h4', { n: 3 }, { actor: 'ann' }),
		];
		const out = await guard(store, { sync: 'contacts', ownActor: 'datasync-bot', actorLimit: { max: 2, windowSeconds: 3600 } }, items);
		expect(out.blocked.map((b) => [b.sourceIndex, b.reason])).toEqual([
			[0, 'written-hash'],
			[1, 'own-actor'],
			[2, 'hop-limit'],
			[4, 'duplicate-delivery'],
			[6, 'actor-limit'],
		]);
		expect(out.passed.map((p) => p.sourceIndex)).toEqual([3, 5]);
		const flood = await guard(store, { sync: 'contacts', recordLimit: { max: 1, windowSeconds: 3600 }, duplicateWindowSeconds: 0 }, [
			change('crm', 'h9', { n: 1 }),
			change('crm', 'h9', { n: 2 }),
		]);
		expect(flood.blocked.map((b) => b.reason)).toEqual(['record-flood']);
		const breaker = await guard(store, { sync: 'contacts', breaker: { maxRecords: 2 }, duplicateWindowSeconds: 0 }, [
			change('crm', 'b1', {}),
			change('crm', 'b2', {}),
			change('crm', 'b3', {}),
		]);
		expect(breaker.breakerTripped).toBe(true);
		expect(breaker.passed).toEqual([]);
	});

	it('reports the sync status and purges audit after the retention period', async () => {
		await round(store, [change('crm', 'p1', { email: 'p1@x.io' }, { trace: { runId: 'r', origin: 'crm', hops: 0, cursor: { ts: '2024-02-01T00:00:00Z', id: 'p1' } } })]);
		const overview = await status(store, 'contacts');
		expect(overview.cursors).toEqual([expect.objectContaining({ system: 'crm', cursor: { ts: '2024-02-01T00:00:00Z', id: 'p1' } })]);
		expect(overview.systems.map((s) => [s.system, s.written])).toEqual([
			['erp', 1],
			['shop', 1],
		]);
		expect(overview.runs[0].metrics).toEqual(expect.objectContaining({ created: 1, written: 2 }));
		expect((await store.audit()).length).toBeGreaterThan(0);
		expect((await store.purge()).audit).toBe(0);
		// The same store seen 31 days later.
		const later = new Store(store.driver, store.where, () => undefined, () => new Date(Date.now() + 31 * 86_400_000));
		const purged = await later.purge();
		expect(purged.audit).toBeGreaterThan(0);
		expect(await store.audit()).toEqual([]);
	});
});
