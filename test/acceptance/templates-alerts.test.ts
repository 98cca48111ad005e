/**
 * Alerts and log retention in stock n8n (issue 15, items 3 and 6), through the shipped templates:
 * bidirectional-contacts syncs a CRM (Postgres) and an ERP (MariaDB) whose table refuses 100 of the new
 * contacts (a CHECK constraint) and holds the same person twice (an ambiguous match, left open for review);
 * status-and-conflicts then runs its alert check (Schedule Trigger → Store Get Alerts → n8n's Send Email
 * node, SMTP credential pointing at a small SMTP server of the test's own on 127.0.0.1, no TLS) and its
 * nightly Purge with a 30-day retention.
 *
 * Checks: exactly one mail per cause (the 100 refused writes are one mail that says 100), subject and
 * text as the Store wrote them, no field values in any mail; a second check sends nothing; the Purge
 * removes audit entries older than 30 days and keeps newer ones; the dashboard shows the retention and
 * the oldest entry kept.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { ARTIFACTS, N8nInstance, REPO_ROOT, uniqueId } from './harness';
import { SmtpServer } from './smtp-server';
import { failure, importTemplate, outputOf, runFromTrigger, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

const REFUSED = 100;
/** Where the mail's picture goes: the test's artifacts, or the README's images with DASHBOARD_SCREENSHOTS=docs. */
const SHOTS = process.env.DASHBOARD_SCREENSHOTS === 'docs' ? join(REPO_ROOT, 'docs', 'images') : join(ARTIFACTS, 'dashboard');
const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

describe('templates "bidirectional-contacts" + "status-and-conflicts": alerts by e-mail, logs kept 30 days', () => {
	let n8n: N8nInstance;
	let smtp: SmtpServer;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let syncWf: string;
	let monitorWf: string;
	const id = uniqueId('alerts');
	const statusPath = `status-${id}`;

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_alerts'), createMariaDbDatabase('ds_alerts')]);
		dir = createTempDir('ds-alerts');
		[n8n, smtp] = await Promise.all([N8nInstance.start(), SmtpServer.start()]);
		[crm, erp] = await Promise.all([CrmSystem.open(pg, `crm_${id}`), ErpSystem.open(maria, `erp_${id}`)]);
		const storeData = { backend: 'sqlite', path: dir.file('store.sqlite') };
		const credentials = {
			...(await systemCredentials(n8n, storeData, pg, maria, { a: 'crm-secret-0123456789abcdef', b: 'erp-secret-0123456789abcdef' })),
			'SMTP (alert e-mails)': await n8n.createCredential('smtp', 'Test SMTP', { user: '', password: '', host: '127.0.0.1', port: smtp.port, secure: false, disableStartTls: true }),
		};
		// Write to B continues on fail (Settings → On Error → Continue), so its refused writes reach Commit as
		// error items and are recorded as failed writes; with the template's default the execution stops there.
		syncWf = await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': `${id}/crm/contact`, 'datasync/erp/contact': `${id}/erp/contact` },
			patch: (w) => {
				for (const node of w.nodes) if (node.name === 'Write to B') (node as unknown as Record<string, unknown>).onError = 'continueRegularOutput';
			},
		});
		monitorWf = await importTemplate(n8n, 'status-and-conflicts', {
			credentials,
			paths: { 'datasync/status': statusPath, 'datasync/conflicts': `conflicts-${id}` },
			parameters: { 'Get alerts': { alertOptions: { groupWindowMinutes: 60, staleMinutes: 60, dashboardUrl: `http://127.0.0.1/webhook/${statusPath}` } } },
		});
		store = await openStore(storeData as { backend: 'sqlite'; path: string });
	}, 240_000);

	afterAll(async () => {
		await n8n?.stop();
		await smtp?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('mails one grouped alert per cause (100 refused writes = one mail that says 100), then nothing new', async () => {
		// The ERP refuses these contacts; the person in it twice is left for review (an ambiguous match).
		await erp.conn.query(`ALTER TABLE \`${erp.table}\` ADD CONSTRAINT no_refused CHECK (first_name IS NULL OR first_name <> 'Refused')`);
		for (let i = 1; i <= REFUSED; i++) await crm.insert({ ...ADA_CRM, email: `refused${i}@example.com`, firstName: 'Refused', lastName: `Secret-${i}` }, 'seed');
		await erp.insert({ ...GRACE_ERP, email: 'twice@example.com', first_name: 'Twice' }, 'seed');
		await erp.insert({ ...GRACE_ERP, email: 'twice@example.com', first_name: 'Twice (copy)' }, 'seed');
		const refresh = await runFromTrigger(n8n, syncWf, 'Refresh (manual)', 120_000);
		expect(failure(refresh)).toBeUndefined();
		const failedWrites = (await store.audit({ system: 'erp', limit: 1000 })).filter((e) => e.action === 'write' && e.outcome === 'failed');
		expect(failedWrites).toHaveLength(REFUSED);
		const open = await store.listConflicts({ status: 'open' });
		expect(open.length).toBeGreaterThanOrEqual(1);

		const check = await runFromTrigger(n8n, monitorWf, 'Every 5 minutes');
		expect(failure(check)).toBeUndefined();
		const alerts = outputOf(check, 'Get alerts');
		// One alert per cause: the refused writes, and one per (system, kind) of the open conflicts.
		const conflictCauses = new Set(open.map((c) => `${c.system}|${c.kind}`));
		expect(alerts.map((a) => a.kind).sort()).toEqual([...Array(conflictCauses.size).fill('conflict'), 'write-error']);
		expect(outputOf(check, 'Send alert e-mail')).toHaveLength(alerts.length);
		expect(smtp.mails.map((m) => m.subject).sort()).toEqual(alerts.map((a) => a.subject).sort());

		const mail = smtp.mails.find((m) => m.subject === '[DataSync] contacts: 100 writes to erp failed (contact)');
		expect(mail).toBeDefined();
		expect(mail!.from).toBe('datasync@example.com');
		expect(mail!.to).toEqual(['data-team@example.com']);
		expect(mail!.text).toMatch(/^100 writes of contact records to erp failed in sync "contacts", (at|between) .* \(100 records\)\./);
		expect(mail!.text).toMatch(/no_refused/);
		expect(mail!.text).toContain('- and 80 more records');
		expect(mail!.text).toContain(`Dashboard: http://127.0.0.1/webhook/${statusPath}`);
		expect(mail!.html).toContain('<p>100 writes of contact records to erp failed');
		const conflictMail = smtp.mails.find((m) => /new (ambiguous match|duplicate link)/.test(m.subject));
		expect(conflictMail?.text).toMatch(/List Conflicts/);
		// Keys, ids and field names only: no value of the records (last names, e-mail addresses) in any mail.
		for (const m of smtp.mails) expect({ subject: m.subject, leaks: m.raw.match(/Secret-\d+|refused\d+@example\.com|twice@example\.com/g) }).toEqual({ subject: m.subject, leaks: null });
		// The mail as a reader sees it: its HTML part rendered in headless Chromium under its headers, for the README.
		const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
		try {
			const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
			// Nothing outside the page may load: the mail is self-contained.
			await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
			const headers = `<div style="font:14px sans-serif;border-bottom:1px solid #ccc;padding:8px 12px;background:#f6f6f6"><b>From:</b> ${escape(mail!.from)}<br><b>To:</b> ${escape(mail!.to.join(', '))}<br><b>Subject:</b> ${escape(mail!.subject)}</div>`;
			await page.setContent(`<!doctype html><meta charset="utf-8"><body style="margin:0">${headers}<div style="padding:12px">${mail!.html}</div></body>`);
			expect(await page.textContent('body')).toContain('100 writes of contact records to erp failed');
			mkdirSync(SHOTS, { recursive: true });
			await page.screenshot({ path: join(SHOTS, 'alert-mail.png'), fullPage: true });
		} finally {
			await browser.close();
		}
		console.log(`alerts: ${smtp.mails.length} mails for ${REFUSED} failed writes and ${open.length} open conflicts: ${smtp.mails.map((m) => m.subject).join(' | ')}`);

		// The next check: nothing new, so Get Alerts emits nothing and no mail goes out.
		const again = await runFromTrigger(n8n, monitorWf, 'Every 5 minutes');
		expect(failure(again)).toBeUndefined();
		expect(outputOf(again, 'Get alerts')).toEqual([]);
		expect(outputOf(again, 'Send alert e-mail')).toEqual([]);
		expect(smtp.mails).toHaveLength(alerts.length);
	}, 240_000);

	it('the nightly Purge removes audit entries older than 30 days, keeps newer ones, and the dashboard shows it', async () => {
		const day = 86_400_000;
		const old = new Date(Date.now() - 40 * day).toISOString();
		const recent = new Date(Date.now() - 20 * day).toISOString();
		for (const [at, key] of [
			[old, 'old-1'],
			[old, 'old-2'],
			[recent, 'recent-1'],
		]) {
			await store.driver.run(`INSERT INTO audit (at, sync, entity, key, system, action, outcome) VALUES (?, 'contacts', 'contact', ?, 'crm', 'merge', 'ok')`, [at, key]);
		}
		const before = await store.driver.all<{ n: number }>(`SELECT count(*) AS n FROM audit`);
		const purge = await runFromTrigger(n8n, monitorWf, 'Every night at 03:00');
		expect(failure(purge)).toBeUndefined();
		const [result] = outputOf(purge, 'Purge logs older than 30 days');
		expect(result).toMatchObject({ retentionDays: 30, purged: { audit: 2 } });
		const keys = (await store.driver.all<{ key: string }>(`SELECT key FROM audit WHERE key LIKE 'old-%' OR key LIKE 'recent-%'`)).map((r) => r.key);
		expect(keys).toEqual(['recent-1']);
		const after = await store.driver.all<{ n: number }>(`SELECT count(*) AS n FROM audit`);
		expect(Number(after[0].n)).toBe(Number(before[0].n) - 2);

		const page = await n8n.webhook(statusPath, undefined, { method: 'GET' });
		expect(page.status).toBe(200);
		expect(page.text).toMatch(new RegExp(`Logs kept 30 days \\(last purge [0-9T:.Z-]+\\); oldest entry kept: ${recent.replace(/[.]/g, '\\.')}\\.`));
	}, 120_000);
});
