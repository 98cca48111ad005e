/**
 * The golden record's per-field origins as stored: one shared origin plus exceptions (what a record read
 * or written whole has), read back field for field; rows in the older plain form still read as they are.
 */
import { packOrigins, unpackOrigins } from '../../../lib/engine/store/store';
import type { GoldenRecord } from '../../../lib/engine/store/types';
import { describeOnBackends } from './backends';

const A = { system: 'crm', at: '2031-01-01T10:00:00.000Z' };
const B = { system: 'erp', at: '2031-01-01T11:00:00.000Z' };

describe('packOrigins / unpackOrigins', () => {
	it.each([
		['every field from one change', { email: 'a', name: 'b', phone: 'c' }, { email: A, name: A, phone: A }],
		['one field from another system', { email: 'a', name: 'b', phone: 'c' }, { email: A, name: B, phone: A }],
		['a field with no origin', { email: 'a', name: 'b', phone: 'c' }, { email: A, name: A }],
		['an origin of a field no longer in the data', { email: 'a', name: 'b' }, { email: A, name: A, gone: B }],
		['a field named __proto__', JSON.parse('{"__proto__":"x","email":"a","name":"b"}'), JSON.parse(`{"__proto__":${JSON.stringify(A)},"email":${JSON.stringify(A)},"name":${JSON.stringify(B)}}`)],
		['all different', { email: 'a', name: 'b' }, { email: A, name: B }],
		['one field', { email: 'a' }, { email: A }],
	])('%s: read back equal', (_name, data, fields) => {
		const stored = JSON.parse(JSON.stringify(packOrigins(data, fields)));
		expect(unpackOrigins(data, stored)).toEqual(fields);
		expect(Object.keys(unpackOrigins(data, stored)).sort()).toEqual(Object.keys(fields).sort());
	});

	it('stores the shared origin once: a whole record of eight fields takes a fraction of the plain map', () => {
		const data = Object.fromEntries(['email', 'firstName', 'lastName', 'phone', 'birthDate', 'status', 'marketingOptIn', 'address'].map((f) => [f, 'v']));
		const fields = Object.fromEntries(Object.keys(data).map((f) => [f, A]));
		expect(JSON.stringify(packOrigins(data, fields)).length).toBeLessThan(JSON.stringify(fields).length / 5);
	});
});

describeOnBackends('golden origins in the store on %s', (ctx) => {

	it('a golden record saved with mixed origins reads back field for field; an old plain-map row reads as it is', async () => {
		const g: GoldenRecord = { entity: 'contact', key: 'k1', data: { email: 'a@x.io', name: 'Ann', phone: '1' }, fields: { email: A, name: B, phone: A }, version: 1, deleted: false, updatedAt: A.at };
		await ctx.store.transaction((tx) => tx.saveGolden([g], [], new Set(['k1'])));
		expect((await ctx.store.getGolden('contact', 'k1'))?.fields).toEqual(g.fields);
		const [{ fields }] = await ctx.store.driver.all<{ fields: string }>(`SELECT fields FROM golden_record WHERE key = 'k1'`);
		expect(Array.isArray(JSON.parse(String(fields)))).toBe(true);
		await ctx.store.driver.run(`UPDATE golden_record SET fields = ? WHERE key = 'k1'`, [JSON.stringify({ email: B, name: B })]);
		expect((await ctx.store.getGolden('contact', 'k1'))?.fields).toEqual({ email: B, name: B });
	});
});
