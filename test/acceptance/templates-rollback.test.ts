/**
 * Store → Rollback and the template "undo-run" in stock n8n (issue 15, item 4). CRM (Postgres) and ERP
 * (MariaDB) are synced by bidirectional-contacts; a copy of it whose From canonical mapping is broken
 * (first and last name swapped, street and city swapped for the ERP) runs the manual refresh after 500
 * contacts changed in the CRM and writes 500 wrong records to the ERP. One of them is edited in the ERP
 * afterwards (and synced). Through the undo-run form:
 * - dry run: lists 500 changes for the ERP (499 to set back, the edited one as a conflict), nothing written;
 * - execute: the ERP table equals its state before the bad run, column for column (changed_at aside: the
 *   row version every write moves), except the edited record, which keeps its edit; Commit audited the 499
 *   writes as "rollback" under the rollback's run;
 * - rolling back the rollback: its dry run plans those 499 records back to the bad run's values, and
 *   executed writes them (through the now correct mapping).
 * Screenshot of the dry-run answer: .test-artifacts/rollback/ (docs/images/ with ROLLBACK_SCREENSHOTS=docs).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { ARTIFACTS, N8nInstance, REPO_ROOT, uniqueId, type Execution } from './harness';
import { eventually, failure, importBidirectional, importTemplate, nodeNamed, outputOf, pagesOf, runFromTrigger, signedPost, systemCredentials } from './templates-support';
import { runIdOfExecution } from './run-ids';
import { CrmSystem, ErpSystem } from './templates-systems';

const SECRET_A = 'crm-signing-secret-rollback-0123';
const SECRET_B = 'erp-signing-secret-rollback-0123';
const N = 500;
const SHOTS = process.env.ROLLBACK_SCREENSHOTS === 'docs' ? join(REPO_ROOT, 'docs', 'images') : join(ARTIFACTS, 'rollback');

type Json = Record<string, unknown>;

/** A row without the row version the ERP's every write moves. */
const state = (rows: Json[]) => rows.map(({ changed_at: _ignored, ...rest }) => rest);

describe('Store Rollback: template "undo-run" undoes a run with a broken mapping in stock n8n', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let good: string;
	let bad: string;
	let undo: string;
	const id = uniqueId('rb');
	const formPath = `undo-${id}`;

	/** Submits the undo form as a browser does (multipart, field-0 = Run ID, field-1 = Mode); waits for the execution. */
	async function submit(runId: string, mode: 'Dry run' | 'Execute'): Promise<{ status: number; html: string; execution: Execution }> {
		const before = (await n8n.executions(undo)).length;
		const body = new FormData();
		body.set('field-0', runId);
		body.set('field-1', mode);
		const res = await fetch(`${n8n.baseUrl}/form/${formPath}`, { method: 'POST', body });
		const html = await res.text();
		const all = await n8n.waitForExecutions(undo, before + 1, 120_000);
		const execution = all[all.length - 1];
		expect({ status: execution.status, failure: failure(execution) }).toEqual({ status: 'success', failure: undefined });
		return { status: res.status, html, execution };
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_rb'), createMariaDbDatabase('ds_tpl_rb')]);
		dir = createTempDir('ds-tpl-rb');
		const storeData = { backend: 'sqlite', path: dir.file('store.sqlite') };
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, storeData, pg, maria, { a: SECRET_A, b: SECRET_B });
		const tables = { crm_contacts: crm.table, erp_contacts: erp.table };
		good = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, { crm: `rb-${id}/crm`, erp: `rb-${id}/erp` });
		// The same sync with a broken ERP mapping in From canonical: names and street/city to the wrong columns.
		bad = await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables,
			paths: { 'datasync/crm/contact': `rb-bad-${id}/crm`, 'datasync/erp/contact': `rb-bad-${id}/erp` },
			name: 'contacts with a broken mapping',
			patch: (wf) => {
				const from = nodeNamed(wf, 'From canonical');
				const mapping = JSON.parse(from.parameters.mappingJson as string) as { systems: { erp: { fields: Array<{ canonical: string; system: string }> } } };
				const swap: Record<string, string> = { first_name: 'last_name', last_name: 'first_name', street: 'city', city: 'street' };
				for (const f of mapping.systems.erp.fields) if (swap[f.system]) f.system = swap[f.system];
				from.parameters.mappingJson = JSON.stringify(mapping);
			},
		});
		undo = await importTemplate(n8n, 'undo-run', { credentials, tables, paths: { 'datasync/undo-run': formPath } });
		store = await openStore(storeData as { backend: 'sqlite'; path: string });
	}, 240_000);

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('a run with a broken mapping writes 500 wrong records; the rollback lists, then undoes them; B equals its state before, field for field', async () => {
		// Seed: 500 contacts in the CRM, synced to the ERP by the good workflow's manual refresh.
		await crm.client.query(
			`INSERT INTO "${crm.table}" (email, "firstName", "lastName", phone, "birthDate", "lifecycleStage", "marketingOptIn", street, city, "postalCode", "countryCode", "modifiedBy")
			SELECT 'p' || g || '@example.com', 'First' || g, 'Last' || g, '+44 20 ' || g, DATE '1980-01-01' + g, 'customer', g % 2 = 0,
				g || ' High Street', 'Town' || g, 'PC' || g, 'GB', 'alice' FROM generate_series(1, ${N}) g`,
		);
		const seeded = await runFromTrigger(n8n, good, 'Refresh (manual)', 180_000);
		expect(failure(seeded)).toBeUndefined();
		const pre = await erp.rows();
		expect(pre).toHaveLength(N);
		expect(pre[0]).toMatchObject({ first_name: 'First1', last_name: 'Last1', street: '1 High Street', city: 'Town1', modified_by: 'datasync' });

		// 500 changes in the CRM, synced by the broken workflow: 500 wrong records in the ERP.
		await crm.client.query(`UPDATE "${crm.table}" SET phone = phone || '-0', "updatedAt" = clock_timestamp()`);
		const badRun = await runFromTrigger(n8n, bad, 'Refresh (manual)', 180_000);
		expect(failure(badRun)).toBeUndefined();
		// The Refresh runs page by page: the bad writes are the run of the page execution that wrote to the ERP.
		const badPages: string[] = [];
		for (const page of await pagesOf(n8n, bad, badRun)) {
			const runId = await runIdOfExecution(store, page.id).catch(() => undefined);
			if (runId && (await store.audit({ runId, system: 'erp', action: 'write', limit: 1 })).length > 0) badPages.push(runId);
		}
		expect(badPages).toHaveLength(1);
		const badRunId = badPages[0];
		const wrong = await erp.rows();
		expect(wrong.filter((r, i) => r.first_name === pre[i].last_name && r.city === pre[i].street)).toHaveLength(N);

		// One of them edited in the ERP after the bad run, and synced (webhook to the good workflow).
		const edited = wrong[41];
		const afterEdit = await erp.update(edited.contact_id as number, { postal_code: 'EDITED' });
		const hooked = (await n8n.executions(good)).length;
		expect((await signedPost(n8n, `rb-${id}/erp`, SECRET_B, ErpSystem.notice(afterEdit))).status).toBe(200);
		const synced = await n8n.waitForExecutions(good, hooked + 1, 60_000);
		expect(failure(synced[synced.length - 1])).toBeUndefined();
		const beforeRollback = await erp.rows();

		// Dry run through the form: 500 changes listed for the ERP, nothing written.
		const auditBefore = (await store.audit({ limit: 100_000 })).length;
		const dry = await submit(badRunId, 'Dry run');
		expect(dry.status).toBe(200);
		const report = outputOf(dry.execution, 'Roll back the run', 1);
		const forErp = report.filter((c) => c.system === 'erp');
		expect(forErp).toHaveLength(N);
		expect(report).toHaveLength(N);
		expect(forErp.filter((c) => c.status === 'planned')).toHaveLength(N - 1);
		const conflict = forErp.find((c) => c.status === 'conflict')!;
		expect(conflict).toMatchObject({ externalId: String(edited.contact_id), reason: expect.stringMatching(/changed again after the write/) });
		expect(forErp.find((c) => c.externalId === String(pre[0].contact_id))).toMatchObject({
			op: 'upsert',
			fields: ['phone'],
			before: { firstName: 'First1', phone: '+44 20 1' },
			now: { firstName: 'First1', phone: '+44 20 1-0' },
		});
		expect(outputOf(dry.execution, 'Roll back the run', 0)).toHaveLength(0);
		expect(dry.html).toContain(`${N - 1} erp planned · 1 erp conflict`);
		expect(await erp.rows()).toEqual(beforeRollback);
		expect((await store.audit({ limit: 100_000 })).length).toBe(auditBefore);
		mkdirSync(SHOTS, { recursive: true });
		const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
		try {
			const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
			await page.setContent(dry.html.replace('<table>', '<table id="t">'));
			await page.screenshot({ path: join(SHOTS, 'undo-run-dry-run.png') });
		} finally {
			await browser.close();
		}

		// Execute: B back to its state before the bad run, field for field; the edited record keeps its edit.
		const done = await submit(badRunId, 'Execute');
		expect(done.status).toBe(200);
		expect(outputOf(done.execution, 'Write to B')).toHaveLength(N - 1);
		expect(outputOf(done.execution, 'Write to A')).toHaveLength(0);
		expect(outputOf(done.execution, 'Commit')[0]).toMatchObject({ committed: N - 1, failed: 0, waiting: 0 });
		const restored = await erp.rows();
		const editedIndex = restored.findIndex((r) => r.contact_id === edited.contact_id);
		expect(state(restored.filter((_, i) => i !== editedIndex))).toEqual(state(pre.filter((_, i) => i !== editedIndex)));
		expect(state([restored[editedIndex]])).toEqual(state([beforeRollback[editedIndex]]));
		const rollbackRunId = await runIdOfExecution(store, done.execution.id);
		const audited = await store.audit({ runId: rollbackRunId, limit: 10_000 });
		expect(audited.filter((a) => a.action === 'rollback' && a.outcome === 'ok' && a.system === 'erp')).toHaveLength(N - 1);
		expect(audited.filter((a) => a.action === 'rollback' && a.outcome === 'conflict')).toHaveLength(1);

		// Rolling back the rollback: planned back to what the bad run wrote, and written (correct mapping now).
		const again = await submit(rollbackRunId, 'Dry run');
		const back = outputOf(again.execution, 'Roll back the run', 1);
		expect(back.filter((c) => c.system === 'erp' && c.status === 'planned')).toHaveLength(N - 1);
		expect(back.every((c) => (c.after as Json).phone === `${(c.now as Json).phone as string}-0`)).toBe(true);
		await submit(rollbackRunId, 'Execute');
		const redone = await erp.rows();
		expect(redone.filter((r, i) => i !== editedIndex && r.phone_number === `${pre[i].phone_number as string}-0` && r.first_name === pre[i].first_name)).toHaveLength(N - 1);
		console.log(`rollback: bad run ${badRunId} wrote ${N} wrong ERP records; dry run listed ${forErp.length} (${N - 1} planned, 1 conflict); executed: ${N - 1} written back, ERP equals its state before (changed_at aside); rollback of the rollback: ${N - 1} written again`);
		await eventually('nothing left planned', async () => (await store.transaction((tx) => tx.countPlanned(rollbackRunId))) === 0);
	}, 600_000);
});
