/**
 * DataSync Trigger's webhook() under n8n's webhook contract, with a typed stand-in for IWebhookFunctions:
 * a refused call writes its own answer and returns noWebhookResponse without workflowData (n8n then
 * starts no execution); an accepted call returns the items and the answer sent on receipt.
 */
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, IDataObject, INode, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

type Request = ReturnType<IWebhookFunctions['getRequestObject']>;
type Response = ReturnType<IWebhookFunctions['getResponseObject']>;
import { createHmac } from 'node:crypto';
import { SIGNATURE_SCHEMES } from '../../lib/connectors/webhook/schemes';
import { signWebhook } from '../../lib/connectors/webhook/signature';
import { parseSyncItem } from '../../lib/item';
import { resolveWebhookDescriptionField, webhookDescriptionIsNativelyResolvable } from 'n8n-workflow';
import { DataSyncTrigger, SECRET_CACHE_MS } from '../../nodes/DataSyncTrigger/DataSyncTrigger.node';

const SECRET = 'trigger-secret-0123456789';
const PARAMS: IDataObject = {
	path: 'datasync/crm/contact',
	entity: 'contact',
	system: 'crm',
	changesPath: '',
	idField: 'id',
	opField: 'op',
	deleteValues: 'delete,deleted',
	changedAtField: 'changedAt',
	actorField: 'actor',
	dataField: 'data',
	options: {},
};

interface Call {
	result: IWebhookResponseData;
	status?: number;
	sent?: unknown;
}

/** A stored credential as n8n hands it out: its id on the node, its data read on each getCredentials. */
interface StoredCredential {
	id: string;
	data: { secret: string; previousSecret?: string };
	reads: number;
}

async function deliver(body: string, headers: Record<string, string>, params: IDataObject = {}, credential?: StoredCredential): Promise<Call> {
	const call: Partial<Call> = {};
	const res = {
		status(code: number) {
			call.status = code;
			return res;
		},
		json(value: unknown) {
			call.sent = value;
			return res;
		},
	} as unknown as Response;
	// n8n reads the body once into rawBody (readRawBody) before the node runs; the node must not re-read the stream.
	const req = {
		method: 'POST',
		originalUrl: `/webhook/${String(params.path ?? PARAMS.path)}${String(params.query ?? '')}`,
		rawBody: undefined as Buffer | undefined,
		readRawBody: async () => (req.rawBody = Buffer.from(body, 'utf8')),
	} as unknown as Request;
	const all = { ...PARAMS, ...params };
	const context: Pick<IWebhookFunctions, 'getRequestObject' | 'getResponseObject' | 'getHeaderData' | 'getNodeParameter' | 'getCredentials' | 'getNode' | 'getNodeWebhookUrl'> = {
		getNodeWebhookUrl: () => `http://127.0.0.1:5678/webhook/${String(all.path)}`,
		getRequestObject: () => req,
		getResponseObject: () => res,
		getHeaderData: () => Object.fromEntries(Object.entries({ 'content-type': 'application/json', ...headers }).map(([k, v]) => [k.toLowerCase(), v])),
		getNodeParameter: ((name: string, fallback?: unknown) => all[name] ?? fallback) as IWebhookFunctions['getNodeParameter'],
		getCredentials: (async () => {
			if (!credential) return { secret: SECRET, previousSecret: '' };
			credential.reads++;
			return { previousSecret: '', ...credential.data };
		}) as IWebhookFunctions['getCredentials'],
		getNode: () =>
			({
				name: 'DataSync Trigger',
				type: 'dataSyncTrigger',
				typeVersion: 1,
				parameters: all,
				...(credential ? { credentials: { dataSyncWebhookApi: { id: credential.id, name: 'signing secret' } } } : {}),
			}) as unknown as INode,
	};
	call.result = await new DataSyncTrigger().webhook.call(context as IWebhookFunctions);
	return call as Call;
}

function signed(body: string, at = Math.floor(Date.now() / 1000), secret = SECRET): Record<string, string> {
	return { 'X-DataSync-Timestamp': String(at), 'X-DataSync-Signature': `sha256=${signWebhook(secret, at, body)}` };
}

function refused(call: Call, status: number, error: string): void {
	expect(call.result).toEqual({ noWebhookResponse: true });
	expect(call.status).toBe(status);
	expect(call.sent).toEqual({ error });
}

test('a signed change starts one run with a DataSync item, answered on receipt', async () => {
	const body = JSON.stringify({ id: 42, op: 'update', changedAt: '2024-05-01T10:00:00Z', actor: 'ann', data: { email: 'a@example.com' } });
	const call = await deliver(body, signed(body));
	expect(call.status).toBeUndefined();
	expect(call.result.webhookResponse).toEqual({ received: 1 });
	const items = call.result.workflowData![0];
	expect(items).toHaveLength(1);
	const item = parseSyncItem(items[0].json);
	expect(item).toMatchObject({ entity: 'contact', system: 'crm', id: '42', op: 'upsert', shape: 'system', actor: 'ann', data: { email: 'a@example.com' } });
	expect(item.trace).toMatchObject({ origin: 'crm', hops: 0, runId: expect.stringMatching(/^delivery-/) });
	// n8n sends webhookResponse on receipt only when the description's responseData is empty (not left out).
	expect(new DataSyncTrigger().description.webhooks).toEqual([expect.objectContaining({ httpMethod: 'POST', responseMode: 'onReceived', responseData: '' })]);
});

test('a batch of changes under a configured path and custom headers', async () => {
	const body = JSON.stringify({ events: [{ record: { key: 'a' }, kind: 'deleted' }, { record: { key: 'b', name: 'B' }, kind: 'created' }] });
	const at = Math.floor(Date.now() / 1000);
	const call = await deliver(
		body,
		{ 'x-sig': signWebhook(SECRET, at, body), 'x-time': String(at) },
		{ changesPath: 'events', idField: 'record.key', opField: 'kind', dataField: 'record', options: { signatureHeader: 'X-Sig', timestampHeader: 'X-Time' } },
	);
	expect(call.result.workflowData![0].map((i) => [i.json.id, i.json.op])).toEqual([
		['a', 'delete'],
		['b', 'upsert'],
	]);
});

test.each([
	['unsigned', () => ({}), 'missing signature header'],
	['forged', (b: string) => signed(b, undefined, 'not-the-secret-xxxxxxxx'), 'signature does not match'],
	['expired', (b: string) => signed(b, Math.floor(Date.now() / 1000) - 301), 'timestamp outside the replay window'],
])('%s requests are answered 401 and start no run', async (_name, headers, reason) => {
	const body = JSON.stringify({ id: 1, op: 'upsert', data: {} });
	refused(await deliver(body, headers(body)), 401, reason);
});

test('the same signed request sent again is refused as a replay', async () => {
	const body = JSON.stringify({ id: 'replayed', op: 'upsert', data: {} });
	const headers = signed(body);
	expect((await deliver(body, headers)).result.workflowData).toHaveLength(1);
	refused(await deliver(body, headers), 401, 'request already received (replay)');
});

test('a tampered body is refused even with a signature that was once good', async () => {
	const body = JSON.stringify({ id: 7, op: 'upsert', data: { amount: 1 } });
	refused(await deliver(body.replace('1', '1000'), signed(body)), 401, 'signature does not match');
});

test.each([
	['not JSON', 'nope{', `the body is not JSON: Unexpected token 'o', "nope{" is not valid JSON`],
	['a change without an id', JSON.stringify([{ id: 1, op: 'upsert', data: {} }, { op: 'upsert', data: {} }]), 'change 1: field "id" (the record id) is missing'],
	[
		'a bad time',
		JSON.stringify({ id: 1, op: 'upsert', changedAt: 'soon', data: {} }),
		'the change: field "changedAt" must be a date-time that exists, ISO 8601 or epoch seconds / milliseconds, from 1970 to 9999; got "soon"',
	],
])('a signed but bad payload (%s) is answered 400 with the reason', async (_name, body, reason) => {
	refused(await deliver(body, signed(body)), 400, reason);
});

describe('signing secrets are read once per credential and reused for a while', () => {
	const OTHER = 'the-next-secret-0123456789abc';
	let n = 0;
	const credential = (data: StoredCredential['data']): StoredCredential => ({ id: `cred-cache-${++n}`, data, reads: 0 });
	const send = async (cred: StoredCredential, secret: string, at = Math.floor(Date.now() / 1000)) => {
		const body = JSON.stringify({ id: `r${Math.random()}`, op: 'upsert', data: {} });
		return await deliver(body, signed(body, at, secret), {}, cred);
	};
	afterEach(() => jest.restoreAllMocks());

	test('deliveries in a row read the credential once', async () => {
		const cred = credential({ secret: SECRET });
		for (let i = 0; i < 3; i++) expect((await send(cred, SECRET)).result.workflowData).toHaveLength(1);
		expect(cred.reads).toBe(1);
	});

	test('a secret set since the last read is accepted at once (the credential is read again)', async () => {
		const cred = credential({ secret: SECRET });
		await send(cred, SECRET);
		cred.data = { secret: OTHER, previousSecret: SECRET };
		expect((await send(cred, OTHER)).result.workflowData).toHaveLength(1);
		expect(cred.reads).toBe(2);
		// Both are cached now: no further read.
		expect((await send(cred, SECRET)).result.workflowData).toHaveLength(1);
		expect(cred.reads).toBe(2);
	});

	test(`a secret removed from the credential is refused after ${SECRET_CACHE_MS / 1000} s at the latest`, async () => {
		const cred = credential({ secret: SECRET });
		await send(cred, SECRET);
		cred.data = { secret: OTHER };
		const later = Date.now() + SECRET_CACHE_MS + 1;
		jest.spyOn(Date, 'now').mockReturnValue(later);
		refused(await send(cred, SECRET, Math.floor(later / 1000)), 401, 'signature does not match');
		expect(cred.reads).toBe(2);
	});

	test('a forged signature is refused after one fresh read of the credential', async () => {
		const cred = credential({ secret: SECRET });
		await send(cred, SECRET);
		refused(await send(cred, 'not-the-secret-xxxxxxxxxxxx'), 401, 'signature does not match');
		expect(cred.reads).toBe(2);
	});

	test('a trigger without a stored credential id reads the credential on every delivery', async () => {
		const cred = { ...credential({ secret: SECRET }), id: '' };
		await send(cred, SECRET);
		await send(cred, SECRET);
		expect(cred.reads).toBe(2);
	});
});

test('n8n resolves the webhook path from the Path parameter without its expression engine', () => {
	const webhook = new DataSyncTrigger().description.webhooks![0];
	expect(webhook.path).toBe('={{$parameter["path"]}}');
	const node = { name: 'DataSync Trigger', type: 'n8n-nodes-datasync.dataSyncTrigger', typeVersion: 1, position: [0, 0], parameters: { ...PARAMS } } as INode;
	expect(resolveWebhookDescriptionField(node, webhook, 'path')).toEqual({ resolved: true, value: 'datasync/crm/contact' });
	expect(webhookDescriptionIsNativelyResolvable(webhook)).toBe(true);
	// A path given as an expression is left to n8n's engine.
	expect(resolveWebhookDescriptionField({ ...node, parameters: { ...PARAMS, path: '={{ "x" }}' } }, webhook, 'path')).toEqual({ resolved: false });
});

test('the credential test asks for secrets that resist guessing', async () => {
	const test = new DataSyncTrigger().methods.credentialTest.dataSyncWebhookTest;
	const ctx = {} as ICredentialTestFunctions;
	const cred = (data: ICredentialDataDecryptedObject) => ({ id: '1', name: 'x', type: 'dataSyncWebhookApi', data });
	expect(await test.call(ctx, cred({ secret: SECRET }))).toEqual({ status: 'OK', message: 'Secret is usable' });
	expect(await test.call(ctx, cred({ secret: 'short' }))).toEqual({ status: 'Error', message: 'Secret must be at least 16 characters' });
	expect(await test.call(ctx, cred({ secret: SECRET, previousSecret: SECRET }))).toEqual({ status: 'Error', message: 'Previous Secret is the same as Secret' });
});

describe('signature schemes (the Signature Scheme parameter)', () => {
	const hmac = (algorithm: string, secret: string, content: string, encoding: 'hex' | 'base64') => createHmac(algorithm, secret).update(content).digest(encoding);

	test('a Shopify customers/update reaches the items through the field paths; a re-sent delivery (same webhook id, body re-serialised) is a replay', async () => {
		const params = { signatureScheme: 'shopify', opField: '', changedAtField: 'updated_at', actorField: '', dataField: '' };
		const customer = { id: 6940095234143, email: 'bob@example.com', first_name: 'Bob', updated_at: '2026-12-01T10:00:00-05:00' };
		const body = JSON.stringify(customer);
		const headers = { 'x-shopify-hmac-sha256': hmac('sha256', SECRET, body, 'base64'), 'x-shopify-webhook-id': `wh-${Date.now()}`, 'x-shopify-topic': 'customers/update' };
		const call = await deliver(body, headers, params);
		expect(call.result.workflowData![0].map((i) => parseSyncItem(i.json))).toEqual([
			expect.objectContaining({ id: '6940095234143', op: 'upsert', changedAt: '2026-12-01T10:00:00-05:00', data: customer }),
		]);
		refused(await deliver(body, headers, params), 401, 'request already received (replay)');
		const again = JSON.stringify(customer, null, 1);
		refused(await deliver(again, { ...headers, 'x-shopify-hmac-sha256': hmac('sha256', SECRET, again, 'base64') }, params), 401, 'request already received (replay)');
		refused(await deliver(body, { ...headers, 'x-shopify-hmac-sha256': hmac('sha256', 'not-the-secret-xxxxxxxx', body, 'base64') }, params), 401, 'signature does not match');
	});

	test('Op Header: Shopify says the operation in X-Shopify-Topic; customers/delete is a delete, an unknown topic is refused naming the header', async () => {
		const params = { signatureScheme: 'shopify', opField: '', upsertValues: 'customers/create,customers/update', deleteValues: 'customers/delete', changedAtField: '', actorField: '', dataField: '', options: { opHeader: 'X-Shopify-Topic' } };
		const send = (body: string, topic: string) => deliver(body, { 'x-shopify-hmac-sha256': hmac('sha256', SECRET, body, 'base64'), 'x-shopify-topic': topic, 'x-shopify-webhook-id': `wh-${topic}-${body.length}` }, params);
		const deleted = JSON.stringify({ id: 6940095234144, phone: null, addresses: [] });
		expect((await send(deleted, 'customers/delete')).result.workflowData![0].map((i) => [i.json.id, i.json.op])).toEqual([['6940095234144', 'delete']]);
		const created = JSON.stringify({ id: 6940095234145, email: 'new@example.com' });
		expect((await send(created, 'customers/create')).result.workflowData![0].map((i) => [i.json.id, i.json.op])).toEqual([['6940095234145', 'upsert']]);
		const merged = JSON.stringify({ id: 6940095234146 });
		refused(await send(merged, 'customers/merge'), 400, 'the change: header "x-shopify-topic" (the operation) is "customers/merge", not one of customers/create, customers/update, customers/delete');
	});

	test("Slack's url_verification is answered with its challenge and starts no run; an unsigned one is refused", async () => {
		const body = JSON.stringify({ token: 't', challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
		const ts = String(Math.floor(Date.now() / 1000));
		const call = await deliver(body, { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${hmac('sha256', SECRET, `v0:${ts}:${body}`, 'hex')}` }, { signatureScheme: 'slack' });
		expect(call).toEqual({ result: { noWebhookResponse: true }, status: 200, sent: { challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' } });
		refused(await deliver(body, { 'x-slack-request-timestamp': ts }, { signatureScheme: 'slack' }), 401, 'missing signature header (x-slack-signature)');
	});

	test("GitHub's ping is answered 200 and starts no run", async () => {
		const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
		const call = await deliver(body, { 'x-github-event': 'ping', 'x-github-delivery': `p-${Date.now()}`, 'x-hub-signature-256': `sha256=${hmac('sha256', SECRET, body, 'hex')}` }, { signatureScheme: 'github' });
		expect(call).toEqual({ result: { noWebhookResponse: true }, status: 200, sent: { received: 0, ping: true } });
	});

	test("HubSpot signs the URL: n8n's webhook URL by default, the Public URL option behind a proxy, with the query string", async () => {
		const params = { signatureScheme: 'hubspot', changesPath: '', idField: 'objectId', opField: 'subscriptionType', upsertValues: 'contact.propertyChange', changedAtField: 'occurredAt', actorField: '', dataField: '', query: '?portal=1' };
		const body = JSON.stringify([{ objectId: 123, subscriptionType: 'contact.propertyChange', occurredAt: Date.now(), propertyName: 'email', propertyValue: 'a@example.com' }]);
		const sign = (url: string) => {
			const ms = String(Date.now());
			return { 'x-hubspot-request-timestamp': ms, 'x-hubspot-signature-v3': hmac('sha256', SECRET, `POST${url}${body}${ms}`, 'base64') };
		};
		const direct = await deliver(body, sign('http://127.0.0.1:5678/webhook/datasync/crm/contact?portal=1'), params);
		expect(direct.result.workflowData![0].map((i) => i.json.id)).toEqual(['123']);
		const publicUrl = 'https://hooks.example.com/n8n/webhook/datasync/crm/contact';
		refused(await deliver(body, sign(`${publicUrl}?portal=1`), params), 401, 'signature does not match');
		expect((await deliver(body, sign(`${publicUrl}?portal=1`), { ...params, options: { publicUrl } })).result.workflowData).toHaveLength(1);
	});

	test('a custom scheme set up wrongly answers 500 naming the field, and starts no run', async () => {
		const body = JSON.stringify({ id: 1, op: 'upsert', data: {} });
		refused(await deliver(body, { 'x-signature': 'x' }, { signatureScheme: 'custom', customContent: 'timestampBody', customTimestampHeader: '' }), 500, "the trigger's custom signature scheme is not usable: Custom Timestamp Header is empty, but the signed content holds the timestamp");
	});

	test('a custom scheme (HMAC-SHA1, base64, timestamp in ms) is verified; outside the window refused', async () => {
		const params = { signatureScheme: 'custom', customAlgorithm: 'sha1', customEncoding: 'base64', customContent: 'timestampBody', customSeparator: '|', customSignatureHeader: 'X-Sig', customPrefix: 'v1,', customTimestampHeader: 'X-Ts', customTimestampUnit: 'milliseconds' };
		const body = JSON.stringify({ id: 'k', op: 'upsert', data: { a: 1 } });
		const signedAt = (ms: number) => ({ 'x-ts': String(ms), 'x-sig': `v1,${hmac('sha1', SECRET, `${ms}|${body}`, 'base64')}` });
		expect((await deliver(body, signedAt(Date.now()), params)).result.workflowData![0].map((i) => i.json.id)).toEqual(['k']);
		refused(await deliver(body, signedAt(Date.now() - 301_000), params), 401, 'timestamp outside the replay window');
	});

	test('every scheme the parameter offers is one the verifier knows, and the default is the DataSync scheme', () => {
		const param = new DataSyncTrigger().description.properties.find((p) => p.name === 'signatureScheme')!;
		expect(param.default).toBe('datasync');
		expect((param.options as Array<{ value: string }>).map((o) => o.value).sort()).toEqual([...SIGNATURE_SCHEMES].sort());
	});
});
