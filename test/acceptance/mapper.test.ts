/**
 * Issue 4's proof in stock n8n: the DataSync Mapper maps CRM-shape records to ERP-shape records and
 * back through the canonical shape with the shipped contact mapping (dates, value maps, booleans, case,
 * time zones), never lets a sensitive field out, and sends invalid records to its Invalid output with
 * errors that name the field.
 */
import { ds, webhookNode, workflow } from './flows';
import { N8nInstance, summary, uniqueId } from './harness';
import { shippedMapping } from '../../lib/mapping';

const example = (shippedMapping('contact')?.examples ?? {}) as Record<string, Record<string, unknown>>;

describe('DataSync Mapper in stock n8n: CRM ↔ ERP through the canonical shape', () => {
	let n8n: N8nInstance;
	const ids: Record<string, string> = {};
	const paths = { crmToErp: `map-${uniqueId('a')}`, erpToCrm: `map-${uniqueId('b')}` };

	/** Webhook body (an array of raw records) → wrap + to canonical → retarget → from canonical. */
	function mappingFlow(name: string, path: string, from: string, to: string) {
		return workflow(
			name,
			[
				webhookNode('Receive records', path),
				{ name: 'One item per record', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'body', options: {} } },
				ds('dataSyncMapper', 'To canonical', {
					operation: 'map',
					direction: 'toCanonical',
					input: 'raw',
					wrapSystem: from,
					mappingSource: 'shipped',
					shippedMapping: 'contact',
				}),
				{
					name: `Target ${to}`,
					type: 'n8n-nodes-base.set',
					typeVersion: 3.4,
					parameters: {
						assignments: { assignments: [{ id: 'system', name: 'system', value: to, type: 'string' }] },
						includeOtherFields: true,
						options: {},
					},
				},
				ds('dataSyncMapper', 'From canonical', {
					operation: 'map',
					direction: 'fromCanonical',
					input: 'items',
					mappingSource: 'shipped',
					shippedMapping: 'contact',
				}),
			],
			[
				['Receive records', 'One item per record'],
				['One item per record', 'To canonical'],
				['To canonical', `Target ${to}`],
				[`Target ${to}`, 'From canonical'],
			],
		);
	}

	beforeAll(async () => {
		n8n = await N8nInstance.start();
		for (const [key, def] of [
			['crmToErp', mappingFlow('CRM → ERP mapping', paths.crmToErp, 'crm', 'erp')],
			['erpToCrm', mappingFlow('ERP → CRM mapping', paths.erpToCrm, 'erp', 'crm')],
		] as const) {
			ids[key] = (await n8n.createWorkflow(def as unknown as Record<string, unknown>)).id;
			await n8n.publish(ids[key]);
		}
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('maps a CRM record to the ERP shape: firstName → first_name, 2024-01-01 → 01/01/2024, no sensitive field', async () => {
		const crm = { ...example.crm, id: 'c-7', birthDate: '2024-01-01', lifecycleStage: 'customer', countryCode: 'GB', updatedAt: '2024-07-01T08:00:00.000Z' };
		const res = await n8n.webhook(paths.crmToErp, [crm]);
		expect(res.status).toBe(200);
		const [item] = res.body as Array<Record<string, unknown>>;
		expect(item).toMatchObject({ entity: 'contact', system: 'erp', id: 'c-7', shape: 'system', op: 'upsert' });
		expect(item.data).toMatchObject({
			email: example.crm.email,
			first_name: 'Ada',
			last_name: 'Lovelace',
			birth_date: '01/01/2024',
			status_code: 'A',
			marketing_opt_in: 'Y',
			country_code: 'gb',
			// The ERP keeps Berlin local time: 08:00 UTC in July is 10:00 there.
			changed_at: '01/07/2024 10:00:00',
		});
		expect(JSON.stringify(res.body)).not.toContain(String(example.crm.ssn));
	});

	it('maps the ERP record back to the same CRM record (both ways, one definition)', async () => {
		const res = await n8n.webhook(paths.erpToCrm, [example.erp]);
		expect(res.status).toBe(200);
		const [item] = res.body as Array<Record<string, unknown>>;
		expect(item).toMatchObject({ system: 'crm', id: '1001', shape: 'system' });
		const { ssn: _ssn, id: _id, ...expected } = example.crm;
		expect(item.data).toEqual(expected);
		const text = JSON.stringify(res.body);
		expect(text).not.toContain(String(example.erp.national_id));
		expect(text).not.toContain(String(example.erp.password_hash));
	});

	it('sends invalid records to the Invalid output with errors that name the record, field and rule', async () => {
		const good = { ...example.crm, id: 'c-8' };
		const bad = { ...example.crm, id: 'c-9', email: 'not-an-email', birthDate: '2024-02-31' };
		const res = await n8n.webhook(paths.crmToErp, [good, bad]);
		expect(res.status).toBe(200);
		expect((res.body as Array<Record<string, unknown>>).map((i) => i.id)).toEqual(['c-8']);
		const runs = await n8n.waitForExecutions(ids.crmToErp, 2);
		const run = runs[runs.length - 1];
		expect(summary(run)['To canonical']).toEqual({ items: [1, 1] });
		const invalid = run.data!.resultData.runData['To canonical'][0].data!.main[1]![0].json;
		expect(invalid).toMatchObject({ system: 'crm', id: 'c-9' });
		const errors = invalid.errors as Array<{ field: string; rule: string; message: string }>;
		expect(errors.map((e) => e.field).sort()).toEqual(['birthDate', 'email']);
		for (const e of errors) expect(e.message).toContain('c-9');
		expect(JSON.stringify(invalid)).not.toContain(String(example.crm.ssn));
	});
});
