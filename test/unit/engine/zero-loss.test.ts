/**
 * The engine's side of "no lost edit, no duplicate": first-sync identity within a batch, the target's
 * version carried by each plan, and what Commit does with every outcome of a conditional write
 * (written, matched, stale, target-deleted, ambiguous, failed) — on both store backends.
 */
import { commit, type WriteResult } from '../../../lib/engine/commit';
import { resolveConflict } from '../../../lib/engine/conflicts';
import { guard } from '../../../lib/engine/guard';
import { resolve } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import type { SyncItem } from '../../../lib/item';
import { BACKENDS } from './backends';
import { change, options, removal } from './fixtures';

const T1 = '2031-01-01T10:00:00.000Z';
const T2 = '2031-01-01T10:05:00.000Z';
const T3 = '2031-01-01T10:09:00.000Z';

function result(item: SyncItem, extra: Partial<WriteResult>): WriteResult {
	return { entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id, data: item.data, ...extra };
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))('zero loss on %s', (_name, make) => {
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

	/** A contact made in crm and written to erp (version T1 there); returns its key. */
	async function linked(email: string, data: Record<string, unknown> = {}): Promise<string> {
		const o = options({ systems: ['crm', 'erp'], policy: { kind: 'priority', priority: ['crm', 'erp'] } });
		const r = await resolve(store, o, [change('crm', `c-${email}`, { email, name: 'Ann', phone: '1', ...data }, { changedAt: T1 })]);
		const [create] = r.changes.map((c) => c.item);
		await commit(store, { sync: o.sync, runId: o.runId }, [result(create, { id: `e-${email}`, changedAt: T1 })]);
		return create.key as string;
	}

	it('links records of two systems that share a match key in one batch: no create for the second', async () => {
		const o = options({ systems: ['crm', 'erp'], policy: { kind: 'priority', priority: ['crm', 'erp'] } });
		const r = await resolve(store, o, [
			change('crm', 'c1', { email: 'Ann.Lee@example.com', name: 'Ann', phone: '1' }),
			change('erp', 'e1', { email: '  ann.lee@EXAMPLE.com ', name: 'Ann', phone: '2', city: 'Oslo' }),
		]);
		expect(r.conflicts.filter((c) => c.kind === 'duplicate-link' || c.kind === 'ambiguous-match')).toEqual([]);
		expect(r.changes.map((c) => [c.item.system, c.item.id])).toEqual([
			['crm', 'c1'],
			['erp', 'e1'],
		]);
		// crm wins the phone and the e-mail's spelling (resolved conflicts keep erp's values), erp's city is taken.
		expect(r.changes[1].item.data).toMatchObject({ email: 'Ann.Lee@example.com', phone: '1', city: 'Oslo' });
		expect(r.conflicts.map((c) => [c.kind, c.status, c.fields])).toEqual([
			['field', 'resolved', ['email']],
			['field', 'resolved', ['phone']],
		]);
		expect(r.conflicts[1].competing.map((c) => c.value)).toEqual(expect.arrayContaining(['1', '2']));
	});

	it('compares match keys in Unicode NFC; "field:exact" compares as is', async () => {
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [change('crm', 'n1', { email: 'ÉMILE@x.io' }), change('erp', 'n2', { email: 'e\u0301mile@x.io' })]);
		// One golden record: erp's record is linked (written as crm spells it), nothing is created.
		expect(r.changes.map((c) => [c.item.system, c.item.id])).toEqual([['erp', 'n2']]);
		const exact = await resolve(store, options({ systems: ['crm', 'erp'], matchKeys: ['sku:exact'] }), [
			change('crm', 'x1', { sku: 'AB-1' }),
			change('erp', 'x2', { sku: 'ab-1' }),
		]);
		expect(exact.changes.filter((c) => c.item.id === null)).toHaveLength(2);
		await expect(resolve(store, options({ matchKeys: ['sku:fuzzy'] }), [])).rejects.toThrow('"matchKeys": match key "sku:fuzzy"');
	});

	it('a plan carries the target version last read or written; a write reports the target\'s own new version', async () => {
		const key = await linked('v@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [change('crm', 'c-v@x.io', { email: 'v@x.io', name: 'Ann', phone: '9' }, { changedAt: T2 })]);
		const [upd] = r.changes.map((c) => c.item);
		expect(upd).toMatchObject({ system: 'erp', id: 'e-v@x.io', trace: { version: T1 } });
		await commit(store, { sync: o.sync, runId: o.runId }, [result(upd, { changedAt: T3 })]);
		expect((await store.findLink('contact', 'erp', 'e-v@x.io'))).toMatchObject({ key, sourceAt: T3, base: expect.objectContaining({ phone: '9' }) });
	});

	it('matched: the record already in the target is linked unread, nothing is written to it before it is read, and its values meet the golden record then', async () => {
		const o = options({ systems: ['crm', 'erp'], policy: { kind: 'priority', priority: ['crm', 'erp'] } });
		const r = await resolve(store, o, [change('crm', 'm1', { email: 'm@x.io', name: 'Mo', phone: '1' })]);
		const [create] = r.changes.map((c) => c.item);
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [result(create, { id: 'e-77', outcome: 'matched', changedAt: T1 })]);
		expect(out).toMatchObject({ committed: 1, waiting: 0, outcomes: { matched: 1 } });
		expect(await store.findLink('contact', 'erp', 'e-77')).toMatchObject({ key: create.key, base: {}, sourceAt: null });
		// A crm edit before erp's record is read: not written over erp's unread values (the version check
		// alone could not protect them: erp's record is still at the version the lookup found).
		const edit = await resolve(store, options({ systems: ['crm', 'erp'], policy: { kind: 'priority', priority: ['crm', 'erp'] } }), [
			change('crm', 'm1', { email: 'm@x.io', name: 'Mo', phone: '1', tier: 'gold' }, { changedAt: T1 }),
		]);
		expect(edit.changes.map((c) => [c.item.system, c.item.id])).toEqual([]);
		// erp's own copy is read later: linked by id, merged under the policy (nothing of it silently dropped).
		const later = await resolve(store, options({ systems: ['crm', 'erp'], policy: { kind: 'priority', priority: ['crm', 'erp'] } }), [
			change('erp', 'e-77', { email: 'm@x.io', name: 'Mo', phone: '2', city: 'Rome' }, { changedAt: T1 }),
		]);
		expect(later.conflicts.map((c) => [c.kind, c.status, c.fields])).toEqual([['field', 'resolved', ['phone']]]);
		expect(later.changes.map((c) => [c.item.system, c.item.id, c.item.data.phone, c.item.data.city, c.item.data.tier])).toEqual([
			['crm', 'm1', '1', 'Rome', 'gold'],
			['erp', 'e-77', '1', 'Rome', 'gold'],
		]);
		expect(later.changes[1].item.trace.version).toBe(T1);
		expect((await store.listConflicts({ status: 'open' })).filter((c) => c.kind === 'duplicate-link')).toEqual([]);
	});

	it('a create another execution has in flight is not planned again (the run holds its cursor); once that execution fails it is', async () => {
		const o1 = options({ systems: ['crm', 'erp'] });
		const first = await resolve(store, o1, [change('crm', 'f1', { email: 'f@x.io', name: 'Fe' }, { changedAt: T1 })]);
		expect(first.changes.map((c) => [c.item.system, c.item.id])).toEqual([['erp', null]]);
		// A second execution reads the same record (a webhook and the poll) before the first commits.
		const o2 = options({ systems: ['crm', 'erp'] });
		const second = await resolve(store, o2, [change('crm', 'f1', { email: 'f@x.io', name: 'Fee' }, { changedAt: T2, trace: { runId: 'x', origin: 'crm', hops: 0, cursor: { ts: T2, id: 'f1' } } })]);
		expect(second.changes).toEqual([]);
		// The second run waits for that create: its cursor does not move past the record (the poll reads it again).
		expect(await commit(store, { sync: o2.sync, runId: o2.runId }, [])).toMatchObject({ waiting: 1, cursors: [] });
		// The first execution's write fails: the next change plans the create.
		await commit(store, { sync: o1.sync, runId: o1.runId }, [result(first.changes[0].item, { error: 'connection refused' })]);
		const third = await resolve(store, options({ systems: ['crm', 'erp'] }), [change('crm', 'f1', { email: 'f@x.io', name: 'Fee', phone: '3' }, { changedAt: T3 })]);
		expect(third.changes.map((c) => [c.item.system, c.item.id, c.item.data.name, c.item.data.phone])).toEqual([['erp', null, 'Fee', '3']]);
	});

	it('stale, not yet read: nothing overwritten, the values stay in the audit, the run does not wait', async () => {
		await linked('s@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [change('crm', 'c-s@x.io', { email: 's@x.io', name: 'Ann', phone: '5' }, { changedAt: T2, trace: { runId: 'x', origin: 'crm', hops: 0, cursor: { ts: T2, id: 'c-s@x.io' } } })]);
		const [upd] = r.changes.map((c) => c.item);
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [result(upd, { outcome: 'stale', changedAt: T3 })]);
		expect(out).toMatchObject({ committed: 0, failed: 0, waiting: 0, retries: [], outcomes: { stale: 1 } });
		expect(out.cursors).toEqual([{ system: 'crm', entity: 'contact', ts: T2, id: 'c-s@x.io' }]);
		const audit = await store.audit({ runId: o.runId });
		expect(audit.find((a) => a.action === 'write')).toMatchObject({ outcome: 'skipped', after: expect.objectContaining({ phone: '5' }), error: expect.stringContaining('stale target') });
		// erp's own change (the reason it moved) arrives: merged against erp's base, both edits kept.
		const theirs = await resolve(store, options({ systems: ['crm', 'erp'] }), [change('erp', 'e-s@x.io', { email: 's@x.io', name: 'Bea', phone: '1' }, { changedAt: T3 })]);
		expect(theirs.changes.map((c) => [c.item.system, c.item.data.name, c.item.data.phone, c.item.trace.version])).toEqual([
			['crm', 'Bea', '5', T2],
			['erp', 'Bea', '5', T3],
		]);
	});

	it('stale, already read by another execution: planned again at once from the golden record, against that version', async () => {
		const key = await linked('r@x.io');
		const o1 = options({ systems: ['crm', 'erp'] });
		const first = await resolve(store, o1, [change('crm', 'c-r@x.io', { email: 'r@x.io', name: 'Ann', phone: '5' }, { changedAt: T2 })]);
		// Meanwhile erp's change is resolved by another execution (it reads erp at version T3).
		const o2 = options({ systems: ['crm', 'erp'] });
		await resolve(store, o2, [change('erp', 'e-r@x.io', { email: 'r@x.io', name: 'Bea', phone: '1' }, { changedAt: T3 })]);
		const [upd] = first.changes.map((c) => c.item);
		const out = await commit(store, { sync: o1.sync, runId: o1.runId }, [result(upd, { outcome: 'stale', changedAt: T3 })]);
		expect(out.waiting).toBe(1);
		expect(out.retries).toEqual([expect.objectContaining({ system: 'erp', id: 'e-r@x.io', key, data: expect.objectContaining({ name: 'Bea', phone: '5' }), trace: expect.objectContaining({ version: T3 }) })]);
		const done = await commit(store, { sync: o1.sync, runId: o1.runId }, [result(out.retries[0], { changedAt: '2031-01-01T10:10:00.000Z' })]);
		expect(done).toMatchObject({ committed: 1, waiting: 0 });
		expect((await store.findLink('contact', 'erp', 'e-r@x.io'))?.base).toMatchObject({ name: 'Bea', phone: '5' });
	});

	it('target-deleted opens an edit-delete conflict and keeps the link (nothing re-inserted); ambiguous opens an ambiguous-match conflict', async () => {
		await linked('d@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [
			change('crm', 'c-d@x.io', { email: 'd@x.io', name: 'Ann', phone: '7' }, { changedAt: T2 }),
			change('crm', 'amb', { email: 'amb@x.io', name: 'Am' }),
		]);
		const [upd, create] = r.changes.map((c) => c.item);
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [
			result(upd, { outcome: 'target-deleted' }),
			result(create, { id: null, outcome: 'ambiguous', detail: 'rows 4, 9 of table "erp" all match by email' }),
		]);
		expect(out).toMatchObject({ waiting: 0, outcomes: { 'target-deleted': 1, ambiguous: 1 } });
		const open = await store.listConflicts({ status: 'open' });
		expect(open.map((c) => [c.kind, c.system]).sort()).toEqual([
			['ambiguous-match', 'erp'],
			['edit-delete', 'erp'],
		]);
		expect(await store.findLink('contact', 'erp', 'e-d@x.io')).not.toBeNull();
	});

	it('two golden records found to be one customer are merged: the create that found the other\'s record moves the links, unread, and no duplicate-link is opened', async () => {
		const two = { systems: ['crm', 'erp', 'shop'], policy: { kind: 'priority' as const, priority: ['crm', 'erp', 'shop'] } };
		const first = await linked('g@x.io');
		// crm deletes the customer; the delete towards erp fails: erp's record is still linked to the deleted golden record.
		const od = options(two);
		const del = await resolve(store, od, [removal('crm', 'c-g@x.io', { changedAt: T2 })]);
		const toErp = del.changes.find((c) => c.item.system === 'erp')!.item;
		await commit(store, { sync: od.sync, runId: od.runId }, [result(toErp, { error: 'connection refused' })]);
		// The customer comes back through the shop: a new golden record (the deleted one matches nothing).
		const o = options(two);
		const back = await resolve(store, o, [change('shop', 's1', { email: 'g@x.io', name: 'Gia', phone: '3' }, { changedAt: T3 })]);
		const second = back.changes[0].item.key as string;
		expect(second).not.toBe(first);
		const [toCrm, toErp2] = ['crm', 'erp'].map((s) => back.changes.find((c) => c.item.system === s)!.item);
		// erp's create finds the record linked to the deleted golden record: the two golden records become one.
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [result(toCrm, { id: 'c-new', changedAt: T3 }), result(toErp2, { id: 'e-g@x.io', outcome: 'matched', changedAt: T1 })]);
		expect(out).toMatchObject({ committed: 2, failed: 0, waiting: 0 });
		expect(await store.findLink('contact', 'erp', 'e-g@x.io')).toMatchObject({ key: second, base: {}, sourceAt: null });
		expect((await store.listLinks('contact')).filter((l) => l.key === first)).toEqual([]);
		expect(await store.getGolden('contact', first)).toMatchObject({ deleted: true });
		expect(await store.getGolden('contact', second)).toMatchObject({ deleted: false });
		expect((await store.audit({ runId: o.runId })).find((a) => a.action === 'merge')).toMatchObject({ key: second, error: expect.stringContaining(`golden record ${first} merged into ${second}`) });
		expect((await store.listConflicts({ status: 'open' })).filter((c) => c.kind === 'duplicate-link')).toEqual([]);
		// erp's own values are read next: merged into the one golden record under the policy (erp ranks
		// above the shop), written to the others.
		const read = await resolve(store, options(two), [change('erp', 'e-g@x.io', { email: 'g@x.io', name: 'Ann', phone: '1', city: 'Oslo' }, { changedAt: T1 })]);
		expect(read.changes.map((c) => [c.item.system, c.item.key, c.item.data.name, c.item.data.city]).sort()).toEqual([
			['crm', second, 'Ann', 'Oslo'],
			['shop', second, 'Ann', 'Oslo'],
		]);
	});

	it('target-deleted for a record the golden record is no longer linked to: tombstoned, no conflict, the change goes to the live record', async () => {
		const key = await linked('t@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		const first = await resolve(store, o, [change('crm', 'c-t@x.io', { email: 't@x.io', name: 'Ann', phone: '8' }, { changedAt: T2 })]);
		// Meanwhile erp's record was deleted there and the golden record got a new erp record (e-t2, version T3).
		const link = (await store.findLink('contact', 'erp', 'e-t@x.io'))!;
		await store.transaction((tx) => tx.saveLinks([{ ...link, externalId: 'e-t2', sourceAt: T3, writtenAt: T3 }]));
		const [upd] = first.changes.map((c) => c.item);
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [result(upd, { id: 'e-t@x.io', outcome: 'target-deleted' })]);
		expect((await store.listConflicts({ status: 'open' })).filter((c) => c.kind === 'edit-delete')).toEqual([]);
		expect(out.retries).toEqual([expect.objectContaining({ system: 'erp', id: 'e-t2', key, data: expect.objectContaining({ phone: '8' }), trace: expect.objectContaining({ version: T3 }) })]);
		expect(await store.findLink('contact', 'erp', 'e-t2')).toMatchObject({ key });
		// A late delivery of the dead record does not bring it back.
		const late = await resolve(store, options({ systems: ['crm', 'erp'] }), [change('erp', 'e-t@x.io', { email: 't@x.io', name: 'Old' }, { changedAt: T1 })]);
		expect(late.changes).toEqual([]);
	});

	it('a planned change the outgoing Mapper refused (its Invalid output) is recorded, naming the field, and does not hold the cursor', async () => {
		await linked('inv@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [change('crm', 'c-inv@x.io', { email: 'inv@x.io', name: 'Ann', phone: '99' }, { changedAt: T2, trace: { runId: 'x', origin: 'crm', hops: 0, cursor: { ts: T2, id: 'c-inv@x.io' } } })]);
		const [upd] = r.changes.map((c) => c.item);
		const refused = { ...result(upd, {}), errors: [{ entity: 'contact', system: 'erp', id: upd.id, field: 'phone_number', rule: 'pattern', message: 'erp record e-inv@x.io: field "phone_number" must match [0-9 ]{5,}, got "99"' }] };
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [refused]);
		expect(out).toMatchObject({ committed: 0, failed: 1, rejected: 1, waiting: 0 });
		expect(out.cursors).toEqual([{ system: 'crm', entity: 'contact', ts: T2, id: 'c-inv@x.io' }]);
		const [entry] = (await store.audit({ runId: o.runId })).filter((a) => a.action === 'write');
		expect(entry).toMatchObject({ outcome: 'failed', after: expect.objectContaining({ phone: '99' }), error: expect.stringContaining('field "phone_number"') });
		// The golden record keeps the change: the next change of the record plans it again.
		const next = await resolve(store, options({ systems: ['crm', 'erp'] }), [change('crm', 'c-inv@x.io', { email: 'inv@x.io', name: 'Ann', phone: '99 000' }, { changedAt: T3 })]);
		expect(next.changes.map((c) => [c.item.system, c.item.data.phone])).toEqual([['erp', '99 000']]);
	});

	it('a failed write with entity, system and key is recorded against its planned change (the run waits for it)', async () => {
		await linked('f@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [change('crm', 'c-f@x.io', { email: 'f@x.io', name: 'Ann', phone: '8' }, { changedAt: T2 })]);
		const [upd] = r.changes.map((c) => c.item);
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [{ entity: 'contact', system: 'erp', key: upd.key as string, id: upd.id, op: 'upsert', error: 'connection refused' }]);
		expect(out).toMatchObject({ committed: 0, failed: 1, waiting: 1 });
	});

	it('a delete of a record never linked, delivered twice in one batch, is remembered once (Postgres refused the batch)', async () => {
		const o = options({ systems: ['crm', 'erp'] });
		const r = await resolve(store, o, [removal('crm', 'gone-1', { changedAt: T1 }), removal('crm', 'gone-1', { changedAt: T2 })]);
		expect(r.skipped.map((k) => k.reason)).toEqual(['unknown-record', 'unknown-record']);
		const late = await resolve(store, options({ systems: ['crm', 'erp'] }), [change('crm', 'gone-1', { email: 'g1@x.io' }, { changedAt: T1 })]);
		expect(late.skipped).toEqual([expect.objectContaining({ reason: 'stale' })]);
	});

	it('a create whose row is deleted in the target before its Commit (the delete read first) is not linked to the dead row: an edit-delete conflict', async () => {
		const o = options({ systems: ['crm', 'erp'], policy: { kind: 'priority', priority: ['crm', 'erp'] } });
		const r = await resolve(store, o, [change('crm', 'dd1', { email: 'dd1@x.io', name: 'Dee' }, { changedAt: T1 })]);
		const [create] = r.changes.map((c) => c.item);
		// erp's user deletes the row the lookup found; the poll reads that delete before this run's Commit.
		const poll = await resolve(store, options({ systems: ['crm', 'erp'] }), [removal('erp', 'e-dd1', { changedAt: T2 })]);
		expect(poll.skipped.map((k) => k.reason)).toEqual(['unknown-record']);
		const out = await commit(store, { sync: o.sync, runId: o.runId }, [result(create, { id: 'e-dd1', outcome: 'matched', changedAt: T1 })]);
		expect(out.outcomes).toMatchObject({ matched: 0, 'target-deleted': 1 });
		expect(await store.findLink('contact', 'erp', 'e-dd1')).toBeNull();
		const [conflict] = (await store.listConflicts({ status: 'open' })).filter((c) => c.key === create.key);
		expect(conflict).toMatchObject({ kind: 'edit-delete', system: 'erp', externalId: 'e-dd1' });
		// A row that came back after its delete (a restore) is linked as usual.
		const o2 = options({ systems: ['crm', 'erp'] });
		const again = await resolve(store, o2, [change('crm', 'dd2', { email: 'dd2@x.io' }, { changedAt: T1 })]);
		await resolve(store, options({ systems: ['crm', 'erp'] }), [removal('erp', 'e-dd2', { changedAt: T1 })]);
		const [c2] = again.changes.map((c) => c.item);
		await commit(store, { sync: o2.sync, runId: o2.runId }, [result(c2, { id: 'e-dd2', outcome: 'matched', changedAt: T3 })]);
		expect(await store.findLink('contact', 'erp', 'e-dd2')).toMatchObject({ key: c2.key });
	});

	it('an edit of a deleted record that waits for review keeps the link at its version: a revival written meanwhile cannot pass over it', async () => {
		const key = await linked('rv@x.io');
		const o = options({ systems: ['crm', 'erp'], deletePolicy: 'propagate' });
		// crm deletes the contact; erp's user edits it at T3 (its delete planned there comes back stale).
		await resolve(store, o, [removal('crm', 'c-rv@x.io', { changedAt: T2 })]);
		expect((await store.getGolden('contact', key))?.deleted).toBe(true);
		const edit = await resolve(store, options({ systems: ['crm', 'erp'], deletePolicy: 'propagate' }), [
			change('erp', 'e-rv@x.io', { email: 'rv@x.io', name: 'Ann', phone: '1', tier: 'gold' }, { changedAt: T3 }),
		]);
		expect(edit.conflicts.map((c) => c.kind)).toEqual(['edit-delete']);
		// erp's record at T3 is in the conflict, not in the base: a write to erp still expects T1.
		expect(await store.findLink('contact', 'erp', 'e-rv@x.io')).toMatchObject({ sourceAt: T1, base: expect.not.objectContaining({ tier: 'gold' }) });
		// Dismissed (the delete stands): the delete goes to erp against the version of the edit the reviewer saw.
		const [conflict] = (await store.listConflicts({ status: 'open' })).filter((c) => c.key === key && c.kind === 'edit-delete');
		const dismissed = await resolveConflict(store, conflict.id, { action: 'dismiss' }, options({ systems: ['crm', 'erp'], deletePolicy: 'propagate' }));
		expect(dismissed.changes.map((c) => [c.item.system, c.item.op, c.item.trace.version])).toEqual([['erp', 'delete', T3]]);
	});

	it('a change skipped as stale keeps its values in the audit', async () => {
		await linked('o@x.io');
		const o = options({ systems: ['crm', 'erp'] });
		await resolve(store, o, [change('crm', 'c-o@x.io', { email: 'o@x.io', name: 'Ann', phone: 'late' }, { changedAt: '2030-01-01T00:00:00.000Z' })]);
		const [skip] = (await store.audit({ runId: o.runId })).filter((a) => a.action === 'skip');
		expect(skip).toMatchObject({ error: expect.stringContaining('stale'), after: expect.objectContaining({ phone: 'late' }) });
	});
});

describe.each(BACKENDS.map((make) => [make().name, make] as const))('duplicate window on %s', (_name, make) => {
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

	it('a re-delivery after an execution whose write failed is handled, not dropped as a duplicate; after a good one it is', async () => {
		const delivery = change('crm', 'dw1', { email: 'dw1@x.io', name: 'Di' }, { changedAt: T1 });
		const o1 = options({ systems: ['crm', 'erp'] });
		expect((await guard(store, { sync: o1.sync, runId: o1.runId }, [delivery])).passed).toHaveLength(1);
		const r1 = await resolve(store, o1, [delivery]);
		await commit(store, { sync: o1.sync, runId: o1.runId }, r1.changes.map((c) => ({ ...result(c.item, {}), error: 'connection refused' })));
		// The sender (or the poll) delivers it again: not a duplicate of a failed run.
		const o2 = options({ systems: ['crm', 'erp'] });
		expect((await guard(store, { sync: o2.sync, runId: o2.runId }, [delivery])).passed).toHaveLength(1);
		const r2 = await resolve(store, o2, [delivery]);
		expect(r2.changes.map((c) => [c.item.system, c.item.id])).toEqual([['erp', null]]);
		await commit(store, { sync: o2.sync, runId: o2.runId }, r2.changes.map((c) => result(c.item, { id: 'e-dw1', changedAt: T2 })));
		const o3 = options({ systems: ['crm', 'erp'] });
		expect((await guard(store, { sync: o3.sync, runId: o3.runId }, [delivery])).blocked.map((b) => b.reason)).toEqual(['duplicate-delivery']);
	});
});
