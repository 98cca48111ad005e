/**
 * Hostile input through the DataSync Mapper node in n8n-core (issue 13, item 3): what the mapping engine
 * refuses (test/unit/mapping/hostile.test.ts) lands on the node's Invalid output, naming the record and
 * the field, while the good items of the same run pass; pasted definitions with errors stop the node
 * with a message naming the row; the wrap option's bad ids name the field.
 */
import { DataSyncMapper } from '../../nodes/DataSyncMapper/DataSyncMapper.node';
import { runNode } from '../helpers/run-node';
import { assertNoPollution } from '../unit/fuzz/properties';

const MAPPING = {
	entity: 'contact',
	canonical: { fields: { email: { type: 'string', required: true, email: true }, birthDate: { type: 'date' } }, sensitive: ['nationalId'] },
	systems: {
		erp: {
			idField: 'contact_id',
			unmapped: 'keep',
			sensitive: ['national_id'],
			fields: [
				{ canonical: 'email', system: 'email' },
				{ canonical: 'name', system: 'name' },
				{ canonical: 'birthDate', system: 'birth_date', transform: 'date', options: { format: 'dd/MM/yyyy' } },
			],
		},
	},
};

const parameters = { mappingSource: 'json', mappingJson: JSON.stringify(MAPPING), direction: 'toCanonical' };

function erp(id: number, data: Record<string, unknown>) {
	return { entity: 'contact', system: 'erp', id: String(id), op: 'upsert', shape: 'system', data: { contact_id: id, national_id: 'SECRET-ID', ...data }, trace: { runId: 'r', origin: 'erp', hops: 0 } };
}

afterEach(() => assertNoPollution());

describe('DataSync Mapper node: hostile records go to Invalid, naming the record and the field', () => {
	it.each<[string, Record<string, unknown>, string, string]>([
		['a NUL byte in a name', { email: 'a@example.com', name: 'Ada\u0000' }, 'name', 'text'],
		['a lone surrogate in a name', { email: 'a@example.com', name: 'Ada\uD800' }, 'name', 'text'],
		['29 February 2023', { email: 'a@example.com', birth_date: '29/02/2023' }, 'birth_date', 'format'],
		['an email that is a number', { email: 42 }, 'email', 'type'],
		['SQL in place of an email', { email: "x'; DROP TABLE contacts; --" }, 'email', 'email'],
		['a "__proto__" field kept as unmapped', JSON.parse('{"email":"a@example.com","__proto__":{"polluted":1}}') as Record<string, unknown>, '__proto__', 'unmapped'],
	])('%s', async (_label, data, field, rule) => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters,
			input: [{ json: erp(1, { email: 'good@example.com', name: 'Good' }) }, { json: erp(2, data) }],
		});
		expect(error).toBeUndefined();
		const [valid, invalid] = outputs;
		expect(valid.map((o) => [o.json.id, o.pairedItem])).toEqual([['1', { item: 0 }]]);
		expect(invalid).toHaveLength(1);
		expect(invalid[0].pairedItem).toEqual({ item: 1 });
		const errors = invalid[0].json.errors as Array<{ id: string; field: string; rule: string; message: string }>;
		expect(errors.map((e) => [e.id, e.field, e.rule])).toEqual([['2', field, rule]]);
		expect(errors[0].message.startsWith(`contact 2 in erp: field "${field}" `)).toBe(true);
		expect(JSON.stringify(invalid)).not.toContain('SECRET-ID');
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it.each([
		['a path through __proto__', { ...MAPPING, systems: { erp: { fields: [{ canonical: '__proto__.polluted', system: 'email' }] } } }, /system "erp", row 1: canonical field "__proto__\.polluted" is not a field name or dotted path \("__proto__" is reserved/],
		['two rows to one canonical field', { ...MAPPING, systems: { erp: { fields: [{ canonical: 'email', system: 'email' }, { canonical: 'email', system: 'mail' }] } } }, /system "erp": canonical field "email" \(row 2\) overlaps "email" \(row 1\)/],
		['an unknown rule', { ...MAPPING, canonical: { fields: { email: { maxLen: 5 } } } }, /field "email" has an unknown rule "maxLen"/],
	])('a definition pasted with %s stops the node, naming where', async (_label, doc, message) => {
		const { error } = await runNode(DataSyncMapper, { parameters: { ...parameters, mappingJson: JSON.stringify(doc) }, input: [{ json: erp(1, { email: 'a@example.com' }) }] });
		expect(error?.message).toMatch(message);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it('the wrap option names the id field of a record whose id is an object or holds a NUL byte', async () => {
		for (const id of [{ $oid: '1' }, 'a\u0000b']) {
			const { error } = await runNode(DataSyncMapper, {
				parameters: { ...parameters, input: 'raw', wrapSystem: 'erp' },
				input: [{ json: { contact_id: id, email: 'a@example.com' } }],
			});
			expect(error?.message).toMatch(/item 0 \(contact \/ erp\): id field "contact_id" must be/);
		}
	});
});
