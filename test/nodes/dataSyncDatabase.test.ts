/**
 * DataSync Database through n8n-core's WorkflowExecute against real Postgres and a real sync store.
 */
import type { ICredentialTestFunctions } from 'n8n-workflow';
import { DataSyncSqlApi } from '../../credentials/DataSyncSqlApi.credentials';
import { closeSharedTransports } from '../../lib/connectors/sql';
import { resolve } from '../../lib/engine/resolve';
import { closeAllStores, openStore } from '../../lib/engine/store';
import { parseSyncItem, type SyncItem } from '../../lib/item';
import { DataSyncDatabase } from '../../nodes/DataSyncDatabase/DataSyncDatabase.node';
import { runIdOfExecution, runNode } from '../helpers/run-node';
import { createPgDatabase, createTempDir, type PgTestDatabase, type TempDir } from '../helpers/services';
import { Client } from 'pg';

let db: PgTestDatabase;
let dir: TempDir;
let pg: Client;
let sqlCreds: Record<string, unknown>;
let storeCreds: Record<string, unknown>;

const TABLE = 'Person "Table"';
const table = {
	entity: 'person',
	system: 'erp',
	table: TABLE,
	idColumn: 'Id',
	updatedAtColumn: 'changed at',
	softDeleteColumn: 'gone',
	softDeleteKind: 'boolean',
	actorColumn: 'by',
};

function tsOf(i: number): string {
	return new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 4) * 1000).toISOString();
}

function run(parameters: Record<string, unknown>, input?: Array<Record<string, unknown>>, continueOnFail = false) {
	return runNode(DataSyncDatabase, {
		parameters: { ...table, ...parameters } as never,
		input: input as never,
		credentials: { dataSyncSqlApi: sqlCreds, dataSyncStoreApi: storeCreds } as never,
		credentialTypes: [DataSyncSqlApi],
		continueOnFail,
		executionId: 'exec-42',
	});
}

function items(result: Awaited<ReturnType<typeof run>>): SyncItem[] {
	if (result.error) throw result.error;
	return result.outputs[0].map((o, i) => parseSyncItem(o.json, i));
}

function change(id: string | null, data: Record<string, unknown>, op: 'upsert' | 'delete' = 'upsert'): Record<string, unknown> {
	return { entity: 'person', system: 'erp', id, op, shape: 'system', data, trace: { runId: 'r', origin: 'crm', hops: 1 }, key: `k-${id}` };
}

beforeAll(async () => {
	db = await createPgDatabase('dsnode');
	dir = createTempDir('dsnode');
	pg = new Client(db.config);
	await pg.connect();
	await pg.query(`CREATE TABLE "Person ""Table""" ("Id" serial PRIMARY KEY, "changed at" timestamptz NOT NULL DEFAULT now(), name text, gone boolean NOT NULL DEFAULT false, "by" text)`);
	for (let i = 0; i < 30; i++) {
		await pg.query(`INSERT INTO "Person ""Table""" (name, "changed at", gone, "by") VALUES ($1, $2, $3, $4)`, [`p${i}`, tsOf(i), i === 29, i % 2 ? 'ann' : null]);
	}
	sqlCreds = { dialect: 'postgres', ...db.config, ssl: 'disable' };
	storeCreds = { backend: 'sqlite', path: dir.file('store.sqlite') };
}, 30_000);

afterAll(async () => {
	await pg.end();
	await closeSharedTransports();
	await closeAllStores();
	await db.drop();
	dir.remove();
});

describe('Get Changes', () => {
	test("reads one page after the store's cursor and never moves the cursor", async () => {
		const store = await openStore({ backend: 'sqlite', path: dir.file('store.sqlite') });
		// Row 9 (Id 10) shares its time with rows 8–11: the page must start at row 10 (Id 11).
		await store.setCursor('people', 'erp', 'person', { ts: tsOf(9), id: '10' });
		const out = items(await run({ operation: 'getChanges', sync: 'people', cursorSource: 'store', pageSize: 5 }));
		expect(out.map((i) => i.id)).toEqual(['11', '12', '13', '14', '15']);
		expect(out[0]).toMatchObject({
			entity: 'person',
			system: 'erp',
			op: 'upsert',
			shape: 'system',
			changedAt: tsOf(10).replace('.000Z', 'Z'),
			trace: { runId: runIdOfExecution('exec-42'), origin: 'erp', hops: 0, sync: 'people', cursor: { ts: tsOf(10).replace('.000Z', 'Z'), id: '11' } },
			data: { Id: 11, name: 'p10', gone: false },
		});
		expect(out[1].actor).toBe('ann');
		expect(await store.getCursor('people', 'erp', 'person')).toEqual({ ts: tsOf(9), id: '10' });
	});

	test('starts from the start cursor when the store has none, and reads soft-deleted rows as deletes', async () => {
		const out = items(await run({ operation: 'getChanges', sync: 'fresh', cursorSource: 'store', pageSize: 100, start: { ts: tsOf(26) } }));
		// "After Timestamp" with no id: strictly after, so rows 24–27 (same second) are left out.
		expect(out.map((i) => i.id)).toEqual(['29', '30']);
		expect(out[1].op).toBe('delete');
	});

	test('with "Start Cursor Only" no store credential is needed', async () => {
		const result = await runNode(DataSyncDatabase, {
			parameters: { ...table, operation: 'getChanges', sync: 'x', cursorSource: 'explicit', pageSize: 3, start: { ts: tsOf(0), id: '2' } } as never,
			credentials: { dataSyncSqlApi: sqlCreds } as never,
		});
		expect(items(result).map((i) => i.id)).toEqual(['3', '4', '5']);
	});
});

test('Get Many reads the whole table in pages', async () => {
	const out = items(await run({ operation: 'getMany', returnAll: true, pageSize: 7 }));
	expect(out).toHaveLength(30);
	expect(new Set(out.map((i) => i.id)).size).toBe(30);
	expect(out.every((i) => i.trace.cursor === undefined)).toBe(true);
});

test('Get by IDs reads the asked rows in one query and pairs them with the items that asked', async () => {
	const result = await run({ operation: 'getByIds', ids: '={{ $json.want }}' }, [{ want: '3' }, { want: '5,999' }, { want: '3' }]);
	expect(result.error).toBeUndefined();
	expect(result.outputs[0].map((o) => [o.json.id, o.pairedItem])).toEqual([
		['3', [{ item: 0 }, { item: 2 }]],
		['5', [{ item: 1 }]],
	]);
});

test('Find Deletes looks the linked IDs up in the table, a page at a time, and emits the missing ones as deletes', async () => {
	const links = { backend: 'sqlite', path: dir.file('links.sqlite') };
	const store = await openStore(links as never);
	// Linked records of erp: two the table holds (5, 12), three it does not (31, 40, 100).
	await resolve(
		store,
		{ sync: 'people', entity: 'person', runId: 'seed', systems: ['crm', 'erp'], matchKeys: ['email'], policy: { kind: 'priority', priority: ['crm', 'erp'] } },
		['5', '12', '31', '40', '100'].map((id) => ({ entity: 'person', system: 'erp', id, op: 'upsert' as const, shape: 'canonical' as const, data: { email: `p${id}@example.com` }, trace: { runId: 'seed', origin: 'erp', hops: 0 } })),
	);
	const page = (afterId: string) =>
		runNode(DataSyncDatabase, {
			parameters: { ...table, operation: 'findDeletes', sync: 'people', pageSize: 2, afterId } as never,
			credentials: { dataSyncSqlApi: sqlCreds, dataSyncStoreApi: links } as never,
			executionId: 'exec-43',
		});
	// Two deletes at most per page, in the store's (text) order of IDs; the next page goes on after the last.
	const first = items(await page(''));
	expect(first.map((i) => [i.id, i.op, i.shape])).toEqual([
		['100', 'delete', 'system'],
		['31', 'delete', 'system'],
	]);
	expect(first[0]).toMatchObject({ entity: 'person', system: 'erp', data: {}, key: expect.any(String), trace: { runId: runIdOfExecution('exec-43'), origin: 'erp', hops: 0, sync: 'people' } });
	expect(items(await page('31')).map((i) => i.id)).toEqual(['40']);
	expect(items(await page('40'))).toEqual([]);
});

describe('Upsert and Delete', () => {
	test('writes a batch (creates, updates, deletes) and emits every item with its final id', async () => {
		const result = await run({ operation: 'upsert', deleteMode: 'soft', options: { batchSize: 2 } }, [
			change(null, { name: 'new one' }),
			change('2', { name: 'renamed' }),
			change('3', {}, 'delete'),
			change(null, { name: 'new two' }),
		]);
		const out = items(result);
		expect(out.map((i) => i.id)).toEqual(['31', '2', '3', '32']);
		expect(out[0]).toMatchObject({ key: 'k-null', trace: { runId: 'r', origin: 'crm', hops: 1 } });
		expect(result.outputs[0].map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);
		const rows = (await pg.query(`SELECT "Id", name, gone, "by" FROM "Person ""Table""" WHERE "Id" IN (2, 3, 31, 32) ORDER BY "Id"`)).rows;
		expect(rows).toEqual([
			{ Id: 2, name: 'renamed', gone: false, by: 'datasync' },
			{ Id: 3, name: 'p2', gone: true, by: 'datasync' },
			{ Id: 31, name: 'new one', gone: false, by: 'datasync' },
			{ Id: 32, name: 'new two', gone: false, by: 'datasync' },
		]);
	});

	test('an item for another system is refused with the item and the field', async () => {
		const result = await run({ operation: 'upsert' }, [change('4', { name: 'x' }), { ...change('5', { name: 'y' }), system: 'crm' }]);
		expect(result.error?.message).toBe('item 1 (person / crm / 5): field "system" is "crm", but this node writes to "erp"');
		expect((await pg.query(`SELECT name FROM "Person ""Table""" WHERE "Id" = 4`)).rows[0].name).toBe('p3');
	});

	test('with Continue On Fail a refused record becomes an error item and the rest of its batch is written', async () => {
		const result = await run(
			{ operation: 'upsert' },
			[change('6', { name: 'six' }), change('7', { name: 'seven', nope: 1 }), { id: 8 }, change('8', { name: 'eight' })],
			true,
		);
		expect(result.error).toBeUndefined();
		const out = result.outputs[0].map((o) => o.json);
		expect(out[0]).toMatchObject({ id: '6' });
		expect(out[1].error).toBe('item 1 (person / erp / 7): field "nope" is not a column of table "Person "Table""');
		expect(out[2].error).toContain('item 2 (8): field "entity" must be a non-empty string');
		expect(out[3]).toMatchObject({ id: '8' });
		const rows = (await pg.query(`SELECT "Id", name FROM "Person ""Table""" WHERE "Id" IN (6, 7, 8) ORDER BY "Id"`)).rows;
		expect(rows.map((r) => r.name)).toEqual(['six', 'p6', 'eight']);
	});

	test('Delete removes the rows of every input item', async () => {
		const out = items(await run({ operation: 'delete', deleteMode: 'hard' }, [change('20', {}), change('21', {}, 'upsert')]));
		expect(out.map((i) => i.id)).toEqual(['20', '21']);
		expect((await pg.query(`SELECT COUNT(*)::int AS n FROM "Person ""Table""" WHERE "Id" IN (20, 21)`)).rows[0].n).toBe(0);
	});
});

describe('credential tests', () => {
	const node = new DataSyncDatabase();
	const ctx = {} as ICredentialTestFunctions;

	test('SQL: connects, or says why not', async () => {
		expect(await node.methods.credentialTest.dataSyncSqlTest.call(ctx, { id: '1', name: 'x', type: 'dataSyncSqlApi', data: sqlCreds as never })).toEqual({
			status: 'OK',
			message: 'Connection successful',
		});
		const missing = await node.methods.credentialTest.dataSyncSqlTest.call(ctx, {
			id: '1',
			name: 'x',
			type: 'dataSyncSqlApi',
			data: { dialect: 'sqlite', file: dir.file('nope.sqlite') },
		});
		expect(missing).toEqual({ status: 'Error', message: `SQLite file "${dir.file('nope.sqlite')}" does not exist` });
	});

	test('Store: opens and reads the store', async () => {
		expect(await node.methods.credentialTest.dataSyncStoreTest.call(ctx, { id: '1', name: 'x', type: 'dataSyncStoreApi', data: storeCreds as never })).toEqual({
			status: 'OK',
			message: expect.stringMatching(/^Connected to the sync store \(.+\)$/),
		});
	});
});
