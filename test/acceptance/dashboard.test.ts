/**
 * The status dashboard in a real browser (issue 15): stock n8n runs the bidirectional template on real
 * Postgres (A) and MariaDB (B) with a SQLite store, fed by signed webhooks: a create, our own echo from
 * B (the Loop Guard blocks it), five changes with a date the mapping refuses (Invalid records → Store
 * Record Invalid) and a change B refuses to write (a write error). The status template serves the
 * dashboard behind n8n's Basic Auth; headless Chromium (Debian's chromium, playwright-core) renders it,
 * and every number read off the page must equal what the store holds, queried with SQL. It follows the
 * page's links to a run's log and, through the page's form, to a record's history; checks that a
 * `<script>` in a record value stays text; reads the Prometheus text; and takes the README's screenshots
 * (`.test-artifacts/`, or docs/images/ with DASHBOARD_SCREENSHOTS=docs).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { ARTIFACTS, N8nInstance, REPO_ROOT, uniqueId } from './harness';
import { eventually, importTemplate, signedPost, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem } from './templates-systems';

const SECRET_A = 'crm-dash-secret-0123456789abcdef';
const SECRET_B = 'erp-dash-secret-0123456789abcdef';
const AUTH = { username: 'ops', password: 'dashboard-pass-0123' };
const XSS = '<script>window.__xss = 1</script>';
const SHOTS = process.env.DASHBOARD_SCREENSHOTS === 'docs' ? join(REPO_ROOT, 'docs', 'images') : join(ARTIFACTS, 'dashboard');

let n8n: N8nInstance;
let pg: PgTestDatabase;
let maria: MariaDbTestDatabase;
let dir: TempDir;
let crm: CrmSystem;
let erp: ErpSystem;
let store: Store;
let browser: Browser;
let syncWf: string;
const id = uniqueId('dash');
const statusPath = `status-${id}`;

beforeAll(async () => {
	[pg, maria] = await Promise.all([createPgDatabase('ds_dash'), createMariaDbDatabase('ds_dash')]);
	dir = createTempDir('ds-dash');
	n8n = await N8nInstance.start();
	[crm, erp] = await Promise.all([CrmSystem.open(pg, `crm_${id}`), ErpSystem.open(maria, `erp_${id}`)]);
	// B refuses contacts named "Refused": a write error Commit records (the write node continues on error).
	await erp.conn.query(`ALTER TABLE \`${erp.table}\` ADD CONSTRAINT no_refused CHECK (first_name IS NULL OR first_name <> 'Refused')`);
	const storeData = { backend: 'sqlite', path: dir.file('store.sqlite') };
	const credentials = {
		...(await systemCredentials(n8n, storeData, pg, maria, { a: SECRET_A, b: SECRET_B })),
		'SMTP (alert e-mails)': await n8n.createCredential('smtp', 'Unused SMTP', { user: '', password: '', host: '127.0.0.1', port: 1, secure: false }),
	};
	syncWf = await importTemplate(n8n, 'bidirectional-contacts', {
		credentials,
		tables: { crm_contacts: crm.table, erp_contacts: erp.table },
		paths: { 'datasync/crm/contact': `${id}/crm/contact`, 'datasync/erp/contact': `${id}/erp/contact` },
		patch: (wf) => {
			for (const node of wf.nodes) if (node.name === 'Write to B') (node as unknown as Record<string, unknown>).onError = 'continueRegularOutput';
		},
	});
	const basic = await n8n.createCredential('httpBasicAuth', 'Dashboard login', { user: AUTH.username, password: AUTH.password });
	await importTemplate(n8n, 'status-and-conflicts', {
		credentials,
		paths: { 'datasync/status': statusPath, 'datasync/conflicts': `conflicts-${id}` },
		// As the template's note says: Basic Auth on the webhook before publishing.
		patch: (wf) => {
			const hook = wf.nodes.find((n) => n.name === 'GET /datasync/status')!;
			hook.parameters.authentication = 'basicAuth';
			hook.credentials = { httpBasicAuth: basic };
		},
	});
	store = await openStore(storeData as { backend: 'sqlite'; path: string });
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	mkdirSync(SHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
	await browser?.close();
	await n8n?.stop();
	await closeAllStores();
	await crm?.close();
	await erp?.close();
	await pg?.drop();
	await maria?.drop();
	dir?.remove();
});

/** SQL straight on the store. */
const sql = async <T = Record<string, unknown>>(text: string, params: Array<string | number> = []) => (await store.driver.all(text, params)) as T[];
const one = async (text: string, params: Array<string | number> = []) => Number(Object.values((await sql(text, params))[0] ?? { n: 0 })[0] ?? 0);

/** A table of the page as objects by its header cells. */
async function tableOf(page: Page, selector: string): Promise<Array<Record<string, string>>> {
	return await page.$$eval(`${selector} tr`, (rows) => {
		const [head, ...body] = rows.map((r) => Array.from((r as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells).map((c) => (c.textContent ?? '').trim()));
		return body.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i]])));
	});
}

const tile = (page: Page, name: string) => page.$eval(`[data-tile="${name}"] .value`, (e) => (e.textContent ?? '').trim());

it('shows every record that synced and every one that did not, with its reason, as the store holds them; run log, record history, Prometheus; behind Basic Auth', async () => {
	const hooks = { crm: `${id}/crm/contact`, erp: `${id}/erp/contact` };
	// A create A → B (with a script tag in a value), then B's notice of our own write: an echo.
	const ada = await crm.insert({ ...ADA_CRM, lastName: XSS });
	expect((await signedPost(n8n, hooks.crm, SECRET_A, CrmSystem.notice(ada))).status).toBe(200);
	const inB = await eventually('Ada in B', async () => await erp.byEmail('ada@example.com'), 30_000);
	expect((await signedPost(n8n, hooks.erp, SECRET_B, ErpSystem.notice(inB))).status).toBe(200);
	// Five changes with a date that does not exist: the mapping refuses them.
	for (let i = 1; i <= 5; i++) {
		const notice = { id: 9000 + i, op: 'upsert', changedAt: new Date().toISOString(), actor: 'alice', data: { ...ADA_CRM, id: 9000 + i, email: `bad${i}@example.com`, birthDate: '2023-02-29' } };
		expect((await signedPost(n8n, hooks.crm, SECRET_A, notice)).status).toBe(200);
	}
	// A contact B refuses to store.
	const refused = await crm.insert({ ...ADA_CRM, email: 'refused@example.com', firstName: 'Refused' });
	expect((await signedPost(n8n, hooks.crm, SECRET_A, CrmSystem.notice(refused))).status).toBe(200);
	const runs = await n8n.waitForExecutions(syncWf, 8);
	for (const r of runs) expect({ id: r.id, status: r.status }).toEqual({ id: r.id, status: 'success' });

	// What the store holds, by SQL.
	expect(await one(`SELECT count(*) FROM audit WHERE action = 'invalid' AND system = 'crm'`)).toBe(5);
	expect(await one(`SELECT count(*) FROM audit WHERE action = 'write' AND outcome = 'failed' AND system = 'erp'`)).toBe(1);
	const volume = await sql<{ system: string; kind: string; n: number }>(
		`SELECT system, kind, sum(count) AS n FROM volume WHERE sync = 'contacts' AND grain = 'day' GROUP BY system, kind`,
	);
	const counted = (system: string, kind: string) => String(volume.find((v) => v.system === system && v.kind === kind)?.n ?? 0);
	expect(counted('crm', 'invalid')).toBe('5');
	expect(counted('erp', 'failed')).toBe('1');
	expect(counted('erp', 'created')).toBe('1');
	expect(Number(counted('erp', 'blocked'))).toBeGreaterThanOrEqual(1);
	const blockedReasons = await sql<{ reason: string }>(`SELECT DISTINCT reason FROM volume WHERE kind = 'blocked' AND system = 'erp'`);
	expect(blockedReasons.map((r) => r.reason)).toContain('own-actor');

	// Behind Basic Auth: refused without it.
	const url = `${n8n.baseUrl}/webhook/${statusPath}`;
	expect((await fetch(url)).status).toBe(401);

	const context = await browser.newContext({ httpCredentials: AUTH, viewport: { width: 1440, height: 1000 } });
	const page = await context.newPage();
	const external: string[] = [];
	page.on('request', (r) => {
		if (!r.url().startsWith(n8n.baseUrl)) external.push(r.url());
	});
	const answer = await page.goto(url, { waitUntil: 'load' });
	expect(answer?.status()).toBe(200);
	expect(answer?.headers()['content-type']).toMatch(/^text\/html/);

	// Every number of the Systems table equals the store's counts.
	const targets = await tableOf(page, '#targets');
	expect(targets.map((t) => t.System).sort()).toEqual(['crm', 'erp']);
	for (const t of targets) {
		const fromStore = {
			Received: counted(t.System, 'received'),
			Created: counted(t.System, 'created'),
			Updated: counted(t.System, 'updated'),
			Deleted: counted(t.System, 'deleted'),
			'Write errors': counted(t.System, 'failed'),
			Invalid: counted(t.System, 'invalid'),
			Blocked: counted(t.System, 'blocked'),
			Skipped: counted(t.System, 'skipped'),
			'Open conflicts': String(await one(`SELECT count(*) FROM conflict WHERE status = 'open' AND system = ?`, [t.System])),
		};
		expect({ system: t.System, ...Object.fromEntries(Object.keys(fromStore).map((k) => [k, t[k]])) }).toEqual({ system: t.System, ...fromStore });
	}
	const erpRow = targets.find((t) => t.System === 'erp')!;
	// The latest write to B (the refused contact) failed: B is failing, and the rule says why.
	expect(erpRow.Health).toMatch(/^failing.*latest write to erp failed/);
	expect(await page.textContent('[data-rule]')).toMatch(/failing: the latest write to a system failed/);

	const since = new Date(Date.now() - 86_400_000).toISOString();
	const notSynced = await one(`SELECT sum(count) FROM volume WHERE sync = 'contacts' AND grain = 'hour' AND kind IN ('invalid', 'blocked', 'failed') AND bucket >= ?`, [since.slice(0, 13)]);
	expect(Number(await tile(page, 'notSynced24h'))).toBe(notSynced);
	expect(await page.textContent('[data-alert="not-synced"]')).toContain(`${notSynced} changes did not sync in the last 24 hours`);
	expect(Number(await tile(page, 'openConflicts'))).toBe(await one(`SELECT count(*) FROM conflict WHERE status = 'open'`));
	const failures = await tableOf(page, '#recent-failures');
	expect(failures).toHaveLength(await one(`SELECT count(*) FROM audit WHERE sync = 'contacts' AND outcome = 'failed'`));
	expect(failures.filter((f) => /birthDate/.test(f.Why))).toHaveLength(5);
	expect(failures.filter((f) => /no_refused/.test(f.Why))).toHaveLength(1);
	const counts = await tableOf(page, '#not-synced-counts');
	expect(counts.find((c) => c.What === 'invalid' && c.System === 'crm')?.['Last 30 days']).toBe('5');
	// The charts: the hourly totals equal the store's hourly counts.
	const chart = await page.$eval('#chart-hourly', (e) => ({ received: Number(e.getAttribute('data-received')), written: Number(e.getAttribute('data-written')), errors: Number(e.getAttribute('data-errors')) }));
	const hourly = async (kinds: string[]) =>
		await one(`SELECT coalesce(sum(count), 0) FROM volume WHERE sync = 'contacts' AND grain = 'hour' AND kind IN (${kinds.map(() => '?').join(', ')})`, kinds);
	expect(chart).toEqual({ received: await hourly(['received']), written: await hourly(['created', 'updated', 'deleted']), errors: await hourly(['failed', 'invalid']) });
	// The runs table: one row per run of the store, newest first.
	const runRows = await tableOf(page, '#runs');
	expect(runRows.map((r) => r.Run)).toEqual((await sql<{ run_id: string }>(`SELECT run_id FROM run WHERE sync = 'contacts' ORDER BY started_at DESC LIMIT 20`)).map((r) => r.run_id));
	expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
	await page.screenshot({ path: join(SHOTS, 'dashboard-overview.png'), fullPage: true });

	// A run's log, through the link on its row: every record it touched.
	const [createRun] = await sql<{ run_id: string }>(`SELECT run_id FROM audit WHERE action = 'write' AND outcome = 'ok' AND system = 'erp' ORDER BY id LIMIT 1`);
	await Promise.all([page.waitForNavigation(), page.click(`#runs a[href="?run=${encodeURIComponent(createRun.run_id)}"]`)]);
	const log = await tableOf(page, '#run-log');
	expect(log.map((l) => `${l.Action}/${l.Outcome}/${l.System}`)).toEqual(
		(await sql<{ action: string; outcome: string; system: string }>(`SELECT action, outcome, system FROM audit WHERE run_id = ? ORDER BY id`, [createRun.run_id])).map((e) => `${e.action}/${e.outcome}/${e.system}`),
	);
	expect(await page.textContent('#run-log')).toContain(XSS);
	expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
	await page.screenshot({ path: join(SHOTS, 'dashboard-run-log.png'), fullPage: true });

	// A record's history by A's id, through the page's form.
	await page.goto(url);
	await page.fill('input[name="system"]', 'crm');
	await page.fill('input[name="id"]', String(ada.id));
	await Promise.all([page.waitForNavigation(), page.click('form:has(input[name="id"]) button')]);
	const [link] = await sql<{ key: string }>(`SELECT key FROM link WHERE system = 'crm' AND external_id = ?`, [String(ada.id)]);
	const operations = await tableOf(page, '#record-audit');
	expect(operations).toHaveLength(await one(`SELECT count(*) FROM audit WHERE entity = 'contact' AND key = ?`, [link.key]));
	const changes = await tableOf(page, '#field-changes');
	const lastName = changes.find((c) => c.Field === 'lastName' && c.System === 'erp');
	expect(lastName).toMatchObject({ Before: '', After: XSS, Action: 'write', Outcome: 'ok' });
	expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
	await page.screenshot({ path: join(SHOTS, 'dashboard-record.png'), fullPage: true });
	// Self-contained: nothing was fetched from anywhere but n8n.
	expect(external).toEqual([]);
	await context.close();

	// The same counts as Prometheus text.
	const prom = await fetch(`${url}?format=prometheus`, { headers: { authorization: `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}` } });
	expect(prom.status).toBe(200);
	// n8n puts the charset first; Prometheus reads the version parameter wherever it is.
	expect(prom.headers.get('content-type')).toMatch(/^text\/plain;(.*;)? *version=0\.0\.4/);
	const text = await prom.text();
	const [rule] = await sql<{ reason: string }>(`SELECT reason FROM volume WHERE kind = 'invalid' AND system = 'crm' LIMIT 1`);
	expect(text).toContain(`datasync_records_not_synced_total{sync="contacts",system="crm",entity="contact",kind="invalid",reason="${rule.reason}"} 5`);
	expect(text).toContain(`datasync_records_written_total{sync="contacts",system="erp",entity="contact",operation="created"} ${counted('erp', 'created')}`);
	expect(text).toContain('datasync_health{sync="contacts",system="erp",entity="contact",state="failing"} 1');
	console.log(`dashboard: ${targets.length} systems, ${notSynced} not synced in 24 h, ${log.length} entries in run ${createRun.run_id}, ${operations.length} operations and ${changes.length} field changes for ${link.key}; screenshots in ${SHOTS}`);
}, 240_000);
