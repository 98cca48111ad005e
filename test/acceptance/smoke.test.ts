/**
 * Smoke: stock n8n 2.41.1 loads this package from its packed tarball, and a trivial flow runs through one
 * of our nodes: a webhook hands an ERP record to the DataSync Mapper, which answers with the canonical
 * record (the seed's example: first_name → firstName, 01/01/2024 → 2024-01-01).
 */
import { N8nInstance, nodeType, uniqueId } from './harness';

describe('stock n8n with n8n-nodes-datasync (smoke)', () => {
	let n8n: N8nInstance;

	beforeAll(async () => {
		n8n = await N8nInstance.start();
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('lists every DataSync node in its node types', async () => {
		const types = await n8n.rest<Array<{ name: string }> | { data: Array<{ name: string }> }>('GET', '/types/nodes.json');
		const names = (Array.isArray(types) ? types : types.data).map((t) => t.name);
		for (const name of ['dataSyncTrigger', 'dataSyncDatabase', 'dataSyncHttpApi', 'dataSyncMapper', 'dataSyncLoopGuard', 'dataSyncConflictResolver', 'dataSyncStore']) {
			expect(names).toContain(nodeType(name));
		}
	});

	it('runs a published webhook flow through the DataSync Mapper', async () => {
		const path = `smoke-${uniqueId('smoke')}`;
		const workflow = await n8n.createWorkflow({
			name: 'smoke: webhook → DataSync Mapper',
			nodes: [
				{
					id: 'webhook',
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2,
					position: [0, 0],
					webhookId: '8f6c3c53-2a0e-4bb1-9e0c-5b8c7c1f0a01',
					parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} },
				},
				{
					id: 'records',
					name: 'Records',
					type: 'n8n-nodes-base.set',
					typeVersion: 3.4,
					position: [200, 0],
					parameters: { mode: 'raw', jsonOutput: '={{ JSON.stringify($json.body) }}', options: {} },
				},
				{
					id: 'mapper',
					name: 'ERP to canonical',
					type: nodeType('dataSyncMapper'),
					typeVersion: 1,
					position: [400, 0],
					parameters: {
						operation: 'map',
						direction: 'toCanonical',
						input: 'raw',
						wrapSystem: 'erp',
						mappingSource: 'shipped',
						shippedMapping: 'contact',
					},
				},
			],
			connections: {
				Webhook: { main: [[{ node: 'Records', type: 'main', index: 0 }]] },
				Records: { main: [[{ node: 'ERP to canonical', type: 'main', index: 0 }]] },
			},
		});
		await n8n.publish(workflow.id);

		const res = await n8n.webhook(path, {
			contact_id: 42,
			email: 'ada@example.com',
			first_name: 'Ada',
			last_name: 'Lovelace',
			birth_date: '01/01/2024',
			status_code: 'A',
			changed_at: '29/11/2026 10:00:00', // the ERP keeps local time (Europe/Berlin, UTC+1 in November)
		});
		expect(res.status).toBe(200);
		const item = res.body as Record<string, unknown>;
		expect(item).toMatchObject({ entity: 'contact', system: 'erp', id: '42', shape: 'canonical', op: 'upsert' });
		expect(item.data).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', birthDate: '2024-01-01', updatedAt: '2026-11-29T09:00:00.000Z' });

		const [execution] = await n8n.waitForExecutions(workflow.id, 1);
		expect(execution.status).toBe('success');
		expect(Object.keys(execution.data!.resultData.runData)).toEqual(expect.arrayContaining(['Webhook', 'Records', 'ERP to canonical']));
	});
});
