import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Expression, NodeHelpers, Workflow, type INode, type INodeParameters, type INodeTypes } from 'n8n-workflow';

import { DataSyncMapper, mapperOutputs } from '../../nodes/DataSyncMapper/DataSyncMapper.node';
import { parseSyncItem } from '../../lib/item';
import { SHIPPED_MAPPINGS, compileMapping } from '../../lib/mapping';
import { runIdOfExecution, runNode } from '../helpers/run-node';

const execFileAsync = promisify(execFile);

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
			trace: { runId: runIdOfExecution('exec-42'), origin: 'shop', hops: 0 },
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

	it('compiles a mapping once and reuses it, and a changed mapping takes effect in the next run', async () => {
		const mappingOf = (canonical: string) => JSON.stringify({ entity: 'contact', systems: { erp: { idField: 'contact_id', unmapped: 'drop', fields: [{ canonical, system: 'email' }] } } });
		const run = async (mappingJson: string) =>
			(await runNode(DataSyncMapper, { parameters: { mappingSource: 'json', mappingJson, direction: 'toCanonical' }, input: [{ json: erpContact(1) }] })).outputs[0][0].json.data;
		expect(await run(mappingOf('email'))).toEqual({ email: 'user1@example.com' });
		expect(await run(mappingOf('email'))).toEqual({ email: 'user1@example.com' });
		expect(await run(mappingOf('mail'))).toEqual({ mail: 'user1@example.com' });
		expect(await run(mappingOf('email'))).toEqual({ email: 'user1@example.com' });
	});

	it('exports a copy of the mapping: a change to the exported item does not reach later runs', async () => {
		const parameters = { operation: 'export', mappingSource: 'shipped', shippedMapping: 'order' };
		const first = await runNode(DataSyncMapper, { parameters, input: [{ json: {} }] });
		(first.outputs[0][0].json as Record<string, unknown>).entity = 'changed downstream';
		const second = await runNode(DataSyncMapper, { parameters, input: [{ json: {} }] });
		expect(second.outputs[0][0].json).toEqual(SHIPPED_MAPPINGS.order);
	});

	it('exports a shipped mapping unchanged', async () => {
		const { outputs } = await runNode(DataSyncMapper, {
			parameters: { operation: 'export', mappingSource: 'shipped', shippedMapping: 'order' },
			input: [{ json: {} }],
		});
		expect(outputs[0][0].json).toEqual(SHIPPED_MAPPINGS.order);
	});
});

describe('DataSync Mapper, Output per System', () => {
	const canonicalContact = (system: string, email = `${system}@example.com`) => ({
		json: { entity: 'contact', system, id: null, op: 'upsert', shape: 'canonical', data: { email, status: 'lead' }, trace },
	});
	const routed = (routeSystems: string) => ({ ...shipped('contact', 'fromCanonical'), routeBySystem: true, routeSystems });

	/** The node's outputs as n8n computes them: its `outputs` expression evaluated on a Workflow. */
	function outputsInN8n(parameters: INodeParameters, onError?: INode['onError']) {
		const type = new DataSyncMapper();
		const node: INode = { id: 'm', name: 'Mapper', type: type.description.name, typeVersion: 1, position: [0, 0], parameters, onError };
		const nodeTypes = { getByName: () => type, getByNameAndVersion: () => type, getKnownTypes: () => ({}) } as unknown as INodeTypes;
		const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
		const evaluate = () => NodeHelpers.getNodeOutputs(workflow, workflow.getNode('Mapper')!, type.description);
		return { workflow, evaluate };
	}
	const main = (...names: string[]) => names.map((displayName) => ({ type: 'main', displayName }));

	it('puts valid records on the output of their system, in the listed order, and invalid ones on the last output', async () => {
		const input = [
			canonicalContact('erp'),
			canonicalContact('crm'),
			canonicalContact('crm', 'not-an-email'),
			canonicalContact('crm', 'second@example.com'),
			canonicalContact('erp', 'also-not-an-email'),
		];
		const { outputs, error } = await runNode(DataSyncMapper, { parameters: routed('crm, erp'), input });
		expect(error).toBeUndefined();
		expect(outputs).toHaveLength(3);
		const [crm, erp, invalid] = outputs;
		expect(crm.map((o) => [o.json.system, o.json.shape, o.pairedItem])).toEqual([
			['crm', 'system', { item: 1 }],
			['crm', 'system', { item: 3 }],
		]);
		expect(crm.map((o) => o.json.data)).toEqual([
			{ email: 'crm@example.com', lifecycleStage: 'lead' },
			{ email: 'second@example.com', lifecycleStage: 'lead' },
		]);
		expect(erp.map((o) => [o.json.system, o.pairedItem, o.json.data])).toEqual([['erp', { item: 0 }, { email: 'erp@example.com', status_code: 'L' }]]);
		expect(invalid.map((o) => [o.json.system, o.pairedItem])).toEqual([
			['crm', { item: 2 }],
			['erp', { item: 4 }],
		]);
		expect(invalid[0].json.errors).toEqual([expect.objectContaining({ field: 'email', rule: 'email' })]);
	});

	it('takes the systems comma- or newline-separated, each once, in the order given', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: routed(' erp\ncrm ,erp,\n'),
			input: [canonicalContact('crm'), canonicalContact('erp')],
		});
		expect(error).toBeUndefined();
		expect(outputs.map((items) => items.map((o) => o.json.system))).toEqual([['erp'], ['crm'], []]);
	});

	it('routes To Canonical too, by the system a record comes from', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: { ...shipped('contact', 'toCanonical'), routeBySystem: true, routeSystems: 'crm\nerp' },
			input: [{ json: erpContact(1) }],
		});
		expect(error).toBeUndefined();
		expect(outputs.map((items) => items.map((o) => [o.json.system, o.json.shape]))).toEqual([[], [['erp', 'canonical']], []]);
	});

	it('fails on a valid record of a system that is not listed, naming the item, its system and the listed systems', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: routed('crm, erp'),
			input: [canonicalContact('crm'), canonicalContact('erp'), canonicalContact('shop')],
		});
		expect(outputs).toEqual([]);
		expect(error?.message).toBe('item 2 is for system "shop", which is not one of the Systems of "Output per System" ("crm", "erp")');
		expect(error?.description).toMatch(/Add "shop" there/);
		expect(error?.context).toMatchObject({ itemIndex: 2 });
	});

	it('with continueOnFail, sends an item of a system not listed to Invalid with an error field', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: routed('crm, erp'),
			input: [canonicalContact('shop'), canonicalContact('crm'), { json: { ...canonicalContact('erp').json, op: 'merge' } }],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		expect(outputs).toHaveLength(3);
		expect(outputs[0].map((o) => o.pairedItem)).toEqual([{ item: 1 }]);
		expect(outputs[1]).toEqual([]);
		// Errors never go to a system's output (its write node), with routing on.
		expect(outputs[2]).toEqual([
			{ json: { error: expect.stringMatching(/^item 0 is for system "shop", which is not one of the Systems .*\("crm", "erp"\)$/) }, pairedItem: { item: 0 } },
			{ json: { error: expect.stringMatching(/item 2 .*field "op"/) }, pairedItem: { item: 2 } },
		]);
	});

	it('with On Error "continue (using error output)", keeps the system outputs and Invalid, and adds n8n\'s Error output after them', async () => {
		const { outputs, error } = await runNode(DataSyncMapper, {
			parameters: routed('crm, erp'),
			input: [canonicalContact('erp'), canonicalContact('shop'), canonicalContact('crm', 'nope')],
			onError: 'continueErrorOutput',
		});
		expect(error).toBeUndefined();
		expect(outputs.map((items) => items.map((o) => o.pairedItem))).toEqual([[], [{ item: 0 }], [{ item: 2 }], [{ item: 1 }]]);
		expect(outputs[3][0].json.error).toMatch(/system "shop"/);
	});

	it('refuses, before any item, a Systems list that is empty or names a system the mapping does not map', async () => {
		const typo = await runNode(DataSyncMapper, { parameters: routed('crm, ERP, shop, billing'), input: [canonicalContact('crm')] });
		expect(typo.outputs).toEqual([]);
		expect(typo.error?.message).toBe('"Systems" of "Output per System" lists "ERP", "billing", which the mapping does not map (it maps "crm", "erp", "shop")');
		const empty = await runNode(DataSyncMapper, { parameters: routed(' , '), input: [canonicalContact('crm')], continueOnFail: true });
		expect(empty.error).toBeUndefined();
		// Only Invalid is left as an output; the error goes there.
		expect(empty.outputs).toEqual([[{ json: { error: expect.stringMatching(/"Systems" lists no system/) }, pairedItem: { item: 0 } }]]);
	});

	it('with continueOnFail, fails every item on Invalid when the mapping does not compile', async () => {
		const { outputs } = await runNode(DataSyncMapper, {
			parameters: { mappingSource: 'json', mappingJson: '{', routeBySystem: true, routeSystems: 'crm, erp' },
			input: [canonicalContact('crm')],
			continueOnFail: true,
		});
		expect(outputs).toEqual([[], [], [{ json: { error: expect.stringMatching(/is not valid JSON/) }, pairedItem: { item: 0 } }]]);
	});

	it('keeps the outputs Valid and Invalid when off, and for Export Mapping', async () => {
		const off = await runNode(DataSyncMapper, {
			parameters: { ...shipped('contact', 'fromCanonical'), routeSystems: 'crm, erp' },
			input: [canonicalContact('crm'), canonicalContact('shop'), canonicalContact('erp', 'nope')],
		});
		expect(off.error).toBeUndefined();
		expect(off.outputs.map((items) => items.map((o) => o.pairedItem))).toEqual([[{ item: 0 }, { item: 1 }], [{ item: 2 }]]);
		const exported = await runNode(DataSyncMapper, {
			parameters: { operation: 'export', mappingSource: 'shipped', shippedMapping: 'contact', routeBySystem: true, routeSystems: 'crm' },
			input: [{ json: {} }],
		});
		expect(exported.outputs).toHaveLength(2);
		expect(exported.outputs[0][0].json).toEqual(SHIPPED_MAPPINGS.contact);
	});

	it('declares its outputs as an n8n expression, with no fixed output names', () => {
		const { description } = new DataSyncMapper();
		expect(description.outputs).toMatch(/^=\{\{\(function mapperOutputs\(parameters\) \{[\s\S]*\}\)\(\$parameter\)\}\}$/);
		// Two braces in a row inside would end the expression early.
		expect((description.outputs as string).slice(3, -2)).not.toMatch(/\{\{|\}\}/);
		expect(description.outputNames).toBeUndefined();
	});

	/** Parameters, and the outputs n8n must compute for them. */
	const cases: Array<{ what: string; parameters: INodeParameters; onError?: INode['onError']; expected: unknown }> = [
		{ what: 'defaults', parameters: {}, expected: main('Valid', 'Invalid') },
		{ what: 'off', parameters: { ...shipped('contact', 'fromCanonical'), routeBySystem: false, routeSystems: 'crm, erp' }, expected: main('Valid', 'Invalid') },
		{ what: 'export', parameters: { operation: 'export', routeBySystem: true, routeSystems: 'crm, erp' }, expected: main('Valid', 'Invalid') },
		{ what: 'on', parameters: routed('crm, erp'), expected: main('crm', 'erp', 'Invalid') },
		{ what: 'on, To Canonical', parameters: { ...routed('erp'), direction: 'toCanonical' }, expected: main('erp', 'Invalid') },
		{ what: 'mixed separators, repeats', parameters: routed('shop\r\n crm,\n\nshop , erp'), expected: main('shop', 'crm', 'erp', 'Invalid') },
		{ what: 'no systems', parameters: { routeBySystem: true }, expected: main('Invalid') },
		{
			what: 'on, with the error output',
			parameters: routed('crm, erp'),
			onError: 'continueErrorOutput',
			expected: [...main('crm', 'erp', 'Invalid'), { category: 'error', type: 'main', displayName: 'Error' }],
		},
	];

	it.each(cases)('computes the outputs in n8n (legacy expression engine, the editor\'s default): $what', ({ parameters, onError, expected }) => {
		expect(Expression.getActiveImplementation()).toBe('legacy');
		expect(outputsInN8n(parameters, onError).evaluate()).toEqual(expected);
	});

	it('computes the same outputs in n8n\'s VM expression engine (isolated-vm, the server\'s default)', async () => {
		// Started by n8n-workflow itself in a child process: its runtime is imported dynamically, which jest does not allow.
		const root = join(__dirname, '..', '..');
		const args = JSON.stringify({ engine: 'vm', cases: cases.map(({ parameters, onError }) => ({ parameters, onError })) });
		const { stdout } = await execFileAsync(process.execPath, ['-r', join(root, 'scripts', 'register-ts.js'), join(__dirname, 'support', 'mapper-outputs-worker.ts'), args], { cwd: root });
		const result = JSON.parse(stdout) as { engine: string; results: unknown[] };
		expect(result.engine).toBe('vm');
		expect(result.results).toEqual(cases.map((c) => c.expected));
	}, 60_000);

	it('gives, by the function execute calls, the outputs the expression gives', () => {
		for (const { parameters, onError } of cases.filter((c) => c.onError === undefined)) {
			if (parameters.operation === 'export') continue;
			const { workflow, evaluate } = outputsInN8n(parameters, onError);
			// As execute reads them: with defaults applied, item 0.
			const withDefaults = workflow.getNode('Mapper')!.parameters;
			expect(mapperOutputs(withDefaults)).toEqual(evaluate());
		}
	});
});
