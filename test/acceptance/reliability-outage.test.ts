/**
 * Outages, through the shipped bidirectional template in stock n8n, on servers of this test's own:
 * System A = a CRM in a private PostgreSQL cluster, System B = an ERP in a private MariaDB server, the
 * sync store in a second private PostgreSQL cluster. Each server is stopped in the middle of a sync and
 * started again about 20 s later; the machine's shared servers are never touched.
 *
 * The write nodes run with n8n's "On Error: Continue" (as an analyst sets them so that a failed write is
 * recorded by Commit instead of ending the execution): the failed writes then show on the dashboard.
 *
 * For each outage the test checks: the execution names what failed; the dashboard (Store → Status) shows
 * the failed writes of that system; no cursor moved past what was written; the store holds nothing
 * half-written (every link points at a row that exists, the store's tables unchanged by an execution that
 * could not reach the store); and after the server is back, the next poll syncs every record with no
 * duplicate row and each record linked once. It prints how long recovery took (server up → all synced).
 */
import { createServer as createTcpServer, connect as tcpConnect, type Server as TcpServer, type Socket } from 'node:net';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { closeAllStores, openStore, status, type Store } from '../../lib/engine';
import type { StoreConfig } from '../../lib/engine/store';
import { startPrivateMariaDb, startPrivatePostgres, type PrivateServer } from '../helpers/private-servers';
import type { MariaDbTestDatabase, PgTestDatabase } from '../helpers/services';
import { ds, webhookNode, workflow } from './flows';
import { N8nInstance, summary, uniqueId, type Execution } from './harness';
import { eventually, failure, importTemplate, outputOf, pagesOf, runFromTrigger, signedPost, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';
import { startRestServer, type RestServer } from '../unit/connectors/rest-server';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
/** How long each server stays down. */
const DOWN_MS = 20_000;
const POLL = 'Every 5 minutes (backup poll)';

type Json = Record<string, unknown>;

/** The same system on a new connection (its server was restarted: the old connection is gone). */
async function reopenCrm(old: CrmSystem, server: PrivateServer): Promise<CrmSystem> {
	await old.close().catch(() => undefined);
	const client = new Client({ ...server.config });
	await client.connect();
	return Object.assign(Object.create(CrmSystem.prototype) as CrmSystem, { client, table: old.table });
}

async function reopenErp(old: ErpSystem, server: PrivateServer): Promise<ErpSystem> {
	await old.close().catch(() => undefined);
	const conn = await mysql.createConnection({ ...server.config, dateStrings: true, timezone: 'Z' });
	await conn.query("SET time_zone = '+00:00'");
	return Object.assign(Object.create(ErpSystem.prototype) as ErpSystem, { conn, table: old.table });
}

const asDb = (server: PrivateServer): PgTestDatabase & MariaDbTestDatabase => ({ config: server.config, drop: async () => undefined });
const fold = (email: unknown) => String(email).trim().toLowerCase();

/**
 * A TCP proxy in front of the REST system, on a port of its own: `pass` forwards, `refuse` stops
 * listening (connection refused), `hang` accepts and never answers (the client's timeout).
 */
class Gate {
	private server: TcpServer | undefined;
	private readonly sockets = new Set<Socket>();
	/** `losePostAnswers`: a connection that starts with a POST reaches C, but C's answer never comes back. */
	mode: 'pass' | 'hang' | 'losePostAnswers' = 'pass';

	private constructor(
		readonly port: number,
		private readonly target: number,
	) {}

	static async open(target: number): Promise<Gate> {
		const probe = createTcpServer();
		const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
		await new Promise((r) => probe.close(r));
		const gate = new Gate(port, target);
		await gate.listen();
		return gate;
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	async listen(): Promise<void> {
		const server = createTcpServer((socket) => {
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
			socket.on('error', () => undefined);
			if (this.mode === 'hang') return;
			const upstream = tcpConnect(this.target, '127.0.0.1');
			upstream.on('error', () => socket.destroy());
			if (this.mode === 'losePostAnswers') {
				// C gets the whole request and does it (the connection to C stays open until C answered).
				socket.once('data', (first: Buffer) => {
					upstream.write(first);
					socket.pipe(upstream);
					if (!first.subarray(0, 5).equals(Buffer.from('POST '))) upstream.pipe(socket);
					else upstream.resume();
				});
				socket.on('close', () => upstream.once('data', () => upstream.destroy()));
				return;
			}
			socket.on('close', () => upstream.destroy());
			socket.pipe(upstream).pipe(socket);
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(this.port, '127.0.0.1', () => resolve());
		});
		this.server = server;
	}

	/** Stops listening and cuts every open connection: the next connection is refused. */
	async refuse(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		for (const s of this.sockets) s.destroy();
		if (server) await new Promise((r) => server.close(r));
	}

	async close(): Promise<void> {
		await this.refuse();
	}
}

/** Leads between A (the CRM's table) and C (the REST system's contacts). */
const LEAD_MAPPING = {
	format: 'datasync-mapping/1',
	entity: 'lead',
	canonical: { fields: { email: { type: 'string', required: true, email: true }, firstName: { type: 'string' } } },
	systems: {
		crm: { idField: 'id', unmapped: 'drop', fields: [{ canonical: 'email', system: 'email' }, { canonical: 'firstName', system: 'firstName' }] },
		shop: { idField: 'id', unmapped: 'drop', fields: [{ canonical: 'email', system: 'email' }, { canonical: 'firstName', system: 'first_name' }] },
	},
};

describe('outages: the target databases and the sync store stopped mid-sync and started again, in stock n8n', () => {
	let n8n: N8nInstance;
	let pgA: PrivateServer;
	let mariaB: PrivateServer;
	let pgStore: PrivateServer;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let storeConfig: StoreConfig;
	let wf: string;
	let dashboardWf: string | undefined;
	let storeCredential: { id: string; name: string };
	let crmCredential: { id: string; name: string };
	const id = uniqueId('outage');
	const paths = { crm: `outage-${id}/crm/contact`, erp: `outage-${id}/erp/contact` };
	const recoveries: Record<string, number> = {};

	/** Every table of the store with its row count and a digest of its rows (for "nothing written"). */
	async function storeTables(): Promise<Record<string, string>> {
		const c = new Client({ ...pgStore.config });
		await c.connect();
		try {
			const { rows: tables } = await c.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'datasync' ORDER BY 1`);
			const out: Record<string, string> = {};
			for (const { t } of tables) {
				const { rows } = await c.query<{ n: number; h: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM datasync."${t}" x`);
				out[t] = `${rows[0].n} rows ${rows[0].h ?? ''}`;
			}
			return out;
		} finally {
			await c.end();
		}
	}

	/** No two rows of one e-mail in either system, each row of A and B linked once, every link to a live row. */
	async function checkNoDuplicate(expected: number): Promise<void> {
		const [a, b] = [await crm.rows(), await erp.rows()];
		const dupes = (rows: Json[]) => rows.map((r) => fold(r.email)).filter((e, i, all) => all.indexOf(e) !== i);
		expect({ a: a.length, b: b.length, dupesA: dupes(a), dupesB: dupes(b) }).toEqual({ a: expected, b: expected, dupesA: [], dupesB: [] });
		const links = await store.listLinks('contact');
		const ids = { crm: new Set(a.map((r) => String(r.id))), erp: new Set(b.map((r) => String(r.contact_id))) };
		const perRow = new Map<string, number>();
		for (const l of links) perRow.set(`${l.system}:${l.externalId}`, (perRow.get(`${l.system}:${l.externalId}`) ?? 0) + 1);
		expect([...perRow].filter(([, n]) => n !== 1)).toEqual([]);
		expect(links.filter((l) => !ids[l.system as 'crm' | 'erp']?.has(l.externalId)).map((l) => `${l.system}:${l.externalId}`)).toEqual([]);
		expect({ crm: links.filter((l) => l.system === 'crm').length, erp: links.filter((l) => l.system === 'erp').length }).toEqual({ crm: expected, erp: expected });
		const perKey = new Map<string, string[]>();
		for (const l of links) perKey.set(l.key, [...(perKey.get(l.key) ?? []), l.system]);
		expect([...perKey].filter(([, systems]) => systems.sort().join(',') !== 'crm,erp')).toEqual([]);
	}

	async function cursors(): Promise<Record<string, string>> {
		return await cursorsOf('contacts');
	}

	async function cursorsOf(sync: string): Promise<Record<string, string>> {
		const overview = await status(store, sync);
		return Object.fromEntries(overview.cursors.map((c) => [`${c.system}/${c.entity}`, `${c.cursor.ts}|${c.cursor.id}`]));
	}

	/** The executions of the workflow that started after `since` (ids), finished, with their data. */
	async function finishedSince(since: number, count: number, timeoutMs = 60_000): Promise<Execution[]> {
		return await eventually(`${count} executions finished`, async () => {
			const list = (await n8n.executions(wf)).filter((e) => Number(e.id) > since && !['running', 'new', 'waiting'].includes(e.status));
			if (list.length < count) return false;
			return await Promise.all(list.map((e) => n8n.execution(e.id)));
		}, timeoutMs);
	}

	/** Starts a trigger of the workflow as "Execute workflow" does; returns the execution id without waiting. */
	async function startFromTrigger(trigger: string): Promise<string> {
		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/rest/workflows/${wf}/run`, { triggerToStartFrom: { name: trigger } });
		if (!started.data.executionId) throw new Error(`"${trigger}" started no execution: ${JSON.stringify(started)}`);
		return started.data.executionId;
	}

	async function finished(executionId: string, timeoutMs = 60_000): Promise<Execution> {
		return await eventually(`execution ${executionId} finished`, async () => {
			const e = await n8n.execution(executionId);
			return ['running', 'new', 'waiting'].includes(e.status) ? false : e;
		}, timeoutMs);
	}

	/** A session on `server` that holds `table` in EXCLUSIVE mode (reads go on, writes wait) until the server stops. */
	async function lockTable(server: PrivateServer, table: string): Promise<{ waiting(): Promise<boolean>; release(): Promise<void> }> {
		const c = new Client({ ...server.config });
		c.on('error', () => undefined); // the server is stopped under it
		await c.connect();
		await c.query('BEGIN');
		await c.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
		const relname = table.split('.').pop()!.replace(/"/g, '');
		return {
			waiting: async () => {
				const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class k ON k.oid = l.relation WHERE k.relname = $1 AND NOT l.granted`, [relname]);
				return rows[0].n >= 1;
			},
			release: async () => {
				await c.end().catch(() => undefined);
			},
		};
	}

	async function lastExecutionId(): Promise<number> {
		const list = await n8n.executions(wf);
		return list.length ? Number(list[list.length - 1].id) : 0;
	}

	/** The error texts of the items a write node returned (Continue On Fail) in these executions. */
	const writeErrors = (executions: Execution[], node: string) =>
		executions.flatMap((e) => outputOf(e, node)).filter((j) => typeof j.error === 'string').map((j) => String(j.error));

	/** The DataSync Store node's Status as the dashboard page, run in n8n (a small workflow of its own). */
	async function runStatusDashboard(): Promise<{ html: string }> {
		const flow = workflow(`outage dashboard ${id}`, [webhookNode('Show', `outage-${id}/dashboard`), ds('dataSyncStore', 'Status', { operation: 'status', sync: 'contacts', format: 'html' }, { dataSyncStoreApi: storeCredential })], [['Show', 'Status']]);
		if (!dashboardWf) {
			dashboardWf = (await n8n.createWorkflow(flow as unknown as Json)).id;
			await n8n.publish(dashboardWf);
		}
		const res = await n8n.webhook(`outage-${id}/dashboard`, {});
		expect(res.status).toBe(200);
		const body = res.body as Array<{ html?: string }> | { html?: string };
		const html = (Array.isArray(body) ? body[0]?.html : body.html) ?? '';
		expect(html).toContain('<h2>Systems</h2>');
		return { html };
	}

	/** The "Write errors" count the dashboard's Systems table shows for a system's contacts. */
	function writeErrorsShown(html: string, system: string): number {
		const table = /<table id="targets">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
		const head = [...(/<thead>([\s\S]*?)<\/thead>/.exec(table)?.[1] ?? '').matchAll(/<th[^>]*>(.*?)<\/th>/g)].map((m) => m[1]);
		const row = table.split('<tr>').find((r) => r.includes(`<td>${system}</td><td>contact</td>`));
		if (!row) throw new Error(`the dashboard's Systems table has no row for ${system} / contact`);
		const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1].replace(/<[^>]+>/g, ''));
		const at = head.indexOf('Write errors');
		if (at < 0) throw new Error('the dashboard\'s Systems table has no "Write errors" column');
		return Number(cells[at]);
	}

	/** Polls until every row of A is in B and the other way round, each linked once; returns when. */
	async function pollUntilSynced(expected: number, upAt: number, label: string): Promise<void> {
		let polls = 0;
		let seen = '';
		await eventually(`${label}: ${expected} contacts in A and B, all linked`, async () => {
			// One poll every 2 s at most: what the schedule would do sooner, without flooding n8n.
			if (polls++ > 0) await new Promise((r) => setTimeout(r, 2000));
			const poll = await runFromTrigger(n8n, wf, POLL);
			const [a, b, links] = [await crm.rows(), await erp.rows(), await store.listLinks('contact')];
			seen = JSON.stringify({ poll: poll.status, failure: failure(poll), nodes: summary(poll), a: a.length, b: b.length, links: links.length });
			if (poll.status !== 'success') return false;
			return a.length === expected && b.length === expected && links.length === 2 * expected;
		}, 120_000).catch((error: Error) => {
			throw new Error(`${error.message}\nlast poll: ${seen}`);
		});
		console.log(`${label}: ${polls} polls`);
		recoveries[label] = Date.now() - upAt;
		console.log(`${label}: recovered ${recoveries[label]} ms after the server was back`);
	}

	beforeAll(async () => {
		[pgA, mariaB, pgStore] = await Promise.all([startPrivatePostgres('crm'), startPrivateMariaDb('erp'), startPrivatePostgres('store')]);
		[crm, erp] = await Promise.all([CrmSystem.open(asDb(pgA), 'crm_people'), ErpSystem.open(asDb(mariaB), 'erp_customers')]);
		storeConfig = { backend: 'postgres', ...pgStore.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		store = await openStore(storeConfig); // creates the store's tables
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, storeConfig as unknown as Json, asDb(pgA), asDb(mariaB), { a: SECRET_A, b: SECRET_B });
		storeCredential = credentials['DataSync store'];
		crmCredential = credentials['System A (CRM database)'];
		wf = await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
			patch: (w) => {
				for (const node of w.nodes) if (node.name === 'Write to A' || node.name === 'Write to B') (node as unknown as Json).onError = 'continueRegularOutput';
			},
		});
		// A first poll of two seeded contacts: both systems linked, every cursor set.
		await crm.insert({ ...ADA_CRM, email: 'seed.a@example.com' });
		await erp.insert({ ...GRACE_ERP, email: 'seed.b@example.com' });
		const first = await runFromTrigger(n8n, wf, POLL);
		expect({ status: first.status, failure: failure(first) }).toEqual({ status: 'success', failure: undefined });
		await checkNoDuplicate(2);
	}, 240_000);

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close().catch(() => undefined);
		await erp?.close().catch(() => undefined);
		await Promise.all([pgA?.destroy(), mariaB?.destroy(), pgStore?.destroy()]);
		if (Object.keys(recoveries).length) console.log(`recovery times (ms): ${JSON.stringify(recoveries)}`);
	});

	it('B (MariaDB) stopped while A\'s webhook changes are written to it: failures recorded, cursor held, all synced after the restart', async () => {
		const since = await lastExecutionId();
		const rows: Json[] = [];
		for (let i = 0; i < 20; i++) rows.push(await crm.insert({ ...ADA_CRM, email: `maria.down${i}@example.com`, firstName: `Down${i}` }));
		const cursorsBefore = await cursors();
		// The first five reach B.
		for (const row of rows.slice(0, 5)) expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row))).status).toBe(200);
		await eventually('the first five are in B', async () => (await erp.rows()).length === 7, 30_000);
		// Five more while B goes down, then ten with B down.
		const during = Promise.all(rows.slice(5, 10).map((row) => signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row))));
		const downAt = Date.now();
		await erp.close(); // this test's own connection to B would die with the server
		await mariaB.stop();
		expect((await during).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
		for (const row of rows.slice(10)) expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row))).status).toBe(200);
		const executions = await finishedSince(since, 20);
		const errors = writeErrors(executions, 'Write to B');
		expect(errors.length).toBeGreaterThanOrEqual(10);
		console.log(`B down: ${errors.length} of 20 writes failed, e.g. "${errors[0]}"`);
		for (const e of errors) expect(e).toMatch(/^System "erp" \(MySQL \/ MariaDB at 127\.0\.0\.1:\d+, database "erp", table "erp_customers"\): the database could not be reached/);

		// A poll while B is down: A's changes cannot be written, B cannot be read; the execution says so.
		const poll = await runFromTrigger(n8n, wf, POLL);
		expect(poll.status).toBe('error');
		expect(failure(poll)).toMatch(/Get changes from B/);
		expect(failure(poll)).toMatch(/System "erp" .*could not be reached/);

		// The dashboard shows B's failed writes; no cursor moved past what was written.
		const overview = await status(store, 'contacts');
		const erpStatus = overview.systems.find((s) => s.system === 'erp');
		expect(erpStatus?.failed).toBeGreaterThanOrEqual(errors.length);
		expect(erpStatus?.lastFailureAt).not.toBeNull();
		expect(writeErrorsShown((await runStatusDashboard()).html, 'erp')).toBeGreaterThanOrEqual(errors.length);
		expect(await cursors()).toEqual(cursorsBefore);
		const wait = DOWN_MS - (Date.now() - downAt);
		if (wait > 0) await new Promise((r) => setTimeout(r, wait));

		await mariaB.start();
		const upAt = Date.now();
		erp = await reopenErp(erp, mariaB);
		await pollUntilSynced(22, upAt, 'MariaDB target');
		await checkNoDuplicate(22);
		const cursorsAfter = await cursors();
		expect(cursorsAfter['crm/contact']).not.toEqual(cursorsBefore['crm/contact']);
	}, 240_000);

	it('A (Postgres) stopped while a Refresh is writing B\'s new contacts to it: failures recorded, cursors held, all synced after the restart', async () => {
		for (let i = 0; i < 40; i++) await erp.insert({ ...GRACE_ERP, email: `pg.down${i}@example.com`, first_name: `PgDown${i}` });
		const cursorsBefore = await cursors();
		// The Refresh reads A and B; its write to A waits on this lock until A is stopped under it.
		const lock = await lockTable(pgA, `"${crm.table}"`);
		let refresh: Execution;
		let downAt: number;
		try {
			const started = await startFromTrigger('Refresh (manual)');
			await eventually('the Refresh\'s write to A waits', () => lock.waiting(), 60_000);
			await crm.close(); // this test's own session would die with the server
			downAt = Date.now();
			await pgA.stop();
			refresh = await finished(started);
		} finally {
			await lock.release();
		}
		// The writes ran in the Refresh's page of B (a sub-workflow execution per page).
		const errors = writeErrors([refresh, ...(await pagesOf(n8n, wf, refresh))], 'Write to A');
		console.log(`A down: the Refresh's write of ${errors.length} records failed, e.g. "${errors[0]}"`);
		expect(errors).toHaveLength(40);
		for (const e of errors) expect(e).toMatch(/^System "crm" \(PostgreSQL at 127\.0\.0\.1:\d+, database "crm", table "crm_people"\): the database could not be reached \((the connection was cut|the server is shutting down)\)/);
		// Commit recorded them: the dashboard shows A's failed writes.
		const erpBefore = (await status(store, 'contacts')).systems.find((s) => s.system === 'crm');
		expect(erpBefore?.failed).toBeGreaterThanOrEqual(40);
		expect(erpBefore?.lastFailureAt).not.toBeNull();
		const html = (await runStatusDashboard()).html;
		expect(writeErrorsShown(html, 'crm')).toBeGreaterThanOrEqual(40);

		// A poll while A is down fails at once, naming A.
		const poll = await runFromTrigger(n8n, wf, POLL);
		expect(poll.status).toBe('error');
		expect(failure(poll)).toMatch(/^Get changes from A: System "crm" \(PostgreSQL at .*\): the database could not be reached/);
		expect(await cursors()).toEqual(cursorsBefore);
		expect((await store.listLinks('contact', 'crm')).length).toBe(22);

		const wait = DOWN_MS - (Date.now() - downAt!);
		if (wait > 0) await new Promise((r) => setTimeout(r, wait));
		await pgA.start();
		const upAt = Date.now();
		crm = await reopenCrm(crm, pgA);
		await pollUntilSynced(62, upAt, 'Postgres target');
		await checkNoDuplicate(62);
	}, 240_000);

	it('the Postgres store stopped while Commit writes, and webhooks sent while it is down: nothing half-written, all synced after the restart', async () => {
		const rows: Json[] = [];
		for (let i = 0; i < 10; i++) rows.push(await crm.insert({ ...ADA_CRM, email: `store.down${i}@example.com`, firstName: `StoreDown${i}` }));
		const bBefore = (await erp.rows()).length;
		const cursorsBefore = await cursors();
		const since = await lastExecutionId();
		// Commit waits at the store (this session holds the one table only Commit writes) until the store stops.
		const lock = await lockTable(pgStore, 'datasync.sync_status');
		let inCommit: Record<string, string>;
		let downAt: number;
		try {
			for (const row of rows.slice(0, 5)) expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row))).status).toBe(200);
			await eventually('B holds the first five', async () => (await erp.rows()).length === bBefore + 5, 30_000);
			await eventually('Commit waits at the store', () => lock.waiting(), 30_000);
			inCommit = await storeTables();
			downAt = Date.now();
			await pgStore.stop();
		} finally {
			await lock.release();
		}
		const failed = await finishedSince(since, 5);
		for (const e of failed) {
			expect(e.status).toBe('error');
			expect(failure(e)).toMatch(/^Commit: DataSync store \(PostgreSQL at 127\.0\.0\.1:\d+, database "store", schema "datasync"\): the database could not be reached/);
		}
		console.log(`store down in Commit: "${failure(failed[0])}"`);
		// Five more changes while the store is down: the DataSync Trigger cannot check them against the store
		// and answers 503 (the sender tries again later); nothing is written to B.
		const answers: Array<{ status: number; text: string }> = [];
		for (const row of rows.slice(5)) {
			const r = await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row));
			answers.push({ status: r.status, text: r.text.slice(0, 200) });
		}
		console.log(`webhooks while the store is down answered ${JSON.stringify(answers[0])}`);
		expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503, 503]);
		const whileDown = (await n8n.executions(wf)).filter((e) => Number(e.id) > since && !failed.some((f) => f.id === e.id));
		for (const e of whileDown) {
			const full = await finished(e.id);
			expect(full.status).toBe('error');
			expect(failure(full)).toMatch(/DataSync store \(PostgreSQL at .*\): the database could not be reached/);
		}
		expect((await erp.rows()).length).toBe(bBefore + 5);

		const wait = DOWN_MS - (Date.now() - downAt!);
		if (wait > 0) await new Promise((r) => setTimeout(r, wait));
		await pgStore.start();
		const upAt = Date.now();
		// Nothing half-written: the store is exactly as it was while Commit waited (its transaction left nothing).
		expect(await storeTables()).toEqual(inCommit!);
		expect(await cursors()).toEqual(cursorsBefore);
		await pollUntilSynced(72, upAt, 'Postgres store');
		await checkNoDuplicate(72);
	}, 240_000);

	describe('the REST system (C) refusing connections, timing out, answering 503', () => {
		let rest: RestServer;
		let gate: Gate;
		let leads: CrmSystem;
		let restWf: string;
		const pollPath = `outage-${id}/rest/poll`;
		let count = 0;

		/** Runs the A → C poll (its webhook answers when the execution ends); returns that execution. */
		async function pollRest(): Promise<Execution> {
			const before = (await n8n.executions(restWf)).map((e) => e.id);
			const res = await n8n.webhook(pollPath, {});
			expect(res.status).toBe(200);
			const list = (await n8n.executions(restWf)).filter((e) => !before.includes(e.id));
			expect(list).toHaveLength(1);
			return await finished(list[0].id);
		}

		async function addLeads(n: number, tag: string): Promise<void> {
			for (let i = 0; i < n; i++) await leads.insert({ ...ADA_CRM, email: `${tag}${i}@example.com`, firstName: `${tag}${i}` });
			count += n;
		}

		/** Every lead of A in C once, each linked once, no other record in C. */
		async function checkRest(): Promise<void> {
			const inC = [...rest.contacts.values()];
			const emails = inC.map((c) => fold(c.email));
			expect({ records: inC.length, duplicates: emails.filter((e, i) => emails.indexOf(e) !== i) }).toEqual({ records: count, duplicates: [] });
			const links = await store.listLinks('lead', 'shop');
			expect(links.map((l) => l.externalId).sort()).toEqual(inC.map((c) => c.id).sort());
		}

		/** Polls until every lead is in C and linked; returns the poll that finished it. */
		async function pollRestUntilSynced(upAt: number, label: string): Promise<Execution> {
			const last = await eventually(`${label}: ${count} leads in C, all linked`, async () => {
				const poll = await pollRest();
				if (poll.status !== 'success') return false;
				return rest.contacts.size === count && (await store.listLinks('lead', 'shop')).length === count ? poll : false;
			}, 60_000);
			recoveries[label] = Date.now() - upAt;
			console.log(`${label}: recovered ${recoveries[label]} ms after C was back`);
			await checkRest();
			return last;
		}

		/** One outage of C: leads made in A while C fails, the poll's writes fail (named), nothing moves. */
		async function outage(tag: string, expected: RegExp): Promise<void> {
			const cursorBefore = (await cursorsOf('leads'))['crm/lead'];
			const inCBefore = rest.contacts.size;
			await addLeads(3, tag);
			const poll = await pollRest();
			const errors = writeErrors([poll], 'Write to C');
			console.log(`C ${tag}: ${errors.length} writes failed, e.g. "${errors[0]}"`);
			expect(errors).toHaveLength(3);
			for (const e of errors) {
				expect(e).toMatch(/shop/);
				expect(e).toMatch(expected);
			}
			const shop = (await status(store, 'leads')).systems.find((x) => x.system === 'shop');
			expect(shop?.failed).toBeGreaterThanOrEqual(3);
			expect(shop?.lastFailureAt).not.toBeNull();
			expect((await cursorsOf('leads'))['crm/lead']).toEqual(cursorBefore);
			expect(rest.contacts.size).toBe(inCBefore);
		}

		beforeAll(async () => {
			rest = await startRestServer();
			gate = await Gate.open(Number(new URL(rest.url).port));
			leads = await CrmSystem.open(asDb(pgA), 'crm_leads');
			const shopCredential = await n8n.createCredential('dataSyncRestApi', 'Test shop', { baseUrl: gate.url, authType: 'bearer', token: rest.token, testPath: '/contacts' });
			const mappingJson = JSON.stringify(LEAD_MAPPING);
			const flow = workflow(
				`outage rest ${id}`,
				[
					webhookNode('Poll now', pollPath),
					ds('dataSyncDatabase', 'Get changes from A', { operation: 'getChanges', entity: 'lead', system: 'crm', table: leads.table, idColumn: 'id', updatedAtColumn: 'updatedAt', actorColumn: 'modifiedBy', sync: 'leads', cursorSource: 'store', pageSize: 5000 }, { dataSyncSqlApi: crmCredential, dataSyncStoreApi: storeCredential }),
					ds('dataSyncMapper', 'To canonical', { operation: 'map', direction: 'toCanonical', input: 'items', mappingSource: 'json', mappingJson }),
					ds('dataSyncConflictResolver', 'Resolver', { sync: 'leads', entity: 'lead', systems: 'crm, shop', matchKeys: 'email', policy: 'priority', priority: 'crm, shop', deletePolicy: 'propagate', emptyValueRule: 'keep', options: {} }, { dataSyncStoreApi: storeCredential }),
					ds('dataSyncMapper', 'From canonical', { operation: 'map', direction: 'fromCanonical', input: 'items', mappingSource: 'json', mappingJson }),
					ds('dataSyncHttpApi', 'Write to C', { operation: 'upsert', entity: 'lead', system: 'shop', collectionPath: '/contacts', idField: 'id', updatedAtField: 'updated_at', updateMethod: 'PATCH', recordPath: 'data', batchPath: '', matchFields: 'email', requestOptions: { retries: 1, timeout: 1500 } }, { dataSyncRestApi: shopCredential }),
					ds('dataSyncStore', 'Commit', { operation: 'commit', sync: 'leads' }, { dataSyncStoreApi: storeCredential }),
				],
				[
					['Poll now', 'Get changes from A'],
					['Get changes from A', 'To canonical'],
					['To canonical', 'Resolver'],
					['Resolver', 'From canonical'],
					['From canonical', 'Write to C'],
					['From canonical', 'Commit', 1],
					['Write to C', 'Commit'],
				],
			);
			for (const node of flow.nodes) if (node.name === 'Write to C') node.onError = 'continueRegularOutput';
			restWf = (await n8n.createWorkflow(flow as unknown as Json)).id;
			await n8n.publish(restWf);
			await addLeads(3, 'rest.seed');
			const first = await pollRest();
			expect({ status: first.status, failure: failure(first) }).toEqual({ status: 'success', failure: undefined });
			await checkRest();
		}, 120_000);

		afterAll(async () => {
			await gate?.close();
			await rest?.close();
			await leads?.close().catch(() => undefined);
		});

		it('C refusing connections: the writes fail naming C, nothing moves; synced once C listens again', async () => {
			await gate.refuse();
			await outage('rest.refused', /refused/i);
			await gate.listen();
			await pollRestUntilSynced(Date.now(), 'REST refusing connections');
		}, 120_000);

		it('C not answering (timeouts): the writes fail naming C, nothing moves; synced once C answers', async () => {
			gate.mode = 'hang';
			await outage('rest.timeout', /timed out|timeout/i);
			gate.mode = 'pass';
			await gate.refuse(); // cuts the connections left hanging
			await gate.listen();
			await pollRestUntilSynced(Date.now(), 'REST timing out');
		}, 120_000);

		it('C answering 503: the writes fail naming C and the answer, nothing moves; synced once C answers 200', async () => {
			rest.trouble.push(...Array.from({ length: 100 }, () => ({ status: 503 as const })));
			await outage('rest.unavailable', /503/);
			rest.trouble.length = 0;
			await pollRestUntilSynced(Date.now(), 'REST answering 503');
		}, 120_000);

		it('C doing the creates but its answers lost (timeouts): each record made once, linked when found by e-mail', async () => {
			const cursorBefore = (await cursorsOf('leads'))['crm/lead'];
			const sizeBefore = rest.contacts.size;
			gate.mode = 'losePostAnswers';
			await addLeads(3, 'rest.lost');
			const poll = await pollRest();
			const errors = writeErrors([poll], 'Write to C');
			console.log(`C answers lost: ${errors.length} writes failed, e.g. "${errors[0]}"`);
			expect(errors).toHaveLength(3);
			for (const e of errors) expect(e).toMatch(/POST .*timed out|timeout/i);
			expect((await cursorsOf('leads'))['crm/lead']).toEqual(cursorBefore);
			// C did them all the same.
			await eventually('C holds the three creates it was sent', async () => rest.contacts.size === sizeBefore + 3, 10_000);
			gate.mode = 'pass';
			await gate.refuse();
			await gate.listen();
			// The next poll plans the creates again; each finds its record in C by e-mail and links it.
			const posts = () => rest.log.filter((r) => r.method === 'POST').length;
			const postsBefore = posts();
			const last = await pollRestUntilSynced(Date.now(), 'REST answers lost');
			expect(outputOf(last, 'Write to C').map((j) => j.outcome)).toEqual(['matched', 'matched', 'matched']);
			expect(posts()).toBe(postsBefore);
		}, 120_000);
	});
});
