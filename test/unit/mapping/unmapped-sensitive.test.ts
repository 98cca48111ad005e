import { compileMapping, mapSyncItem, type MappingDocument } from '../../../lib/mapping';
import type { SyncItem } from '../../../lib/item';
import { broken, data, oneSystem } from './helpers';

const rows = [{ canonical: 'name', system: 'name' }, { canonical: 'city', system: 'address.city' }];
const record = { id: 7, name: 'Zoë', address: { city: 'Köln', zip: '50667' }, extra: [1, 2], pw: 'SECRET-PW' };

describe('fields without correspondence', () => {
	it('drops them', () => {
		expect(data(oneSystem(rows, { idField: 'id', sensitive: ['pw'] }).toCanonical(record, '7'))).toEqual({ name: 'Zoë', city: 'Köln' });
	});

	it('keeps them by path in a side field, filed under the system, and gives them back to that system only', () => {
		const m = oneSystem(rows, { idField: 'id', sensitive: ['pw'], unmapped: 'keep' });
		const canonical = data(m.toCanonical(record, '7'));
		expect(canonical).toEqual({ name: 'Zoë', city: 'Köln', _unmapped: { sys: { 'address.zip': '50667', extra: [1, 2] } } });
		expect(data(m.toSystem(canonical, '7'))).toEqual({ name: 'Zoë', address: { city: 'Köln', zip: '50667' }, extra: [1, 2] });
		expect(data(m.toSystem({ ...canonical, _unmapped: { other: { x: 1 } } }, '7'))).toEqual({ name: 'Zoë', address: { city: 'Köln' } });
	});

	it('keeps canonical fields the system has no place for in a side field of the system record', () => {
		const m = oneSystem(rows, { unmapped: { toCanonical: 'drop', toSystem: 'keep' }, sideField: 'custom_fields' });
		expect(data(m.toSystem({ name: 'A', loyalty: { tier: 'gold' } }, '1'))).toEqual({ name: 'A', custom_fields: { loyalty: { tier: 'gold' } } });
	});

	it('fails the record, naming each field', () => {
		const m = oneSystem(rows, { idField: 'id', sensitive: ['pw'], unmapped: 'fail' });
		expect(broken(m.toCanonical(record, '7'))).toEqual([['address.zip', 'unmapped'], ['extra', 'unmapped']]);
		expect(broken(m.toSystem({ name: 'A', nickname: 'B' }, '7'))).toEqual([['nickname', 'unmapped']]);
		expect(broken(m.toCanonical({ id: 1, name: 'A', pw: 'x' }, '1'))).toEqual([]);
	});
});

describe('sensitive fields', () => {
	const doc: MappingDocument = {
		entity: 'user',
		canonical: { fields: { name: { required: true, maxLength: 3 } }, sensitive: ['passwordHash', 'auth.mfaSecret'] },
		systems: {
			sys: {
				idField: 'id',
				unmapped: 'keep',
				sensitive: ['pw', 'auth.secret', 'national_id'],
				fields: [{ canonical: 'name', system: 'name' }, { canonical: 'born', system: 'born', transform: 'date', options: { format: 'dd/MM/yyyy' } }],
			},
		},
	};
	const mapping = compileMapping(doc);
	const trace = { runId: 'r', origin: 'sys', hops: 0 };
	const item = (shape: 'system' | 'canonical', data: Record<string, unknown>): SyncItem => ({ entity: 'user', system: 'sys', id: '1', op: 'upsert', shape, data, trace });
	const secrets = { pw: 'SECRET-1', auth: { secret: 'SECRET-2', kind: 'totp' }, national_id: 'SECRET-3' };

	it('never leaves the mapper on the way in, not even in the side field', () => {
		const outcome = mapSyncItem(mapping, item('system', { id: 1, name: 'Ann', ...secrets }), 'toCanonical', 0);
		expect(outcome.valid).toBe(true);
		expect(outcome.item.data).toEqual({ name: 'Ann', _unmapped: { sys: { 'auth.kind': 'totp' } } });
		expect(JSON.stringify(outcome)).not.toMatch(/SECRET/);
	});

	it('never leaves the mapper on the way out', () => {
		const canonical = { name: 'Ann', passwordHash: 'SECRET-4', auth: { mfaSecret: 'SECRET-5' }, _unmapped: { sys: { pw: 'SECRET-6', 'auth.kind': 'totp' } } };
		const outcome = mapSyncItem(mapping, item('canonical', canonical), 'fromCanonical', 0);
		expect(outcome.valid).toBe(true);
		expect(outcome.item.data).toEqual({ name: 'Ann', auth: { kind: 'totp' } });
		expect(JSON.stringify(outcome)).not.toMatch(/SECRET/);
	});

	it('is never in an invalid record or its errors', () => {
		const outcome = mapSyncItem(mapping, item('system', { id: 1, name: 'Annabel', born: '31/02/2000', ...secrets }), 'toCanonical', 0);
		expect(outcome.valid).toBe(false);
		expect(outcome.item).toMatchObject({ shape: 'system', data: { id: 1, name: 'Annabel', born: '31/02/2000', auth: { kind: 'totp' } } });
		expect((outcome.item as { errors: unknown[] }).errors).toHaveLength(2);
		expect(JSON.stringify(outcome)).not.toMatch(/SECRET/);
	});
});
