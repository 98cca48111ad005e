/**
 * DataSync HTTP API, Match Fields: before a create, the collection is asked for records holding the
 * create's match value; one found is linked (outcome "matched") and nothing is POSTed, two are an
 * ambiguous match, none lets the create go on. Through n8n-core's WorkflowExecute against a REST server on
 * 127.0.0.1 (its list ignores the filter, so the node's own comparison is what decides).
 */
import { DataSyncRestApi } from '../../credentials/DataSyncRestApi.credentials';
import { DataSyncHttpApi } from '../../nodes/DataSyncHttpApi/DataSyncHttpApi.node';
import { runNode } from '../helpers/run-node';
import { startRestServer, type RestServer } from '../unit/connectors/rest-server';

let server: RestServer;

const parameters = {
	operation: 'upsert',
	entity: 'lead',
	system: 'shop',
	collectionPath: '/contacts',
	idField: 'id',
	updatedAtField: 'updated_at',
	recordPath: 'data',
	matchFields: 'email',
	requestOptions: { retries: 0, timeout: 2000 },
};

const create = (email: string) => ({ entity: 'lead', system: 'shop', id: null, op: 'upsert', shape: 'system', data: { email, first_name: 'Lena' }, key: 'k1', trace: { runId: 'r', origin: 'crm', hops: 1 } });

async function run(input: Array<Record<string, unknown>>) {
	const result = await runNode(DataSyncHttpApi, {
		parameters: parameters as never,
		input: input as never,
		credentials: { dataSyncRestApi: { baseUrl: server.url, authType: 'bearer', token: server.token } },
		credentialTypes: [DataSyncRestApi],
		executionId: 'exec-9',
	});
	if (result.error) throw result.error;
	return result.outputs[0].map((o) => o.json as Record<string, unknown>);
}

const posts = () => server.log.filter((r) => r.method === 'POST').length;

beforeAll(async () => {
	server = await startRestServer();
});

afterAll(async () => {
	await server.close();
});

beforeEach(() => {
	server.contacts.clear();
	server.log.length = 0;
	server.trouble.length = 0;
});

test('no record holds the value: the create is POSTed, the lookup asked the API with the field', async () => {
	const out = await run([create('new.lead@example.com')]);
	expect(out).toEqual([expect.objectContaining({ outcome: 'written', id: expect.any(String) })]);
	expect(posts()).toBe(1);
	expect(server.log[0]).toMatchObject({ method: 'GET', path: '/contacts' });
	expect(server.log[0].query.get('email')).toBe('new.lead@example.com');
});

test('one record holds it (other case, spaces): linked as matched with its version, nothing POSTed', async () => {
	server.contacts.set('41', { id: '41', email: ' Lena.Link@Example.com ', updated_at: '2024-05-01T10:00:00.000Z' });
	server.contacts.set('42', { id: '42', email: 'someone.else@example.com', updated_at: '2024-05-01T10:00:00.000Z' });
	const out = await run([create('lena.link@example.com')]);
	expect(out).toEqual([expect.objectContaining({ outcome: 'matched', id: '41', changedAt: '2024-05-01T10:00:00.000Z', detail: 'found shop record 41 by email; linked, nothing created' })]);
	expect(posts()).toBe(0);
	expect(server.contacts.size).toBe(2);
});

test('two records hold it: an ambiguous match, nothing POSTed', async () => {
	server.contacts.set('51', { id: '51', email: 'twice@example.com', updated_at: '2024-05-01T10:00:00.000Z' });
	server.contacts.set('52', { id: '52', email: 'TWICE@example.com', updated_at: '2024-05-01T10:00:01.000Z' });
	const out = await run([create('twice@example.com')]);
	expect(out).toEqual([expect.objectContaining({ outcome: 'ambiguous', id: null, detail: 'shop records 51, 52 all match by email; nothing created' })]);
	expect(posts()).toBe(0);
});
