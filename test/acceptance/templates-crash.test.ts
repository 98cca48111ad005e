/**
 * Exactly-once creates when n8n dies between the write and Commit, through the shipped bidirectional
 * template in stock n8n: System A = a CRM in real Postgres, System B = an ERP in real MariaDB, the store
 * in Postgres (its own database).
 *
 * Three contacts made in A are sent by webhook; the writes to B go through, and Commit is held at the
 * store (this test holds a lock on the one store table only Commit writes, so Commit waits inside its
 * transaction). n8n is then killed with SIGKILL: B holds the three rows, the store has no link to them.
 * A new n8n on the same store runs the 5-minute poll: at once it does not create them again (the dead
 * executions' creates count as in flight for a minute, and the poll's cursor waits); after that minute the
 * poll's creates find B's rows by e-mail and link them: three rows in B, each linked once, none twice.
 */
import { Client, type ClientConfig } from 'pg';
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import type { StoreConfig } from '../../lib/engine/store';
import { createMariaDbDatabase, createPgDatabase, type MariaDbTestDatabase, type PgTestDatabase } from '../helpers/services';
import { N8nInstance, uniqueId } from './harness';
import { eventually, failure, importBidirectional, runFromTrigger, signedPost, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const EMAILS = ['crash1@example.com', 'crash2@example.com', 'crash3@example.com'];

describe('template "bidirectional-contacts": n8n killed with SIGKILL between the write to B and Commit', () => {
	let n8n: N8nInstance | undefined;
	let pg: PgTestDatabase;
	let storeDb: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let storeConfig: StoreConfig;
	const id = uniqueId('crash');
	const paths = { crm: `crash-${id}/crm/contact`, erp: `crash-${id}/erp/contact` };
	const fold = (email: unknown) => String(email).trim().toLowerCase();

	async function start(): Promise<{ n8n: N8nInstance; wf: string }> {
		const instance = await N8nInstance.start();
		const store = { ...storeConfig, password: storeDb.config.password ?? '' } as unknown as Record<string, unknown>;
		const credentials = await systemCredentials(instance, store, pg, maria, { a: SECRET_A, b: SECRET_B });
		const wf = await importBidirectional(instance, credentials, { crm: crm.table, erp: erp.table }, paths);
		return { n8n: instance, wf };
	}

	beforeAll(async () => {
		[pg, storeDb, maria] = await Promise.all([createPgDatabase('ds_crash_a'), createPgDatabase('ds_crash_store'), createMariaDbDatabase('ds_crash_b')]);
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		storeConfig = { backend: 'postgres', ...storeDb.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		store = await openStore(storeConfig); // creates the store's tables
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await storeDb?.drop();
		await maria?.drop();
	});

	it('no duplicate row in B after the restart and the poll, every record linked once', async () => {
		let first = await start();
		n8n = first.n8n;
		const rows = [];
		for (const [i, email] of EMAILS.entries()) rows.push(await crm.insert({ ...ADA_CRM, email, firstName: `Crash${i}` }));

		// Commit will wait at the store: this connection holds the table only Commit writes.
		const locker = new Client({ ...storeDb.config } as ClientConfig);
		await locker.connect();
		await locker.query('BEGIN');
		await locker.query('LOCK TABLE datasync.sync_status IN EXCLUSIVE MODE');
		let lockHeld = true;
		try {
			const sent = await Promise.all(rows.map((row) => signedPost(first.n8n, paths.crm, SECRET_A, CrmSystem.notice(row))));
			expect(sent.map((r) => r.status)).toEqual([200, 200, 200]);
			await eventually('B holds the three rows', async () => (await erp.rows()).filter((r) => EMAILS.includes(fold(r.email))).length === 3, 30_000);
			await eventually('Commit waits at the store', async () => {
				const { rows: waiting } = await locker.query(
					`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'sync_status' AND NOT l.granted`,
				);
				return waiting[0].n >= 1;
			}, 30_000);
			first.n8n.killNow(); // SIGKILL, n8n and its task runner
			await first.n8n.stop(); // (only removes its folder now)
			n8n = undefined;
		} finally {
			if (lockHeld) await locker.query('ROLLBACK');
			lockHeld = false;
			await locker.end();
		}
		const killedAt = Date.now();
		const inB = (await erp.rows()).filter((r) => EMAILS.includes(fold(r.email)));
		expect(inB).toHaveLength(3);
		const bIds = inB.map((r) => String(r.contact_id));
		// The Commit never happened: nothing links B's rows.
		expect((await store.listLinks('contact', 'erp')).filter((l) => bIds.includes(l.externalId))).toEqual([]);

		// A new n8n on the same store: the poll at once does not create the three again.
		first = await start();
		n8n = first.n8n;
		const soon = await runFromTrigger(first.n8n, first.wf, 'Every 5 minutes (backup poll)');
		expect({ status: soon.status, failure: failure(soon) }).toEqual({ status: 'success', failure: undefined });
		expect((await erp.rows()).filter((r) => EMAILS.includes(fold(r.email)))).toHaveLength(3);

		// A minute after the dead executions planned them, their creates stop counting as in flight: the
		// poll (its cursor waited) creates them, and each create finds its row in B by e-mail.
		await new Promise((r) => setTimeout(r, Math.max(0, 62_000 - (Date.now() - killedAt))));
		const later = await runFromTrigger(first.n8n, first.wf, 'Every 5 minutes (backup poll)');
		expect({ status: later.status, failure: failure(later) }).toEqual({ status: 'success', failure: undefined });
		const after = (await erp.rows()).filter((r) => EMAILS.includes(fold(r.email)));
		expect(after.map((r) => String(r.contact_id)).sort()).toEqual([...bIds].sort());
		const links = await store.listLinks('contact', 'erp');
		expect(bIds.map((b) => links.filter((l) => l.externalId === b).length)).toEqual([1, 1, 1]);
		const keys = new Set(links.filter((l) => bIds.includes(l.externalId)).map((l) => l.key));
		expect(keys.size).toBe(3);
		const crmLinks = (await store.listLinks('contact', 'crm')).filter((l) => keys.has(l.key));
		expect(crmLinks.map((l) => l.externalId).sort()).toEqual(rows.map((r) => String(r.id)).sort());
		expect((await store.listConflicts({ status: 'open' })).filter((c) => c.kind === 'duplicate-link' || c.kind === 'ambiguous-match')).toEqual([]);
	}, 240_000);
});
