/**
 * DataSync Trigger's webhook() under n8n's webhook contract, with a typed stand-in for IWebhookFunctions:
 * a refused call writes its own answer and returns noWebhookResponse without workflowData (n8n then
 * starts no execution); an accepted call returns the items and the answer sent on receipt.
 */
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, IDataObject, INode, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

type Request = ReturnType<IWebhookFunctions['getRequestObject']>;
type Response = ReturnType<IWebhookFunctions['getResponseObject']>;
import { signWebhook } from '../../lib/connectors/webhook/signature';
import { parseSyncItem } from '../../lib/item';
import { DataSyncTrigger } from '../../nodes/DataSyncTrigger/DataSyncTrigger.node';

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

async function deliver(body: string, headers: Record<string, string>, params: IDataObject = {}): Promise<Call> {
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
	const req = { rawBody: undefined as Buffer | undefined, readRawBody: async () => (req.rawBody = Buffer.from(body, 'utf8')) } as unknown as Request;
	const all = { ...PARAMS, ...params };
	const context: Pick<IWebhookFunctions, 'getRequestObject' | 'getResponseObject' | 'getHeaderData' | 'getNodeParameter' | 'getCredentials' | 'getNode'> = {
		getRequestObject: () => req,
		getResponseObject: () => res,
		getHeaderData: () => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
		getNodeParameter: ((name: string, fallback?: unknown) => all[name] ?? fallback) as IWebhookFunctions['getNodeParameter'],
		getCredentials: (async () => ({ secret: SECRET, previousSecret: '' })) as IWebhookFunctions['getCredentials'],
		getNode: () => ({ name: 'DataSync Trigger', type: 'dataSyncTrigger', typeVersion: 1, parameters: all }) as unknown as INode,
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
	const body = JSON.stringify({ id: 1, data: {} });
	refused(await deliver(body, headers(body)), 401, reason);
});

test('the same signed request sent again is refused as a replay', async () => {
	const body = JSON.stringify({ id: 'replayed', data: {} });
	const headers = signed(body);
	expect((await deliver(body, headers)).result.workflowData).toHaveLength(1);
	refused(await deliver(body, headers), 401, 'request already received (replay)');
});

test('a tampered body is refused even with a signature that was once good', async () => {
	const body = JSON.stringify({ id: 7, data: { amount: 1 } });
	refused(await deliver(body.replace('1', '1000'), signed(body)), 401, 'signature does not match');
});

test.each([
	['not JSON', 'nope{', 'the body is not JSON'],
	['a change without an id', JSON.stringify([{ id: 1, data: {} }, { data: {} }]), 'change 1: field "id" (the record id) must be a string or a number'],
	['a bad time', JSON.stringify({ id: 1, changedAt: 'soon', data: {} }), 'the change: field "changedAt" must be an ISO 8601 date-time or epoch time, got "soon"'],
])('a signed but bad payload (%s) is answered 400 with the reason', async (_name, body, reason) => {
	refused(await deliver(body, signed(body)), 400, reason);
});

test('the credential test asks for secrets that resist guessing', async () => {
	const test = new DataSyncTrigger().methods.credentialTest.dataSyncWebhookTest;
	const ctx = {} as ICredentialTestFunctions;
	const cred = (data: ICredentialDataDecryptedObject) => ({ id: '1', name: 'x', type: 'dataSyncWebhookApi', data });
	expect(await test.call(ctx, cred({ secret: SECRET }))).toEqual({ status: 'OK', message: 'Secret is usable' });
	expect(await test.call(ctx, cred({ secret: 'short' }))).toEqual({ status: 'Error', message: 'Secret must be at least 16 characters' });
	expect(await test.call(ctx, cred({ secret: SECRET, previousSecret: SECRET }))).toEqual({ status: 'Error', message: 'Previous Secret is the same as Secret' });
});
