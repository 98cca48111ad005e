/**
 * Issue 5, "Done when": the connector nodes proven in stock n8n 2.41.1 (this package installed from its
 * packed tarball), against the real services:
 *
 * - DataSync Trigger: a signed change is answered 200 and starts one execution with the configured item;
 *   forged, unsigned, expired and replayed requests are answered 401 and a bad payload 400, and none of
 *   them starts an execution (counted before and after).
 * - DataSync Database on Postgres, MariaDB and an SQLite file (credentials made through the public API),
 *   on a table and columns whose names need quoting: Get Changes from a start cursor over pages that split
 *   equal timestamps, Get Many, Get by IDs, Upsert (creates and updates, with a hostile value), Delete
 *   (hard and soft); every write is checked in the database itself with pg / mysql2 / node:sqlite.
 * - DataSync HTTP API against a local REST server on 127.0.0.1: List with updated-since and pagination,
 *   Create / Update / Delete, a 5xx retried and a 429 whose Retry-After is honoured (the server's log).
 *
 * The connector nodes run on demand behind n8n's own Webhook node (responseMode lastNode, all entries):
 * each call is one production execution of a published workflow, and its answer is the node's output.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { N8nInstance, nodeType, uniqueId, type WebhookResponse } from './harness';
import { contactTableDdl, openFixture, type DialectFixture } from '../unit/connectors/fixtures';
import { seedContacts, startRestServer, type RestServer } from '../unit/connectors/rest-server';
import type { SqlDialect } from '../../lib/connectors/sql';

type Json = Record<string, unknown>;

interface SyncItemJson extends Json {
	entity: string;
	system: string;
	id: string | null;
	op: 'upsert' | 'delete';
	shape: string;
	data: Json;
	changedAt?: string;
	actor?: string;
	trace: { runId: string; origin: string; hops: number; cursor?: { ts: string; id: string }; sync?: string };
}

/** Quotes of every dialect, a backslash, SQL, placeholders and unicode (incl. a 4-byte emoji). */
const HOSTILE = `O'Brien "the \\ boss"; DROP TABLE contacts; -- ü ß 日本語 🎉 \`x\` %s $1 ?`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let n8n: N8nInstance;

beforeAll(async () => {
	n8n = await N8nInstance.start();
});

afterAll(async () => {
	await n8n?.stop();
});

// ---------------------------------------------------------------------------------------------------------
// Workflow helpers: n8n's Webhook node in front of one of our nodes.

interface Runner {
	workflowId: string;
	/** One production execution; resolves to the json of every item the last node emitted. */
	call(body: Json): Promise<Json[]>;
	/** The same call, answered as it is (for failures). */
	post(body: Json): Promise<WebhookResponse>;
}

/** The error of the workflow's latest execution, as n8n saved it (waits for n8n to save it). */
async function lastExecutionError(workflowId: string, timeoutMs = 10_000): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const runs = await n8n.executions(workflowId);
		const last = runs.length ? await n8n.execution(runs[runs.length - 1].id) : undefined;
		const error = last?.data?.resultData.error;
		if (error) return `${error.message} ${error.description ?? ''}`;
		if (Date.now() > deadline) return last ? `(no error in execution ${last.id}, status ${last.status})` : '(no execution)';
		await sleep(200);
	}
}

function webhookNode(path: string): Json {
	return {
		id: randomUUID(),
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', responseData: 'allEntries', options: {} },
	};
}

/**
 * Webhook → (Split Out `body.items`, when the node takes input items) → `node`; published. The node's
 * parameters may read the request body through `$json.body` when it follows the Webhook directly.
 */
async function createRunner(name: string, node: Json, options: { splitItems: boolean }): Promise<Runner> {
	const path = `acc-${uniqueId(name)}`;
	const nodes: Json[] = [webhookNode(path)];
	const connections: Json = {};
	let previous = 'Webhook';
	if (options.splitItems) {
		nodes.push({
			id: randomUUID(),
			name: 'Items',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			position: [200, 0],
			parameters: { fieldToSplitOut: 'body.items', include: 'noOtherFields', options: {} },
		});
		connections.Webhook = { main: [[{ node: 'Items', type: 'main', index: 0 }]] };
		previous = 'Items';
	}
	nodes.push({ id: randomUUID(), position: [400, 0], typeVersion: 1, ...node, name: 'Connector' });
	connections[previous] = { main: [[{ node: 'Connector', type: 'main', index: 0 }]] };
	const workflow = await n8n.createWorkflow({ name, nodes, connections });
	await n8n.publish(workflow.id);
	return {
		workflowId: workflow.id,
		post: async (body: Json) => await n8n.webhook(path, body),
		async call(body: Json): Promise<Json[]> {
			const res = await n8n.webhook(path, body);
			if (res.status !== 200) {
				const error = await lastExecutionError(workflow.id).catch((e: Error) => e.message);
				throw new Error(`${name}: webhook answered ${res.status} ${res.text.slice(0, 500)}\nexecution error: ${error}`);
			}
			if (!Array.isArray(res.body)) throw new Error(`${name}: expected a list of items, got ${res.text.slice(0, 300)}`);
			return res.body as Json[];
		},
	};
}

/** n8n's credential test, as the editor's "Test" button runs it (the node's credentialTest method or the request). */
async function testCredential(credential: { id: string; name: string }, type: string, data: Json): Promise<{ status: string; message: string }> {
	const res = await n8n.rest<{ data: { status: string; message: string } }>('POST', '/rest/credentials/test', {
		credentials: { id: credential.id, name: credential.name, type, data },
	});
	return res.data;
}

function syncItem(entity: string, system: string, id: string | null, data: Json, op: 'upsert' | 'delete' = 'upsert'): SyncItemJson {
	return { entity, system, id, op, shape: 'system', data, trace: { runId: 'acceptance', origin: 'hub', hops: 1 } };
}

const asItems = (list: Json[]) => list as SyncItemJson[];

// ---------------------------------------------------------------------------------------------------------
// 1. DataSync Trigger: signed webhooks.

describe('DataSync Trigger in stock n8n: signed change notifications', () => {
	const SECRET = 'acceptance-signing-secret-0123456789';
	let path: string;
	let workflowId: string;
	let credential: { id: string; name: string };

	const sign = (secret: string, timestamp: string, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
	const now = () => String(Math.floor(Date.now() / 1000));
	const post = (body: string, headers: Record<string, string>) => n8n.webhook(path, undefined, { raw: body, headers });
	const signedHeaders = (body: string, timestamp = now(), secret = SECRET) => ({
		'x-datasync-timestamp': timestamp,
		'x-datasync-signature': `sha256=${sign(secret, timestamp, body)}`,
	});
	const count = async () => (await n8n.executions(workflowId)).length;

	let sentinels = 0;

	/**
	 * Sends a request that must be refused, and proves that no execution started for it: a signed change
	 * sent after the refusal was answered must run, and once its execution has finished it is the only new
	 * one (an execution the refused request had started would have started before it).
	 */
	async function expectRefused(body: string, headers: Record<string, string>, status: number, error: string | RegExp): Promise<void> {
		const before = new Set((await n8n.executions(workflowId)).map((e) => e.id));
		const res = await post(body, headers);
		expect({ status: res.status, body: res.body }).toEqual({ status, body: { error: expect.stringMatching(error) } });
		const sentinel = `sentinel-${++sentinels}`;
		const next = JSON.stringify({ event: 'contact.updated', record: { id: sentinel } });
		expect((await post(next, signedHeaders(next))).status).toBe(200);
		const all = await n8n.waitForExecutions(workflowId, before.size + 1);
		const started = all.filter((e) => !before.has(e.id)).map((e) => e.data!.resultData.runData['DataSync Trigger'][0].data!.main[0]!.map((i) => i.json.id));
		expect(started).toEqual([[sentinel]]);
	}

	beforeAll(async () => {
		credential = await n8n.createCredential('dataSyncWebhookApi', 'crm signing secret', { secret: SECRET });
		path = `datasync/crm/contact-${uniqueId('trigger')}`;
		const workflow = await n8n.createWorkflow({
			name: 'acceptance: DataSync Trigger',
			nodes: [
				{
					id: randomUUID(),
					name: 'DataSync Trigger',
					type: nodeType('dataSyncTrigger'),
					typeVersion: 1,
					position: [0, 0],
					webhookId: randomUUID(),
					parameters: {
						path,
						entity: 'contact',
						system: 'crm',
						idField: 'record.id',
						opField: 'event',
						// The CRM's own event names: anything else is refused, never guessed to be an upsert.
						upsertValues: 'contact.created,contact.updated',
						changedAtField: 'at',
						actorField: 'by',
						dataField: 'record',
						options: {},
					},
					credentials: { dataSyncWebhookApi: credential },
				},
			],
			connections: {},
		});
		workflowId = workflow.id;
		await n8n.publish(workflowId);
	});

	const change = {
		event: 'contact.updated',
		at: '2026-11-29T10:00:00.123456Z',
		by: 'ann',
		record: { id: 42, email: 'ann@example.com', name: HOSTILE },
	};
	const body = JSON.stringify(change);
	let acceptedHeaders: Record<string, string>;

	it('answers a signed change 200 and runs one execution with the item as configured', async () => {
		acceptedHeaders = signedHeaders(body);
		const res = await post(body, acceptedHeaders);
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ received: 1 });

		const [execution] = await n8n.waitForExecutions(workflowId, 1);
		expect(execution.status).toBe('success');
		const items = execution.data!.resultData.runData['DataSync Trigger'][0].data!.main[0]!.map((i) => i.json);
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({
			entity: 'contact',
			system: 'crm',
			id: '42',
			op: 'upsert',
			shape: 'system',
			data: { id: 42, email: 'ann@example.com', name: HOSTILE },
			changedAt: '2026-11-29T10:00:00.123456Z',
			actor: 'ann',
			trace: { origin: 'crm', hops: 0 },
		});
		expect(await count()).toBe(1);
	});

	it('takes a signed batch with a delete as one execution with two items', async () => {
		const batch = JSON.stringify([
			{ event: 'contact.created', at: 1764410400, record: { id: 'a-1', email: 'new@example.com' } },
			{ event: 'deleted', at: 1764410400123, record: { id: 'a-2' } },
		]);
		const res = await post(batch, signedHeaders(batch));
		expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { received: 2 } });
		const executions = await n8n.waitForExecutions(workflowId, 2);
		const items = executions[1].data!.resultData.runData['DataSync Trigger'][0].data!.main[0]!.map((i) => i.json);
		expect(items).toEqual([
			expect.objectContaining({ id: 'a-1', op: 'upsert', changedAt: '2025-11-29T10:00:00.000Z', data: { id: 'a-1', email: 'new@example.com' } }),
			expect.objectContaining({ id: 'a-2', op: 'delete', changedAt: '2025-11-29T10:00:00.123Z' }),
		]);
	});

	it('verifies the signature over the body before Content-Encoding (a gzip-compressed request)', async () => {
		const before = await count();
		const plain = JSON.stringify({ event: 'contact.updated', at: '2026-11-29T11:00:00Z', record: { id: 'gz-1', note: HOSTILE } });
		const { 'x-datasync-timestamp': timestamp, 'x-datasync-signature': signature } = signedHeaders(plain);
		const res = await fetch(`${n8n.baseUrl}/webhook/${path}`, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'content-encoding': 'gzip',
				'x-datasync-timestamp': timestamp,
				// The "sha256=" prefix is optional.
				'x-datasync-signature': signature.replace(/^sha256=/, ''),
			},
			body: gzipSync(Buffer.from(plain, 'utf8')),
		});
		expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { received: 1 } });
		const executions = await n8n.waitForExecutions(workflowId, before + 1);
		const items = executions[before].data!.resultData.runData['DataSync Trigger'][0].data!.main[0]!.map((i) => i.json);
		expect(items).toEqual([expect.objectContaining({ id: 'gz-1', data: { id: 'gz-1', note: HOSTILE } })]);
	});

	it('tests the signing secret credential in n8n (long enough, not the previous one)', async () => {
		expect(await testCredential(credential, 'dataSyncWebhookApi', { secret: SECRET })).toMatchObject({ status: 'OK' });
		expect(await testCredential(credential, 'dataSyncWebhookApi', { secret: 'short' })).toEqual({ status: 'Error', message: 'Secret must be at least 16 characters' });
	});

	it('refuses a forged signature (wrong secret) with 401 and no execution', async () => {
		await expectRefused(body.replace('42', '43'), signedHeaders(body.replace('42', '43'), now(), 'a-guessed-secret-that-is-wrong'), 401, /^signature does not match$/);
	});

	it('refuses a body changed after signing with 401 and no execution', async () => {
		const timestamp = now();
		const headers = signedHeaders(body, timestamp);
		await expectRefused(body.replace('ann@example.com', 'eve@example.com'), headers, 401, /^signature does not match$/);
	});

	it('refuses a request without a signature (or without a timestamp) with 401 and no execution', async () => {
		await expectRefused(body, { 'x-datasync-timestamp': now() }, 401, /^missing signature header$/);
		const { 'x-datasync-signature': signature } = signedHeaders(body);
		await expectRefused(body, { 'x-datasync-signature': signature }, 401, /^missing timestamp header$/);
	});

	it('refuses an expired timestamp (correctly signed) with 401 and no execution', async () => {
		const old = String(Math.floor(Date.now() / 1000) - 301 - 60);
		const other = JSON.stringify({ ...change, at: '2026-11-29T09:00:00Z' });
		await expectRefused(other, signedHeaders(other, old), 401, /^timestamp outside the replay window$/);
	});

	it('refuses a replay of the exact signed request with 401 and no execution', async () => {
		expect(acceptedHeaders).toBeDefined();
		await expectRefused(body, acceptedHeaders, 401, /^request already received \(replay\)$/);
	});

	it('refuses a signed but bad payload with 400 and the reason, and no execution', async () => {
		const noId = JSON.stringify({ event: 'contact.updated', record: { email: 'x@example.com' } });
		await expectRefused(noId, signedHeaders(noId), 400, /field "record\.id" \(the record id\) is missing/);
		const badTime = JSON.stringify({ event: 'contact.updated', at: 'yesterday', record: { id: 7 } });
		await expectRefused(badTime, signedHeaders(badTime), 400, /field "at" must be a date-time that exists/);
		const notJson = 'id=7&email=x%40example.com';
		await expectRefused(notJson, { ...signedHeaders(notJson), 'content-type': 'text/plain' }, 415, /^the content type must be application\/json, got "text\/plain"$/);
		const unknownOp = JSON.stringify({ event: 'contact.merged', record: { id: 7 } });
		await expectRefused(unknownOp, signedHeaders(unknownOp), 400, /field "event" \(the operation\) is "contact\.merged", not one of contact\.created, contact\.updated/);
		// The three accepted changes and one sentinel per refusal, nothing else.
		expect(await count()).toBe(3 + sentinels);
	});
});

describe('DataSync Trigger in stock n8n: rotating the signing secret', () => {
	const OLD = 'the-previous-secret-0123456789';
	const NEW = 'the-current-secret-9876543210';
	let path: string;
	let workflowId: string;

	beforeAll(async () => {
		const credential = await n8n.createCredential('dataSyncWebhookApi', 'erp signing secret (rotating)', { secret: NEW, previousSecret: OLD });
		path = `datasync/erp/order-${uniqueId('rotation')}`;
		const workflow = await n8n.createWorkflow({
			name: 'acceptance: DataSync Trigger (rotation)',
			nodes: [
				{
					id: randomUUID(),
					name: 'DataSync Trigger',
					type: nodeType('dataSyncTrigger'),
					typeVersion: 1,
					position: [0, 0],
					webhookId: randomUUID(),
					// Defaults for the fields; custom header names.
					parameters: { path, entity: 'order', system: 'erp', options: { signatureHeader: 'X-Sig', timestampHeader: 'X-Time' } },
					credentials: { dataSyncWebhookApi: credential },
				},
			],
			connections: {},
		});
		workflowId = workflow.id;
		await n8n.publish(workflowId);
	});

	it('accepts signatures by the current and the previous secret, and nothing else', async () => {
		const send = async (secret: string, id: number) => {
			const body = JSON.stringify({ id, op: 'update', data: { total: id } });
			const timestamp = String(Math.floor(Date.now() / 1000));
			const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
			return await n8n.webhook(path, undefined, { raw: body, headers: { 'x-time': timestamp, 'x-sig': `sha256=${signature}` } });
		};
		expect((await send(NEW, 1)).status).toBe(200);
		expect((await send(OLD, 2)).status).toBe(200);
		const refused = await send('an-unrelated-secret-0123456789', 3);
		expect({ status: refused.status, body: refused.body }).toEqual({ status: 401, body: { error: 'signature does not match' } });
		// A change sent after the refusal runs; once it has, the refused one would have too: it never did.
		expect((await send(NEW, 4)).status).toBe(200);
		const executions = await n8n.waitForExecutions(workflowId, 3);
		const ids = executions.map((e) => e.data!.resultData.runData['DataSync Trigger'][0].data!.main[0]![0].json.id);
		expect(ids.sort()).toEqual(['1', '2', '4']);
	});
});

describe('DataSync Trigger in stock n8n: typeVersion 1.1 (the default) behaves as 1', () => {
	const SECRET11 = 'the-v1.1-signing-secret-0123456789';
	let path: string;
	let workflowId: string;

	beforeAll(async () => {
		const credential = await n8n.createCredential('dataSyncWebhookApi', 'crm signing secret (v1.1)', { secret: SECRET11 });
		path = `datasync/crm/contact-${uniqueId('trigger-v11')}`;
		const workflow = await n8n.createWorkflow({
			name: 'acceptance: DataSync Trigger 1.1',
			nodes: [
				{
					id: randomUUID(),
					name: 'DataSync Trigger',
					type: nodeType('dataSyncTrigger'),
					typeVersion: 1.1,
					position: [0, 0],
					webhookId: randomUUID(),
					parameters: { path, entity: 'contact', system: 'crm', options: {} },
					credentials: { dataSyncWebhookApi: credential },
				},
			],
			connections: {},
		});
		workflowId = workflow.id;
		await n8n.publish(workflowId);
	});

	const send = async (id: number, contentType: string, secret = SECRET11) => {
		const body = JSON.stringify({ id, op: 'update', data: { email: `v11-${id}@example.com`, name: HOSTILE } });
		const timestamp = String(Math.floor(Date.now() / 1000));
		const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
		return await n8n.webhook(path, undefined, {
			raw: body,
			headers: { 'content-type': contentType, 'x-datasync-timestamp': timestamp, 'x-datasync-signature': `sha256=${signature}` },
		});
	};

	it('answers signed changes 200 and runs them (also with a charset); a JSON body sent as text/plain is refused 415', async () => {
		expect(await send(1, 'application/json')).toMatchObject({ status: 200, body: { received: 1 } });
		expect(await send(2, 'application/json; charset=utf-8')).toMatchObject({ status: 200, body: { received: 1 } });
		expect(await send(4, 'text/plain')).toMatchObject({ status: 415, body: { error: 'the content type must be application/json, got "text/plain"' } });
		const forged = await send(3, 'application/json', 'a-guessed-secret-that-is-wrong');
		expect({ status: forged.status, body: forged.body }).toEqual({ status: 401, body: { error: 'signature does not match' } });
		// A change sent after the refusals runs; once it has, the refused ones (3 and 4) would have too: they never did.
		expect(await send(5, 'application/json')).toMatchObject({ status: 200, body: { received: 1 } });
		const executions = await n8n.waitForExecutions(workflowId, 3);
		const items = executions.map((e) => e.data!.resultData.runData['DataSync Trigger'][0].data!.main[0]![0].json);
		expect(items.map((i) => i.id).sort()).toEqual(['1', '2', '5']);
		expect(items.find((i) => i.id === '1')).toMatchObject({ entity: 'contact', system: 'crm', op: 'upsert', shape: 'system', data: { name: HOSTILE } });
	});
});

// ---------------------------------------------------------------------------------------------------------
// 2. DataSync Database on each dialect.

const TABLE = `Kontakt "Liste" 'ü`;

/** Seed times per dialect, written as each column type holds them; ISO as Get Changes emits them. */
function seedTimes(dialect: SqlDialect): { sql: string[]; iso: string[] } {
	const iso =
		dialect === 'sqlite'
			? ['2024-05-01T10:00:00.100Z', '2024-05-01T10:00:00.200Z', '2024-05-01T10:00:00.300Z']
			: ['2024-05-01T10:00:00.100001Z', '2024-05-01T10:00:00.100002Z', '2024-05-01T10:00:00.100003Z'];
	const sql = dialect === 'mysql' ? iso.map((t) => t.replace('T', ' ').replace('Z', '')) : iso;
	return { sql, iso };
}

describe.each<[string, SqlDialect]>([
	['Postgres', 'postgres'],
	['MariaDB', 'mysql'],
	['SQLite file', 'sqlite'],
])('DataSync Database in stock n8n on %s', (_label, dialect) => {
	let f: DialectFixture;
	const run: Record<'upsert' | 'upsertContinue' | 'getChanges' | 'getMany' | 'getByIds' | 'deleteHard' | 'deleteSoft', Runner> = {} as never;
	/** Seeded ids by seed number: seeds 0–1 at t0, 2–6 at t1 (both page boundaries fall inside), 7 at t2. */
	let seeded: string[] = [];
	let created: string[] = [];
	let credential: { id: string; name: string };
	let credentialData: Json;
	const startedAt = Date.now();
	const q = (name: string) => f.q(name);
	const rows = async (where = '', params: unknown[] = []) =>
		await f.query(`SELECT * FROM ${q(TABLE)} ${where} ORDER BY ${q('ID')}`, params);
	const countRows = async () => Number((await f.query(`SELECT COUNT(*) AS n FROM ${q(TABLE)}`))[0].n);

	beforeAll(async () => {
		f = await openFixture(dialect);
		for (const sql of contactTableDdl(f, TABLE)) await f.query(sql);
		const { sql: times } = seedTimes(dialect);
		const at = [0, 0, 1, 1, 1, 1, 1, 2];
		// Ids whose text order differs from their number order ('80' < '9', '100' < '11'), so a cursor or
		// After ID compared as text instead of as the column's number would skip or repeat rows.
		seeded = ['9', '80', '10', '7', '100', '11', '8', '1000'];
		for (const k of [7, 2, 0, 3, 4, 1, 5, 6]) {
			await f.query(
				`INSERT INTO ${q(TABLE)} (${q('ID')}, ${q('Updated At')}, ${q('e-mail')}, ${q('who')}) VALUES (${dialect === 'postgres' ? '$1, $2, $3, $4' : '?, ?, ?, ?'})`,
				[Number(seeded[k]), times[at[k]], `seed${k}@example.com`, 'erp-user'],
			);
		}
		// Creates get ids from the table after the seeded ones (MariaDB and SQLite move on by themselves).
		if (dialect === 'postgres') await f.query(`SELECT setval(pg_get_serial_sequence($1, 'ID'), 1000)`, [q(TABLE)]);

		credentialData =
			dialect === 'sqlite'
				? { dialect, file: f.config.file }
				: { dialect, host: f.config.host, port: f.config.port, database: f.config.database, user: f.config.user, password: f.config.password, ssl: 'disable' };
		credential = await n8n.createCredential('dataSyncSqlApi', `${dialect} system`, credentialData);
		const base = {
			type: nodeType('dataSyncDatabase'),
			credentials: { dataSyncSqlApi: credential },
		};
		const table = {
			entity: 'contact',
			system: 'erp',
			schema: '',
			table: TABLE,
			idColumn: 'ID',
			updatedAtColumn: 'Updated At',
			softDeleteColumn: 'deleted at',
			softDeleteKind: 'timestamp',
			actorColumn: 'who',
		};
		const make = (name: string, parameters: Json, splitItems: boolean, settings: Json = {}) =>
			createRunner(`acceptance: ${dialect} ${name}`, { ...base, ...settings, parameters: { ...table, ...parameters } }, { splitItems });
		run.getChanges = await make(
			'Get Changes',
			{
				operation: 'getChanges',
				sync: 'contacts',
				cursorSource: 'explicit',
				pageSize: '={{ $json.body.pageSize }}',
				start: { ts: '={{ $json.body.ts }}', id: '={{ $json.body.id }}' },
			},
			false,
		);
		run.getMany = await make(
			'Get Many',
			{ operation: 'getMany', returnAll: '={{ $json.body.returnAll }}', pageSize: '={{ $json.body.pageSize }}', afterId: '={{ $json.body.afterId }}' },
			false,
		);
		run.getByIds = await make('Get by IDs', { operation: 'getByIds', ids: '={{ $json.body.ids }}' }, false);
		run.upsert = await make('Upsert', { operation: 'upsert', deleteMode: 'hard', options: { batchSize: 1000 } }, true);
		run.upsertContinue = await make('Upsert (continue on fail)', { operation: 'upsert', deleteMode: 'hard', options: {} }, true, { onError: 'continueRegularOutput' });
		run.deleteHard = await make('Delete rows', { operation: 'delete', deleteMode: 'hard', options: {} }, true);
		run.deleteSoft = await make('Soft delete', { operation: 'delete', deleteMode: 'soft', options: {} }, true);
	});

	afterAll(async () => {
		await f?.drop();
	});

	it('tests the SQL credential in n8n: connects and runs SELECT 1; a wrong database or file fails', async () => {
		expect(await testCredential(credential, 'dataSyncSqlApi', credentialData)).toEqual({ status: 'OK', message: 'Connection successful' });
		const wrong =
			dialect === 'sqlite'
				? { ...credentialData, file: `${f.config.file}.missing` }
				: { ...credentialData, database: `${String(credentialData.database)}_missing` };
		const result = await testCredential(credential, 'dataSyncSqlApi', wrong);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(dialect === 'sqlite' ? /SQLite file ".*\.missing" does not exist/ : /_missing/);
		// A system's database is never created by the test.
		if (dialect === 'sqlite') expect(existsSync(`${f.config.file}.missing`)).toBe(false);
	});

	it('Get Changes reads pages from a start cursor, splitting equal timestamps without skipping or repeating', async () => {
		const { iso } = seedTimes(dialect);
		const pages: SyncItemJson[][] = [];
		let cursor = { ts: '2024-01-01T00:00:00Z', id: '' };
		for (let page = 0; page < 5; page++) {
			const items = asItems(await run.getChanges.call({ pageSize: 3, ...cursor }));
			pages.push(items);
			if (items.length === 0) break;
			cursor = items[items.length - 1].trace.cursor!;
		}
		expect(pages.map((p) => p.length)).toEqual([3, 3, 2, 0]);
		const read = pages.flat();
		// (updated-at, id) order, each seeded row exactly once; ids compare as numbers within a timestamp.
		const expected = [...seeded.slice(0, 2).sort((a, b) => Number(a) - Number(b)), ...seeded.slice(2, 7).sort((a, b) => Number(a) - Number(b)), seeded[7]];
		expect(read.map((i) => i.id)).toEqual(expected);
		// Both page boundaries fall inside the five rows that share t1.
		expect(pages[0][2].changedAt).toBe(iso[1]);
		expect(pages[1][0].changedAt).toBe(iso[1]);
		expect(pages[1][2].changedAt).toBe(iso[1]);
		expect(pages[2][0].changedAt).toBe(iso[1]);
		for (const item of read) {
			expect(item).toMatchObject({ entity: 'contact', system: 'erp', op: 'upsert', shape: 'system', actor: 'erp-user', trace: { sync: 'contacts', origin: 'erp' } });
			// Full precision (microseconds for Postgres and MariaDB) in changedAt and in the cursor.
			expect(item.trace.cursor).toEqual({ ts: item.changedAt, id: item.id });
			expect(iso).toContain(item.changedAt);
		}
		expect(read[0].data).toMatchObject({ 'e-mail': expect.stringMatching(/^seed[01]@example\.com$/), 'Updated At': iso[0] });

		// Among rows at exactly t1, "After ID" starts after that id.
		const t1 = expected.slice(2, 7);
		const after = asItems(await run.getChanges.call({ pageSize: 10, ts: iso[1], id: t1[1] }));
		expect(after.map((i) => i.id)).toEqual([...t1.slice(2), seeded[7]]);
	});

	it('Get Many reads the table in ID order, one page with After ID or all pages', async () => {
		const byId = [...seeded].sort((a, b) => Number(a) - Number(b));
		const first = asItems(await run.getMany.call({ returnAll: false, pageSize: 5, afterId: '' }));
		expect(first.map((i) => i.id)).toEqual(byId.slice(0, 5));
		const rest = asItems(await run.getMany.call({ returnAll: false, pageSize: 5, afterId: first[4].id }));
		expect(rest.map((i) => i.id)).toEqual(byId.slice(5));
		const all = asItems(await run.getMany.call({ returnAll: true, pageSize: 3, afterId: '' }));
		expect(all.map((i) => i.id)).toEqual(byId);
		expect(all.every((i) => i.trace.cursor === undefined && i.op === 'upsert')).toBe(true);
	});

	it('Upsert updates and creates in one batch, returns every final id, and writes the hostile value intact', async () => {
		const items = [
			syncItem('contact', 'erp', seeded[0], { 'e-mail': 'updated0@example.com', 'note "q"': HOSTILE }),
			syncItem('contact', 'erp', null, { 'e-mail': 'new-a@example.com', 'note "q"': HOSTILE, payload: { nested: { 'ü': [1, 'two'] } } }),
			syncItem('contact', 'erp', seeded[1], { 'e-mail': 'updated1@example.com' }),
			syncItem('contact', 'erp', null, { 'e-mail': 'new-b@example.com', 'note "q"': 'plain' }),
		];
		const out = asItems(await run.upsert.call({ items }));
		expect(out).toHaveLength(4);
		expect(out.map((i) => i.data['e-mail'])).toEqual(['updated0@example.com', 'new-a@example.com', 'updated1@example.com', 'new-b@example.com']);
		expect(out[0].id).toBe(seeded[0]);
		expect(out[2].id).toBe(seeded[1]);
		created = [out[1].id!, out[3].id!];
		for (const id of created) {
			expect(id).toMatch(/^\d+$/);
			expect(seeded).not.toContain(id);
		}
		expect(created[0]).not.toBe(created[1]);

		// In the database itself.
		expect(await countRows()).toBe(10);
		const written = new Map((await rows()).map((r) => [String(r.ID), r]));
		expect(written.get(seeded[0])).toMatchObject({ 'e-mail': 'updated0@example.com', 'note "q"': HOSTILE, who: 'datasync' });
		expect(written.get(seeded[1])).toMatchObject({ 'e-mail': 'updated1@example.com', who: 'datasync' });
		expect(written.get(created[0])).toMatchObject({ 'e-mail': 'new-a@example.com', 'note "q"': HOSTILE, who: 'datasync' });
		expect(written.get(created[1])).toMatchObject({ 'e-mail': 'new-b@example.com', 'note "q"': 'plain', who: 'datasync' });
		const payload = written.get(created[0])!.payload;
		expect(typeof payload === 'string' ? JSON.parse(payload) : payload).toEqual({ nested: { 'ü': [1, 'two'] } });
		// Untouched rows stay as they were; written rows got the time of the write.
		expect(written.get(seeded[2])).toMatchObject({ 'e-mail': 'seed2@example.com', who: 'erp-user' });
		for (const id of [seeded[0], seeded[1], ...created]) {
			const at = written.get(id)!['Updated At'];
			const ms = at instanceof Date ? at.getTime() : Date.parse(dialect === 'mysql' ? `${String(at).replace(' ', 'T')}Z` : String(at));
			expect(ms).toBeGreaterThanOrEqual(startedAt - 60_000);
			expect(ms).toBeLessThanOrEqual(Date.now() + 60_000);
		}

		// The writes are changes: read after the last seeded time, they come back (and nothing else).
		const { iso } = seedTimes(dialect);
		const changes = asItems(await run.getChanges.call({ pageSize: 100, ts: iso[2], id: '' }));
		expect(changes.map((i) => i.id).sort()).toEqual([seeded[0], seeded[1], ...created].sort());
		expect(changes.every((i) => i.actor === 'datasync')).toBe(true);
	});

	it('Get by IDs reads the named rows in one call; unknown ids give no item', async () => {
		const out = asItems(await run.getByIds.call({ ids: [created[0], '987654', seeded[0]] }));
		expect(out.map((i) => i.id).sort()).toEqual([created[0], seeded[0]].sort());
		const a = out.find((i) => i.id === created[0])!;
		expect(a).toMatchObject({ entity: 'contact', system: 'erp', op: 'upsert', actor: 'datasync', data: { 'e-mail': 'new-a@example.com', 'note "q"': HOSTILE } });
		expect(a.changedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
	});

	it('Delete removes rows (an id that is not there is no error) and soft-deletes with the soft-delete column', async () => {
		const hard = asItems(
			await run.deleteHard.call({ items: [syncItem('contact', 'erp', seeded[2], {}, 'delete'), syncItem('contact', 'erp', '987654', {}, 'delete')] }),
		);
		expect(hard.map((i) => i.id)).toEqual([seeded[2], '987654']);
		expect(await countRows()).toBe(9);
		expect(await rows(`WHERE ${q('ID')} = ${dialect === 'postgres' ? '$1' : '?'}`, [seeded[2]])).toHaveLength(0);

		const soft = asItems(await run.deleteSoft.call({ items: [syncItem('contact', 'erp', created[1], {}, 'delete')] }));
		expect(soft.map((i) => i.id)).toEqual([created[1]]);
		expect(await countRows()).toBe(9);
		const [row] = await rows(`WHERE ${q('ID')} = ${dialect === 'postgres' ? '$1' : '?'}`, [created[1]]);
		expect(row['deleted at']).not.toBeNull();
		expect(row.who).toBe('datasync');
		// Read back, the soft-deleted row is a delete.
		const [back] = asItems(await run.getByIds.call({ ids: [created[1]] }));
		expect(back).toMatchObject({ id: created[1], op: 'delete' });
		const other = (await rows()).filter((r) => r['deleted at'] !== null).map((r) => String(r.ID));
		expect(other).toEqual([created[1]]);
	});

	it('Upsert refuses a field that is not a column, naming the record and the field, and writes nothing of the batch', async () => {
		const before = await rows();
		const res = await run.upsert.post({
			items: [
				syncItem('contact', 'erp', null, { 'e-mail': 'never@example.com' }),
				syncItem('contact', 'erp', seeded[5], { 'e-mail': 'never-either@example.com', 'no such column': 1 }),
			],
		});
		expect(res.status).toBe(500);
		expect(await lastExecutionError(run.upsert.workflowId)).toContain(
			`item 1 (contact / erp / ${seeded[5]}): field "no such column" is not a column of table "${TABLE}"`,
		);
		expect(await rows()).toEqual(before);
	});

	it('Upsert with "On Error: Continue" turns a refused record into an error item and writes the rest of its batch', async () => {
		const before = await countRows();
		const out = await run.upsertContinue.call({
			items: [
				syncItem('contact', 'erp', seeded[0], { 'e-mail': 'continued0@example.com' }),
				syncItem('contact', 'erp', seeded[1], { 'e-mail': 'refused@example.com', 'not a column': true }),
				syncItem('contact', 'erp', null, { 'e-mail': 'continued-new@example.com' }),
			],
		});
		expect(out).toHaveLength(3);
		expect(out[0]).toMatchObject({ id: seeded[0], op: 'upsert' });
		expect(out[1]).toEqual({ entity: 'contact', system: 'erp', id: seeded[1], op: 'upsert', error: expect.stringContaining(`item 1 (contact / erp / ${seeded[1]}): field "not a column" is not a column`) });
		expect(out[2]).toMatchObject({ id: expect.stringMatching(/^\d+$/), op: 'upsert' });
		expect(await countRows()).toBe(before + 1);
		const written = new Map((await rows()).map((r) => [String(r.ID), r]));
		expect(written.get(seeded[0])!['e-mail']).toBe('continued0@example.com');
		expect(written.get(seeded[1])!['e-mail']).not.toBe('refused@example.com');
		expect(written.get(String(out[2].id))!['e-mail']).toBe('continued-new@example.com');
	});

	it('Upsert writes a column that was added to the table while n8n runs', async () => {
		await f.query(`ALTER TABLE ${q(TABLE)} ADD COLUMN ${q('phone №')} ${dialect === 'mysql' ? 'varchar(64)' : 'text'}`);
		const out = asItems(await run.upsert.call({ items: [syncItem('contact', 'erp', seeded[6], { 'phone №': '+49 30 123456' })] }));
		expect(out.map((i) => i.id)).toEqual([seeded[6]]);
		const [row] = await rows(`WHERE ${q('ID')} = ${dialect === 'postgres' ? '$1' : '?'}`, [seeded[6]]);
		expect(row).toMatchObject({ 'phone №': '+49 30 123456', 'e-mail': 'seed6@example.com', who: 'datasync' });
		const [read] = asItems(await run.getByIds.call({ ids: [seeded[6]] }));
		expect(read.data).toMatchObject({ 'phone №': '+49 30 123456' });
	});

	it('Upsert deletes the items whose op is "delete" in the same run as the writes', async () => {
		const before = await countRows();
		const out = asItems(
			await run.upsert.call({
				items: [syncItem('contact', 'erp', seeded[3], {}, 'delete'), syncItem('contact', 'erp', seeded[4], { 'e-mail': 'updated4@example.com' })],
			}),
		);
		expect(out.map((i) => [i.id, i.op])).toEqual([
			[seeded[3], 'delete'],
			[seeded[4], 'upsert'],
		]);
		expect(await countRows()).toBe(before - 1);
		const left = new Map((await rows()).map((r) => [String(r.ID), r]));
		expect(left.has(seeded[3])).toBe(false);
		expect(left.get(seeded[4])).toMatchObject({ 'e-mail': 'updated4@example.com', who: 'datasync' });
	});
});

// ---------------------------------------------------------------------------------------------------------
// 3. DataSync HTTP API against a local REST server.

describe('DataSync HTTP API in stock n8n against a REST server on 127.0.0.1', () => {
	let server: RestServer;
	/** Arrival time of every logged request (the server's log has none). */
	let times: number[] = [];
	const run: Record<'listSince' | 'listAll' | 'listLink' | 'get' | 'create' | 'update' | 'updateStrict' | 'delete' | 'upsertBatch', Runner> = {} as never;
	let credential: { id: string; name: string };
	const credentialData = (token = server.token): Json => ({ baseUrl: server.url, authType: 'bearer', token, testPath: '/contacts' });

	beforeAll(async () => {
		server = await startRestServer();
		expect(new URL(server.url).hostname).toBe('127.0.0.1');
		const log = server.log;
		const push = log.push.bind(log);
		log.push = (...entries) => {
			for (let k = 0; k < entries.length; k++) times.push(Date.now());
			return push(...entries);
		};
		seedContacts(server, 23, 5);
		credential = await n8n.createCredential('dataSyncRestApi', 'crm api', credentialData());
		const base = {
			type: nodeType('dataSyncHttpApi'),
			credentials: { dataSyncRestApi: credential },
		};
		const collection = { entity: 'contact', system: 'crm', collectionPath: '/contacts', idField: 'id', updatedAtField: 'updated_at' };
		const make = (name: string, parameters: Json, splitItems: boolean) =>
			createRunner(`acceptance: http ${name}`, { ...base, parameters: { ...collection, ...parameters } }, { splitItems });
		const list = { pagination: 'page', pageParam: 'page', pageStart: 1, pageSize: 5, pageSizeParam: 'limit', itemsPath: 'data', maxPages: 50 };
		run.listSince = await make(
			'List since',
			{ operation: 'list', cursorSource: 'explicit', startTime: '={{ $json.body.startTime }}', updatedSinceParam: 'updated_since', updatedSinceFormat: 'iso', ...list },
			false,
		);
		run.listAll = await make('List all', { operation: 'list', cursorSource: 'none', ...list }, false);
		run.get = await make('Get', { operation: 'get', recordPath: 'data' }, true);
		run.create = await make('Create', { operation: 'create', recordPath: 'data' }, true);
		run.update = await make('Update', { operation: 'update', updateMethod: 'PATCH', recordPath: 'data' }, true);
		run.delete = await make('Delete', { operation: 'delete' }, true);
		run.upsertBatch = await make(
			'Upsert batch',
			{ operation: 'upsert', updateMethod: 'PATCH', recordPath: 'data', batchPath: '/contacts/batch', batch: { size: 100, bodyKey: 'records', resultsPath: 'records' } },
			true,
		);
		run.updateStrict = await make(
			'Update (1 retry, Max Retry-After 1 s)',
			{ operation: 'update', updateMethod: 'PATCH', recordPath: 'data', requestOptions: { retries: 1, maxRetryAfter: 1 } },
			true,
		);
		run.listLink = await make('List by Link header', { operation: 'list', cursorSource: 'none', ...list, pagination: 'link' }, false);
	});

	afterAll(async () => {
		await server?.close();
	});

	const requests = (method: string, path: string) =>
		server.log.map((entry, k) => ({ ...entry, at: times[k] })).filter((entry) => entry.method === method && entry.path === path);

	it('tests the REST credential in n8n: an authenticated GET of the test path', async () => {
		server.log.length = 0;
		times = [];
		expect(await testCredential(credential, 'dataSyncRestApi', credentialData())).toMatchObject({ status: 'OK' });
		expect(requests('GET', '/contacts')).toHaveLength(1);
		// The server answers 401 to the wrong token (n8n's tester may ask more than once).
		expect(await testCredential(credential, 'dataSyncRestApi', credentialData('wrong-token-456'))).toMatchObject({ status: 'Error' });
		expect(requests('GET', '/contacts').length).toBeGreaterThanOrEqual(2);
	});

	it('List with updated-since pages through the API and drops what is at or before the start time', async () => {
		server.log.length = 0;
		times = [];
		// Contacts 5–9 share 00:00:01; the API filters inclusively, the node strictly after the start time.
		const items = asItems(await run.listSince.call({ startTime: '2024-01-01T00:00:01.000Z' }));
		const expected = Array.from({ length: 13 }, (_, k) => String(100010 + k));
		expect(items.map((i) => i.id)).toEqual(expected);
		for (const item of items) {
			expect(item).toMatchObject({ entity: 'contact', system: 'crm', op: 'upsert', shape: 'system' });
			expect(item.trace.cursor).toEqual({ ts: item.changedAt, id: item.id });
		}
		// 18 records at or after the start time: pages of 5, 5, 5 and 3, each with the filter.
		const gets = requests('GET', '/contacts');
		expect(gets.map((g) => [g.query.get('page'), g.query.get('limit'), g.query.get('updated_since')])).toEqual([
			['1', '5', '2024-01-01T00:00:01.000Z'],
			['2', '5', '2024-01-01T00:00:01.000Z'],
			['3', '5', '2024-01-01T00:00:01.000Z'],
			['4', '5', '2024-01-01T00:00:01.000Z'],
		]);
	});

	it('List with no filter returns the whole collection over every page', async () => {
		server.log.length = 0;
		times = [];
		const items = asItems(await run.listAll.call({}));
		expect(items.map((i) => i.id).sort()).toEqual([...server.contacts.keys()].sort());
		expect(items).toHaveLength(23);
		const gets = requests('GET', '/contacts');
		expect(gets.map((g) => g.query.get('page'))).toEqual(['1', '2', '3', '4', '5']);
		expect(gets.every((g) => !g.query.has('updated_since'))).toBe(true);
	});

	it('Get reads each record by id; one that is not there gives no item', async () => {
		const out = asItems(
			await run.get.call({ items: [syncItem('contact', 'crm', '100000', {}), syncItem('contact', 'crm', 'missing', {}), syncItem('contact', 'crm', '100001', {})] }),
		);
		expect(out.map((i) => i.id)).toEqual(['100000', '100001']);
		expect(out[0]).toMatchObject({ entity: 'contact', system: 'crm', op: 'upsert', data: { id: '100000', email: 'c0@example.com' }, changedAt: '2024-01-01T00:00:00.000Z' });
	});

	let createdIds: string[] = [];

	it('Create posts each record and returns the ids the API made', async () => {
		const before = server.contacts.size;
		const out = asItems(
			await run.create.call({
				items: [
					syncItem('contact', 'crm', null, { email: 'new1@example.com', name: HOSTILE }),
					syncItem('contact', 'crm', null, { email: 'new2@example.com', name: 'plain' }),
				],
			}),
		);
		createdIds = out.map((i) => i.id!);
		expect(createdIds).toHaveLength(2);
		expect(new Set(createdIds).size).toBe(2);
		expect(server.contacts.size).toBe(before + 2);
		expect(server.contacts.get(createdIds[0])).toMatchObject({ email: 'new1@example.com', name: HOSTILE });
		expect(server.contacts.get(createdIds[1])).toMatchObject({ email: 'new2@example.com', name: 'plain' });
		expect(out.map((i) => i.data.email)).toEqual(['new1@example.com', 'new2@example.com']);
	});

	it('Update patches the records', async () => {
		const out = asItems(await run.update.call({ items: [syncItem('contact', 'crm', createdIds[0], { email: 'changed@example.com' })] }));
		expect(out.map((i) => i.id)).toEqual([createdIds[0]]);
		expect(server.contacts.get(createdIds[0])).toMatchObject({ email: 'changed@example.com', name: HOSTILE });
	});

	it('Delete removes the records; one that is already gone counts as deleted', async () => {
		const before = server.contacts.size;
		const out = asItems(
			await run.delete.call({ items: [syncItem('contact', 'crm', createdIds[1], {}, 'delete'), syncItem('contact', 'crm', 'no-such-id', {}, 'delete')] }),
		);
		expect(out.map((i) => i.id)).toEqual([createdIds[1], 'no-such-id']);
		expect(server.contacts.has(createdIds[1])).toBe(false);
		expect(server.contacts.size).toBe(before - 1);
	});

	it('Upsert sends creates and updates to the batch endpoint in one request and deletes one by one', async () => {
		server.log.length = 0;
		times = [];
		const out = asItems(
			await run.upsertBatch.call({
				items: [
					syncItem('contact', 'crm', null, { email: 'batch-new@example.com' }),
					syncItem('contact', 'crm', '100004', { email: 'batch-updated@example.com' }),
					syncItem('contact', 'crm', '100005', {}, 'delete'),
				],
			}),
		);
		const newId = out[0].id!;
		expect(out.map((i) => i.id)).toEqual([newId, '100004', '100005']);
		expect(server.contacts.get(newId)).toMatchObject({ email: 'batch-new@example.com' });
		expect(server.contacts.get('100004')).toMatchObject({ email: 'batch-updated@example.com' });
		expect(server.contacts.has('100005')).toBe(false);
		expect(requests('POST', '/contacts/batch').map((r) => r.body)).toEqual([
			{ records: [{ email: 'batch-new@example.com' }, { email: 'batch-updated@example.com', id: '100004' }] },
		]);
		expect(requests('DELETE', '/contacts/100005')).toHaveLength(1);
	});

	it('List follows the Link header (absolute next URLs, still authenticated)', async () => {
		server.log.length = 0;
		times = [];
		server.style = 'link';
		try {
			const items = asItems(await run.listLink.call({}));
			expect(items.map((i) => i.id).sort()).toEqual([...server.contacts.keys()].sort());
		} finally {
			server.style = 'page';
		}
		const pages = Math.ceil(server.contacts.size / 5);
		expect(requests('GET', '/contacts').map((g) => g.query.get('page') ?? '1')).toEqual(Array.from({ length: pages }, (_, k) => String(k + 1)));
	});

	it('retries a 5xx answer and succeeds', async () => {
		server.log.length = 0;
		times = [];
		server.trouble.push({ status: 503 }, { status: 500 });
		await run.update.call({ items: [syncItem('contact', 'crm', '100002', { email: 'after-5xx@example.com' })] });
		expect(server.trouble).toHaveLength(0);
		expect(requests('PATCH', '/contacts/100002')).toHaveLength(3);
		expect(server.contacts.get('100002')).toMatchObject({ email: 'after-5xx@example.com' });
	});

	it('waits out a 429 for exactly the Retry-After the API asks', async () => {
		server.log.length = 0;
		times = [];
		server.trouble.push({ status: 429, retryAfter: '2' });
		await run.update.call({ items: [syncItem('contact', 'crm', '100003', { email: 'after-429@example.com' })] });
		const patches = requests('PATCH', '/contacts/100003');
		expect(patches).toHaveLength(2);
		// The backoff alone would retry after at most 0.5 s.
		expect(patches[1].at - patches[0].at).toBeGreaterThanOrEqual(1_900);
		expect(server.contacts.get('100003')).toMatchObject({ email: 'after-429@example.com' });
	});


	it('gives up after the retries with an n8n error that names the record and the request', async () => {
		server.log.length = 0;
		times = [];
		server.trouble.push({ status: 500 }, { status: 502 });
		const before = server.contacts.get('100006');
		const res = await run.updateStrict.post({ items: [syncItem('contact', 'crm', '100006', { email: 'never@example.com' })] });
		expect(res.status).toBe(500);
		expect(await lastExecutionError(run.updateStrict.workflowId)).toContain(
			`item 0 (contact / crm / 100006): PATCH ${server.url}/contacts/100006 answered 502 after 2 attempts: {"error":"scripted"}`,
		);
		expect(requests('PATCH', '/contacts/100006')).toHaveLength(2);
		expect(server.contacts.get('100006')).toEqual(before);
	});

	it('fails at once when a 429 asks to wait longer than Max Retry-After', async () => {
		server.log.length = 0;
		times = [];
		server.trouble.push({ status: 429, retryAfter: '120' });
		const started = Date.now();
		const res = await run.updateStrict.post({ items: [syncItem('contact', 'crm', '100007', { email: 'never@example.com' })] });
		expect(res.status).toBe(500);
		expect(Date.now() - started).toBeLessThan(30_000);
		expect(await lastExecutionError(run.updateStrict.workflowId)).toContain(
			`item 0 (contact / crm / 100007): PATCH ${server.url}/contacts/100007 answered 429 and asks to wait 120 s, more than the 1 s allowed`,
		);
		expect(requests('PATCH', '/contacts/100007')).toHaveLength(1);
		expect(server.contacts.get('100007')!.email).toBe('c7@example.com');
	});
});
