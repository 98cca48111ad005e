/**
 * Sensitive data and credentials in stock n8n (issue 13, item 4), through the shipped template
 * bidirectional-contacts: System A = a CRM in real Postgres, System B = an ERP in real MariaDB, n8n logging
 * at debug level. Twice: one n8n process with the store and n8n's data in SQLite files, and queue mode
 * (a main process and a worker on Redis) with the store and n8n's data in Postgres.
 *
 * What "sensitive" means here (lib/mapping/FORMAT.md, lib/engine/README.md):
 * - the Mapper's sensitive fields (canonical `nationalId`, `passwordHash`; crm `ssn`, `passwordHash`;
 *   erp `national_id`, `password_hash`) are never read, copied or written: the value stays in the
 *   system that holds it. It reaches n8n only in the record as read or posted (the trigger, the read
 *   nodes and the Loop Guard, which run before the Mapper); from the Mapper on it is nowhere: not in the
 *   other system, not in the store, not in a conflict, not in any later node's output, not in a log;
 * - the Resolver's sensitive fields (here `phone`) never reach the store but travel to the targets with
 *   the change that carried them: the value must arrive in the other system's phone column, and must not
 *   be in the store or in a log.
 *
 * Every one of those fields holds a canary (a unique random value) in every row the test makes. The sync
 * runs webhook creates both ways, a manual Refresh (a row no webhook told of), an update, a conflict (both
 * sides edit one contact; A's write fails while its table is offline, so the conflict is met) and a write
 * that the database refuses with a row-quoting error. Errors are provoked with distinctive credentials: a
 * wrong MariaDB password, a Postgres store that refuses connections, REST calls answered 401 / 500 or
 * refused (bearer token, header key, query key) and a webhook signed with the wrong secret. Then the test
 * scans: both tables, every table of the store (rows as text; an SQLite store also as file bytes with its
 * WAL), the conflict records, every saved execution (public API, includeData) node by node, n8n's own
 * database (file bytes, or every Postgres table as text) and every log file n8n wrote (main and worker).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import mysql from 'mysql2/promise';

import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { signWebhook } from '../../lib/connectors/webhook/signature';
import { MARIADB, createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { Client } from 'pg';

import type { StoreConfig } from '../../lib/engine/store';
import { ds, workflow } from './flows';
import { N8nInstance, freePort, queueModeEnv, uniqueId, type Execution } from './harness';
import { failure, outputOf, pagesOf, readTemplate, runFromTrigger, signedPost, swapTemplate, written } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

type Json = Record<string, unknown>;

const hex = () => randomBytes(6).toString('hex');
const RUN = hex();
/** Every Mapper-sensitive value starts with this: one search finds any of them. */
const CANARY = `CANARY-${RUN}`;
const canary = (what: string) => `${CANARY}-${what}`;
/** Resolver-sensitive phone numbers: digits only (the mapping's phone pattern), unique to this run. */
const phoneDigits = () => String(Number.parseInt(randomBytes(5).toString('hex'), 16)).padStart(12, '7').slice(0, 12);
const PHONE = { ada: `+99 ${phoneDigits()}`, grace: `+98 ${phoneDigits()}`, linus: `+97 ${phoneDigits()}` };
/** Linus's phone after an edit of only that (Resolver-sensitive) field in A. */
const PHONE_EDIT = `+96 ${phoneDigits()}`;

/** Distinctive credentials: none of them may appear in a log, an execution or an error. */
const CREDENTIALS = {
	pgPassword: `PGPW-${hex()}`,
	mysqlPassword: `MYPW-${hex()}`,
	mysqlWrongPassword: `MYWRONG-${hex()}`,
	storePassword: `STOREPW-${hex()}`,
	secretA: `WHSA-${hex()}`,
	secretB: `WHSB-${hex()}`,
	wrongSecret: `WHSX-${hex()}`,
	bearer: `BEARER-${hex()}`,
	headerKey: `HDRKEY-${hex()}`,
	queryKey: `QRYKEY-${hex()}`,
	n8nDbPassword: `N8NDBPW-${hex()}`,
};

const WRITERS = ['Write to A', 'Write to B'];
/** The nodes before the Mapper: they carry the system record as read or posted, sensitive fields and all. */
const BEFORE_MAPPER = new Set(['A changed (webhook)', 'B changed (webhook)', 'Get changes from A', 'Get changes from B', 'Get page from A', 'Get page from B', 'Find deletes in A', 'Find deletes in B', 'Loop Guard']);

/** Where `needle` occurs in `haystack` (for messages: a little context each side). */
function hits(haystack: string, needle: string): string[] {
	const out: string[] = [];
	for (let at = haystack.indexOf(needle); at >= 0 && out.length < 5; at = haystack.indexOf(needle, at + 1)) out.push(haystack.slice(Math.max(0, at - 120), at + needle.length + 60));
	return out;
}

/** Each secret found in `text`, by name, with context. */
function leaks(text: string, secrets: Record<string, string>): Record<string, string[]> {
	const found: Record<string, string[]> = {};
	for (const [name, value] of Object.entries(secrets)) {
		const h = hits(text, value);
		if (h.length) found[name] = h;
	}
	return found;
}

/** A REST system that refuses: 401 with a body for `/unauthorized`, 500 for anything else. */
async function refusingServer(): Promise<{ url: string; requests: Array<{ url: string; headers: Json }>; close: () => Promise<void> }> {
	const requests: Array<{ url: string; headers: Json }> = [];
	const server: Server = createServer((req, res) => {
		requests.push({ url: req.url ?? '', headers: req.headers as Json });
		req.resume();
		const unauthorized = (req.url ?? '').startsWith('/unauthorized');
		res.writeHead(unauthorized ? 401 : 500, { 'content-type': 'application/json' });
		res.end(JSON.stringify({ error: unauthorized ? 'invalid token' : 'internal error' }));
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	const address = server.address() as { port: number };
	return { url: `http://127.0.0.1:${address.port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

/** Every table of one Postgres schema as text: the rows per table, and the text to scan. */
async function dumpSchema(config: PgTestDatabase['config'], schema: string): Promise<{ perTable: Record<string, number>; text: Record<string, string> }> {
	const client = new Client(config);
	await client.connect();
	try {
		const { rows: tables } = await client.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = $2 ORDER BY 1', [schema, 'BASE TABLE']);
		const perTable: Record<string, number> = {};
		const text: Record<string, string> = {};
		for (const { name } of tables) {
			const { rows } = await client.query<{ j: unknown }>(`SELECT row_to_json(t)::text AS j FROM "${schema}"."${name}" t`);
			perTable[name] = rows.length;
			text[name] = rows.map((r) => r.j).join('\n');
		}
		return { perTable, text };
	} finally {
		await client.end();
	}
}

/**
 * The two set-ups: the default (one n8n process, the store in an SQLite file, n8n's data in its SQLite
 * file) and queue mode (a main process and a worker on Redis, the store and n8n's own data in Postgres).
 */
const SETUPS = [
	{ name: 'one n8n process, SQLite store', queue: false },
	{ name: 'queue mode (main + worker), Postgres store, n8n data in Postgres', queue: true },
];

describe.each(SETUPS)('sensitive data and credentials in stock n8n, $name: nothing leaks (template bidirectional-contacts, debug logs)', ({ queue }) => {
	let n8n: N8nInstance;
	let n8nDb: PgTestDatabase | undefined;
	let storeDb: PgTestDatabase | undefined;
	let storeConfig: StoreConfig;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let storePath: string;
	let rest: Awaited<ReturnType<typeof refusingServer>>;
	let wf: string;
	const workflows: string[] = [];
	const mysqlUser = `ds_sens_${RUN}`;
	const id = uniqueId('sens');
	const paths = { crm: `sens-${id}/crm/contact`, erp: `sens-${id}/erp/contact` };
	const ids: Record<string, { crm?: number; erp?: number }> = {};
	/** The sensitive values each system holds in its own rows (they must stay there, untouched). */
	const own = { crm: new Map<number, Json>(), erp: new Map<number, Json>() };

	async function allExecutions(): Promise<Execution[]> {
		const out: Execution[] = [];
		for (const w of workflows) for (const e of await n8n.executions(w)) out.push(await n8n.execution(e.id));
		return out;
	}

	/** The Refresh's page executions (sub-workflow executions of the template): not counted by `settle`. */
	const pageIds = new Set<string>();

	/** Waits for the template's `count`-th execution (its pages aside) to finish; each must have succeeded. */
	async function settle(count: number): Promise<Execution[]> {
		const all = await n8n.waitForExecutions(wf, count + pageIds.size, 60_000);
		for (const e of all) expect({ id: e.id, status: e.status, failure: failure(e) }).toEqual({ id: e.id, status: 'success', failure: undefined });
		return all.filter((e) => !pageIds.has(e.id));
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_sens'), createMariaDbDatabase('ds_sens')]);
		dir = createTempDir('ds-sens');
		storePath = dir.file('store.sqlite');
		if (queue) [n8nDb, storeDb] = await Promise.all([createPgDatabase('ds_sens_n8n'), createPgDatabase('ds_sens_store')]);
		// The store's and n8n's Postgres passwords are distinctive too (the shared server trusts 127.0.0.1).
		storeConfig = storeDb
			? { backend: 'postgres', ...storeDb.config, password: CREDENTIALS.storePassword, schema: 'datasync', ssl: 'disable' }
			: { backend: 'sqlite', path: storePath };
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		await crm.client.query(`ALTER TABLE "${crm.table}" ADD COLUMN ssn TEXT, ADD COLUMN "passwordHash" TEXT`);
		await erp.conn.query(`ALTER TABLE \`${erp.table}\` ADD COLUMN national_id VARCHAR(80), ADD COLUMN password_hash VARCHAR(120)`);
		// System B's own database user, with a password of its own (the shared server's root has none).
		const admin = await mysql.createConnection({ ...MARIADB });
		try {
			await admin.query(`CREATE USER '${mysqlUser}'@'%' IDENTIFIED BY '${CREDENTIALS.mysqlPassword}'`);
			await admin.query(`GRANT ALL ON \`${maria.config.database}\`.* TO '${mysqlUser}'@'%'`);
		} finally {
			await admin.end();
		}
		rest = await refusingServer();
		n8n = await N8nInstance.start(
			n8nDb
				? { env: { ...queueModeEnv({ ...n8nDb.config, password: CREDENTIALS.n8nDbPassword }, `datasync-${uniqueId('bull')}`), N8N_LOG_LEVEL: 'debug' }, workers: 1 }
				: { env: { N8N_LOG_LEVEL: 'debug' } },
		);
		const sql = { dialect: 'postgres', host: pg.config.host, port: pg.config.port, database: pg.config.database, user: pg.config.user, password: CREDENTIALS.pgPassword, ssl: 'disable' };
		const erpSql = { ...sql, dialect: 'mysql', host: maria.config.host, port: maria.config.port, database: maria.config.database, user: mysqlUser, password: CREDENTIALS.mysqlPassword };
		const credentials = {
			'DataSync store': await n8n.createCredential('dataSyncStoreApi', 'Test store', storeConfig as unknown as Json),
			'System A (CRM database)': await n8n.createCredential('dataSyncSqlApi', 'Test CRM', sql),
			'System B (ERP database)': await n8n.createCredential('dataSyncSqlApi', 'Test ERP', erpSql),
			'Webhook secret: System A': await n8n.createCredential('dataSyncWebhookApi', 'Test CRM secret', { secret: CREDENTIALS.secretA }),
			'Webhook secret: System B': await n8n.createCredential('dataSyncWebhookApi', 'Test ERP secret', { secret: CREDENTIALS.secretB }),
		};
		const template = swapTemplate(readTemplate('bidirectional-contacts'), {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
			// phone: kept out of the store, written to the targets (the Resolver's sensitive fields).
			parameters: { 'Conflict Resolver': { options: { sensitiveFields: 'phone' } } },
			// A failed write goes on to Commit (Continue On Fail), so its error reaches the store's audit too.
			patch: (w) => {
				for (const node of w.nodes) if (WRITERS.includes(node.name)) (node as unknown as Json).onError = 'continueRegularOutput';
			},
		});
		wf = (await n8n.createWorkflow(template as unknown as Json)).id;
		await n8n.publish(wf);
		workflows.push(wf);
		store = await openStore(storeConfig);
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await rest?.close();
		const admin = await mysql.createConnection({ ...MARIADB });
		try {
			await admin.query(`DROP USER IF EXISTS '${mysqlUser}'@'%'`);
		} finally {
			await admin.end();
		}
		await pg?.drop();
		await maria?.drop();
		await n8nDb?.drop();
		await storeDb?.drop();
		dir?.remove();
	});

	async function crmInsert(name: string, values: Json): Promise<Json> {
		const sensitive = { ssn: canary(`crm-ssn-${name}`), passwordHash: canary(`crm-pw-${name}`) };
		const row = await crm.insert({ ...values, ...sensitive });
		own.crm.set(row.id as number, sensitive);
		ids[name] = { crm: row.id as number };
		return row;
	}

	it('a contact made in A, with canaries in its sensitive fields, reaches B without them; its phone (Resolver-sensitive) arrives', async () => {
		const row = await crmInsert('ada', { ...ADA_CRM, phone: PHONE.ada });
		expect((await signedPost(n8n, paths.crm, CREDENTIALS.secretA, CrmSystem.notice(row))).status).toBe(200);
		await settle(1);
		const inErp = await erp.byEmail(ADA_CRM.email);
		expect(inErp).toMatchObject({ first_name: 'Ada', phone_number: PHONE.ada, national_id: null, password_hash: null, modified_by: 'datasync' });
		ids.ada.erp = inErp!.contact_id as number;
	});

	it('a contact made in B reaches A without its sensitive fields', async () => {
		const sensitive = { national_id: canary('erp-nid-grace'), password_hash: canary('erp-pw-grace') };
		const row = await erp.insert({ ...GRACE_ERP, phone_number: PHONE.grace, ...sensitive });
		own.erp.set(row.contact_id as number, sensitive);
		ids.grace = { erp: row.contact_id as number };
		expect((await signedPost(n8n, paths.erp, CREDENTIALS.secretB, ErpSystem.notice(row))).status).toBe(200);
		await settle(2);
		const inCrm = await crm.byEmail(GRACE_ERP.email);
		expect(inCrm).toMatchObject({ firstName: 'Grace', phone: PHONE.grace, ssn: null, passwordHash: null, modifiedBy: 'datasync' });
		ids.grace.crm = inCrm!.id as number;
	});

	it('the manual Refresh syncs a contact no webhook told of, without its sensitive fields', async () => {
		await crmInsert('linus', { email: 'linus@example.com', firstName: 'Linus', lastName: 'Torvalds', phone: PHONE.linus, lifecycleStage: 'lead', countryCode: 'FI' });
		const run = await runFromTrigger(n8n, wf, 'Refresh (manual)');
		expect({ status: run.status, failure: failure(run) }).toEqual({ status: 'success', failure: undefined });
		for (const page of await pagesOf(n8n, wf, run)) pageIds.add(page.id);
		expect(pageIds.size).toBeGreaterThanOrEqual(2);
		await settle(3);
		const inErp = await erp.byEmail('linus@example.com');
		expect(inErp).toMatchObject({ first_name: 'Linus', phone_number: PHONE.linus, national_id: null, password_hash: null });
		ids.linus.erp = inErp!.contact_id as number;
	});

	it('an update in B reaches A and leaves A\'s own sensitive columns as they were', async () => {
		const row = await erp.update(ids.ada.erp!, { city: 'Manchester' });
		expect((await signedPost(n8n, paths.erp, CREDENTIALS.secretB, ErpSystem.notice(row))).status).toBe(200);
		await settle(4);
		expect(await crm.row(ids.ada.crm!)).toMatchObject({ city: 'Manchester', phone: PHONE.ada, ...own.crm.get(ids.ada.crm!) });
	});

	it('both sides edit one contact (A\'s write fails while its table is offline): a conflict, settled by "A wins"', async () => {
		const inCrm = await crm.update(ids.grace.crm!, { lastName: 'Hopper-A' });
		const inErp = await erp.update(ids.grace.erp!, { last_name: 'Hopper-B' });
		await crm.client.query(`ALTER TABLE "${crm.table}" RENAME TO "${crm.table}_offline"`);
		let offline: Execution;
		try {
			expect((await signedPost(n8n, paths.erp, CREDENTIALS.secretB, ErpSystem.notice(inErp))).status).toBe(200);
			offline = (await settle(5))[4];
		} finally {
			await crm.client.query(`ALTER TABLE "${crm.table}_offline" RENAME TO "${crm.table}"`);
		}
		const failed = outputOf(offline, 'Write to A');
		expect(failed).toHaveLength(1);
		expect(String(failed[0].error)).toMatch(/crm_people/);
		expect((await signedPost(n8n, paths.crm, CREDENTIALS.secretA, CrmSystem.notice(inCrm))).status).toBe(200);
		await settle(6);
		expect(await erp.row(ids.grace.erp!)).toMatchObject({ last_name: 'Hopper-A', ...own.erp.get(ids.grace.erp!) });
		const conflicts = await store.listConflicts({ status: 'resolved' });
		expect(conflicts.length).toBeGreaterThanOrEqual(1);
		expect(JSON.stringify(conflicts)).toContain('Hopper-B');
	});

	it('a write the database refuses with an error that quotes the whole row: the error names the table, not the row\'s sensitive values', async () => {
		await crm.client.query(`ALTER TABLE "${crm.table}" ADD CONSTRAINT no_atlantis CHECK (city IS DISTINCT FROM 'Atlantis')`);
		const row = await erp.update(ids.ada.erp!, { city: 'Atlantis' });
		expect((await signedPost(n8n, paths.erp, CREDENTIALS.secretB, ErpSystem.notice(row))).status).toBe(200);
		const run = (await settle(7))[6];
		const failed = outputOf(run, 'Write to A');
		expect(failed).toHaveLength(1);
		const message = String(failed[0].error);
		console.log(`sensitive: the refused write's error: ${message}`);
		expect(message).toMatch(/no_atlantis/);
		expect(leaks(message, { canary: CANARY, phone: PHONE.ada })).toEqual({});
		expect((await crm.row(ids.ada.crm!))!.city).toBe('Manchester');
	});

	it('a record the Mapper refuses and a body the trigger refuses: the Invalid output and the 400 answer quote no sensitive value', async () => {
		const now = new Date().toISOString();
		const invalid = { id: 999, op: 'upsert', changedAt: now, actor: 'alice', data: { id: 999, email: 'not-an-email', firstName: 'Eve', lifecycleStage: 'customer', updatedAt: now, ssn: canary('crm-ssn-invalid'), passwordHash: canary('crm-pw-invalid') } };
		expect((await signedPost(n8n, paths.crm, CREDENTIALS.secretA, invalid)).status).toBe(200);
		const run = (await settle(8))[7];
		const refused = outputOf(run, 'To canonical', 1);
		expect(refused).toHaveLength(1);
		expect(JSON.stringify(refused[0].errors)).toMatch(/email/);
		expect(refused[0].data).toMatchObject({ email: 'not-an-email', firstName: 'Eve' });
		expect(hits(JSON.stringify(refused), CANARY)).toEqual([]);
		// A NUL in a sensitive field: the trigger refuses the body (400) naming the field, not its value.
		const raw = JSON.stringify({ ...invalid, data: { ...invalid.data, email: 'eve@example.com', ssn: `${canary('crm-ssn-nul')}\u0000` } });
		const ts = String(Math.floor(Date.now() / 1000));
		const answer = await n8n.webhook(paths.crm, undefined, { raw, headers: { 'x-datasync-timestamp': ts, 'x-datasync-signature': `sha256=${signWebhook(CREDENTIALS.secretA, ts, raw)}` } });
		expect({ status: answer.status, text: answer.text }).toEqual({ status: 400, text: expect.stringContaining('data.ssn') });
		expect(hits(answer.text, CANARY)).toEqual([]);
	});

	it('an edit of only the phone (Resolver-sensitive, never stored) in A reaches B; its echo from B writes nothing back', async () => {
		const row = await crm.update(ids.linus.crm!, { phone: PHONE_EDIT });
		expect((await signedPost(n8n, paths.crm, CREDENTIALS.secretA, CrmSystem.notice(row))).status).toBe(200);
		const run = (await settle(9))[8];
		expect(outputOf(run, 'Write to B')).toHaveLength(1);
		expect(await erp.row(ids.linus.erp!)).toMatchObject({ first_name: 'Linus', phone_number: PHONE_EDIT, national_id: null, password_hash: null, modified_by: 'datasync' });
		// The echo: B's row as our write left it, told without the sync's actor, so the content rules decide
		// (the Loop Guard's written hash or the Resolver's digest of the phone), not the actor.
		const echo = (await erp.row(ids.linus.erp!))!;
		const crmBefore = await crm.row(ids.linus.crm!);
		expect((await signedPost(n8n, paths.erp, CREDENTIALS.secretB, ErpSystem.notice(echo, 'upsert', null))).status).toBe(200);
		const back = (await settle(10))[9];
		expect(outputOf(back, 'Write to A')).toEqual([]);
		const why = [
			...outputOf(back, 'Loop Guard', 1).map((b) => `Loop Guard: ${(b.blocked as Json).reason}`),
			...outputOf(back, 'Conflict Resolver', 2).map((b) => `Conflict Resolver: ${(b.skipped as Json).reason}`),
		];
		console.log(`sensitive: the echo of the phone-only write was stopped by ${why.join(', ')}`);
		expect(why).toEqual([expect.stringMatching(/^(Loop Guard: written-hash|Conflict Resolver: echo)$/)]);
		expect(await crm.row(ids.linus.crm!)).toEqual(crmBefore);
	});

	it('errors with distinctive credentials (wrong MariaDB password, a store that refuses, REST 401 / 500 / refused, a wrong webhook secret) name what failed, never the secret', async () => {
		const closedPort = await freePort();
		const cred = {
			wrongPw: await n8n.createCredential('dataSyncSqlApi', 'ERP wrong password', {
				dialect: 'mysql', host: maria.config.host, port: maria.config.port, database: maria.config.database, user: mysqlUser, password: CREDENTIALS.mysqlWrongPassword, ssl: 'disable',
			}),
			pgStore: await n8n.createCredential('dataSyncStoreApi', 'Store refusing', {
				backend: 'postgres', host: '127.0.0.1', port: closedPort, database: 'datasync', user: 'datasync', password: CREDENTIALS.storePassword, schema: 'datasync', ssl: 'disable',
			}),
			bearer: await n8n.createCredential('dataSyncRestApi', 'REST bearer', { baseUrl: `${rest.url}/unauthorized`, authType: 'bearer', token: CREDENTIALS.bearer, testPath: '/' }),
			header: await n8n.createCredential('dataSyncRestApi', 'REST header', { baseUrl: rest.url, authType: 'header', headerName: 'X-Api-Key', headerSecret: CREDENTIALS.headerKey, testPath: '/' }),
			query: await n8n.createCredential('dataSyncRestApi', 'REST query key', { baseUrl: rest.url, authType: 'queryKey', queryName: 'api_key', queryApiKey: CREDENTIALS.queryKey, testPath: '/' }),
			refused: await n8n.createCredential('dataSyncRestApi', 'REST refused', { baseUrl: `http://127.0.0.1:${closedPort}`, authType: 'bearer', token: CREDENTIALS.bearer, testPath: '/' }),
		};
		const list = (credential: { id: string; name: string }) =>
			ds('dataSyncHttpApi', 'List', { operation: 'list', entity: 'contact', system: 'shop', collectionPath: '/contacts', idField: 'id', updatedAtField: 'updated_at', cursorSource: 'none', pagination: 'none', itemsPath: 'data', requestOptions: { retries: 0, timeout: 5000 } }, { dataSyncRestApi: credential });
		const cases: Array<{ name: string; node: ReturnType<typeof ds>; expected: RegExp }> = [
			{
				name: 'wrong MariaDB password',
				node: ds('dataSyncDatabase', 'Get all', { operation: 'getMany', entity: 'contact', system: 'erp', table: erp.table, idColumn: 'contact_id', updatedAtColumn: 'changed_at', returnAll: true, pageSize: 100 }, { dataSyncSqlApi: cred.wrongPw }),
				expected: /Access denied/i,
			},
			{ name: 'store refusing connections', node: ds('dataSyncStore', 'Status', { operation: 'status', sync: 'contacts' }, { dataSyncStoreApi: cred.pgStore }), expected: /ECONNREFUSED|connect/i },
			{ name: 'REST 401 (bearer token)', node: list(cred.bearer), expected: /401/ },
			{ name: 'REST 500 (header key)', node: list(cred.header), expected: /500/ },
			{ name: 'REST 500 (query key)', node: list(cred.query), expected: /500/ },
			{ name: 'REST refused (bearer token)', node: list(cred.refused), expected: /ECONNREFUSED|refused|connect/i },
		];
		const messages: Record<string, string> = {};
		for (const c of cases) {
			const w = workflow(`sensitive: ${c.name}`, [{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} }, c.node], [['Start', c.node.name]]);
			const created = await n8n.createWorkflow(w as unknown as Json);
			workflows.push(created.id);
			const run = await runFromTrigger(n8n, created.id, 'Start');
			expect({ case: c.name, status: run.status }).toEqual({ case: c.name, status: 'error' });
			const message = failure(run) ?? '';
			messages[c.name] = message;
			expect({ case: c.name, message }).toEqual({ case: c.name, message: expect.stringMatching(c.expected) });
			expect({ case: c.name, leaks: leaks(JSON.stringify(run), CREDENTIALS) }).toEqual({ case: c.name, leaks: {} });
		}
		// The editor's credential test (POST /rest/credentials/test) answers an error naming what failed, not the secret.
		const tests: Array<{ name: string; credential: { id: string; name: string }; type: string; data: Json }> = [
			{ name: 'wrong MariaDB password', credential: cred.wrongPw, type: 'dataSyncSqlApi', data: { dialect: 'mysql', host: maria.config.host, port: maria.config.port, database: maria.config.database, user: mysqlUser, password: CREDENTIALS.mysqlWrongPassword, ssl: 'disable' } },
			{ name: 'store refusing connections', credential: cred.pgStore, type: 'dataSyncStoreApi', data: { backend: 'postgres', host: '127.0.0.1', port: closedPort, database: 'datasync', user: 'datasync', password: CREDENTIALS.storePassword, schema: 'datasync', ssl: 'disable' } },
			{ name: 'REST 401 (bearer token)', credential: cred.bearer, type: 'dataSyncRestApi', data: { baseUrl: `${rest.url}/unauthorized`, authType: 'bearer', token: CREDENTIALS.bearer, testPath: '/' } },
			{ name: 'REST refused (bearer token)', credential: cred.refused, type: 'dataSyncRestApi', data: { baseUrl: `http://127.0.0.1:${closedPort}`, authType: 'bearer', token: CREDENTIALS.bearer, testPath: '/' } },
		];
		for (const t of tests) {
			const answer = (await n8n.rest<{ data: { status: string; message: string } }>('POST', '/rest/credentials/test', { credentials: { id: t.credential.id, name: t.credential.name, type: t.type, data: t.data } })).data;
			expect({ test: t.name, status: answer.status, leaks: leaks(JSON.stringify(answer), CREDENTIALS) }).toEqual({ test: t.name, status: 'Error', leaks: {} });
			messages[`credential test, ${t.name}`] = answer.message;
		}
		// The REST system did get the secrets (so the requests were authenticated), only in their places.
		expect(rest.requests.some((r) => r.headers.authorization === `Bearer ${CREDENTIALS.bearer}`)).toBe(true);
		expect(rest.requests.some((r) => r.headers['x-api-key'] === CREDENTIALS.headerKey)).toBe(true);
		expect(rest.requests.some((r) => r.url.includes(`api_key=${CREDENTIALS.queryKey}`))).toBe(true);
		// A webhook signed with the wrong secret: 401 with a reason, the secret nowhere in the answer.
		const raw = JSON.stringify(CrmSystem.notice((await crm.row(ids.ada.crm!))!));
		const ts = String(Math.floor(Date.now() / 1000));
		const forged = await n8n.webhook(paths.crm, undefined, { raw, headers: { 'x-datasync-timestamp': ts, 'x-datasync-signature': `sha256=${signWebhook(CREDENTIALS.wrongSecret, ts, raw)}` } });
		expect(forged.status).toBe(401);
		expect(leaks(`${forged.text} ${JSON.stringify([...forged.headers])}`, { ...CREDENTIALS, canary: CANARY })).toEqual({});
		console.log(`sensitive: error messages checked:\n${Object.entries(messages).map(([k, v]) => `  ${k}: ${v.slice(0, 200)}`).join('\n')}`);
	});

	it('scan: the canaries are only where they belong, and no credential is anywhere', async () => {
		const phones = { phoneAda: PHONE.ada, phoneGrace: PHONE.grace, phoneLinus: PHONE.linus, phoneLinusEdit: PHONE_EDIT };
		const everything = { canary: CANARY, ...phones, ...CREDENTIALS };
		const figures: Record<string, unknown> = { queue };

		// 1. The target tables: each system's sensitive values are in its own rows only, unchanged;
		//    the other system's sensitive columns stay empty; the phones (Resolver-sensitive) arrived.
		const crmRows = await crm.rows();
		const erpRows = await erp.rows();
		for (const row of crmRows) {
			const mine = own.crm.get(row.id as number);
			expect({ id: row.id, ssn: row.ssn, passwordHash: row.passwordHash }).toEqual({ id: row.id, ssn: mine?.ssn ?? null, passwordHash: mine?.passwordHash ?? null });
			const rest = { ...row, ssn: undefined, passwordHash: undefined };
			expect(hits(JSON.stringify(rest), CANARY)).toEqual([]);
		}
		for (const row of erpRows) {
			const mine = own.erp.get(row.contact_id as number);
			expect({ id: row.contact_id, national_id: row.national_id, password_hash: row.password_hash }).toEqual({ id: row.contact_id, national_id: mine?.national_id ?? null, password_hash: mine?.password_hash ?? null });
			expect(hits(JSON.stringify({ ...row, national_id: undefined, password_hash: undefined }), CANARY)).toEqual([]);
		}
		const phonesNow = [PHONE.ada, PHONE.grace, PHONE_EDIT].sort();
		expect(crmRows.map((r) => r.phone).sort()).toEqual(phonesNow);
		expect(erpRows.map((r) => r.phone_number).sort()).toEqual(phonesNow);
		expect(leaks(JSON.stringify([crmRows, erpRows]), CREDENTIALS)).toEqual({});
		figures.targetRows = { crm: crmRows.length, erp: erpRows.length };

		// 2. The store: every table's rows as text; an SQLite store also as file bytes (with its WAL).
		let perTable: Record<string, number> = {};
		let storeBytes = 0;
		if (storeDb) {
			const dump = await dumpSchema(storeDb.config, 'datasync');
			perTable = dump.perTable;
			for (const [table, text] of Object.entries(dump.text)) {
				storeBytes += text.length;
				expect({ table, leaks: leaks(text, everything) }).toEqual({ table, leaks: {} });
			}
		} else {
			const db = new DatabaseSync(storePath, { readOnly: true });
			try {
				for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>) {
					const rows = db.prepare(`SELECT * FROM "${name}"`).all();
					perTable[name] = rows.length;
					expect({ table: name, leaks: leaks(JSON.stringify(rows), everything) }).toEqual({ table: name, leaks: {} });
				}
			} finally {
				db.close();
			}
			for (const f of readdirSync(dir.path).filter((f) => f.startsWith('store.sqlite'))) {
				const bytes = readFileSync(join(dir.path, f));
				storeBytes += bytes.length;
				expect({ file: f, leaks: leaks(bytes.toString('latin1'), everything) }).toEqual({ file: f, leaks: {} });
			}
		}
		expect(perTable.audit).toBeGreaterThan(0);
		expect(perTable.conflict).toBeGreaterThan(0);
		expect(perTable.golden_record).toBe(3);
		figures.store = { tables: Object.keys(perTable).length, rows: Object.values(perTable).reduce((a, b) => a + b, 0), bytes: storeBytes, perTable };

		// 3. The conflict records as the Store node lists them (open and resolved).
		const conflicts = [...(await store.listConflicts({ status: 'open' })), ...(await store.listConflicts({ status: 'resolved' }))];
		expect(conflicts.length).toBeGreaterThan(0);
		expect(leaks(JSON.stringify(conflicts), everything)).toEqual({});
		figures.conflicts = conflicts.length;

		// 4. Every saved execution, node by node: the Mapper-sensitive canaries only in the nodes before the
		//    Mapper (they carry the record as read or posted); no credential anywhere.
		const executions = await allExecutions();
		let nodeRuns = 0;
		const carriers = new Set<string>();
		for (const e of executions) {
			expect({ execution: e.id, leaks: leaks(JSON.stringify(e), CREDENTIALS) }).toEqual({ execution: e.id, leaks: {} });
			expect({ execution: e.id, error: hits(JSON.stringify(e.data?.resultData.error ?? null), CANARY) }).toEqual({ execution: e.id, error: [] });
			for (const [node, tasks] of Object.entries(e.data?.resultData.runData ?? {})) {
				nodeRuns += tasks.length;
				const text = JSON.stringify(tasks);
				if (!text.includes(CANARY)) continue;
				carriers.add(node);
				expect({ execution: e.id, node, before: BEFORE_MAPPER.has(node) ? 'the Mapper' : hits(text, CANARY) }).toEqual({ execution: e.id, node, before: 'the Mapper' });
			}
		}
		// The test did put the canaries into n8n (else the scan proves nothing): the trigger carried them.
		expect(carriers.has('A changed (webhook)')).toBe(true);
		expect(carriers.has('B changed (webhook)')).toBe(true);
		expect(written(executions, WRITERS).length).toBeGreaterThanOrEqual(5);
		figures.executions = { count: executions.length, nodeRuns, canaryCarriers: [...carriers].sort() };

		// 5. n8n's own database (its SQLite file's bytes, or every table of its Postgres database): the
		//    credentials are stored encrypted, so none of them is there.
		let n8nBytes = 0;
		/** Not a check, a figure: the saved outputs of the nodes before the Mapper hold the canaries (see 4). */
		let canaryInN8n = 0;
		const count = (text: string) => text.split(CANARY).length - 1;
		if (n8nDb) {
			const dump = await dumpSchema(n8nDb.config, 'public');
			expect(dump.perTable.credentials_entity).toBeGreaterThan(0);
			for (const [table, text] of Object.entries(dump.text)) {
				n8nBytes += text.length;
				canaryInN8n += count(text);
				expect({ table, leaks: leaks(text, CREDENTIALS) }).toEqual({ table, leaks: {} });
			}
			figures.n8nDatabase = { tables: Object.keys(dump.perTable).length, rows: Object.values(dump.perTable).reduce((a, b) => a + b, 0), bytes: n8nBytes, canaryOccurrences: canaryInN8n };
		} else {
			const n8nFolder = join(n8n.userFolder, '.n8n');
			for (const f of readdirSync(n8nFolder).filter((f) => f.startsWith('database.sqlite'))) {
				const bytes = readFileSync(join(n8nFolder, f));
				n8nBytes += bytes.length;
				canaryInN8n += count(bytes.toString('latin1'));
				expect({ file: f, leaks: leaks(bytes.toString('latin1'), CREDENTIALS) }).toEqual({ file: f, leaks: {} });
			}
			figures.n8nDatabase = { bytes: n8nBytes, canaryOccurrences: canaryInN8n };
		}
		expect(n8nBytes).toBeGreaterThan(0);

		// 6. Every log n8n wrote (debug level): no canary, no phone, no credential.
		const logs = readdirSync(n8n.userFolder).filter((f) => f.endsWith('.log'));
		expect(logs).toEqual(expect.arrayContaining(queue ? ['n8n.log', 'worker-0.log'] : ['n8n.log']));
		// In queue mode the worker ran the executions, so its log is the one that saw the data.
		if (queue) expect(readFileSync(join(n8n.userFolder, 'worker-0.log'), 'utf8')).toMatch(/Worker started execution \d+/);
		let logBytes = 0;
		for (const f of logs) {
			const text = readFileSync(join(n8n.userFolder, f), 'utf8');
			logBytes += text.length;
			expect({ log: f, leaks: leaks(text, everything) }).toEqual({ log: f, leaks: {} });
		}
		expect(readFileSync(n8n.logFile, 'utf8')).toContain('Loaded all credentials and nodes from n8n-nodes-datasync');
		figures.logBytes = logBytes;
		console.log(`sensitive scan: ${JSON.stringify(figures)}`);
	});
});
