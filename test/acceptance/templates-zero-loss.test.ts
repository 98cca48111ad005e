/**
 * "No lost edit, no duplicate" through the shipped bidirectional template in stock n8n: System A = a CRM
 * in real Postgres, System B = an ERP in real MariaDB (its own columns, dd/MM/yyyy), an SQLite store.
 *
 * - A first Refresh of two systems that already share 200 contacts (same e-mails, a third of them in
 *   other case in B, different ids), 50 only in A and 30 only in B, nothing linked: 280 rows on
 *   both sides, no duplicate, no duplicate-link conflict, every golden record linked once per system.
 * - B edits a phone and its webhook is held back; A edits the last name, which is written towards B; then
 *   B's webhook arrives: both edits end up in A and in B (the write to B was conditional: it did not
 *   overwrite B's phone).
 * - A sender that posts only the field it changed: five partial webhooks of one contact arriving newest
 *   first, and five sent at once without waiting: each field's last value reaches B at once (an older
 *   delivery still brings the fields no newer one carried), not at the 5-minute poll.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, uniqueId } from './harness';
import { eventually, failure, importBidirectional, runFromTrigger, signedPost, systemCredentials } from './templates-support';
import { ADA_CRM, afterPartialEdits, CrmSystem, ErpSystem, GRACE_ERP, partialEdit, partialNotice, type Notification } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';

describe('template "bidirectional-contacts": first sync of shared records and held-back edits, in stock n8n', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let wf: string;
	const id = uniqueId('zl');
	const paths = { crm: `zl-${id}/crm/contact`, erp: `zl-${id}/erp/contact` };

	const fold = (email: unknown) => String(email).normalize('NFC').trim().toLowerCase();

	/** Waits until A's last name and B's phone are in both systems' rows of the contact. */
	async function bothEditsInAAndB(aId: number, bId: number, lastName: string, phone: string): Promise<void> {
		await eventually('both edits are in A and in B', async () => {
			const [ra, rb] = [await crm.row(aId), await erp.row(bId)];
			return ra?.lastName === lastName && ra?.phone === phone && rb?.last_name === lastName && rb?.phone_number === phone;
		}, 30_000);
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_zl'), createMariaDbDatabase('ds_tpl_zl')]);
		dir = createTempDir('ds-tpl-zl');
		const storePath = dir.file('store.sqlite');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: SECRET_A, b: SECRET_B });
		wf = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, paths);
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

	it('a first Refresh links the 200 contacts both systems already hold: 280 rows each, no duplicate', async () => {
		const started = Date.now();
		for (let i = 0; i < 250; i++) {
			await crm.insert({ ...ADA_CRM, email: `person${i}@example.com`, firstName: `First${i}`, lastName: `Last${i}`, phone: `+44 20 7946 ${String(1000 + i)}` });
		}
		for (let i = 0; i < 230; i++) {
			// 0–199 are the shared ones (every third spelled in other case in B);
			// 250–279 only in B.
			const n = i < 200 ? i : i + 50;
			const email = i < 200 && i % 3 === 0 ? `PERSON${n}@Example.COM` : `person${n}@example.com`;
			await erp.insert({ ...GRACE_ERP, email, first_name: `First${n}`, last_name: `Last${n}`, phone_number: `+1 212 555 ${String(1000 + n)}` });
		}
		const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)', 180_000);
		expect({ status: refresh.status, failure: failure(refresh) }).toEqual({ status: 'success', failure: undefined });
		const [a, b] = [await crm.rows(), await erp.rows()];
		const dupes = (rows: Array<Record<string, unknown>>) => {
			const seen = new Map<string, number>();
			for (const r of rows) seen.set(fold(r.email), (seen.get(fold(r.email)) ?? 0) + 1);
			return [...seen].filter(([, n]) => n > 1).map(([e]) => e);
		};
		expect({ a: a.length, b: b.length, dupesA: dupes(a), dupesB: dupes(b) }).toEqual({ a: 280, b: 280, dupesA: [], dupesB: [] });
		const conflicts = await store.listConflicts({ limit: 10_000 });
		expect(conflicts.filter((c) => c.kind === 'duplicate-link' || c.kind === 'ambiguous-match').map((c) => `${c.kind} ${c.system} ${c.externalId}`)).toEqual([]);
		const links = await store.listLinks('contact');
		const perKey = new Map<string, string[]>();
		for (const l of links) perKey.set(l.key, [...(perKey.get(l.key) ?? []), l.system]);
		expect(perKey.size).toBe(280);
		expect([...perKey].filter(([, systems]) => systems.sort().join(',') !== 'crm,erp')).toEqual([]);
		// Shared contacts: "A wins" where they differ (the phone), B's row kept its id.
		const shared = b.find((r) => fold(r.email) === 'person3@example.com');
		expect(shared).toMatchObject({ phone_number: '+44 20 7946 1003', email: 'person3@example.com' });
		expect(await crm.byEmail('person260@example.com')).toMatchObject({ firstName: 'First260', phone: '+1 212 555 1260' });
		console.log(`first Refresh of 250 + 230 shared records: ${Date.now() - started} ms`);
	}, 240_000);

	it('B\'s edit made while A\'s change is on its way to B is not overwritten: both edits reach A and B', async () => {
		const a = (await crm.byEmail('person10@example.com'))!;
		const b = (await erp.byEmail('person10@example.com'))!;
		// B edits the phone; its webhook is held back.
		const edited = await erp.update(b.contact_id as number, { phone_number: '+1 999 555 0001' });
		const held = ErpSystem.notice(edited);
		// A edits the last name; its webhook goes through and is written towards B.
		const aEdited = await crm.update(a.id as number, { lastName: 'Changed-in-A' });
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(aEdited))).status).toBe(200);
		await eventually('the write towards B has been tried', async () =>
			(await store.audit({ system: 'erp', limit: 50 })).some((e) => e.action === 'write' && e.externalId === String(b.contact_id) && String(e.error ?? '').includes('stale')),
		);
		// B's phone was not overwritten.
		expect(await erp.row(b.contact_id as number)).toMatchObject({ phone_number: '+1 999 555 0001' });
		expect((await signedPost(n8n, paths.erp, SECRET_B, held)).status).toBe(200);
		await bothEditsInAAndB(a.id as number, b.contact_id as number, 'Changed-in-A', '+1 999 555 0001');
	}, 60_000);

	it('B and A edit the same contact at once, both webhooks arrive together: both edits end up in A and B', async () => {
		const a = (await crm.byEmail('person20@example.com'))!;
		const b = (await erp.byEmail('person20@example.com'))!;
		const bEdited = await erp.update(b.contact_id as number, { phone_number: '+1 999 555 0020' });
		const aEdited = await crm.update(a.id as number, { lastName: 'Both-at-once' });
		const [ra, rb] = await Promise.all([
			signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(aEdited)),
			signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(bEdited)),
		]);
		expect([ra.status, rb.status]).toEqual([200, 200]);
		await bothEditsInAAndB(a.id as number, b.contact_id as number, 'Both-at-once', '+1 999 555 0020');
	}, 60_000);

	/** Waits until `count` executions of the workflow that were not in `before` have ended. */
	async function ended(before: Set<string>, count: number): Promise<void> {
		await eventually(`${count} new executions ended`, async () => {
			const mine = (await n8n.executions(wf)).filter((e) => !before.has(e.id));
			return mine.length >= count && mine.every((e) => e.status !== 'running' && e.status !== 'new' && e.status !== 'waiting');
		}, 30_000);
	}

	/** B's row of the contact holds every value of `want`, long before the 5-minute poll could read A again. */
	async function bHolds(bId: number, want: Record<string, string>): Promise<void> {
		await eventually('B holds the last value of every field edited', async () => {
			const r = await erp.row(bId);
			return r && Object.entries(want).every(([k, v]) => r[k] === v);
		}, 30_000);
	}

	/** Five partial edits of a contact both systems hold, made in A (real UPDATEs); their webhooks, not sent yet. */
	async function fiveEdits(email: string, tag: string): Promise<{ aId: number; bId: number; notices: Notification[] }> {
		const a = (await crm.byEmail(email))!;
		const b = (await erp.byEmail(email))!;
		const notices: Notification[] = [];
		for (let n = 0; n < 5; n++) {
			const { field, value } = partialEdit(n, tag);
			notices.push(partialNotice(await crm.update(a.id as number, { [field]: value }), field));
		}
		return { aId: a.id as number, bId: b.contact_id as number, notices };
	}

	it('A\'s sender posts only the field it changed: five partial webhooks of one contact arriving newest first each reach B (no poll needed)', async () => {
		const { bId, notices } = await fiveEdits('person40@example.com', 'ov');
		// The newest first, each one's execution ended before the next (older) one is sent: every later
		// delivery is older than what the store has already read of the record.
		const before = new Set((await n8n.executions(wf)).map((e) => e.id));
		for (const [k, notice] of [...notices].reverse().entries()) {
			expect((await signedPost(n8n, paths.crm, SECRET_A, notice)).status).toBe(200);
			await ended(before, k + 1);
		}
		await bHolds(bId, afterPartialEdits(5, 'ov'));
		const executions = await Promise.all((await n8n.executions(wf)).filter((e) => !before.has(e.id)).map((e) => n8n.execution(e.id)));
		expect(executions.map(failure).filter(Boolean)).toEqual([]);
	}, 90_000);

	it('five partial webhooks of one contact sent at once, without waiting for answers: every field\'s last value reaches B', async () => {
		const { aId, bId, notices } = await fiveEdits('person41@example.com', 'at-once');
		const before = new Set((await n8n.executions(wf)).map((e) => e.id));
		const answers = await Promise.all(notices.map((notice) => signedPost(n8n, paths.crm, SECRET_A, notice)));
		expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
		await ended(before, 5);
		await bHolds(bId, afterPartialEdits(5, 'at-once'));
		const ra = (await crm.row(aId))!;
		const rb = (await erp.row(bId))!;
		expect([rb.phone_number, rb.city, rb.last_name, rb.first_name, rb.street]).toEqual([ra.phone, ra.city, ra.lastName, ra.firstName, ra.street]);
	}, 90_000);

	it('a create that finds the contact already in B links it unread: nothing written over B until the 5-minute poll reads B\'s row and merges it', async () => {
		// B already holds the contact (its own phone and city); nothing links it yet.
		const inB = await erp.insert({ ...GRACE_ERP, email: 'late.link@example.com', first_name: 'Lena', last_name: 'Link', phone_number: '+1 212 555 0777', city: 'Boston' });
		const inA = await crm.insert({ ...ADA_CRM, email: 'late.link@example.com', firstName: 'Lena', lastName: 'Link', phone: '+44 20 7946 0777' });
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(inA))).status).toBe(200);
		await eventually('the create found B\'s row', async () => (await store.findLink('contact', 'erp', String(inB.contact_id))) !== null);
		expect(await store.findLink('contact', 'erp', String(inB.contact_id))).toMatchObject({ base: {}, sourceAt: null });
		expect(await erp.row(inB.contact_id as number)).toMatchObject({ phone_number: '+1 212 555 0777', city: 'Boston' });
		expect((await erp.rows()).filter((r) => fold(r.email) === 'late.link@example.com')).toHaveLength(1);
		// The poll reads B's unread row (it did not change) and merges it: "A wins" where they differ, and
		// B's phone stays in the conflict record.
		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)');
		expect({ status: poll.status, failure: failure(poll) }).toEqual({ status: 'success', failure: undefined });
		expect(await erp.row(inB.contact_id as number)).toMatchObject({ phone_number: '+44 20 7946 0777', city: 'London' });
		const link = (await store.findLink('contact', 'erp', String(inB.contact_id)))!;
		expect(link.sourceAt).not.toBeNull();
		const conflicts = (await store.listConflicts({ limit: 10_000 })).filter((c) => c.key === link.key && c.fields.includes('phone'));
		expect(conflicts.flatMap((c) => c.competing.map((v) => v.value))).toContain('+1 212 555 0777');
	}, 60_000);
});
