/**
 * Each write node's Continue On Fail output wired into Store Commit (issue 13, item 7), as a user wires
 * it: Conflict Resolver → Mapper (canonical → target) → DataSync Database (real Postgres) or DataSync
 * HTTP API (a REST system on 127.0.0.1) with Continue On Fail → Store Commit, all in one execution
 * through n8n-core. One of two creates fails at the target; Commit must link the one written, record the
 * failure against the other (audit names the error), and leave it to be planned again on the next run.
 */
import { Client } from 'pg';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { DataSyncRestApi } from '../../credentials/DataSyncRestApi.credentials';
import { DataSyncSqlApi } from '../../credentials/DataSyncSqlApi.credentials';
import { closeSharedTransports } from '../../lib/connectors/sql';
import { closeAllStores, openStore, type Store } from '../../lib/engine/store';
import { DataSyncConflictResolver } from '../../nodes/DataSyncConflictResolver/DataSyncConflictResolver.node';
import { DataSyncDatabase } from '../../nodes/DataSyncDatabase/DataSyncDatabase.node';
import { DataSyncHttpApi } from '../../nodes/DataSyncHttpApi/DataSyncHttpApi.node';
import { DataSyncMapper } from '../../nodes/DataSyncMapper/DataSyncMapper.node';
import { DataSyncStore } from '../../nodes/DataSyncStore/DataSyncStore.node';
import { runIdOfExecution, runNode } from '../helpers/run-node';
import { createPgDatabase, createTempDir, type PgTestDatabase, type TempDir } from '../helpers/services';
import { startRestServer, type RestServer } from '../unit/connectors/rest-server';

let dir: TempDir;
let db: PgTestDatabase;
let pg: Client;
let server: RestServer;
let store: Store;
let storeCredentials: ICredentialDataDecryptedObject;
let run = 0;

/** erp is a Postgres table, shop a REST API; "nickname" maps to a column / field the target refuses. */
const MAPPING = {
	entity: 'contact',
	systems: {
		crm: { idField: 'id', fields: [{ canonical: 'email', system: 'email' }, { canonical: 'name', system: 'name' }, { canonical: 'nickname', system: 'nickname' }] },
		erp: { fields: [{ canonical: 'email', system: 'email' }, { canonical: 'name', system: 'name' }, { canonical: 'nickname', system: 'nick' }] },
		shop: { fields: [{ canonical: 'email', system: 'email' }, { canonical: 'name', system: 'name' }, { canonical: 'nickname', system: 'nickname' }] },
	},
};

function crmChange(id: string, data: IDataObject): IDataObject {
	return { entity: 'contact', system: 'crm', id, op: 'upsert', shape: 'canonical', data, trace: { runId: 'r', origin: 'crm', hops: 0 } };
}

const json = (items: INodeExecutionData[]) => items.map((i) => i.json as IDataObject);

async function step(node: Parameters<typeof runNode>[0], options: Omit<Parameters<typeof runNode>[1], 'executionId'>, executionId: string): Promise<INodeExecutionData[][]> {
	const result = await runNode(node, { ...options, executionId });
	if (result.error) throw result.error;
	return result.outputs;
}

/** Resolver → Mapper for `target`: the system-shaped changes for the write node. */
async function plan(target: string, changes: IDataObject[], executionId: string): Promise<IDataObject[]> {
	const [planned] = await step(
		DataSyncConflictResolver,
		{
			parameters: { sync: `s-${target}`, entity: 'contact', systems: `crm, ${target}`, matchKeys: 'email', policy: 'priority', priority: `crm, ${target}` },
			input: changes,
			credentials: { dataSyncStoreApi: storeCredentials },
		},
		executionId,
	);
	const [mapped, invalid] = await step(
		DataSyncMapper,
		{ parameters: { mappingSource: 'json', mappingJson: JSON.stringify(MAPPING), direction: 'fromCanonical' }, input: json(planned) },
		executionId,
	);
	expect(json(invalid)).toEqual([]);
	return json(mapped);
}

async function commit(target: string, written: IDataObject[], executionId: string): Promise<IDataObject> {
	const [committed] = await step(DataSyncStore, { parameters: { operation: 'commit', sync: `s-${target}` }, input: written, credentials: { dataSyncStoreApi: storeCredentials } }, executionId);
	return committed[0].json as IDataObject;
}

beforeAll(async () => {
	dir = createTempDir('ds-cof');
	storeCredentials = { backend: 'sqlite', path: dir.file('store.sqlite') };
	db = await createPgDatabase('ds_cof');
	pg = new Client(db.config);
	await pg.connect();
	// No "nick" column: a change that carries a nickname fails at the write, the other one goes in.
	await pg.query('CREATE TABLE people (id serial PRIMARY KEY, email text UNIQUE, name text, updated_at timestamptz NOT NULL DEFAULT now(), modified_by text)');
	server = await startRestServer();
	store = await openStore({ backend: 'sqlite', path: dir.file('store.sqlite') });
}, 30_000);

afterAll(async () => {
	await pg?.end();
	await closeSharedTransports();
	await closeAllStores();
	await server?.close();
	await db?.drop();
	dir?.remove();
});

type Writer = (changes: IDataObject[], executionId: string) => Promise<INodeExecutionData[][]>;

const WRITERS: Array<[string, string, Writer, () => Promise<string[]>]> = [
	[
		'DataSync Database (Postgres)',
		'erp',
		(changes, executionId) =>
			step(
				DataSyncDatabase,
				{
					parameters: { operation: 'upsert', entity: 'contact', system: 'erp', table: 'people', idColumn: 'id', updatedAtColumn: 'updated_at', actorColumn: 'modified_by' },
					input: changes,
					credentials: { dataSyncSqlApi: { dialect: 'postgres', ...db.config, ssl: 'disable' }, dataSyncStoreApi: storeCredentials },
					credentialTypes: [DataSyncSqlApi],
					continueOnFail: true,
				},
				executionId,
			),
		async () => (await pg.query<{ email: string }>('SELECT email FROM people ORDER BY email')).rows.map((r) => r.email),
	],
	[
		'DataSync HTTP API (REST)',
		'shop',
		(changes, executionId) => {
			// The API refuses the record with a nickname (422), as an API refuses a field it does not know.
			const first = changes.findIndex((c) => (c.data as IDataObject).nickname !== undefined);
			// The stand-in sends any scripted status; its type lists only the ones the retry tests use.
			server.trouble = changes.map((_c, i) => (i === first ? ({ status: 422 } as unknown as RestServer['trouble'][number]) : { delayMs: 0 }));
			return step(
				DataSyncHttpApi,
				{
					parameters: { operation: 'upsert', entity: 'contact', system: 'shop', collectionPath: '/contacts', idField: 'id', updatedAtField: 'updated_at', recordPath: 'data', requestOptions: { retries: 0, timeout: 2000 } },
					input: changes,
					credentials: { dataSyncRestApi: { baseUrl: server.url, authType: 'bearer', token: server.token }, dataSyncStoreApi: storeCredentials },
					credentialTypes: [DataSyncRestApi],
					continueOnFail: true,
				},
				executionId,
			);
		},
		async () => [...server.contacts.values()].map((c) => String((c as unknown as IDataObject).email)).sort(),
	],
];

describe.each(WRITERS)('%s with Continue On Fail, wired into Store Commit', (_label, target, write, rowsAtTarget) => {
	it('links the record written, records the failed one (audit names the error) and plans it again next run', async () => {
		const n = ++run;
		const ada = crmChange(`c-${n}-1`, { email: `ada-${n}@example.com`, name: 'Ada' });
		const bob = crmChange(`c-${n}-2`, { email: `bob-${n}@example.com`, name: 'Bob', nickname: 'Bobby' });
		const executionId = `cof-${target}-${n}`;
		const changes = await plan(target, [ada, bob], executionId);
		expect(changes.map((c) => [c.system, c.id, (c.data as IDataObject).email])).toEqual([
			[target, null, `ada-${n}@example.com`],
			[target, null, `bob-${n}@example.com`],
		]);

		const [written] = await write(changes, executionId);
		const results = json(written);
		expect(results).toHaveLength(2);
		const failed = results.find((r) => typeof r.error === 'string')!;
		const ok = results.find((r) => r.error === undefined)!;
		expect(failed).toMatchObject({ entity: 'contact', system: target, key: changes[1].key, op: 'upsert' });
		expect(ok).toMatchObject({ entity: 'contact', system: target, key: changes[0].key, id: expect.any(String) });
		expect(await rowsAtTarget()).toEqual([`ada-${n}@example.com`]);

		const summary = await commit(target, results, executionId);
		expect(summary).toMatchObject({ committed: 1, failed: 1 });
		expect((await store.findLink('contact', target, String(ok.id)))?.key).toBe(changes[0].key);
		expect((await store.getLinks('contact', String(changes[1].key))).map((l) => l.system)).toEqual(['crm']);
		const audit = (await store.audit({ runId: runIdOfExecution(executionId), key: String(changes[1].key), system: target, limit: 10 })).map((e) => ({ action: e.action, outcome: e.outcome, error: e.error }));
		expect(audit).toEqual([{ action: 'write', outcome: 'failed', error: failed.error }]);

		// The next run of the same changes plans only the failed create again: nothing is lost, nothing doubled.
		const again = await plan(target, [ada, bob], `${executionId}-again`);
		expect(again.map((c) => [c.system, c.id, c.key])).toEqual([[target, null, changes[1].key]]);
		expect(await rowsAtTarget()).toEqual([`ada-${n}@example.com`]);
	});
});
