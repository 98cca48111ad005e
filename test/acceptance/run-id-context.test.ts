/**
 * The run id (nodes/shared/run-id.ts) in stock n8n: `<execution id>-<execution start>`, the same for every
 * node of one execution when it runs on a queue-mode worker and when a Wait node has put it to sleep in
 * n8n's database and a call of its resume URL woke it up (possibly on another worker). n8n sets the start
 * time (the execution context's `establishedAt`) once and saves it with the execution; this shows the
 * nodes before and after the Wait agree on it. Queue mode: a main process, two workers, Redis, n8n's data
 * in Postgres.
 */
import { shippedMapping } from '../../lib/mapping';
import { createPgDatabase, type PgTestDatabase } from '../helpers/services';
import { ds, webhookNode, workflow } from './flows';
import { N8nInstance, queueModeEnv, summary, uniqueId, type Execution } from './harness';
import { eventually } from './templates-support';

type Json = Record<string, unknown>;

describe('run id in queue mode, across a Wait node that resumes by webhook', () => {
	let n8n: N8nInstance;
	let n8nDb: PgTestDatabase;
	let workflowId: string;
	const path = `runid-${uniqueId('wait')}`;

	beforeAll(async () => {
		n8nDb = await createPgDatabase('ds_runid_n8n');
		n8n = await N8nInstance.start({ env: queueModeEnv(n8nDb.config, `datasync-${uniqueId('bull')}`), workers: 2 });
		const receive = webhookNode('Receive records', path);
		receive.parameters = { ...receive.parameters, responseMode: 'onReceived' };
		const wrap = (label: string) =>
			ds('dataSyncMapper', label, { operation: 'map', direction: 'toCanonical', input: 'raw', wrapSystem: 'crm', mappingSource: 'shipped', shippedMapping: 'contact' });
		const def = workflow(
			'run id across a Wait',
			[
				receive,
				{ name: 'One item per record', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'body', options: {} } },
				wrap('Before the wait'),
				{
					name: 'Resume URL',
					type: 'n8n-nodes-base.set',
					typeVersion: 3.4,
					parameters: { assignments: { assignments: [{ id: 'u', name: 'resumeUrl', value: '={{ $execution.resumeUrl }}', type: 'string' }] }, includeOtherFields: true, options: {} },
				},
				{ name: 'Wait for the call', type: 'n8n-nodes-base.wait', typeVersion: 1.1, webhookId: uniqueId('resume'), parameters: { resume: 'webhook', options: {} } },
				{
					name: 'The record again',
					type: 'n8n-nodes-base.set',
					typeVersion: 3.4,
					parameters: { mode: 'raw', jsonOutput: "={{ JSON.stringify($('One item per record').item.json) }}", options: {} },
				},
				wrap('After the wait'),
			],
			[
				['Receive records', 'One item per record'],
				['One item per record', 'Before the wait'],
				['Before the wait', 'Resume URL'],
				['Resume URL', 'Wait for the call'],
				['Wait for the call', 'The record again'],
				['The record again', 'After the wait'],
			],
		);
		workflowId = (await n8n.createWorkflow(def as unknown as Json)).id;
		await n8n.publish(workflowId);
	});

	afterAll(async () => {
		await n8n?.stop();
		await n8nDb?.drop();
	});

	const runIds = (run: Execution, node: string) =>
		(run.data?.resultData.runData[node]?.[0]?.data?.main[0] ?? []).map((i) => (i.json.trace as Json | undefined)?.runId);

	it('the nodes before and after the Wait have the same run id: the execution id, then its start in base 36', async () => {
		const record = { ...((shippedMapping('contact')?.examples ?? {}) as Record<string, Json>).crm, id: 'c-1' };
		expect((await n8n.webhook(path, [record])).status).toBe(200);
		const waiting = await eventually(
			'the execution waits for its resume call',
			async () => {
				const [e] = await n8n.executions(workflowId);
				return e && !['new', 'running'].includes(e.status) ? await n8n.execution(e.id) : undefined;
			},
			60_000,
		);
		expect({ status: waiting.status, nodes: summary(waiting) }).toEqual({ status: 'waiting', nodes: expect.objectContaining({ 'Wait for the call': expect.anything() }) });
		const before = runIds(waiting, 'Before the wait');
		const resumeUrl = String(waiting.data?.resultData.runData['Resume URL'][0].data?.main[0]?.[0].json.resumeUrl);
		expect(resumeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhook-waiting\//);
		// The Wait node's resume webhook answers GET (its default method).
		const resumed = await fetch(resumeUrl);
		expect({ resumeUrl, status: resumed.status, body: resumed.status === 200 ? '' : await resumed.text() }).toEqual({ resumeUrl, status: 200, body: '' });
		const [done] = await n8n.waitForExecutions(workflowId, 1, 60_000);
		expect({ status: done.status, error: done.data?.resultData.error?.message }).toEqual({ status: 'success', error: undefined });
		const after = runIds(done, 'After the wait');
		console.log(`run id before the Wait ${String(before[0])}, after it ${String(after[0])} (execution ${done.id})`);
		expect(before).toEqual([expect.stringMatching(new RegExp(`^${done.id}-[0-9a-z]+$`))]);
		expect(after).toEqual(before);
	});
});
