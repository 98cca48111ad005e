/**
 * workflows/any-node-contacts.json in stock n8n, imported from the file as shipped and published: A = a CRM
 * in real Postgres through DataSync Database; B = a real REST server on 127.0.0.1 (test/support/shop-server.ts)
 * read and written only by n8n's own HTTP Request node. B's records come in through the Mapper's Raw Records
 * input; the HTTP Request's answers go to Store Commit in "Write Results From: Any n8n Node", which pairs
 * each answer back to its planned change through n8n's paired items.
 *
 * Proves: a create in B gets the id B answered and is linked (the next run writes nothing, no duplicate);
 * updates go both ways (B's as PATCH on the same record); a write B answers with 500 (the HTTP Request on
 * "Continue (using error output)") is recorded by Commit as failed, audited, and written on a later run;
 * answers Commit cannot pair to a planned change (Planned Changes Node set to the wrong node) are listed
 * by index with the reason and nothing is committed for them; at the end every contact is in both systems
 * exactly once, linked once: 0 lost, 0 duplicates.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createPgDatabase, createTempDir, type PgTestDatabase, type TempDir } from '../helpers/services';
import { ShopServer } from '../support/shop-server';
import { N8nInstance, type Execution } from './harness';
import { failure, importTemplate, outputOf, runFromTrigger } from './templates-support';
import { ADA_CRM, CrmSystem } from './templates-systems';

type Json = Record<string, unknown>;

const POLL = 'Every 5 minutes (poll)';

const GRACE_SHOP = {
	email: 'grace@example.com',
	name: { first: 'Grace', last: 'Hopper' },
	phone: '+1 212 555 0100',
	birthday: '12/09/1906',
	state: 'ACTIVE',
	accepts_marketing: 0,
	address: { line1: '1 Navy Way', city: 'Arlington', zip: '22202', country: 'US' },
};

describe('template "any-node-contacts" in stock n8n: CRM (Postgres, DataSync Database) ↔ REST API through n8n\'s HTTP Request node', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let shop: ShopServer;
	let store: Store;
	let wf: string;

	/** One poll, as the schedule would run it; it must succeed. */
	async function poll(): Promise<Execution> {
		const run = await runFromTrigger(n8n, wf, POLL);
		expect({ status: run.status, failure: failure(run) }).toEqual({ status: 'success', failure: undefined });
		return run;
	}

	/** What the HTTP Request wrote in a run (its requests to B by the sync's token) and what Commit B answers summed up. */
	const shopWrites = () => shop.requests.filter((r) => r.actor === 'datasync' && r.method !== 'GET');
	function commitB(run: Execution): { committed: number; failed: number; unmatched: unknown[] } {
		const summaries = outputOf(run, 'Commit B answers') as Array<{ committed: number; failed: number; unmatched: unknown[] }>;
		return {
			committed: summaries.reduce((n, s) => n + s.committed, 0),
			failed: summaries.reduce((n, s) => n + s.failed, 0),
			unmatched: summaries.flatMap((s) => s.unmatched),
		};
	}
	const shopByEmail = (email: string) => shop.list('contact').filter((r) => r.email === email);

	beforeAll(async () => {
		pg = await createPgDatabase('ds_tpl_any');
		dir = createTempDir('ds-tpl-any');
		const storePath = dir.file('store.sqlite');
		crm = await CrmSystem.open(pg, 'crm_people');
		shop = await ShopServer.start();
		n8n = await N8nInstance.start();
		const sql = { dialect: 'postgres', host: pg.config.host, port: pg.config.port, database: pg.config.database, user: pg.config.user, password: pg.config.password, ssl: 'disable' };
		const credentials = {
			'DataSync store': await n8n.createCredential('dataSyncStoreApi', 'Test store', { backend: 'sqlite', path: storePath }),
			'System A (CRM database)': await n8n.createCredential('dataSyncSqlApi', 'Test CRM', sql),
			// n8n's own Bearer Auth credential: the shop's token of the sync's API user.
			'System B (REST API token)': await n8n.createCredential('httpBearerAuth', 'Test shop token', { token: 'shop-sync-token' }),
		};
		wf = await importTemplate(n8n, 'any-node-contacts', {
			credentials,
			tables: { crm_contacts: crm.table },
			// As a user sets the API's address after import.
			parameters: {
				'Get all from B': { url: `${shop.url}/contacts` },
				'Write to B': { url: `={{ '${shop.url}/contacts' + ($json.id ? '/' + $json.id : '') }}` },
			},
		});
		store = await openStore({ backend: 'sqlite', path: storePath });
	});

	afterAll(async () => {
		await n8n?.stop();
		await shop?.close();
		await closeAllStores();
		await crm?.close();
		await pg?.drop();
		dir?.remove();
	});

	it('first run: A\'s contact is created in B with the id B answered (linked); B\'s contact is created in A', async () => {
		const ada = await crm.insert(ADA_CRM);
		const alan = await crm.insert({ ...ADA_CRM, email: 'alan@example.com', firstName: 'Alan', lastName: 'Turing', birthDate: '1912-06-23' });
		const grace = await shop.change('contact', { data: GRACE_SHOP });
		const run = await poll();
		// Two answers in one Commit: each paired to its own planned change.
		expect(commitB(run)).toEqual({ committed: 2, failed: 0, unmatched: [] });
		const [adaInShop] = shopByEmail('ada@example.com');
		const [alanInShop] = shopByEmail('alan@example.com');
		expect(alanInShop).toMatchObject({ name: { first: 'Alan', last: 'Turing' }, birthday: '06/23/1912' });
		expect(adaInShop).toMatchObject({ name: { first: 'Ada', last: 'Lovelace' }, birthday: '01/01/2024', accepts_marketing: 1, updated_by: 'datasync' });
		expect(shopWrites().map((r) => `${r.method} ${r.path}`)).toEqual(['POST /contacts', 'POST /contacts']);
		// The link holds the id B gave the record in its answer to the POST.
		const link = await store.findLink('contact', 'shop', String(adaInShop.id));
		expect(link?.key).toBe((await store.findLink('contact', 'crm', String(ada.id)))?.key);
		expect((await store.findLink('contact', 'shop', String(alanInShop.id)))?.key).toBe((await store.findLink('contact', 'crm', String(alan.id)))?.key);
		expect(await crm.byEmail('grace@example.com')).toMatchObject({ firstName: 'Grace', lastName: 'Hopper', birthDate: '1906-12-09', modifiedBy: 'datasync' });
		expect((await store.findLink('contact', 'shop', String(grace!.id)))?.key).toBe((await store.findLink('contact', 'crm', String((await crm.byEmail('grace@example.com'))!.id)))?.key);
	});

	it('a second run writes nothing: no duplicate in B, none in A (our own writes read back are echoes)', async () => {
		const before = shopWrites().length;
		const run = await poll();
		expect(shopWrites()).toHaveLength(before);
		expect(outputOf(run, 'Write to A')).toEqual([]);
		expect(outputOf(run, 'Conflict Resolver', 2).length).toBeGreaterThanOrEqual(3);
		expect(shop.list('contact')).toHaveLength(3);
		expect(await crm.rows()).toHaveLength(3);
	});

	it('updates go both ways: A\'s change is a PATCH of the linked record in B, B\'s change reaches A', async () => {
		const adaId = (await crm.byEmail('ada@example.com'))!.id as number;
		const [adaInShop] = shopByEmail('ada@example.com');
		const [graceInShop] = shopByEmail('grace@example.com');
		await crm.update(adaId, { phone: '+44 20 1111 2222' });
		await shop.change('contact', { id: graceInShop.id, data: { phone: '+1 212 555 0199' } });
		const before = shopWrites().length;
		const run = await poll();
		expect(commitB(run)).toEqual({ committed: 1, failed: 0, unmatched: [] });
		expect(shopWrites().slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([`PATCH /contacts/${adaInShop.id}`]);
		expect(shop.get('contact', adaInShop.id)).toMatchObject({ phone: '+44 20 1111 2222', updated_by: 'datasync' });
		expect(await crm.byEmail('grace@example.com')).toMatchObject({ phone: '+1 212 555 0199', modifiedBy: 'datasync' });
		expect(shop.list('contact')).toHaveLength(3);
		expect(await crm.rows()).toHaveLength(3);
	});

	it('a write B answers with 500 is recorded by Commit as failed and written on a later run; the others go through', async () => {
		await crm.insert({ ...ADA_CRM, email: 'carol@example.com', firstName: 'Carol', lastName: 'Shaw' });
		await crm.insert({ ...ADA_CRM, email: 'dave@example.com', firstName: 'Dave', lastName: 'Cutler' });
		await crm.insert({ ...ADA_CRM, email: 'eve@example.com', firstName: 'Eve', lastName: 'Online' });
		shop.failWrite = ({ body }) => body.email === 'carol@example.com';
		let run: Execution;
		try {
			run = await poll();
		} finally {
			shop.failWrite = undefined;
		}
		// The HTTP Request's error output carried Carol's failed POST into Commit B answers.
		expect(outputOf(run, 'Write to B', 1)).toHaveLength(1);
		expect(commitB(run)).toEqual({ committed: 2, failed: 1, unmatched: [] });
		expect(shopByEmail('carol@example.com')).toHaveLength(0);
		expect(shopByEmail('dave@example.com')).toHaveLength(1);
		expect(shopByEmail('eve@example.com')).toHaveLength(1);
		const audit = await store.audit({ system: 'shop', limit: 100 });
		const failedWrite = audit.find((e) => e.outcome === 'failed');
		expect(failedWrite?.error).toMatch(/500/);
		expect(failedWrite?.key).toBe((await store.findLink('contact', 'crm', String((await crm.byEmail('carol@example.com'))!.id)))?.key);

		// B answers again: the next run writes Carol, once, and nothing else.
		const before = shopWrites().length;
		const retry = await poll();
		expect(commitB(retry)).toEqual({ committed: 1, failed: 0, unmatched: [] });
		expect(shopWrites().slice(before).map((r) => r.method)).toEqual(['POST']);
		expect(shopByEmail('carol@example.com')).toHaveLength(1);
	});

	it('answers that cannot be paired to a planned change are listed by index with the reason, never committed', async () => {
		// Misconfigured: "Planned Changes Node" names A's read, not the From canonical Mapper.
		const saved = await n8n.api<{ name: string; nodes: Array<{ name: string; parameters: Json }>; connections: Json; settings: Json }>('GET', `/workflows/${wf}`);
		const put = (planned: string) => {
			const nodes = saved.nodes.map((n) => (n.name === 'Commit B answers' ? { ...n, parameters: { ...n.parameters, plannedChangesNode: planned } } : n));
			return n8n.api('PUT', `/workflows/${wf}`, { name: saved.name, nodes, connections: saved.connections, settings: { executionOrder: 'v1' } });
		};
		await put('Get changes from A');
		let run: Execution;
		try {
			await crm.insert({ ...ADA_CRM, email: 'frank@example.com', firstName: 'Frank', lastName: 'Miller' });
			run = await poll();
		} finally {
			await put('From canonical');
		}
		const outcome = commitB(run);
		expect(outcome.committed).toBe(0);
		expect(outcome.unmatched).toEqual([{ index: 0, reason: expect.stringMatching(/its paired item in "Get changes from A" is not a planned change/) }]);
		// Commit stored nothing for it: no write in the audit. (The same run's read of B found Frank there and
		// linked him by e-mail to the golden record, as a record B already holds, with no write of ours noted.)
		const frankKey = (await store.findLink('contact', 'crm', String((await crm.byEmail('frank@example.com'))!.id)))!.key;
		expect((await store.audit({ key: frankKey, system: 'shop', limit: 100 })).filter((e) => e.action === 'write')).toEqual([]);
		const [frank] = shopByEmail('frank@example.com');
		expect(await store.findLink('contact', 'shop', String(frank.id))).toMatchObject({ key: frankKey, writtenAt: null });
		// Set right again, the next run writes nothing more for him: still one Frank in B.
		await poll();
		expect(shopByEmail('frank@example.com')).toHaveLength(1);
	});

	it('0 lost, 0 duplicates: every contact once in each system, linked once; one more run writes nothing', async () => {
		const before = shopWrites().length;
		const run = await poll();
		expect(shopWrites()).toHaveLength(before);
		expect(outputOf(run, 'Write to A')).toEqual([]);
		const emails = ['ada@example.com', 'alan@example.com', 'carol@example.com', 'dave@example.com', 'eve@example.com', 'frank@example.com', 'grace@example.com'];
		const inA = (await crm.rows()).map((r) => r.email as string).sort();
		const inB = shop.list('contact').map((r) => r.email as string).sort();
		expect({ inA, inB }).toEqual({ inA: emails, inB: emails });
		for (const email of emails) {
			const a = (await crm.byEmail(email)) as Json;
			const [b] = shopByEmail(email);
			const la = await store.findLink('contact', 'crm', String(a.id));
			const lb = await store.findLink('contact', 'shop', String(b.id));
			expect({ email, linked: la !== null && la !== undefined && la.key === lb?.key }).toEqual({ email, linked: true });
		}
		const status = await store.audit({ limit: 1000 });
		expect(status.filter((e) => e.action === 'write' && e.outcome === 'ok' && e.system === 'shop')).toHaveLength(6);
	});
});
