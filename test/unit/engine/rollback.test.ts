import { commit, type WriteResult } from '../../../lib/engine/commit';
import { resolve } from '../../../lib/engine/resolve';
import { rollback } from '../../../lib/engine/rollback';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import type { SyncItem } from '../../../lib/item';
import { BACKENDS } from './backends';
import { change, options, round } from './fixtures';

/** Writes a rollback's items as the write node would (same ids; creates get a new one) and commits them. */
async function writeBack(store: Store, runId: string, items: SyncItem[]) {
	const writes: WriteResult[] = items.map((item) => ({ entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id ?? `${item.system}-again-${item.key}`, data: item.data, actor: item.actor }));
	return await commit(store, { sync: 'contacts', runId }, writes);
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))('Store Rollback on %s', (_name, make) => {
	const backend = make();
	let store: Store;
	beforeAll(() => backend.setup());
	beforeEach(async () => {
		store = await openStore(backend.config());
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	async function seedAndBadRun() {
		const seed = await round(store, [1, 2, 3].map((n) => change('crm', `c${n}`, { email: `p${n}@x.io`, name: `Person ${n}`, city: 'Paris' })));
		const bad = await round(store, [1, 2, 3].map((n) => change('crm', `c${n}`, { email: `p${n}@x.io`, name: `Person ${n}`, city: 'WRONG' })));
		const keys = seed.changes.filter((c) => c.item.system === 'erp').map((c) => c.item.key as string);
		return { seed, bad, keys };
	}

	it('dry run lists one change per record and system the run wrote, with before, now and after; stores nothing', async () => {
		const { bad, keys } = await seedAndBadRun();
		const auditBefore = (await store.audit({ limit: 10_000 })).length;
		const dry = await rollback(store, { sync: 'contacts', runId: 'undo-1', target: { runId: bad.runId } });
		expect(dry.dryRun).toBe(true);
		expect(dry.bySystem).toEqual({ erp: { planned: 3, conflict: 0, reported: 0, unchanged: 0 }, shop: { planned: 3, conflict: 0, reported: 0, unchanged: 0 } });
		for (const c of dry.changes) {
			expect(c.op).toBe('upsert');
			expect(c.before).toMatchObject({ city: 'Paris' });
			expect(c.now).toMatchObject({ city: 'WRONG' });
			expect(c.after).toEqual(c.before);
			expect(c.fields).toEqual(['city']);
			expect(c.runs).toEqual([bad.runId]);
			expect(keys).toContain(c.key);
		}
		expect(dry.items).toEqual([]);
		expect((await store.audit({ limit: 10_000 })).length).toBe(auditBefore);
		expect(await store.transaction((tx) => tx.countPlanned('undo-1'))).toBe(0);
	});

	it('execute plans the writes under its own run (marked rollback); Commit audits them as rollback; bases and golden records go back', async () => {
		const { bad, keys } = await seedAndBadRun();
		const done = await rollback(store, { sync: 'contacts', runId: 'undo-2', target: { runId: bad.runId }, execute: true, matchKeys: ['email'] });
		expect(done.items).toHaveLength(6);
		expect(done.goldenRestored).toBe(3);
		for (const item of done.items) {
			expect(item).toMatchObject({ op: 'upsert', shape: 'canonical', data: { city: 'Paris' }, trace: { runId: 'undo-2', origin: 'rollback' } });
			expect(item.id).toBe((await store.findLink('contact', item.system, item.id as string))?.externalId);
		}
		for (const key of keys) expect((await store.getGolden('contact', key))?.data.city).toBe('Paris');
		const result = await writeBack(store, 'undo-2', done.items);
		expect(result).toMatchObject({ committed: 6, failed: 0, waiting: 0 });
		const audit = await store.audit({ runId: 'undo-2', limit: 100 });
		expect(audit.map((a) => [a.action, a.outcome])).toEqual(Array(6).fill(['rollback', 'ok']));
		expect(audit.every((a) => a.before?.city === 'WRONG' && a.after?.city === 'Paris')).toBe(true);
		for (const l of [...(await store.listLinks('contact', 'erp')), ...(await store.listLinks('contact', 'shop'))]) expect(l.base.city).toBe('Paris');
		// The golden record's match values are kept: the same email still finds it.
		const again = await resolve(store, options({ dryRun: true }), [change('erp', 'new-id', { email: 'p1@x.io', name: 'Person 1', city: 'Paris' })]);
		expect(again.changes.every((c) => keys.includes(c.item.key as string))).toBe(true);

		// A rollback is a run: rolling it back plans the bad run's values again.
		const back = await rollback(store, { sync: 'contacts', runId: 'undo-3', target: { runId: 'undo-2' } });
		expect(back.bySystem).toEqual({ erp: { planned: 3, conflict: 0, reported: 0, unchanged: 0 }, shop: { planned: 3, conflict: 0, reported: 0, unchanged: 0 } });
		expect(back.changes.every((c) => c.after?.city === 'WRONG' && c.now?.city === 'Paris')).toBe(true);
	});

	it('a record changed again after the run is a conflict, not overwritten; executed, it is audited as one', async () => {
		const { bad } = await seedAndBadRun();
		const erpLink = (await store.listLinks('contact', 'erp'))[0];
		// The ERP's user edits the record after the bad run: merged, and written to the other systems.
		await round(store, [change('erp', erpLink.externalId, { ...erpLink.base, city: 'Lyon' })]);
		const done = await rollback(store, { sync: 'contacts', runId: 'undo-4', target: { runId: bad.runId }, execute: true });
		const mine = done.changes.filter((c) => c.key === erpLink.key);
		expect(mine.map((c) => [c.system, c.status])).toEqual([
			['erp', 'conflict'],
			['shop', 'conflict'],
		]);
		expect(mine[0].reason).toMatch(/changed again after the write/);
		expect(done.bySystem.erp).toEqual({ planned: 2, conflict: 1, reported: 0, unchanged: 0 });
		expect(done.items.some((i) => i.key === erpLink.key)).toBe(false);
		expect((await store.getGolden('contact', erpLink.key))?.data.city).toBe('Lyon');
		const audited = await store.audit({ runId: 'undo-4', limit: 10 });
		expect(audited.map((a) => [a.action, a.outcome, a.system])).toEqual([
			['rollback', 'conflict', 'shop'],
			['rollback', 'conflict', 'erp'],
		]);
	});

	it('creates are undone as deletes (or reported, by the delete policy); deletes are undone by creating again', async () => {
		const seed = await round(store, [change('crm', 'n1', { email: 'n1@x.io', name: 'New' })]);
		const dryReport = await rollback(store, { sync: 'contacts', runId: 'undo-5', target: { runId: seed.runId }, deletePolicy: 'report' });
		expect(dryReport.changes.map((c) => [c.system, c.op, c.status])).toEqual([
			['erp', 'delete', 'reported'],
			['shop', 'delete', 'reported'],
		]);
		const undone = await rollback(store, { sync: 'contacts', runId: 'undo-6', target: { runId: seed.runId }, execute: true });
		expect(undone.items.map((i) => [i.system, i.op, i.id])).toEqual([
			['erp', 'delete', `erp-${seed.changes[0].item.key}`],
			['shop', 'delete', `shop-${seed.changes[0].item.key}`],
		]);
		expect(await writeBack(store, 'undo-6', undone.items)).toMatchObject({ committed: 2 });
		expect(await store.listLinks('contact', 'erp')).toEqual([]);
		// Undoing the undo: the records are created again with their values.
		const redo = await rollback(store, { sync: 'contacts', runId: 'undo-7', target: { runId: 'undo-6' }, execute: true });
		expect(redo.items.map((i) => [i.system, i.op, i.id, i.data.email])).toEqual([
			['erp', 'upsert', null, 'n1@x.io'],
			['shop', 'upsert', null, 'n1@x.io'],
		]);
		expect(await writeBack(store, 'undo-7', redo.items)).toMatchObject({ committed: 2 });
		expect((await store.listLinks('contact', 'erp')).map((l) => l.base.email)).toEqual(['n1@x.io']);
	});

	it('a record target undoes the latest run that wrote it; a time span everything in it', async () => {
		const { bad, keys } = await seedAndBadRun();
		const one = await rollback(store, { sync: 'contacts', runId: 'undo-8', target: { system: 'erp', externalId: `erp-${keys[0]}` } });
		expect(one.changes.map((c) => [c.system, c.key, c.runs])).toEqual([['erp', keys[0], [bad.runId]]]);
		const span = await rollback(store, { sync: 'contacts', runId: 'undo-9', target: { since: '2000-01-01T00:00:00Z' } });
		// Everything since the start: every record back to not being there.
		expect(span.changes).toHaveLength(6);
		expect(span.changes.every((c) => c.op === 'delete' && c.before === null)).toBe(true);
	});

	it('refuses a target that names nothing, a bad date, or an id without its system', async () => {
		await expect(rollback(store, { sync: 'contacts', runId: 'u', target: {} })).rejects.toThrow(/give a run id, a record .* or a time span/);
		await expect(rollback(store, { sync: 'contacts', runId: 'u', target: { since: 'yesterday' } })).rejects.toThrow(/"since" must be an ISO 8601 date-time, got "yesterday"/);
		await expect(rollback(store, { sync: 'contacts', runId: 'u', target: { externalId: '7' } })).rejects.toThrow(/needs "system" too/);
		await expect(rollback(store, { sync: 'contacts', runId: 'u', target: { runId: 'u' } })).rejects.toThrow(/is this run/);
		await expect(rollback(store, { sync: 'contacts', runId: 'u', target: { runId: 'no-such-run' } })).rejects.toThrow(/no successful writes of sync "contacts" for runId "no-such-run"/);
	});
});
