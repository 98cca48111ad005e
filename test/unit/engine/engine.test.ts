import { commit } from '../../../lib/engine/commit';
import { resolve } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import { BACKENDS } from './backends';
import { SYSTEMS, change, options, removal, round } from './fixtures';

describe.each(BACKENDS.map((make) => [make().name, make] as const))('engine on %s', (_name, make) => {
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

	it('creates a golden record on first sight and plans a create for every other system', async () => {
		const r = await round(store, [change('crm', 'c1', { email: 'a@x.io', name: 'Ann' })]);
		expect(r.changes.map((c) => [c.item.system, c.item.id, c.item.op])).toEqual([
			['erp', null, 'upsert'],
			['shop', null, 'upsert'],
		]);
		const key = r.changes[0].item.key as string;
		expect(await store.getGolden('contact', key)).toEqual(expect.objectContaining({ data: { email: 'a@x.io', name: 'Ann' }, version: 1, deleted: false }));
		const links = await store.getLinks('contact', key);
		expect(links.map((l) => [l.system, l.externalId])).toEqual([
			['crm', 'c1'],
			['erp', `erp-${key}`],
			['shop', `shop-${key}`],
		]);
		expect(links.every((l) => l.base.name === 'Ann')).toBe(true);
	});

	it('skips the echo of its own write with a reason, and plans nothing', async () => {
		const r = await round(store, [change('crm', 'c1', { email: 'b@x.io', name: 'Bo' })]);
		const key = r.changes[0].item.key as string;
		const echo = await round(store, [change('erp', `erp-${key}`, { email: 'B@x.io '.trim().toLowerCase(), name: 'Bo' })]);
		expect(echo.changes).toEqual([]);
		expect(echo.skipped).toEqual([expect.objectContaining({ reason: 'echo', sourceIndex: 0 })]);
	});

	it('links the id a create returns to the golden record it was planned for', async () => {
		const r = await round(store, [change('crm', 'c1', { email: 'c@x.io', name: 'Cy' })], {}, { 'erp:c@x.io': 'e9' });
		const key = r.changes.find((c) => c.item.system === 'erp')!.item.key as string;
		expect((await store.findLink('contact', 'erp', 'e9'))?.key).toBe(key);
		expect((await store.findLink('contact', 'crm', 'c1'))?.key).toBe(key);
	});

	it('links a new record of a system with no link yet to the golden record with the same match key, no second golden record', async () => {
		// hr joins the sync after the golden record was made: it has no link to it yet.
		const r = await round(store, [change('crm', 'k1', { email: 'k@x.io', name: 'Kim' })]);
		const systems = [...SYSTEMS, 'hr'];
		const key = r.changes[0].item.key as string;
		const goldenBefore = await store.transaction((tx) => tx.countGolden('contact'));
		const hr = await round(store, [change('hr', 'h1', { email: 'k@x.io', name: 'Kim' })], { systems });
		expect(hr.conflicts).toEqual([]);
		expect((await store.findLink('contact', 'hr', 'h1'))?.key).toBe(key);
		expect(await store.transaction((tx) => tx.countGolden('contact'))).toBe(goldenBefore);
		expect((await store.getLinks('contact', key)).map((l) => l.system).sort()).toEqual(['crm', 'erp', 'hr', 'shop']);
	});

	it('a second record of a system already linked to that golden record is a duplicate-link conflict, never a second link', async () => {
		const r = await round(store, [change('crm', 'q1', { email: 'q@x.io', name: 'Quinn' })]);
		const key = r.changes[0].item.key as string;
		const viaShopMatch = await resolve(store, options(), [change('shop', 's-new', { email: ' Q@X.IO ', name: 'Quinn' })]);
		expect(viaShopMatch.conflicts).toEqual([expect.objectContaining({ kind: 'duplicate-link' })]);
		expect(viaShopMatch.changes).toEqual([]);
		expect(await store.findLink('contact', 'shop', 's-new')).toBeNull();
		expect((await store.findLink('contact', 'shop', `shop-${key}`))?.key).toBe(key);
	});

	it('reports an ambiguous match as a conflict, never a guess', async () => {
		await round(store, [change('crm', 'd1', { email: 'd1@x.io', phone: '1' })], { matchKeys: ['email', 'phone'] });
		await round(store, [change('crm', 'd2', { email: 'd2@x.io', phone: '2' })], { matchKeys: ['email', 'phone'] });
		const r = await resolve(store, options({ matchKeys: ['email', 'phone'], systems: ['crm', 'erp', 'shop', 'hr'] }), [
			change('hr', 'h1', { email: 'd1@x.io', phone: '2' }),
		]);
		expect(r.conflicts).toEqual([expect.objectContaining({ kind: 'ambiguous-match', key: null })]);
		expect(r.conflicts[0].competing).toHaveLength(2);
		expect(r.changes).toEqual([]);
		expect(await store.findLink('contact', 'hr', 'h1')).toBeNull();
		expect((await store.listConflicts({ status: 'open' })).map((c) => c.kind)).toContain('ambiguous-match');
	});

	it('merges changes to different fields from two systems without losing either', async () => {
		const r = await round(store, [change('crm', 'm1', { email: 'm@x.io', name: 'Max', city: 'Rome' })]);
		const key = r.changes[0].item.key as string;
		const both = await round(store, [
			change('crm', 'm1', { email: 'm@x.io', name: 'Maxine', city: 'Rome' }),
			change('erp', `erp-${key}`, { email: 'm@x.io', name: 'Max', city: 'Oslo' }),
		]);
		expect((await store.getGolden('contact', key))?.data).toEqual({ email: 'm@x.io', name: 'Maxine', city: 'Oslo' });
		expect(both.conflicts).toEqual([]);
		const targets = both.changes.map((c) => c.item.system).sort();
		expect(targets).toEqual(['crm', 'erp', 'shop']);
	});

	it('settles a field changed on both sides by system priority and keeps the loser in the conflict record', async () => {
		const r = await round(store, [change('crm', 'p1', { email: 'p@x.io', name: 'Pat' })]);
		const key = r.changes[0].item.key as string;
		await round(store, [change('crm', 'p1', { email: 'p@x.io', name: 'Patricia' })]);
		// erp still has "Pat" as base (its write of Patricia is committed, so simulate a stale base via shop's own edit)
		const erpBase = (await store.findLink('contact', 'shop', `shop-${key}`))?.base;
		expect(erpBase?.name).toBe('Patricia');
		await store.transaction((tx) => tx.saveLinks([{ entity: 'contact', key, system: 'shop', externalId: `shop-${key}`, base: { email: 'p@x.io', name: 'Pat' }, writtenHash: null, writtenAt: null, sourceAt: null }]));
		const loser = await round(store, [change('shop', `shop-${key}`, { email: 'p@x.io', name: 'Patty' })]);
		expect((await store.getGolden('contact', key))?.data.name).toBe('Patricia');
		expect(loser.changes.map((c) => c.item.system)).toEqual(['shop']);
		expect(loser.conflicts).toEqual([expect.objectContaining({ kind: 'field', status: 'resolved', fields: ['name'] })]);
		const [conflict] = await store.listConflicts({ key, status: 'resolved' });
		expect(conflict.competing.map((c) => c.value)).toEqual(expect.arrayContaining(['Patty', 'Patricia', 'Pat']));
	});

	it('last write wins uses the source times, ties by priority', async () => {
		const lww = { policy: { kind: 'lastWriteWins' as const, priority: ['erp', 'crm', 'shop'] } };
		const r = await round(store, [change('crm', 'l1', { email: 'l@x.io', n: 1 }, { changedAt: '2024-01-01T00:00:00Z' })], lww);
		const key = r.changes[0].item.key as string;
		// The write of n = 2 to erp has not happened yet (resolve without commit) when erp changes n itself.
		await resolve(store, options(lww), [change('crm', 'l1', { email: 'l@x.io', n: 2 }, { changedAt: '2024-01-02T00:00:00Z' })]);
		await resolve(store, options(lww), [change('erp', `erp-${key}`, { email: 'l@x.io', n: 3 }, { changedAt: '2024-01-01T12:00:00Z' })]);
		expect((await store.getGolden('contact', key))?.data.n).toBe(2);
		await resolve(store, options(lww), [change('erp', `erp-${key}`, { email: 'l@x.io', n: 4 }, { changedAt: '2024-01-03T00:00:00Z' })]);
		expect((await store.getGolden('contact', key))?.data.n).toBe(4);
		await resolve(store, options(lww), [change('crm', 'l1', { email: 'l@x.io', n: 5 }, { changedAt: '2024-01-03T00:00:00Z' })]);
		expect((await store.getGolden('contact', key))?.data.n).toBe(4);
	});

	it('manual review keeps the golden value, opens a conflict and does not overwrite the pending value', async () => {
		const manual = { policy: { kind: 'manual' as const } };
		const r = await round(store, [change('crm', 'v1', { email: 'v@x.io', name: 'Vic' })], manual);
		const key = r.changes[0].item.key as string;
		await resolve(store, options(manual), [change('crm', 'v1', { email: 'v@x.io', name: 'Victor' })]);
		const review = await round(store, [change('erp', `erp-${key}`, { email: 'v@x.io', name: 'Vicky' })], manual);
		expect(review.conflicts).toEqual([expect.objectContaining({ kind: 'field', status: 'open', fields: ['name'], key })]);
		expect(review.changes.map((c) => c.item.system)).not.toContain('erp');
		expect((await store.getGolden('contact', key))?.data.name).toBe('Victor');
		const again = await resolve(store, options(manual), [change('erp', `erp-${key}`, { email: 'v@x.io', name: 'Vicky' })]);
		expect(again.skipped).toEqual([expect.objectContaining({ reason: 'conflict-pending' })]);
	});

	it('keeps data when the winning value is empty, unless the rule says erase', async () => {
		const r = await round(store, [change('crm', 'e1', { email: 'e@x.io', phone: '555' })]);
		const key = r.changes[0].item.key as string;
		await round(store, [change('crm', 'e1', { email: 'e@x.io', phone: '' })]);
		expect((await store.getGolden('contact', key))?.data.phone).toBe('555');
		await round(store, [change('crm', 'e1', { email: 'e@x.io', phone: null })], { emptyValueRule: 'erase' });
		expect((await store.getGolden('contact', key))?.data.phone).toBeNull();
	});

	it('propagates a delete to every linked system and drops the links after the writes', async () => {
		const r = await round(store, [change('crm', 'x1', { email: 'x@x.io' })]);
		const key = r.changes[0].item.key as string;
		const del = await round(store, [removal('crm', 'x1')]);
		expect(del.changes.map((c) => [c.item.system, c.item.op, c.item.id])).toEqual([
			['erp', 'delete', `erp-${key}`],
			['shop', 'delete', `shop-${key}`],
		]);
		expect((await store.getGolden('contact', key))?.deleted).toBe(true);
		expect(await store.getLinks('contact', key)).toEqual([]);
	});

	it('treats edit versus delete as a conflict', async () => {
		const r = await round(store, [change('crm', 'y1', { email: 'y@x.io', name: 'Yo' })]);
		const key = r.changes[0].item.key as string;
		await resolve(store, options(), [change('erp', `erp-${key}`, { email: 'y@x.io', name: 'Yolanda' })]);
		const del = await resolve(store, options(), [removal('crm', 'y1')]);
		expect(del.conflicts).toEqual([expect.objectContaining({ kind: 'edit-delete', fields: ['name'] })]);
		expect((await store.getGolden('contact', key))?.deleted).toBe(false);
	});

	it('holds deletes for approval, ignores them, or soft-deletes, as the sync says', async () => {
		const a = await round(store, [change('crm', 'z1', { email: 'z1@x.io' })]);
		const held = await round(store, [removal('crm', 'z1')], { deletePolicy: 'approval' });
		expect(held.conflicts).toEqual([expect.objectContaining({ kind: 'delete-approval' })]);
		expect((await store.getGolden('contact', a.changes[0].item.key as string))?.deleted).toBe(false);

		const b = await round(store, [change('crm', 'z2', { email: 'z2@x.io' })]);
		const ignored = await round(store, [removal('crm', 'z2')], { deletePolicy: 'ignore' });
		expect(ignored.skipped).toEqual([expect.objectContaining({ reason: 'delete-ignored' })]);
		expect(ignored.changes).toEqual([]);
		expect((await store.getLinks('contact', b.changes[0].item.key as string)).map((l) => l.system)).toEqual(['erp', 'shop']);

		const c = await round(store, [change('crm', 'z3', { email: 'z3@x.io' })]);
		const soft = await round(store, [removal('crm', 'z3')], { deletePolicy: 'soft' });
		expect(soft.changes).toEqual([]);
		const key = c.changes[0].item.key as string;
		expect(await store.getGolden('contact', key)).toEqual(expect.objectContaining({ deleted: true, data: { email: 'z3@x.io' } }));
		const revived = await round(store, [change('erp', `erp-${key}`, { email: 'z3@x.io', name: 'Zed' })], { deletePolicy: 'soft' });
		expect(revived.changes.map((ch) => [ch.item.system, ch.item.id])).toEqual([
			['crm', null],
			['shop', `shop-${key}`],
		]);
	});

	it('skips stale deliveries: an older change of a record, or a late one of a deleted record', async () => {
		const at = (h: number) => `2024-06-01T${String(h).padStart(2, '0')}:00:00Z`;
		const r = await round(store, [change('crm', 'st1', { email: 'st@x.io', name: 'New' }, { changedAt: at(10) })]);
		const key = r.changes[0].item.key as string;
		const old = await resolve(store, options(), [change('crm', 'st1', { email: 'st@x.io', name: 'Old' }, { changedAt: at(9) })]);
		expect(old.skipped).toEqual([expect.objectContaining({ reason: 'stale' })]);
		expect((await store.getGolden('contact', key))?.data.name).toBe('New');

		const gone = await resolve(store, options(), [removal('crm', 'st2', { changedAt: at(12) })]);
		expect(gone.skipped).toEqual([expect.objectContaining({ reason: 'unknown-record' })]);
		const late = await resolve(store, options(), [change('crm', 'st2', { email: 'st2@x.io' }, { changedAt: at(11) })]);
		expect(late.skipped).toEqual([expect.objectContaining({ reason: 'stale' })]);
		const restored = await resolve(store, options(), [change('crm', 'st2', { email: 'st2@x.io' }, { changedAt: at(13) })]);
		expect(restored.skipped).toEqual([]);
		expect(await store.findLink('contact', 'crm', 'st2')).not.toBeNull();
	});

	it('a dry run returns the whole plan and stores nothing', async () => {
		const dry = await resolve(store, options({ dryRun: true }), [change('crm', 'q1', { email: 'q@x.io' })]);
		expect(dry.changes).toHaveLength(2);
		expect(await store.findLink('contact', 'crm', 'q1')).toBeNull();
		expect(await store.listGolden('contact')).toEqual([]);
	});

	it('moves the cursor only after the writes succeeded, from the source values', async () => {
		const opts = options();
		const item = change('crm', 'k1', { email: 'k@x.io' }, { trace: { runId: 'r', origin: 'crm', hops: 0, cursor: { ts: '2024-03-01T00:00:00Z', id: 'k1' } } });
		const r = await resolve(store, opts, [item]);
		expect(await store.getCursor('contacts', 'crm', 'contact')).toBeNull();
		const [erp, shop] = r.changes.map((c) => c.item);
		const first = await commit(store, { sync: 'contacts', runId: opts.runId }, [{ ...shop, key: shop.key as string, error: 'HTTP 500' }, { ...erp, key: erp.key as string, id: 'E1' }]);
		expect(first).toEqual(expect.objectContaining({ committed: 1, failed: 1, waiting: 1, cursors: [] }));
		expect(await store.getCursor('contacts', 'crm', 'contact')).toBeNull();
		const retry = await resolve(store, options({ runId: 'retry' }), [item]);
		expect(retry.changes.map((c) => c.item.system)).toEqual(['shop']);
		const second = await commit(store, { sync: 'contacts', runId: 'retry' }, [{ ...retry.changes[0].item, key: shop.key as string, id: 'S1' }]);
		expect(second.cursors).toEqual([{ system: 'crm', entity: 'contact', ts: '2024-03-01T00:00:00Z', id: 'k1' }]);
		expect(await store.getCursor('contacts', 'crm', 'contact')).toEqual({ ts: '2024-03-01T00:00:00Z', id: 'k1' });
	});

	it('pairs results by key and system, whatever their order, and reports strays', async () => {
		const opts = options();
		const r = await resolve(store, opts, [change('crm', 'o1', { email: 'o1@x.io' }), change('crm', 'o2', { email: 'o2@x.io' })]);
		const results = r.changes.map((c) => ({ ...c.item, key: c.item.key as string, id: `${c.item.system}:${c.item.data.email}` })).reverse();
		const out = await commit(store, { sync: 'contacts', runId: opts.runId }, [...results, { ...results[0] }, { ...results[0], key: 'nope' }]);
		expect(out.committed).toBe(4);
		expect(out.unmatched.map((u) => u.index)).toEqual([4, 5]);
		expect((await store.findLink('contact', 'shop', 'shop:o2@x.io'))?.key).toBe(r.changes.find((c) => c.item.data.email === 'o2@x.io')?.item.key);
		const run = await store.getRun(opts.runId);
		expect(run?.metrics).toEqual(expect.objectContaining({ received: 2, created: 2, planned: 4, written: 4 }));
	});

	it('names the record and the field of bad input and leaves the store as it was', async () => {
		await expect(resolve(store, options(), [change('crm', 'ok', { email: 'ok@x.io' }), { ...change('crm', 'b', {}), shape: 'system' }])).rejects.toThrow(
			/item 1 \(contact \/ crm \/ b\): field "shape"/,
		);
		await expect(resolve(store, options(), [change('nowhere', 'b', {})])).rejects.toThrow(/field "system"/);
		await expect(resolve(store, options(), [change('crm', 'b', {}, { changedAt: 'yesterday' })])).rejects.toThrow(/field "changedAt"/);
		await expect(commit(store, { sync: 's', runId: 'r' }, [{ entity: 'contact', system: 'crm', key: '', id: '1' }])).rejects.toThrow(/result 0.*field "key"/);
		expect(await store.findLink('contact', 'crm', 'ok')).toBeNull();
	});

	it('keeps sensitive fields out of the store but still sends them with the change', async () => {
		const r = await round(store, [change('crm', 's1', { email: 's@x.io', ssn: '123-45' })], { sensitiveFields: ['ssn'] });
		expect(r.changes[0].item.data.ssn).toBe('123-45');
		const key = r.changes[0].item.key as string;
		expect((await store.getGolden('contact', key))?.data).toEqual({ email: 's@x.io' });
		const everything = JSON.stringify([await store.getLinks('contact', key), await store.audit({ key }), await store.listConflicts({ key })]);
		expect(everything).not.toContain('123-45');
	});
});
