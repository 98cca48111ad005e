/**
 * The DataSync Trigger's Payload Holds = Changed Fields Only, in stock n8n, through the shipped
 * bidirectional template (System A = a CRM in real Postgres, System B = an ERP in real MariaDB, an SQLite
 * store). A's sender posts only the fields that changed:
 * - a contact first seen through such a webhook is not created in B from the few fields it carried (B
 *   would hold a contact without a name); the backup poll reads it whole and creates it whole;
 * - once read whole, the next partial webhook of it reaches B at once, and B's other columns keep their
 *   values;
 * - B's own edit whose webhook never came is not overwritten by A's partial change; the poll brings both
 *   edits to both systems.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, uniqueId } from './harness';
import { eventually, failure, nodeNamed, readTemplate, runFromTrigger, signedPost, swapTemplate, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, partialNotice } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';

describe('DataSync Trigger "Payload Holds: Changed Fields Only" in the bidirectional template, in stock n8n', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let wf: string;
	const id = uniqueId('ph');
	const paths = { crm: `ph-${id}/crm/contact`, erp: `ph-${id}/erp/contact` };

	/** Waits until the workflow has at least `count` executions and every one has ended; returns how many there are. */
	async function settled(count: number): Promise<number> {
		const done = await eventually(`${count} executions have ended`, async () => {
			const all = await n8n.executions(wf);
			return all.length >= count && all.every((e) => e.status !== 'running' && e.status !== 'new' && e.status !== 'waiting') && all;
		}, 30_000);
		return done.length;
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_ph'), createMariaDbDatabase('ds_tpl_ph')]);
		dir = createTempDir('ds-tpl-ph');
		const storePath = dir.file('store.sqlite');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: SECRET_A, b: SECRET_B });
		const workflow = swapTemplate(readTemplate('bidirectional-contacts'), {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
			patch: (w) => {
				const trigger = nodeNamed(w, 'A changed (webhook)');
				trigger.parameters.options = { ...(trigger.parameters.options as object), payloadHolds: 'changed' };
			},
		});
		const created = await n8n.createWorkflow(workflow as unknown as Record<string, unknown>);
		await n8n.publish(created.id);
		wf = created.id;
		store = await openStore({ backend: 'sqlite', path: storePath });
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('a contact first seen through a partial webhook is not created in B from its few fields; the poll creates it whole', async () => {
		const ada = await crm.insert({ ...ADA_CRM, email: 'ada.partial@example.com' });
		// A's sender: the key fields and the phone only.
		expect((await signedPost(n8n, paths.crm, SECRET_A, partialNotice(ada, 'phone'))).status).toBe(200);
		expect(await settled(1)).toBe(1);
		const [execution] = await n8n.executions(wf);
		expect({ status: execution.status }).toEqual({ status: 'success' });
		expect(await erp.byEmail('ada.partial@example.com')).toBeUndefined();
		const golden = await store.listGolden('contact');
		expect(golden.map((g) => g.data.email)).toEqual(['ada.partial@example.com']);

		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)', 120_000);
		expect({ status: poll.status, failure: failure(poll) }).toEqual({ status: 'success', failure: undefined });
		expect(await erp.byEmail('ada.partial@example.com')).toMatchObject({
			first_name: 'Ada',
			last_name: 'Lovelace',
			phone_number: ADA_CRM.phone,
			birth_date: '01/01/2024',
			street: ADA_CRM.street,
			city: 'London',
			postal_code: ADA_CRM.postalCode,
		});
		expect((await erp.rows()).length).toBe(1);
	}, 240_000);

	it('once read whole, a partial webhook reaches B at once and leaves B\'s other columns as they are', async () => {
		const a = (await crm.byEmail('ada.partial@example.com'))!;
		const b = (await erp.byEmail('ada.partial@example.com'))!;
		const edited = await crm.update(a.id as number, { lastName: 'King' });
		expect((await signedPost(n8n, paths.crm, SECRET_A, partialNotice(edited, 'lastName'))).status).toBe(200);
		await eventually('A\'s new last name is in B', async () => (await erp.row(b.contact_id as number))?.last_name === 'King', 30_000);
		expect(await erp.row(b.contact_id as number)).toMatchObject({ first_name: 'Ada', last_name: 'King', phone_number: ADA_CRM.phone, city: 'London', street: ADA_CRM.street });
	}, 60_000);

	it('B\'s own edit whose webhook never came is not overwritten by a partial change from A: the poll brings both to both', async () => {
		const a = (await crm.byEmail('ada.partial@example.com'))!;
		const b = (await erp.byEmail('ada.partial@example.com'))!;
		await erp.update(b.contact_id as number, { city: 'Cambridge' });
		const edited = await crm.update(a.id as number, { firstName: 'Augusta' });
		const before = await settled(0);
		expect((await signedPost(n8n, paths.crm, SECRET_A, partialNotice(edited, 'firstName'))).status).toBe(200);
		await settled(before + 1);
		// The write to B expected the version last read from B: B moved since, so nothing was written over its city.
		expect(await erp.row(b.contact_id as number)).toMatchObject({ city: 'Cambridge', last_name: 'King' });
		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)', 120_000);
		expect({ status: poll.status, failure: failure(poll) }).toEqual({ status: 'success', failure: undefined });
		await eventually('both edits are in A and in B', async () => {
			const [ra, rb] = [await crm.row(a.id as number), await erp.row(b.contact_id as number)];
			return ra?.firstName === 'Augusta' && ra?.city === 'Cambridge' && rb?.first_name === 'Augusta' && rb?.city === 'Cambridge';
		}, 30_000);
		expect(await crm.row(a.id as number)).toMatchObject({ lastName: 'King', phone: ADA_CRM.phone, street: ADA_CRM.street });
	}, 240_000);
});
