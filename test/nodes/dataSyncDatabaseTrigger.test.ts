/**
 * The DataSync Database Trigger node's `trigger()` with a typed mock of n8n's trigger context, a real
 * Postgres database, a real SQLite file and a real SQLite store: without "Install Trigger Function" the
 * activation error carries the exact SQL to run; with it, inserts and a hard delete come out as DataSync
 * items (the same shape Get Changes emits), a burst as one emission, and nothing is emitted again while
 * the store's cursor has not moved past it... until the execution reports failure; SQLite is read every
 * Poll Interval.
 */
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import type { INode, IRun, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { closeSharedTransports } from '../../lib/connectors/sql';
import { notifySql } from '../../lib/connectors/sql/notify';
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import type { SyncItem } from '../../lib/item';
import { DataSyncDatabaseTrigger } from '../../nodes/DataSyncDatabaseTrigger/DataSyncDatabaseTrigger.node';
import { createPgDatabase, createTempDir, type PgTestDatabase, type TempDir } from '../helpers/services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Harness {
	response: ITriggerResponse;
	/** Each emission's items. */
	emitted: SyncItem[][];
	/** Settles the execution of emission i (as n8n does when it finishes). */
	finish(i: number, ok: boolean): void;
}

describe('DataSync Database Trigger node', () => {
	let pg: PgTestDatabase;
	let admin: Client;
	let dir: TempDir;
	let storePath: string;
	let store: Store;
	const node: INode = { id: 'n1', name: 'A changed (database)', type: 'n8n-nodes-datasync.dataSyncDatabaseTrigger', typeVersion: 1, position: [0, 0], parameters: {} };

	async function start(sql: Record<string, unknown>, parameters: Record<string, unknown>, mode: 'trigger' | 'manual' = 'trigger'): Promise<Harness> {
		const emitted: SyncItem[][] = [];
		const pending: Array<{ resolve: (run: IRun) => void }> = [];
		const params: Record<string, unknown> = { entity: 'contact', system: 'crm', schema: '', idColumn: 'id', updatedAtColumn: 'updated_at', softDeleteColumn: '', actorColumn: '', sync: 'contacts', pageSize: 100, lookBackSeconds: 0, start: {}, options: { coalesceMs: 20 }, ...parameters };
		const ctx = {
			getNode: () => node,
			getMode: () => mode,
			getNodeParameter: (name: string, fallback?: unknown) => (name in params ? params[name] : fallback),
			getCredentials: async (name: string) => (name === 'dataSyncSqlApi' ? sql : { backend: 'sqlite', path: storePath }),
			emit: (data: Array<Array<{ json: unknown }>>, _response: unknown, done?: { resolve: (run: IRun) => void }) => {
				emitted.push(data[0].map((i) => i.json as SyncItem));
				if (done) pending.push(done);
			},
			helpers: { returnJsonArray: (items: unknown[]) => items.map((json) => ({ json })) },
			logger: { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined },
		} as unknown as ITriggerFunctions;
		const response = await new DataSyncDatabaseTrigger().trigger.call(ctx);
		return {
			response,
			emitted,
			finish: (i, ok) => pending[i].resolve({ status: ok ? 'success' : 'error', data: { resultData: ok ? {} : { error: new Error('failed') } } } as unknown as IRun),
		};
	}

	async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!check()) {
			if (Date.now() > deadline) throw new Error('timed out');
			await sleep(10);
		}
	}

	beforeAll(async () => {
		pg = await createPgDatabase('ds_dbt_node');
		admin = new Client(pg.config);
		await admin.connect();
		await admin.query(`CREATE TABLE people (id serial PRIMARY KEY, name text, updated_at timestamptz(3) NOT NULL DEFAULT clock_timestamp())`);
		dir = createTempDir('ds-dbt-node');
		storePath = dir.file('store.sqlite');
		store = await openStore({ backend: 'sqlite', path: storePath });
	});

	afterAll(async () => {
		await closeSharedTransports();
		await closeAllStores();
		await admin?.end();
		await pg?.drop();
		dir?.remove();
	});

	const pgCreds = () => ({ dialect: 'postgres', ...pg.config, ssl: 'disable' });

	it('without "Install Trigger Function", refuses to activate on a table without it and shows the exact SQL', async () => {
		const error = (await start(pgCreds(), { table: 'people', installTrigger: false }).catch((e: unknown) => e)) as { message: string; description?: string };
		expect(error.message).toMatch(/System "crm" \(PostgreSQL at .*, table "people"\): the trigger function that notifies its changes is not installed/);
		expect(error.description).toContain(notifySql({ table: 'people', idColumn: 'id', updatedAtColumn: 'updated_at' }).install);
	});

	it('Postgres: a burst is one emission of Get Changes items; nothing more while it runs; a hard delete comes with its id', async () => {
		const h = await start(pgCreds(), { table: 'people', installTrigger: true, safetySeconds: 0 });
		try {
			await admin.query(`INSERT INTO people (name) SELECT 'p' || g FROM generate_series(1, 20) g`);
			for (let i = 0; i < 5; i++) await admin.query(`UPDATE people SET name = name || '!', updated_at = clock_timestamp() WHERE id = $1`, [i + 1]);
			await until(() => h.emitted.length === 1);
			await sleep(100);
			// Changes go on while the execution runs: no second read until it has finished.
			await admin.query(`UPDATE people SET name = 'late', updated_at = clock_timestamp() WHERE id = 20`);
			await sleep(100);
			expect(h.emitted).toHaveLength(1);
			const first = h.emitted[0];
			expect(first.map((i) => i.id).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
			expect(first[0]).toMatchObject({ entity: 'contact', system: 'crm', op: 'upsert', shape: 'system', trace: { origin: 'crm', hops: 0, sync: 'contacts', cursor: { id: first[0].id } } });
			// Its execution fails: Commit did not move the cursor, the same rows come again (at-least-once).
			h.finish(0, false);
			await until(() => h.emitted.length === 2);
			expect(h.emitted[1]).toHaveLength(20);
			// It succeeds and commits: the cursor moves past the last row; the next read is empty.
			const last = h.emitted[1][h.emitted[1].length - 1].trace.cursor!;
			await store.transaction(async (tx) => void (await tx.advanceCursor('contacts', 'crm', 'contact', last)));
			h.finish(1, true);
			await admin.query(`DELETE FROM people WHERE id = 3`);
			await until(() => h.emitted.length === 3);
			expect(h.emitted[2]).toEqual([expect.objectContaining({ id: '3', op: 'delete', data: {}, changedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) })]);
		} finally {
			await h.response.closeFunction?.();
		}
	});

	it('SQLite: reads every Poll Interval after the cursor', async () => {
		const file = dir.file('crm.sqlite');
		const db = new DatabaseSync(file);
		db.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)`);
		db.prepare(`INSERT INTO people (name, updated_at) VALUES (?, ?)`).run('first', '2026-01-01T00:00:00.000Z');
		const h = await start({ dialect: 'sqlite', file }, { table: 'people', sync: 'sqlite-sync', pollSeconds: 1 });
		try {
			await until(() => h.emitted.length === 1, 3_000);
			expect(h.emitted[0].map((i) => i.data.name)).toEqual(['first']);
			await store.transaction(async (tx) => void (await tx.advanceCursor('sqlite-sync', 'crm', 'contact', h.emitted[0][0].trace.cursor!)));
			h.finish(0, true);
			const changed = Date.now();
			db.prepare(`INSERT INTO people (name, updated_at) VALUES (?, ?)`).run('second', '2026-01-01T00:00:01.000Z');
			await until(() => h.emitted.length === 2, 3_000);
			expect(Date.now() - changed).toBeLessThan(1_500);
			expect(h.emitted[1].map((i) => i.data.name)).toEqual(['second']);
		} finally {
			await h.response.closeFunction?.();
			db.close();
		}
	});
});
