/**
 * Issue 6's proof in stock n8n: Trigger → Loop Guard → Mapper → Conflict Resolver → Mapper → Database →
 * Store Commit, between a CRM in real Postgres and an ERP in real MariaDB, with the store in an SQLite
 * file. A change that arrives twice (webhook, then poll) and the echo of our own write each produce zero
 * extra writes, counted in the target database and in the audit; a conflict under "System A wins"
 * resolves to the CRM's value and keeps the ERP's value in the conflict record.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createTempDir, type TempDir } from '../helpers/services';
import { changeTrigger, CrmErp, signedPost as post, syncChain, TABLES } from './crm-erp';
import { ds, webhookNode, workflow } from './flows';
import { N8nInstance, summary, uniqueId } from './harness';

describe('sync flow in stock n8n: Trigger → Loop Guard → Mapper → Resolver → Mapper → Database → Store Commit', () => {
	let n8n: N8nInstance;
	const systems = new CrmErp();
	let dir: TempDir;
	let store: Store;
	const paths = { crm: `crm-${uniqueId('crm')}`, erp: `erp-${uniqueId('erp')}`, poll: `poll-${uniqueId('poll')}`, pollBoth: `both-${uniqueId('both')}`, refresh: `refresh-${uniqueId('refresh')}` };
	const workflows: Record<string, string> = {};
	const signedPost = (path: string, body: unknown) => post(n8n, path, body);
	const erpRows = () => systems.erpRows();
	const crmRows = () => systems.crmRows();

	/** What the audit says the sync wrote into `system` (Commit's `write` entries), read from the store n8n uses. */
	async function auditWrites(system: string) {
		return (await store.audit({ system, limit: 1000 })).filter((e) => e.action === 'write' && e.outcome === 'ok');
	}

	beforeAll(async () => {
		await systems.setup();
		dir = createTempDir('ds-flow');
		const storeConfig = { backend: 'sqlite' as const, path: dir.file('store.sqlite') };
		n8n = await N8nInstance.start();
		const creds = await systems.credentials(n8n, storeConfig);
		const chain = (target: 'crm' | 'erp', first: string) => syncChain(creds, target, first);
		const trigger = (system: 'crm' | 'erp') => changeTrigger(creds, system, paths[system]);
		const table = TABLES;
		const sqlCred = { crm: creds.crm, erp: creds.erp };
		const storeCredential = creds.store;
		const defs = [
			(() => {
				const c = chain('erp', 'DataSync Trigger');
				return workflow('CRM → ERP (webhook)', [trigger('crm'), ...c.nodes], c.edges);
			})(),
			(() => {
				const c = chain('crm', 'DataSync Trigger');
				return workflow('ERP → CRM (webhook)', [trigger('erp'), ...c.nodes], c.edges);
			})(),
			(() => {
				const c = chain('erp', 'Get Changes');
				return workflow(
					'CRM → ERP (poll)',
					[webhookNode('Poll now', paths.poll), ds('dataSyncDatabase', 'Get Changes', { operation: 'getChanges', sync: 'contacts', cursorSource: 'store', ...table.crm }, { ...sqlCred.crm, ...storeCredential }), ...c.nodes],
					[['Poll now', 'Get Changes'], ...c.edges],
				);
			})(),
			(() => {
				// The manual refresh: the whole CRM table, and the deletes it reveals, through the same chain.
				const c = chain('erp', 'Find deletes');
				return workflow(
					'CRM → ERP (manual refresh)',
					[
						webhookNode('Refresh now', paths.refresh),
						{ ...ds('dataSyncDatabase', 'Snapshot of CRM', { operation: 'getMany', returnAll: true, ...table.crm }, sqlCred.crm), alwaysOutputData: true },
						ds('dataSyncStore', 'Find deletes', { operation: 'findDeletes', sync: 'contacts', entity: 'contact', system: 'crm' }, storeCredential),
						...c.nodes,
					],
					[['Refresh now', 'Snapshot of CRM'], ['Snapshot of CRM', 'Find deletes'], ...c.edges],
				);
			})(),
			(() => {
				// A full poll of both systems in one run: the changes meet in one Resolver batch, and each
				// change goes to its target's database.
				const c = chain('erp', 'Merge');
				const nodes = c.nodes.filter((n) => n.name !== 'Write erp' && n.name !== 'Commit');
				return workflow(
					'CRM ↔ ERP (poll both)',
					[
						webhookNode('Poll both', paths.pollBoth),
						ds('dataSyncDatabase', 'Changes in CRM', { operation: 'getChanges', sync: 'contacts', cursorSource: 'store', ...table.crm }, { ...sqlCred.crm, ...storeCredential }),
						ds('dataSyncDatabase', 'Changes in ERP', { operation: 'getChanges', sync: 'contacts', cursorSource: 'store', ...table.erp }, { ...sqlCred.erp, ...storeCredential }),
						{ name: 'Merge', type: 'n8n-nodes-base.merge', typeVersion: 3, parameters: {} },
						...nodes,
						{
							name: 'To CRM?',
							type: 'n8n-nodes-base.if',
							typeVersion: 2.2,
							parameters: {
								conditions: {
									options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
									conditions: [{ id: 'to-crm', leftValue: '={{ $json.system }}', rightValue: 'crm', operator: { type: 'string', operation: 'equals' } }],
									combinator: 'and',
								},
								options: {},
							},
						},
						ds('dataSyncDatabase', 'Write crm', { operation: 'upsert', ...table.crm }, sqlCred.crm),
						ds('dataSyncDatabase', 'Write erp', { operation: 'upsert', ...table.erp }, sqlCred.erp),
						ds('dataSyncStore', 'Commit crm', { operation: 'commit', sync: 'contacts' }, storeCredential),
						ds('dataSyncStore', 'Commit erp', { operation: 'commit', sync: 'contacts' }, storeCredential),
					],
					[
						['Poll both', 'Changes in CRM'],
						['Poll both', 'Changes in ERP'],
						['Changes in CRM', 'Merge', 0, 0],
						['Changes in ERP', 'Merge', 0, 1],
						...c.edges.filter(([from, to]) => !['Write erp', 'Commit'].includes(to) && from !== 'Write erp'),
						['From canonical', 'To CRM?'],
						['To CRM?', 'Write crm', 0],
						['To CRM?', 'Write erp', 1],
						['Write crm', 'Commit crm'],
						['Write erp', 'Commit erp'],
					],
				);
			})(),
		];
		for (const def of defs) {
			const created = await n8n.createWorkflow(def as unknown as Record<string, unknown>);
			workflows[def.name] = created.id;
			await n8n.publish(created.id);
		}
		store = await openStore(storeConfig);
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await systems.teardown();
		dir?.remove();
	});

	it('a CRM change by webhook is written once to the ERP (firstName → first_name, 2024-01-01 → 01/01/2024)', async () => {
		const { rows } = await systems.crm.query(
			`INSERT INTO crm_contacts (email, "firstName", "lastName", phone, "birthDate", "modifiedBy") VALUES ($1, $2, $3, $4, $5, 'alice') RETURNING id, "updatedAt"`,
			['ada@example.com', 'Ada', 'Lovelace', '+44 20 1111', '2024-01-01'],
		);
		const res = await signedPost(paths.crm, {
			id: rows[0].id,
			email: 'ada@example.com',
			firstName: 'Ada',
			lastName: 'Lovelace',
			phone: '+44 20 1111',
			birthDate: '2024-01-01',
			updatedAt: (rows[0].updatedAt as Date).toISOString(),
			modifiedBy: 'alice',
		});
		expect(res.status).toBe(200);
		const [run] = await n8n.waitForExecutions(workflows['CRM → ERP (webhook)'], 1);
		expect(summary(run)).toMatchObject({ 'Write erp': { items: [1] }, Commit: { items: [1, 0] } });
		expect(run.status).toBe('success');
		const erpNow = await erpRows();
		expect(erpNow).toHaveLength(1);
		expect(erpNow[0]).toMatchObject({ email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', birth_date: '01/01/2024', modified_by: 'datasync' });
		expect(await auditWrites('erp')).toHaveLength(1);
	});

	it('the same change arriving again by poll is not written again', async () => {
		const res = await n8n.webhook(paths.poll, {});
		expect(res.status).toBe(200);
		const [run] = await n8n.waitForExecutions(workflows['CRM → ERP (poll)'], 1);
		expect(run.status).toBe('success');
		const read = run.data!.resultData.runData['Get Changes'][0].data!.main[0]!;
		expect(read.map((i) => i.json.id)).toEqual([expect.anything()]);
		const blocked = run.data!.resultData.runData['Loop Guard'][0].data!.main[1] ?? [];
		const skipped = run.data!.resultData.runData['Resolver']?.[0].data!.main[2] ?? [];
		const reasons = [...blocked.map((i) => (i.json.blocked as { reason: string }).reason), ...skipped.map((i) => (i.json.skipped as { reason: string }).reason)];
		// The Loop Guard's duplicate window (300 s by default) sees the change the webhook brought minutes ago.
		expect(reasons).toEqual(['duplicate-delivery']);
		expect(await erpRows()).toHaveLength(1);
		expect(await auditWrites('erp')).toHaveLength(1);
	});

	it('the echo of our own write coming back from the ERP is not written to the CRM', async () => {
		const [row] = await erpRows();
		const crmBefore = await crmRows();
		// As the ERP would notify its change, without the actor (so the content rule, not the actor filter, stops it).
		const res = await signedPost(paths.erp, { ...row, modified_by: null, changed_at: new Date(row.changed_at as Date).toISOString() });
		expect(res.status).toBe(200);
		const [run] = await n8n.waitForExecutions(workflows['ERP → CRM (webhook)'], 1);
		expect(run.status).toBe('success');
		const blocked = run.data!.resultData.runData['Loop Guard'][0].data!.main[1] ?? [];
		const skipped = run.data!.resultData.runData['Resolver']?.[0].data!.main[2] ?? [];
		expect(blocked.length + skipped.length).toBe(1);
		expect(run.data!.resultData.runData['Write crm']).toBeUndefined();
		expect(await crmRows()).toEqual(crmBefore);
		expect(await auditWrites('crm')).toHaveLength(0);
	});

	it('an ERP change flows to the CRM, and its echo from the CRM stops there', async () => {
		const [row] = await erpRows();
		await systems.erp.query(`UPDATE erp_contacts SET phone_number = '+44 20 2222', modified_by = 'bob' WHERE contact_id = ?`, [row.contact_id]);
		const [changed] = await erpRows();
		const res = await signedPost(paths.erp, { ...changed, changed_at: new Date(changed.changed_at as Date).toISOString() });
		expect(res.status).toBe(200);
		await n8n.waitForExecutions(workflows['ERP → CRM (webhook)'], 2);
		const [crmRow] = await crmRows();
		expect(crmRow).toMatchObject({ phone: '+44 20 2222', modifiedBy: 'datasync' });
		expect(await auditWrites('crm')).toHaveLength(1);

		const echo = await signedPost(paths.crm, { ...crmRow, updatedAt: (crmRow.updatedAt as Date).toISOString() });
		expect(echo.status).toBe(200);
		const runs = await n8n.waitForExecutions(workflows['CRM → ERP (webhook)'], 2);
		const blocked = runs[1].data!.resultData.runData['Loop Guard'][0].data!.main[1] ?? [];
		expect((blocked[0]?.json.blocked as { reason: string } | undefined)?.reason).toBe('own-actor');
		expect(await auditWrites('erp')).toHaveLength(1);
	});

	it('"System A wins": both sides changed the phone; the CRM value wins and the ERP value stays in the conflict record', async () => {
		const [c] = await crmRows();
		const [e] = await erpRows();
		const crmWritesBefore = (await auditWrites('crm')).length;
		await systems.crm.query(`UPDATE crm_contacts SET phone = '+44 20 3333', "modifiedBy" = 'alice', "updatedAt" = now() WHERE id = $1`, [c.id]);
		await systems.erp.query(`UPDATE erp_contacts SET phone_number = '+44 20 4444', modified_by = 'bob', changed_at = CURRENT_TIMESTAMP(6) WHERE contact_id = ?`, [e.contact_id]);
		// Both webhooks were lost; the poll of both systems brings both changes into one batch.
		const res = await n8n.webhook(paths.pollBoth, {});
		expect(res.status).toBe(200);
		const [run] = await n8n.waitForExecutions(workflows['CRM ↔ ERP (poll both)'], 1);
		expect(summary(run)).toMatchObject({ 'Changes in CRM': { items: [1] }, 'Changes in ERP': { items: [1] }, 'Write erp': { items: [1] } });
		expect(run.status).toBe('success');

		const key = (await store.findLink('contact', 'crm', String(c.id)))!.key;
		expect((await store.getGolden('contact', key))!.data.phone).toBe('+44 20 3333');
		expect((await erpRows())[0].phone_number).toBe('+44 20 3333');
		expect((await crmRows())[0].phone).toBe('+44 20 3333');
		expect(await auditWrites('crm')).toHaveLength(crmWritesBefore);
		const conflicts = await store.listConflicts({ key, status: 'resolved' });
		const phone = conflicts.find((x) => x.fields.includes('phone'));
		expect(phone).toBeDefined();
		expect(phone!.competing.map((v) => v.value)).toEqual(expect.arrayContaining(['+44 20 3333', '+44 20 4444']));
		// The Resolver's Conflicts output showed it too, settled by the policy.
		const settled = run.data!.resultData.runData['Resolver'][0].data!.main[1] ?? [];
		expect(settled.map((i) => (i.json.conflict as { status?: string }).status)).toContain('resolved');
	});

	it('the manual refresh finds a contact deleted in the CRM (a hard delete) and deletes it in the ERP', async () => {
		const { rows } = await systems.crm.query(
			`INSERT INTO crm_contacts (email, "firstName", "lastName", "birthDate", "modifiedBy") VALUES ('bo@example.com', 'Bo', 'Short', '1990-05-17', 'alice') RETURNING *`,
		);
		const before = (await n8n.executions(workflows['CRM → ERP (webhook)'])).length;
		const created = await signedPost(paths.crm, { ...rows[0], updatedAt: (rows[0].updatedAt as Date).toISOString() });
		expect(created.status).toBe(200);
		await n8n.waitForExecutions(workflows['CRM → ERP (webhook)'], before + 1);
		expect((await erpRows()).map((r) => r.email).sort()).toEqual(['ada@example.com', 'bo@example.com']);
		const writesBefore = (await auditWrites('erp')).length;

		await systems.crm.query(`DELETE FROM crm_contacts WHERE email = 'bo@example.com'`);
		const res = await n8n.webhook(paths.refresh, {});
		expect(res.status).toBe(200);
		const [run] = await n8n.waitForExecutions(workflows['CRM → ERP (manual refresh)'], 1);
		expect(summary(run)).toMatchObject({ 'Snapshot of CRM': { items: [1] }, 'Find deletes': { items: [2] }, 'Write erp': { items: [1] } });
		expect((await erpRows()).map((r) => r.email)).toEqual(['ada@example.com']);
		const writes = await auditWrites('erp');
		expect(writes).toHaveLength(writesBefore + 1);
		expect(writes[0].after).toBeNull();
	});
});
