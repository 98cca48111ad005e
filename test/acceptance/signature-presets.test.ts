/**
 * The DataSync Trigger's signature presets in stock n8n (issue 14, item 1): one n8n, one published workflow
 * with a trigger per sender (Stripe, Shopify, GitHub, HubSpot v3, WooCommerce, Slack, a custom scheme), each
 * with its own signing secret, the replay guard in a sync store on SQLite (typeVersion 1.2, the default).
 *
 * For each sender: a payload shaped as the sender sends it (a Stripe `customer.updated` event, a Shopify
 * `customers/update` body, a GitHub `issues` event, a HubSpot `contact.propertyChange` batch, a WooCommerce
 * `customer.updated` body, a Slack `user_change` event), signed by this test with node:crypto as the sender
 * documents it, becomes DataSync items with the right id, op and data through the trigger's field paths;
 * the same request with a forged signature is answered 401; the exact request sent again is answered 401
 * (replay). The executions are counted at the end: one per accepted request, none for any refusal.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createTempDir, type TempDir } from '../helpers/services';
import { N8nInstance, nodeType, uniqueId, type Execution, type WebhookResponse } from './harness';

type Json = Record<string, unknown>;

const h = (algorithm: string, secret: string, content: string, encoding: 'hex' | 'base64') => createHmac(algorithm, secret).update(content).digest(encoding);
const seconds = () => Math.floor(Date.now() / 1000);

interface Preset {
	/** The trigger node's name (one per sender). */
	name: string;
	scheme: string;
	secret: string;
	/** Field paths and scheme settings of the trigger. */
	parameters: Json;
	body: Json | Json[];
	/** The headers the sender sends with `body` (signed with `secret`); `url` is the trigger's webhook URL. */
	sign(secret: string, body: string, url: string): Record<string, string>;
	/** The DataSync items expected (id, op, data). */
	items: Array<{ id: string; op: 'upsert' | 'delete'; data: Json; changedAt?: string; actor?: string }>;
}

const STRIPE_CUSTOMER = { id: 'cus_NffrFeUfNV2Hib', object: 'customer', email: 'jenny.rosen@example.com', name: 'Jenny Rosen', phone: null, metadata: {} };
const SHOPIFY_CUSTOMER = {
	id: 6940095234143,
	email: 'bob.norman@mail.example.com',
	first_name: 'Bob',
	last_name: 'Norman',
	updated_at: '2026-12-01T10:00:00-05:00',
	state: 'enabled',
	tags: 'wholesale',
	admin_graphql_api_id: 'gid://shopify/Customer/6940095234143',
};
const WOO_CUSTOMER = { id: 25, date_modified_gmt: '2026-12-01T15:00:00', email: 'john.doe@example.com', first_name: 'John', last_name: 'Doe', role: 'customer', billing: { city: 'San Francisco' } };
const SLACK_USER = { id: 'U2CERLKJA', name: 'roadrunner', real_name: 'Road Runner', profile: { email: 'rr@example.com' }, updated: 1764583200 };

const PRESETS: Preset[] = [
	{
		name: 'Stripe',
		scheme: 'stripe',
		secret: 'whsec_acceptance_0123456789abcdef',
		parameters: {
			idField: 'data.object.id',
			opField: 'type',
			upsertValues: 'customer.created,customer.updated',
			deleteValues: 'customer.deleted',
			changedAtField: 'created',
			actorField: '',
			dataField: 'data.object',
		},
		body: { id: 'evt_1', object: 'event', api_version: '2024-06-20', created: 1764583200, type: 'customer.updated', data: { object: STRIPE_CUSTOMER, previous_attributes: { name: 'Jenny' } } },
		sign: (secret, body) => {
			const t = seconds();
			return { 'stripe-signature': `t=${t},v1=${h('sha256', secret, `${t}.${body}`, 'hex')}` };
		},
		items: [{ id: 'cus_NffrFeUfNV2Hib', op: 'upsert', data: STRIPE_CUSTOMER, changedAt: '2025-12-01T10:00:00.000Z' }],
	},
	{
		name: 'Shopify',
		scheme: 'shopify',
		secret: 'shpss_acceptance_0123456789abcdef',
		parameters: {
			idField: 'id',
			opField: '',
			upsertValues: 'customers/create,customers/update',
			deleteValues: 'customers/delete',
			changedAtField: 'updated_at',
			actorField: '',
			dataField: '',
			options: { opHeader: 'X-Shopify-Topic' },
		},
		body: SHOPIFY_CUSTOMER,
		sign: (secret, body) => ({
			'x-shopify-hmac-sha256': h('sha256', secret, body, 'base64'),
			'x-shopify-topic': 'customers/update',
			'x-shopify-webhook-id': randomUUID(),
			'x-shopify-shop-domain': 'example.myshopify.com',
		}),
		items: [{ id: '6940095234143', op: 'upsert', data: SHOPIFY_CUSTOMER, changedAt: '2026-12-01T10:00:00-05:00' }],
	},
	{
		name: 'GitHub',
		scheme: 'github',
		secret: 'github-acceptance-0123456789',
		parameters: { idField: 'issue.id', opField: 'action', upsertValues: 'opened,edited,reopened', deleteValues: 'deleted', changedAtField: 'issue.updated_at', actorField: 'sender.login', dataField: 'issue' },
		body: { action: 'edited', issue: { id: 1296269, number: 1347, title: 'Found a bug', state: 'open', updated_at: '2026-12-01T10:00:00Z' }, sender: { login: 'octocat', id: 1 } },
		sign: (secret, body) => ({ 'x-hub-signature-256': `sha256=${h('sha256', secret, body, 'hex')}`, 'x-github-event': 'issues', 'x-github-delivery': randomUUID() }),
		items: [{ id: '1296269', op: 'upsert', data: { id: 1296269, number: 1347, title: 'Found a bug', state: 'open', updated_at: '2026-12-01T10:00:00Z' }, actor: 'octocat' }],
	},
	{
		name: 'HubSpot',
		scheme: 'hubspot',
		secret: 'hubspot-acceptance-0123456789',
		parameters: { idField: 'objectId', opField: 'subscriptionType', upsertValues: 'contact.creation,contact.propertyChange', deleteValues: 'contact.deletion', changedAtField: 'occurredAt', actorField: '', dataField: '' },
		body: [
			{ eventId: 100, subscriptionId: 2, portalId: 62515, appId: 1, occurredAt: 1764583200000, subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 123, changeSource: 'CRM', propertyName: 'email', propertyValue: 'a@example.com' },
			{ eventId: 101, subscriptionId: 3, portalId: 62515, appId: 1, occurredAt: 1764583201000, subscriptionType: 'contact.deletion', attemptNumber: 0, objectId: 124, changeSource: 'CRM' },
		],
		sign: (secret, body, url) => {
			const ms = String(Date.now());
			return { 'x-hubspot-request-timestamp': ms, 'x-hubspot-signature-v3': h('sha256', secret, `POST${url}${body}${ms}`, 'base64') };
		},
		items: [
			{ id: '123', op: 'upsert', data: expect.objectContaining({ objectId: 123, propertyName: 'email', propertyValue: 'a@example.com' }), changedAt: '2025-12-01T10:00:00.000Z' },
			{ id: '124', op: 'delete', data: expect.objectContaining({ objectId: 124 }) },
		],
	},
	{
		name: 'WooCommerce',
		scheme: 'woocommerce',
		secret: 'woocommerce-acceptance-0123456789',
		parameters: { idField: 'id', opField: '', changedAtField: '', actorField: '', dataField: '' },
		body: WOO_CUSTOMER,
		sign: (secret, body) => ({
			'x-wc-webhook-signature': h('sha256', secret, body, 'base64'),
			'x-wc-webhook-topic': 'customer.updated',
			'x-wc-webhook-resource': 'customer',
			'x-wc-webhook-event': 'updated',
			'x-wc-webhook-delivery-id': String(Math.floor(Math.random() * 1e9)),
		}),
		items: [{ id: '25', op: 'upsert', data: WOO_CUSTOMER }],
	},
	{
		name: 'Slack',
		scheme: 'slack',
		secret: 'slack-acceptance-0123456789abcdef',
		parameters: { idField: 'event.user.id', opField: 'event.type', upsertValues: 'user_change,team_join', changedAtField: 'event_time', actorField: '', dataField: 'event.user' },
		body: { token: 'XXYYZZ', team_id: 'T1DC2JH3J', api_app_id: 'A1', event: { type: 'user_change', user: SLACK_USER }, type: 'event_callback', event_id: 'Ev08MFMKH6', event_time: 1764583200 },
		sign: (secret, body) => {
			const ts = seconds();
			return { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${h('sha256', secret, `v0:${ts}:${body}`, 'hex')}` };
		},
		items: [{ id: 'U2CERLKJA', op: 'upsert', data: SLACK_USER, changedAt: '2025-12-01T10:00:00.000Z' }],
	},
	{
		name: 'Custom',
		scheme: 'custom',
		secret: 'custom-acceptance-0123456789',
		parameters: {
			customAlgorithm: 'sha512',
			customEncoding: 'base64',
			customContent: 'template',
			customTemplate: '{method}\n{url}\n{timestamp}\n{body}',
			customSignatureHeader: 'X-Acme-Signature',
			customPrefix: 'hmac-sha512=',
			customTimestampHeader: 'X-Acme-Time',
			customTimestampUnit: 'milliseconds',
			idField: 'sku',
			opField: 'event',
			upsertValues: 'item.saved',
			changedAtField: '',
			actorField: '',
			dataField: '',
		},
		body: { event: 'item.saved', sku: 'SKU-1', qty: 7 },
		sign: (secret, body, url) => {
			const ms = Date.now();
			return { 'x-acme-time': String(ms), 'x-acme-signature': `hmac-sha512=${h('sha512', secret, `POST\n${url}\n${ms}\n${body}`, 'base64')}` };
		},
		items: [{ id: 'SKU-1', op: 'upsert', data: { event: 'item.saved', sku: 'SKU-1', qty: 7 } }],
	},
];

describe('DataSync Trigger signature presets in stock n8n', () => {
	let n8n: N8nInstance;
	let dir: TempDir;
	let workflowId: string;
	const id = uniqueId('presets');
	const pathOf = (p: Preset) => `presets-${id}/${p.scheme}/${p.name.toLowerCase()}`;
	const urlOf = (p: Preset) => `${n8n.baseUrl}/webhook/${pathOf(p)}`;
	let accepted = 0;

	const post = (p: Preset, body: string, headers: Record<string, string>): Promise<WebhookResponse> => n8n.webhook(pathOf(p), undefined, { raw: body, headers });

	beforeAll(async () => {
		dir = createTempDir('presets');
		n8n = await N8nInstance.start();
		const store = await n8n.createCredential('dataSyncStoreApi', 'Preset store', { backend: 'sqlite', path: dir.file('store.sqlite') });
		const nodes = [];
		for (const [i, p] of PRESETS.entries()) {
			const secret = await n8n.createCredential('dataSyncWebhookApi', `${p.name} signing secret`, { secret: p.secret });
			nodes.push({
				id: randomUUID(),
				name: p.name,
				type: nodeType('dataSyncTrigger'),
				typeVersion: 1.2,
				position: [0, i * 200],
				webhookId: randomUUID(),
				parameters: { path: pathOf(p), entity: 'customer', system: p.scheme, signatureScheme: p.scheme, replayGuard: 'store', options: {}, ...p.parameters },
				credentials: { dataSyncWebhookApi: secret, dataSyncStoreApi: store },
			});
		}
		workflowId = (await n8n.createWorkflow({ name: 'acceptance: signature presets', nodes, connections: {} })).id;
		await n8n.publish(workflowId);
	});

	afterAll(async () => {
		await n8n?.stop();
		dir?.remove();
	});

	/** The items the execution that took `received` produced at the trigger `name`. */
	async function itemsOf(name: string, before: Set<string>): Promise<Json[]> {
		const runs = await n8n.waitForExecutions(workflowId, before.size + 1);
		const fresh = runs.filter((e: Execution) => !before.has(e.id));
		expect(fresh).toHaveLength(1);
		expect(fresh[0].status).toBe('success');
		return fresh[0].data!.resultData.runData[name][0].data!.main[0]!.map((i) => i.json);
	}

	describe.each(PRESETS.map((p) => [p.name, p] as const))('%s', (_name, p) => {
		const body = JSON.stringify(p.body);
		let headers: Record<string, string>;

		it("takes the sender's signed payload: DataSync items with the id, op and data through the field paths", async () => {
			const before = new Set((await n8n.executions(workflowId)).map((e) => e.id));
			headers = p.sign(p.secret, body, urlOf(p));
			const res = await post(p, body, headers);
			expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { received: p.items.length } });
			accepted++;
			const items = await itemsOf(p.name, before);
			expect(items).toEqual(
				p.items.map((want) =>
					expect.objectContaining({ entity: 'customer', system: p.scheme, shape: 'system', ...want, trace: expect.objectContaining({ origin: p.scheme, hops: 0 }) }),
				),
			);
		});

		it('refuses a forged signature with 401', async () => {
			const forged = p.sign('a-forger-without-the-secret-0123', body, urlOf(p));
			const res = await post(p, body, forged);
			expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { error: 'signature does not match' } });
		});

		it('refuses the exact request sent again with 401 (replay)', async () => {
			const res = await post(p, body, headers);
			expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { error: 'request already received (replay)' } });
		});
	});

	it("answers Slack's signed url_verification with its challenge and starts no execution", async () => {
		const slack = PRESETS.find((p) => p.scheme === 'slack')!;
		const body = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
		const res = await post(slack, body, slack.sign(slack.secret, body, urlOf(slack)));
		expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' } });
	});

	it('ran one execution per accepted request, none for a refusal or a set-up call', async () => {
		// A refused call that had started an execution would show here, once the runs have settled.
		await new Promise((r) => setTimeout(r, 1500));
		expect((await n8n.executions(workflowId)).length).toBe(accepted);
		expect(accepted).toBe(PRESETS.length);
	});
});
