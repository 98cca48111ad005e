import { DataSyncMapper } from '../../nodes/DataSyncMapper/DataSyncMapper.node';
import { parseSyncItem } from '../../lib/item';
import { SHIPPED_MAPPINGS, compileMapping } from '../../lib/mapping';
import { runNode } from '../helpers/run-node';

const trace = { runId: 'r1', origin: 'erp', hops: 2 };

function erpContact(id: number, overrides: Record<string, unknown> = {}) {
	return {
		entity: 'contact',
		system: 'erp',
		id: String(id),
		op: 'upsert',
		shape: 'system',
		data: {
			contact_id: id,
			email: `user${id}@example.com`,
			first_name: 'Zoë',
			last_name: 'Müller',
			birth_date: '29/02/2000',
			status_code: 'A',
			marketing_opt_in: 'N',
			country_code: 'de',
			changed_at: '31/03/2024 03:30:00',
			national_id: 'SECRET-NATIONAL-ID',
			password_hash: '$2b$12$SECRETHASH',
			...overrides,
		},
		trace,
	};
}

const shipped = (name: string, direction: string) => ({ mappingSource: 'shipped', shippedMapping: name, direction });

describe('DataSync Mapper node', () => {
	it('maps system items to canonical ones with a shipped mapping, shape flipped, hops unchanged', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: shipped('contact', 'toCanonical'),
			input: [{ json: erpContact(1) }],
		});
		expect(error).toBeUndefined();
		const [valid, invalid] = outputs;
		expect(invalid).toEqual([]);
		expect(valid).toHaveLength(1);
		expect(valid[0].pairedItem).toEqual({ item: 0 });
		const item = parseSyncItem(valid[0].json, 0);
		expect(item).toMatchObject({ entity: 'contact', system: 'erp', id: '1', op: 'upsert', shape: 'canonical', trace });
		expect(item.data).toEqual({
			email: 'user1@example.com',
			firstName: 'Zoë',
			lastName: 'Müller',
			birthDate: '2000-02-29',
			status: 'active',
			marketingOptIn: false,
			address: { country: 'DE' },
			updatedAt: '2024-03-31T01:30:00.000Z',
		});
		expect(JSON.stringify(valid[0].json)).not.toMatch(/SECRET/);
	});

	it('maps canonical items to the system each item names', async () => {
		const canonical = { email: 'a@example.com', status: 'lead', birthDate: '1990-12-31', address: { postalCode: '10115' } };
		const input = ['crm', 'erp', 'shop'].map((system) => ({
			json: { entity: 'contact', system, id: null, op: 'upsert', shape: 'canonical', data: canonical, trace },
		}));
		const { outputs, error } = await runNode(DataSyncMapper, { parameters: shipped('contact', 'fromCanonical'), input });
		expect(error).toBeUndefined();
		expect(outputs[0].map((o) => o.json.data)).toEqual([
			{ email: 'a@example.com', lifecycleStage: 'lead', birthDate: '1990-12-31', postalCode: '10115' },
			{ email: 'a@example.com', status_code: 'L', birth_date: '31/12/1990', postal_code: '10115' },
			{ email: 'a@example.com', state: 'PROSPECT', birthday: '12/31/1990', address: { zip: '10115' } },
		]);
		expect(outputs[0].map((o) => [o.json.shape, o.json.system, o.pairedItem])).toEqual([
			['system', 'crm', { item: 0 }],
			['system', 'erp', { item: 1 }],
			['system', 'shop', { item: 2 }],
		]);
	});

	it('writes amounts in each currency\'s minor units and times as the target system keeps them', async () => {
		const order = (orderNumber: string, currency: string, total: string) => ({
			json: {
				entity: 'order',
				system: 'shop',
				id: null,
				op: 'upsert',
				shape: 'canonical',
				data: { orderNumber, customerEmail: 'a@example.com', status: 'paid', currency, total, orderedAt: '2024-02-29T23:30:00.000Z' },
				trace,
			},
		});
		const { outputs } = await runNode(DataSyncMapper, {
			parameters: shipped('order', 'fromCanonical'),
			input: [order('SO-1', 'JPY', '1999'), order('SO-2', 'USD', '19.99'), order('SO-3', 'KWD', '1.999'), order('SO-4', 'JPY', '19.99')],
		});
		expect(outputs[0].map((o) => (o.json.data as Record<string, unknown>).total)).toEqual([1999, 1999, 1999]);
		expect(outputs[0].map((o) => (o.json.data as Record<string, unknown>).currency)).toEqual(['jpy', 'usd', 'kwd']);
		expect((outputs[0][0].json.data as Record<string, unknown>).created_at).toBe(1709249400);
		expect(outputs[1].map((o) => o.json.errors)).toEqual([[expect.objectContaining({ field: 'total', rule: 'currency' })]]);
	});

	it('sends invalid records to the Invalid output with errors naming entity, id, field and rule, without sensitive values', async () => {
		const { outputs } = await runNode(DataSyncMapper, {
			parameters: shipped('contact', 'toCanonical'),
			input: [
				{ json: erpContact(1) },
				{ json: erpContact(2, { birth_date: '31/02/2024', email: 'not-an-email' }) },
				{ json: erpContact(3, { changed_at: '31/03/2024 02:30:00' }) },
			],
		});
		const [valid, invalid] = outputs;
		expect(valid.map((v) => v.pairedItem)).toEqual([{ item: 0 }]);
		expect(invalid.map((v) => v.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
		const errors = invalid.map((v) => v.json.errors as Array<Record<string, unknown>>);
		expect(errors[0]).toEqual([
			expect.objectContaining({ entity: 'contact', system: 'erp', id: '2', field: 'birth_date', rule: 'format' }),
			expect.objectContaining({ entity: 'contact', system: 'erp', id: '2', field: 'email', rule: 'email' }),
		]);
		expect(errors[0][0].message).toMatch(/contact 2 in erp: field "birth_date" .*31\/02\/2024/);
		expect(errors[1]).toEqual([expect.objectContaining({ id: '3', field: 'changed_at', rule: 'format' })]);
		expect(errors[1][0].message).toMatch(/daylight saving/);
		// The invalid record is kept for review, in its input shape, without its sensitive fields.
		expect(invalid[0].json.shape).toBe('system');
		expect((invalid[0].json.data as Record<string, unknown>).first_name).toBe('Zoë');
		expect(JSON.stringify(invalid)).not.toMatch(/SECRET/);
	});

	it('wraps raw records from any node into DataSync items', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: {
				...shipped('contact', 'toCanonical'),
				input: 'raw',
				wrapSystem: 'shop',
				wrapOptions: { opField: 'deleted', changedAtField: 'updated_at', actorField: 'meta.editor' },
			},
			input: [
				{ json: { id: 7, email: 'raw@example.com', state: 'ACTIVE', updated_at: 1704067200000, meta: { editor: 'ann' }, password_digest: 'SECRET' } },
				{ json: { email: 'new@example.com', state: 'PROSPECT' } },
				{ json: { id: 'x-9', email: 'gone@example.com', state: 'DISABLED', deleted: true } },
			],
			executionId: 'exec-42',
		});
		expect(error).toBeUndefined();
		const items = outputs[0].map((o, i) => parseSyncItem(o.json, i));
		expect(items[0]).toEqual({
			entity: 'contact',
			system: 'shop',
			id: '7',
			op: 'upsert',
			shape: 'canonical',
			data: { email: 'raw@example.com', status: 'active', updatedAt: '2024-01-01T00:00:00.000Z' },
			changedAt: '2024-01-01T00:00:00.000Z',
			actor: 'ann',
			trace: { runId: 'exec-42', origin: 'shop', hops: 0 },
		});
		expect(items[1]).toMatchObject({ id: null, op: 'upsert' });
		expect(items[2]).toMatchObject({ id: 'x-9', op: 'delete' });
	});

	it('builds the mapping from the editor fields and exports it as JSON that the JSON source takes back', async () => {
		const parameters = {
			operation: 'export',
			mappingSource: 'fields',
			entity: 'contact',
			systems: {
				system: [
					{
						name: 'legacy',
						idField: 'ID',
						unmapped: 'keep',
						sensitive: 'PIN',
						fields: {
							field: [
								{ canonical: 'email', system: 'MAIL', transform: 'case', caseCanonical: 'lower', caseSystem: 'upper' },
								{ canonical: 'status', system: 'STATE', transform: 'valueMap', valueMap: '1=active\n0=inactive', mapDefault: 'inactive' },
								{ canonical: 'optIn', system: 'OPT', transform: 'boolean', booleanSpelling: 'yn' },
								{ canonical: 'fullName', system: 'FIRST, LAST', transform: 'combine', separator: ' ', inverse: '{"transform":"split","options":{"separator":" "}}' },
								{ canonical: 'joined', system: 'JOINED', transform: 'date', format: 'MM/dd/yyyy' },
							],
						},
					},
				],
			},
			canonicalFields: { field: [{ field: 'email', type: 'string', required: true, email: true, maxLength: 254 }] },
			sensitiveFields: 'pin',
		};
		const exported = await runNode(DataSyncMapper, { parameters, input: [{ json: {} }] });
		expect(exported.error).toBeUndefined();
		const doc = exported.outputs[0][0].json;
		expect(doc).toMatchObject({
			format: 'datasync-mapping/1',
			entity: 'contact',
			canonical: { fields: { email: { type: 'string', required: true, email: true, maxLength: 254 } }, sensitive: ['pin'] },
			systems: { legacy: { idField: 'ID', unmapped: 'keep', sensitive: ['PIN'] } },
		});
		expect(() => compileMapping(doc)).not.toThrow();

		const record = { ID: 5, MAIL: 'ANN@EXAMPLE.COM', STATE: '1', OPT: 'Y', FIRST: 'Ann', LAST: 'Lee', JOINED: '02/29/2024', EXTRA: 'kept', PIN: '1234' };
		const input = [{ json: { entity: 'contact', system: 'legacy', id: '5', op: 'upsert', shape: 'system', data: record, trace } }];
		const viaJson = await runNode(DataSyncMapper, {
			parameters: { mappingSource: 'json', mappingJson: JSON.stringify(doc), direction: 'toCanonical' },
			input,
		});
		const viaFields = await runNode(DataSyncMapper, { parameters: { ...parameters, operation: 'map', direction: 'toCanonical' }, input });
		expect(viaJson.outputs[0][0].json.data).toEqual({
			email: 'ann@example.com',
			status: 'active',
			optIn: true,
			fullName: 'Ann Lee',
			joined: '2024-02-29',
			_unmapped: { legacy: { EXTRA: 'kept' } },
		});
		expect(viaFields.outputs[0][0].json.data).toEqual(viaJson.outputs[0][0].json.data);
	});

	it('refuses a one-way transform in a two-way mapping before any item, naming the row', async () => {
		const { error, outputs } = await runNode(DataSyncMapper, {
			parameters: {
				mappingSource: 'fields',
				entity: 'contact',
				systems: { system: [{ name: 'crm', fields: { field: [{ canonical: 'name', system: 'name', transform: 'trim' }] } }] },
			},
			input: [{ json: erpContact(1) }],
		});
		expect(outputs).toEqual([]);
		expect(error?.message).toMatch(/system "crm", row 1 \(canonical "name"\): the transform is one-way but this mapping is two-way/);
	});

	it('starts the JSON source with a working example mapping', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: { mappingSource: 'json', direction: 'toCanonical' },
			input: [{ json: erpContact(1) }],
		});
		expect(error).toBeUndefined();
		expect(outputs[0][0].json.data).toEqual({ email: 'user1@example.com', birthDate: '2000-02-29' });
	});

	it('with continueOnFail, fails every item alike when the mapping does not compile', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: { mappingSource: 'json', mappingJson: JSON.stringify({ entity: 'contact', systems: { erp: { fields: [{ canonical: 'a', system: 'a', transform: 'rot13' }] } } }) },
			input: [{ json: erpContact(1) }, { json: erpContact(2) }],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		expect(outputs[0]).toEqual([0, 1].map((i) => ({ json: { error: expect.stringMatching(/^The mapping cannot be used: system "erp", row 1: unknown transform "rot13"/) }, pairedItem: { item: i } })));
		expect(outputs[1]).toEqual([]);
	});

	it('reports a JSON mapping that does not parse', async () => {
		const { error } = await runNode(DataSyncMapper, {
			parameters: { mappingSource: 'json', mappingJson: '{ "entity": ' },
			input: [{ json: erpContact(1) }],
		});
		expect(error?.message).toMatch(/"Mapping \(JSON\)" is not valid JSON/);
	});

	it('fails on an item that is not a DataSync item, naming the item and field', async () => {
		const { error } = await runNode(DataSyncMapper, {
			parameters: shipped('contact', 'toCanonical'),
			input: [{ json: erpContact(1) }, { json: { ...erpContact(2), op: 'merge' } }],
		});
		expect(error?.message).toMatch(/item 1 \(contact \/ erp \/ 2\): field "op" must be "upsert" or "delete"/);
	});

	it('fails on an item of a system the mapping does not know', async () => {
		const { error } = await runNode(DataSyncMapper, {
			parameters: shipped('contact', 'toCanonical'),
			input: [{ json: { ...erpContact(1), system: 'hubspot' } }],
		});
		expect(error?.message).toMatch(/no mapping for system "hubspot" \(this Mapper maps "crm", "erp", "shop"\)/);
	});

	it('with continueOnFail, turns a bad item into an error item and goes on', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: shipped('contact', 'toCanonical'),
			input: [{ json: { ...erpContact(1), shape: 'canonical' } }, { json: erpContact(2) }],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(2);
		expect(outputs[0][0]).toEqual({ json: { error: expect.stringMatching(/field "shape" must be "system" here/) }, pairedItem: { item: 0 } });
		expect(outputs[0][1].json.shape).toBe('canonical');
	});

	it('exports a shipped mapping unchanged', async () => {
		const { outputs } = await runNode(DataSyncMapper, {
			parameters: { operation: 'export', mappingSource: 'shipped', shippedMapping: 'order' },
			input: [{ json: {} }],
		});
		expect(outputs[0][0].json).toEqual(SHIPPED_MAPPINGS.order);
	});
});
