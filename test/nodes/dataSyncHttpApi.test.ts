/**
 * DataSync HTTP API through n8n-core's WorkflowExecute, with n8n's httpRequestWithAuthentication and the
 * credential's `authenticate`, against a REST system on 127.0.0.1.
 */
import { DataSyncRestApi } from '../../credentials/DataSyncRestApi.credentials';
import { closeAllStores, openStore } from '../../lib/engine/store';
import { parseSyncItem, type SyncItem } from '../../lib/item';
import { DataSyncHttpApi } from '../../nodes/DataSyncHttpApi/DataSyncHttpApi.node';
import { runIdOfExecution, runNode } from '../helpers/run-node';
import { createTempDir, type TempDir } from '../helpers/services';
import { seedContacts, startRestServer, type RestServer } from '../unit/connectors/rest-server';

let server: RestServer;
let dir: TempDir;

const base = {
	entity: 'contact',
	system: 'crm',
	collectionPath: '/contacts',
	idField: 'id',
	updatedAtField: 'updated_at',
	requestOptions: { retries: 2, timeout: 2000 },
};

function run(parameters: Record<string, unknown>, input?: Array<Record<string, unknown>>, continueOnFail = false, token?: string) {
	return runNode(DataSyncHttpApi, {
		parameters: { ...base, ...parameters } as never,
		input: input as never,
		credentials: {
			dataSyncRestApi: { baseUrl: server.url, authType: 'bearer', token: token ?? server.token },
			dataSyncStoreApi: { backend: 'sqlite', path: dir.file('store.sqlite') },
		},
		credentialTypes: [DataSyncRestApi],
		continueOnFail,
		executionId: 'exec-7',
	});
}

function items(result: Awaited<ReturnType<typeof run>>): SyncItem[] {
	if (result.error) throw result.error;
	return result.outputs[0].map((o, i) => parseSyncItem(o.json, i));
}

function change(id: string | null, data: Record<string, unknown>, op: 'upsert' | 'delete' = 'upsert') {
	return { entity: 'contact', system: 'crm', id, op, shape: 'system', data, trace: { runId: 'r', origin: 'erp', hops: 1 } };
}

beforeAll(async () => {
	server = await startRestServer();
	dir = createTempDir('dshttp');
});

afterAll(async () => {
	await server.close();
	await closeAllStores();
	dir.remove();
});

beforeEach(() => {
	server.contacts.clear();
	server.log.length = 0;
	server.trouble.length = 0;
	server.style = 'page';
});

describe('List', () => {
	const list = { operation: 'list', itemsPath: 'data', pageSize: 50, pageSizeParam: 'limit', pagination: 'page', pageParam: 'page', pageStart: 1 };

	test("lists after the store's cursor: the API's inclusive filter is narrowed to (time, id), nothing twice", async () => {
		seedContacts(server, 400, 5);
		const store = await openStore({ backend: 'sqlite', path: dir.file('store.sqlite') });
		// Contact 100012 is the third of five sharing 00:00:02.
		await store.setCursor('contacts', 'crm', 'contact', { ts: '2024-01-01T00:00:02.000Z', id: '100012' });
		const out = items(await run({ ...list, cursorSource: 'store', sync: 'contacts', updatedSinceParam: 'updated_since' }));
		expect(out[0].id).toBe('100013');
		expect(out).toHaveLength(400 - 13);
		expect(new Set(out.map((i) => i.id)).size).toBe(out.length);
		expect(out[0]).toMatchObject({ changedAt: '2024-01-01T00:00:02.000Z', trace: { runId: runIdOfExecution('exec-7'), sync: 'contacts', cursor: { ts: '2024-01-01T00:00:02.000Z', id: '100013' } } });
		expect(server.log[0].query.get('updated_since')).toBe('2024-01-01T00:00:02.000Z');
		expect(await store.getCursor('contacts', 'crm', 'contact')).toEqual({ ts: '2024-01-01T00:00:02.000Z', id: '100012' });
	});

	test('reads through Link headers, 5xx and 429 on the way', async () => {
		seedContacts(server, 120, 3);
		server.style = 'link';
		server.trouble.push({ status: 503 }, { status: 429, retryAfter: '0' });
		const out = items(await run({ ...list, pagination: 'link', cursorSource: 'none' }));
		expect(out).toHaveLength(120);
		expect(server.log).toHaveLength(3 + 2);
	});

	test('a refused credential is an API error that says what was asked', async () => {
		const result = await run({ ...list, cursorSource: 'none' }, undefined, false, 'wrong');
		expect(result.error).toMatchObject({ name: 'NodeApiError', httpCode: '401' });
		expect(result.error?.message).toMatch(/list page 1: GET http:\/\/127\.0\.0\.1:\d+\/contacts answered 401/);
	});
});

test('Get reads each record; one that is not there gives no item', async () => {
	seedContacts(server, 3);
	const result = await run({ operation: 'get', id: '={{ $json.want }}', recordPath: 'data' }, [{ want: '100001' }, { want: 'nope' }, { want: '100002' }]);
	expect(items(result).map((i) => i.id)).toEqual(['100001', '100002']);
	expect(result.outputs[0].map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 2 }]);
});

test("a dropped connection and a slow answer through n8n's HTTP helper are retried", async () => {
	seedContacts(server, 1);
	server.trouble.push({ drop: true }, { delayMs: 500 });
	const result = await run({ operation: 'get', id: '100000', recordPath: 'data', requestOptions: { retries: 2, timeout: 200 } });
	expect(items(result).map((i) => i.id)).toEqual(['100000']);
	expect(server.log).toHaveLength(3);
});

describe('writes', () => {
	test('Upsert routes by id and op, one request per record, and emits the ids the API gave', async () => {
		seedContacts(server, 2);
		const result = await run({ operation: 'upsert', updateMethod: 'PATCH', recordPath: 'data' }, [
			change(null, { email: 'new@example.com' }),
			change('100000', { email: 'changed@example.com' }),
			change('100001', {}, 'delete'),
		]);
		const out = items(result);
		expect(out.map((i) => i.id)).toEqual(['1', '100000', '100001']);
		expect(server.contacts.get('1')?.email).toBe('new@example.com');
		expect(server.contacts.get('100000')?.email).toBe('changed@example.com');
		expect(server.contacts.has('100001')).toBe(false);
		expect(server.log.map((l) => l.method).sort()).toEqual(['DELETE', 'PATCH', 'POST']);
	});

	test('with a batch endpoint, creates and updates go in one request per batch', async () => {
		seedContacts(server, 1);
		const input = [change('100000', { email: 'a@example.com' }), ...Array.from({ length: 4 }, (_, i) => change(null, { email: `n${i}@example.com` }))];
		const out = items(await run({ operation: 'upsert', batchPath: '/contacts/batch', batch: { size: 3, bodyKey: 'records', resultsPath: 'records' } }, input));
		expect(out[0].id).toBe('100000');
		expect(new Set(out.slice(1).map((i) => i.id)).size).toBe(4);
		expect(out.slice(1).map((i) => server.contacts.get(i.id as string)?.email)).toEqual(['n0@example.com', 'n1@example.com', 'n2@example.com', 'n3@example.com']);
		expect(server.log.map((l) => `${l.method} ${l.path}`)).toEqual(['POST /contacts/batch', 'POST /contacts/batch']);
		expect(server.contacts.get('100000')?.email).toBe('a@example.com');
	});

	test('Update with PUT replaces the record; a failing record is named, and Continue On Fail keeps the rest', async () => {
		seedContacts(server, 2);
		server.trouble.push({ status: 500 }, { status: 500 }, { status: 500 });
		const result = await run({ operation: 'update', updateMethod: 'PUT', requestOptions: { retries: 2, concurrency: 1 } }, [change('100000', { email: 'x@example.com' }), change('100001', { email: 'y@example.com' })], true);
		const out = result.outputs[0].map((o) => o.json);
		expect(out[0].error).toMatch(/^item 0 \(contact \/ crm \/ 100000\): PUT .*\/contacts\/100000 answered 500 after 3 attempts/);
		expect(out[1]).toMatchObject({ id: '100001' });
		expect(server.contacts.get('100001')).toEqual({ id: '100001', email: 'y@example.com', updated_at: expect.any(String) });
	});

	test('Delete counts a record that is already gone as deleted', async () => {
		seedContacts(server, 1);
		const out = items(await run({ operation: 'delete' }, [change('100000', {}), change('gone', {})]));
		expect(out.map((i) => i.id)).toEqual(['100000', 'gone']);
		expect(server.contacts.size).toBe(0);
	});
});

describe('conditional writes', () => {
	const at = (s: number) => new Date(Date.UTC(2031, 0, 1) + s * 1000).toISOString();
	const versioned = (id: string, data: Record<string, unknown>, version: string, op: 'upsert' | 'delete' = 'upsert') => {
		const c = change(id, data, op);
		return { ...c, key: `k-${id}`, trace: { ...c.trace, version } };
	};

	beforeEach(() => {
		server.contacts.set('1', { id: '1', email: 'one@x.io', phone: '1', updated_at: at(0) });
		server.contacts.set('2', { id: '2', email: 'two@x.io', phone: '2', updated_at: at(5) });
		server.log.length = 0;
	});

	test('an update at the expected version is sent with the ETag (If-Match) and returns the record\'s new version', async () => {
		const result = await run({ operation: 'upsert', recordPath: 'data' }, [versioned('1', { phone: '11' }, at(0))]);
		const [out] = result.outputs[0].map((o) => o.json);
		expect(out).toMatchObject({ id: '1', outcome: 'written', changedAt: server.contacts.get('1')!.updated_at });
		expect(server.contacts.get('1')!.phone).toBe('11');
		expect(server.log.map((l) => [l.method, l.ifMatch])).toEqual([
			['GET', undefined],
			['PATCH', `"${at(0)}"`],
		]);
	});

	test('a record that moved since the expected version is not overwritten; one that is gone is not re-created', async () => {
		const result = await run({ operation: 'upsert', recordPath: 'data' }, [versioned('2', { phone: 'mine' }, at(0)), versioned('9', { phone: 'x' }, at(0))]);
		const out = result.outputs[0].map((o) => o.json);
		expect(out[0]).toMatchObject({ id: '2', outcome: 'stale', changedAt: at(5) });
		expect(out[1]).toMatchObject({ id: '9', outcome: 'target-deleted' });
		expect(server.contacts.get('2')!.phone).toBe('2');
		expect(server.contacts.has('9')).toBe(false);
		expect(server.log.filter((l) => l.method !== 'GET')).toEqual([]);
	});

	test('a delete of a record that moved is stale; Continue On Fail keeps what Commit pairs a failed write by', async () => {
		const result = await run({ operation: 'upsert', recordPath: 'data' }, [versioned('2', {}, at(0), 'delete'), { ...versioned('1', { phone: 1 }, at(0)), entity: 'order' }], true);
		const out = result.outputs[0].map((o) => o.json);
		expect(out[0]).toMatchObject({ outcome: 'stale' });
		expect(server.contacts.has('2')).toBe(true);
		expect(out[1]).toMatchObject({ entity: 'order', system: 'crm', key: 'k-1', id: '1', op: 'upsert', error: expect.stringContaining('entity') });
	});
});
