import { SyncItemError } from '../../../lib/item';
import { compileMapping, compileWrap, mapSyncItem, shippedMapping, type WrapSettings } from '../../../lib/mapping';

const mapping = compileMapping(shippedMapping('contact'));
const settings = (more: Partial<WrapSettings> = {}): WrapSettings => ({ entity: 'contact', system: 'erp', shape: 'system', runId: 'run-1', ...more });

describe('wrapping raw records', () => {
	it('takes the id from the system mapping\'s id field by default', () => {
		const item = compileWrap(settings(), mapping).wrap({ contact_id: 12, email: 'a@b.de' }, 0);
		expect(item).toEqual({
			entity: 'contact',
			system: 'erp',
			id: '12',
			op: 'upsert',
			shape: 'system',
			data: { contact_id: 12, email: 'a@b.de' },
			trace: { runId: 'run-1', origin: 'erp', hops: 0 },
		});
	});

	it('reads id, op, changedAt and actor from the named fields or paths', () => {
		const wrap = compileWrap(settings({ idField: 'meta.id', opField: 'meta.op', changedAtField: 'meta.at', actorField: 'meta.by' }), mapping);
		expect(wrap.wrap({ meta: { id: 'k-1', op: 'DELETE', at: '2024-05-01 10:00:00', by: 'ann' } }, 0)).toMatchObject({
			id: 'k-1',
			op: 'delete',
			changedAt: '2024-05-01T10:00:00.000Z',
			actor: 'ann',
		});
	});

	it.each([
		['2024-01-01T12:00:00+01:00', '2024-01-01T11:00:00.000Z'],
		['Mon, 01 Jan 2024 12:00:00 +0000', '2024-01-01T12:00:00.000Z'],
		[1704110400, '2024-01-01T12:00:00.000Z'],
		[1704110400000, '2024-01-01T12:00:00.000Z'],
	])('reads changedAt %j', (value, iso) => {
		expect(compileWrap(settings({ changedAtField: 'at' }), mapping).wrap({ at: value }, 0).changedAt).toBe(iso);
	});

	it.each([[true, 'delete'], [false, 'upsert'], [null, 'upsert'], ['upsert', 'upsert']])('reads op %j', (value, op) => {
		expect(compileWrap(settings({ opField: 'deleted' }), mapping).wrap({ deleted: value }, 0).op).toBe(op);
	});

	it('makes a record without id a create', () => {
		expect(compileWrap(settings({ idField: 'id' }), mapping).wrap({ id: '' }, 0).id).toBeNull();
	});

	it('names the item and field of a record it cannot wrap', () => {
		const wrap = compileWrap(settings({ opField: 'op', changedAtField: 'at' }), mapping);
		expect(() => wrap.wrap({ op: 'merge' }, 3)).toThrow(/item 3 \(contact \/ erp\): op field "op" must be "upsert", "delete"/);
		expect(() => wrap.wrap({ at: 'soon' }, 4)).toThrow(/item 4 .*changedAt field "at" is not a date-time/);
		expect(() => wrap.wrap({ contact_id: { x: 1 } }, 5)).toThrow(/id field "contact_id" must be a string or a number/);
		expect(() => wrap.wrap([1, 2], 6)).toThrow(SyncItemError);
		expect(() => compileWrap(settings({ system: ' ' }), mapping)).toThrow(/"system" must name the system/);
		expect(() => compileWrap(settings({ idField: 'a..b' }), mapping)).toThrow(/"idField" "a\.\.b" is not a field name/);
	});
});

describe('mapping items', () => {
	const trace = { runId: 'r', origin: 'crm', hops: 3, cursor: { ts: '2024-01-01T00:00:00Z', id: '9' } };
	const item = { entity: 'contact', system: 'crm', id: '9', op: 'upsert' as const, shape: 'system' as const, data: { email: 'a@b.de', lifecycleStage: 'lead' }, trace, changedAt: '2024-01-01T00:00:00Z', key: 'k9' };

	it('flips the shape and keeps everything else, trace included', () => {
		const outcome = mapSyncItem(mapping, item, 'toCanonical', 0);
		expect(outcome).toEqual({ valid: true, item: { ...item, shape: 'canonical', data: { email: 'a@b.de', status: 'lead' } } });
	});

	it('lets a delete through with what data could be mapped', () => {
		expect(mapSyncItem(mapping, { ...item, op: 'delete', data: {} }, 'toCanonical', 0)).toEqual({ valid: true, item: { ...item, op: 'delete', shape: 'canonical', data: {} } });
	});

	it('refuses items of another entity, of the wrong shape or of an unknown system', () => {
		expect(() => mapSyncItem(mapping, { ...item, entity: 'order' }, 'toCanonical', 2)).toThrow(/item 2 \(order \/ crm \/ 9\): field "entity" is "order" but this Mapper maps "contact"/);
		expect(() => mapSyncItem(mapping, item, 'fromCanonical', 2)).toThrow(/field "shape" must be "canonical" here/);
		expect(() => mapSyncItem(mapping, { ...item, system: 'sap' }, 'toCanonical', 2)).toThrow(/no mapping for system "sap"/);
	});

	it('refuses to use a one-way mapping the other way', () => {
		const oneWay = compileMapping({ entity: 'contact', systems: { crm: { direction: 'toCanonical', fields: [{ canonical: 'email', system: 'email' }] } } });
		expect(() => mapSyncItem(oneWay, { ...item, shape: 'canonical' }, 'fromCanonical', 0)).toThrow(/one-way \("toCanonical"\) and cannot map from canonical/);
	});
});
