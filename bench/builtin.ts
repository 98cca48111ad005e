/**
 * The built-in way (issue 8, item 3b): the A → B contact sync as an analyst builds it today from n8n's
 * own nodes only: Manual Trigger → Postgres (select all of A) → Edit Fields (the renames and date formats
 * as expressions, one per field); MySQL (select all of B); Compare Datasets (match on the email, the key
 * both systems share: B has ids of its own) → MySQL insert for "In A only", MySQL update for "Different".
 */
import { randomUUID } from 'node:crypto';

type Json = Record<string, unknown>;

const EXPRESSIONS: Array<[string, string]> = [
	['email', '={{ $json.email }}'],
	['first_name', '={{ $json.firstName }}'],
	['last_name', '={{ $json.lastName }}'],
	['phone_number', '={{ $json.phone }}'],
	[
		'birth_date',
		"={{ $json.birthDate ? DateTime.fromISO(typeof $json.birthDate === 'string' ? $json.birthDate.slice(0, 10) : new Date($json.birthDate).toISOString().slice(0, 10)).toFormat('dd/MM/yyyy') : null }}",
	],
	['status_code', "={{ ({ customer: 'A', churned: 'I', lead: 'L' })[$json.lifecycleStage] ?? null }}"],
	['marketing_opt_in', "={{ $json.marketingOptIn === null ? null : ($json.marketingOptIn ? 'Y' : 'N') }}"],
	['street', '={{ $json.street }}'],
	['city', '={{ $json.city }}'],
	['postal_code', '={{ $json.postalCode }}'],
	['country_code', '={{ $json.countryCode ? $json.countryCode.toLowerCase() : null }}'],
];

function node(name: string, type: string, typeVersion: number, x: number, parameters: Json, credentials?: Json, y = 0): Json {
	return { id: randomUUID(), name, type, typeVersion, position: [x, y], parameters, ...(credentials ? { credentials } : {}) };
}

const table = (value: string) => ({ __rl: true, mode: 'name', value });

export function builtinWorkflow(name: string, crmTable: string, erpTable: string, pgCred: { id: string; name: string }, myCred: { id: string; name: string }): Json {
	const pg = { postgres: pgCred };
	const my = { mySql: myCred };
	return {
		name,
		nodes: [
			node('Manual Trigger', 'n8n-nodes-base.manualTrigger', 1, 0, {}),
			node('Postgres: all of A', 'n8n-nodes-base.postgres', 2.6, 220, { operation: 'select', schema: { __rl: true, mode: 'list', value: 'public' }, table: table(crmTable), returnAll: true, options: {} }, pg, -150),
			node(
				'Edit Fields: map to B',
				'n8n-nodes-base.set',
				3.4,
				440,
				{
					assignments: { assignments: EXPRESSIONS.map(([field, value]) => ({ id: randomUUID(), name: field, value, type: 'string' })) },
					options: { ignoreConversionErrors: true },
				},
				undefined,
				-150,
			),
			node('MySQL: all of B', 'n8n-nodes-base.mySql', 2.5, 440, { operation: 'select', table: table(erpTable), returnAll: true, options: {} }, my, 150),
			node('Compare Datasets', 'n8n-nodes-base.compareDatasets', 2.3, 660, {
				mergeByFields: { values: [{ field1: 'email', field2: 'email' }] },
				resolve: 'preferInput1',
				options: { skipFields: 'contact_id,changed_at,modified_by,deleted_at' },
			}),
			node('MySQL: insert', 'n8n-nodes-base.mySql', 2.5, 880, { operation: 'insert', table: table(erpTable), dataMode: 'autoMapInputData', options: {} }, my, -150),
			node('MySQL: update', 'n8n-nodes-base.mySql', 2.5, 880, { operation: 'update', table: table(erpTable), dataMode: 'autoMapInputData', columnToMatchOn: 'email', options: {} }, my, 150),
		],
		connections: {
			'Manual Trigger': { main: [[{ node: 'Postgres: all of A', type: 'main', index: 0 }, { node: 'MySQL: all of B', type: 'main', index: 0 }]] },
			'Postgres: all of A': { main: [[{ node: 'Edit Fields: map to B', type: 'main', index: 0 }]] },
			'Edit Fields: map to B': { main: [[{ node: 'Compare Datasets', type: 'main', index: 0 }]] },
			'MySQL: all of B': { main: [[{ node: 'Compare Datasets', type: 'main', index: 1 }]] },
			'Compare Datasets': {
				main: [[{ node: 'MySQL: insert', type: 'main', index: 0 }], [], [{ node: 'MySQL: update', type: 'main', index: 0 }], []],
			},
		},
		settings: { executionOrder: 'v1' },
	};
}

/** The floor of the real-time scenario: a bare Webhook → Respond to Webhook. */
export function floorWorkflow(name: string, path: string): Json {
	return {
		name,
		nodes: [
			{ ...node('Webhook', 'n8n-nodes-base.webhook', 2, 0, { httpMethod: 'POST', path, responseMode: 'responseNode', options: {} }), webhookId: randomUUID() },
			node('Respond to Webhook', 'n8n-nodes-base.respondToWebhook', 1.1, 220, { respondWith: 'json', responseBody: '{ "ok": true }', options: {} }),
		],
		connections: { Webhook: { main: [[{ node: 'Respond to Webhook', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}
