/**
 * Deliveries of one record that overtake each other. A sender posts only the fields that changed and
 * does not wait for our answer: the newer delivery is applied first, the older one arrives after it.
 * Every field edit must reach the golden record and the other system; a value only loses to a newer
 * value of the same field (and then stays in the audit). Both store backends.
 */
import { commit, type WriteResult } from '../../../lib/engine/commit';
import { resolve } from '../../../lib/engine/resolve';
import type { SyncItem } from '../../../lib/item';
import { describeOnBackends } from './backends';
import { change, options } from './fixtures';

const at = (m: number) => `2031-03-01T10:${String(m).padStart(2, '0')}:00.000Z`;
const SYSTEMS = ['crm', 'erp'];

describeOnBackends('overtaken deliveries on %s', (ctx) => {

	const opts = (extra = {}) => options({ systems: SYSTEMS, policy: { kind: 'priority', priority: SYSTEMS }, ...extra });

	/** Resolve, "write" every planned change (the target's new version is `version`), commit. */
	async function run(items: SyncItem[], version = at(59), extra = {}) {
		const o = opts(extra);
		const r = await resolve(ctx.store, o, items);
		const writes: WriteResult[] = r.changes.map(({ item }) => ({
			entity: item.entity,
			system: item.system,
			key: item.key as string,
			op: item.op,
			id: item.id ?? `erp-${item.data.email}`,
			data: item.data,
			changedAt: version,
		}));
		if (writes.length) await commit(ctx.store, { sync: o.sync, runId: o.runId }, writes);
		return { ...r, runId: o.runId };
	}

	/** A contact read whole from crm at minute 0 and written to erp. */
	async function contact(email: string): Promise<string> {
		const r = await run([change('crm', `c-${email}`, { email, name: 'Ann', phone: '1', city: 'Oslo' }, { changedAt: at(0) })], at(1));
		return r.changes[0].item.key as string;
	}

	it('an older delivery of other fields, arriving after a newer one, still brings its fields to the golden record and the target', async () => {
		const key = await contact('a@x.io');
		// Minute 5: the phone changed; minute 3 (sent before it, arrives after it): the city changed.
		await run([change('crm', 'c-a@x.io', { phone: '2' }, { changedAt: at(5) })]);
		const late = await run([change('crm', 'c-a@x.io', { city: 'Rome' }, { changedAt: at(3) })]);
		expect(late.skipped).toEqual([]);
		expect(late.changes.map((c) => [c.item.system, c.item.data])).toEqual([['erp', expect.objectContaining({ phone: '2', city: 'Rome' })]]);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ name: 'Ann', phone: '2', city: 'Rome' });
		const link = await ctx.store.findLink('contact', 'crm', 'c-a@x.io');
		// The newest change time stays the newer delivery's; the city is known as of minute 3.
		expect(link).toMatchObject({ sourceAt: at(5), partial: { readAt: at(0), at: expect.objectContaining({ phone: at(5), city: at(3), name: at(0) }) } });
	});

	it('a field the newer delivery also carried keeps the newer value; the older value stays in the audit, its other fields are applied', async () => {
		const key = await contact('b@x.io');
		await run([change('crm', 'c-b@x.io', { phone: '3' }, { changedAt: at(7) })]);
		const late = await run([change('crm', 'c-b@x.io', { phone: '2', city: 'Bergen' }, { changedAt: at(4) })]);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ phone: '3', city: 'Bergen' });
		expect(late.changes.map((c) => c.item.data)).toEqual([expect.objectContaining({ phone: '3', city: 'Bergen' })]);
		const skips = (await ctx.store.audit({ runId: late.runId })).filter((a) => a.action === 'skip');
		expect(skips).toEqual([expect.objectContaining({ key, after: { phone: '2' }, error: expect.stringContaining('stale: newer changes of phone') })]);
	});

	it('three partial deliveries in reverse order: every field ends at its newest value', async () => {
		const key = await contact('c@x.io');
		await run([change('crm', 'c-c@x.io', { name: 'Cy', phone: '9' }, { changedAt: at(9) })]);
		await run([change('crm', 'c-c@x.io', { phone: '8', city: 'Turku' }, { changedAt: at(8) })]);
		await run([change('crm', 'c-c@x.io', { name: 'Bo', city: 'Lund', phone: '7' }, { changedAt: at(7) })]);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ name: 'Cy', phone: '9', city: 'Turku' });
		const erp = await ctx.store.findLink('contact', 'erp', 'erp-c@x.io');
		expect(erp?.base).toMatchObject({ name: 'Cy', phone: '9', city: 'Turku' });
	});

	it('the same deliveries in one batch, newest first, give the same record', async () => {
		const key = await contact('d@x.io');
		await run([
			change('crm', 'c-d@x.io', { phone: '5' }, { changedAt: at(5) }),
			change('crm', 'c-d@x.io', { city: 'Rome', phone: '4' }, { changedAt: at(3) }),
		]);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ phone: '5', city: 'Rome' });
	});

	it('an older delivery whose every field was set since is skipped as stale, with its values in the audit', async () => {
		const key = await contact('e@x.io');
		await run([change('crm', 'c-e@x.io', { phone: '6', city: 'Kyiv' }, { changedAt: at(6) })]);
		const late = await run([change('crm', 'c-e@x.io', { city: 'Riga' }, { changedAt: at(2) })]);
		expect(late.skipped).toEqual([expect.objectContaining({ reason: 'stale' })]);
		expect(late.changes).toEqual([]);
		expect((await ctx.store.getGolden('contact', key))?.data.city).toBe('Kyiv');
	});

	it('after whole reads the link keeps no per-field times, and an older delivery of a read field is stale', async () => {
		await contact('f@x.io');
		expect((await ctx.store.findLink('contact', 'crm', 'c-f@x.io'))?.partial ?? null).toBeNull();
		await run([change('crm', 'c-f@x.io', { phone: '2' }, { changedAt: at(5) })]);
		expect((await ctx.store.findLink('contact', 'crm', 'c-f@x.io'))?.partial).not.toBeNull();
		// A full read (the poll) at minute 10: every field known at that time again, the map is dropped.
		await run([change('crm', 'c-f@x.io', { email: 'f@x.io', name: 'Ann', phone: '2', city: 'Oslo' }, { changedAt: at(10) })]);
		expect((await ctx.store.findLink('contact', 'crm', 'c-f@x.io'))?.partial ?? null).toBeNull();
		const late = await run([change('crm', 'c-f@x.io', { city: 'Nice' }, { changedAt: at(8) })]);
		expect(late.skipped).toEqual([expect.objectContaining({ reason: 'stale' })]);
	});

	it('a record created by a partial delivery takes an older delivery of the fields it did not carry', async () => {
		const r = await run([change('crm', 'c-g', { email: 'g@x.io', name: 'Gil' }, { changedAt: at(5) })]);
		const key = r.changes[0].item.key as string;
		await run([change('crm', 'c-g', { email: 'g@x.io', phone: '42', name: 'Old' }, { changedAt: at(2) })]);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ name: 'Gil', phone: '42' });
	});

	it('a record known in part is not written blind: the plan expects the version last read in full, a stale answer waits for the next full read', async () => {
		const key = await contact('w@x.io');
		// crm's phone changes at minute 5 (a partial webhook); its city changed at minute 4, that webhook was lost.
		await run([change('crm', 'c-w@x.io', { phone: '5' }, { changedAt: at(5) })]);
		// erp's edit is to be written to crm: against minute 0, the last version of crm's row read whole.
		const o = opts();
		const r = await resolve(ctx.store, o, [change('erp', 'erp-w@x.io', { email: 'w@x.io', name: 'Wen', phone: '5', city: 'Oslo' }, { changedAt: '2031-03-01T11:00:00.000Z' })]);
		const toCrm = r.changes.find((c) => c.item.system === 'crm')!.item;
		expect(toCrm.trace.version).toBe(at(0));
		// crm's row is at minute 5: the guarded write answers stale. The store read minute 5 only in part, so
		// nothing is planned again at once (that would write over the city it never saw).
		const out = await commit(ctx.store, { sync: o.sync, runId: o.runId }, [
			{ entity: 'contact', system: 'crm', key, op: 'upsert', id: 'c-w@x.io', data: toCrm.data, outcome: 'stale', changedAt: at(5) },
		]);
		expect(out.retries).toEqual([]);
		// The poll reads records known in part by id: crm's whole row (city of minute 4 included) is merged.
		expect(await ctx.store.unreadLinks('contact', 'crm')).toEqual(['c-w@x.io']);
		await run([change('crm', 'c-w@x.io', { email: 'w@x.io', name: 'Ann', phone: '5', city: 'Lima' }, { changedAt: at(5) })]);
		expect(await ctx.store.unreadLinks('contact', 'crm')).toEqual([]);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ name: 'Wen', city: 'Lima', phone: '5' });
	});

	it('a record first seen through a change of some fields (trace.partial) is written nowhere until read whole: no half record in another system', async () => {
		const partial = { trace: { runId: 'r', origin: 'crm', hops: 0, partial: true } };
		const first = await run([change('crm', 'c-h', { email: 'h@x.io', name: 'Hal' }, { changedAt: at(5), ...partial })]);
		expect(first.changes).toEqual([]);
		expect(await ctx.store.unreadLinks('contact', 'crm')).toEqual(['c-h']);
		// A second partial change: still nothing known in full, still nothing written.
		expect((await run([change('crm', 'c-h', { phone: '9' }, { changedAt: at(6), ...partial })])).changes).toEqual([]);
		// crm's whole row, read by id at the poll: now erp gets the whole record.
		const whole = await run([change('crm', 'c-h', { email: 'h@x.io', name: 'Hal', phone: '9', city: 'Rome' }, { changedAt: at(6) })]);
		expect(whole.changes.map((c) => [c.item.system, c.item.id, c.item.data])).toEqual([['erp', null, { email: 'h@x.io', name: 'Hal', phone: '9', city: 'Rome' }]]);
		expect(await ctx.store.unreadLinks('contact', 'crm')).toEqual([]);
	});

	it('a record one system first sees through a change of some fields and another holds whole: the other is written, the first not until read whole', async () => {
		const first = await run([change('crm', 'c-p', { email: 'p@x.io', name: 'Pia' }, { changedAt: at(5), trace: { runId: 'r', origin: 'crm', hops: 0, partial: true } })]);
		expect(first.changes).toEqual([]);
		expect(await ctx.store.findLink('contact', 'crm', 'c-p')).toMatchObject({ partial: { readAt: null } });
		// erp's copy of the same contact (found by its e-mail) is read whole: nothing is planned to crm,
		// whose other fields the store never saw.
		const edit = await run([change('erp', 'erp-p@x.io', { email: 'p@x.io', name: 'Pia', phone: '77' }, { changedAt: '2031-03-01T11:00:00.000Z' })]);
		const key = (await ctx.store.findLink('contact', 'erp', 'erp-p@x.io'))!.key;
		expect((await ctx.store.findLink('contact', 'crm', 'c-p'))!.key).toBe(key);
		expect(edit.changes.filter((c) => c.item.system === 'crm')).toEqual([]);
		expect(await ctx.store.unreadLinks('contact', 'crm')).toEqual(['c-p']);
		// crm's whole row, read by id at the poll: merged, and now the phone is written to crm.
		const whole = await run([change('crm', 'c-p', { email: 'p@x.io', name: 'Pia', phone: null, tier: 'gold' }, { changedAt: at(5) })]);
		expect(whole.changes.map((c) => [c.item.system, c.item.data.phone, c.item.data.tier])).toEqual(
			expect.arrayContaining([['crm', '77', 'gold']]),
		);
		expect((await ctx.store.getGolden('contact', key))?.data).toMatchObject({ phone: '77', tier: 'gold' });
	});

	it('leaves of a nested object: an older delivery of address.city after a newer one of address.street keeps both, and the address its other leaves', async () => {
		const r = await run([change('crm', 'c-n', { email: 'n@x.io', name: 'Noa', address: { street: 'Main 1', city: 'Oslo', zip: '0150' } }, { changedAt: at(0) })], at(1));
		const key = r.changes[0].item.key as string;
		await run([change('crm', 'c-n', { email: 'n@x.io', address: { street: 'Side 2' } }, { changedAt: at(5) })]);
		expect((await ctx.store.getGolden('contact', key))?.data.address).toEqual({ street: 'Side 2', city: 'Oslo', zip: '0150' });
		const late = await run([change('crm', 'c-n', { email: 'n@x.io', address: { city: 'Bergen', street: 'Old 0' } }, { changedAt: at(3) })]);
		expect((await ctx.store.getGolden('contact', key))?.data.address).toEqual({ street: 'Side 2', city: 'Bergen', zip: '0150' });
		expect(late.changes.map((c) => c.item.data.address)).toEqual([{ street: 'Side 2', city: 'Bergen', zip: '0150' }]);
		const [skip] = (await ctx.store.audit({ runId: late.runId })).filter((a) => a.action === 'skip');
		expect(skip).toMatchObject({ after: { address: { street: 'Old 0' } } });
	});

	it('a Resolver-sensitive field is never taken from an older delivery over a newer full read', async () => {
		const o = { sensitiveFields: ['ssn'] };
		const first = await run([change('crm', 'c-h', { email: 'h@x.io', name: 'Hal', ssn: 'new' }, { changedAt: at(6) })], at(7), o);
		expect(first.changes).toHaveLength(1);
		const late = await run([change('crm', 'c-h', { ssn: 'old', city: 'Pisa' }, { changedAt: at(3) })], at(8), o);
		// The city is new and planned to erp; the ssn of minute 3 is not (minute 6's value stays there).
		expect(late.changes.map((c) => c.item.data.city)).toEqual(['Pisa']);
		expect(late.changes.map((c) => c.item.data.ssn)).toEqual([undefined]);
	});
});
