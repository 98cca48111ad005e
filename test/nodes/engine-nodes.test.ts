/**
 * Layer 2: the Conflict Resolver, Loop Guard and Store nodes run in-process through n8n-core on a real
 * store, on both backends: every output and every policy.
 */
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { DataSyncConflictResolver } from '../../nodes/DataSyncConflictResolver/DataSyncConflictResolver.node';
import { DataSyncLoopGuard } from '../../nodes/DataSyncLoopGuard/DataSyncLoopGuard.node';
import { DataSyncStore } from '../../nodes/DataSyncStore/DataSyncStore.node';
import { closeAllStores, openStore, type StoreConfig } from '../../lib/engine';
import type { SyncItem } from '../../lib/item';
import { runNode } from '../helpers/run-node';
import { BACKENDS } from '../unit/engine/backends';

let execution = 0;
const nextExecution = () => `node-test-${++execution}`;

function contact(system: string, id: string, data: IDataObject, extra: Partial<SyncItem> = {}): IDataObject {
	return {
		entity: 'contact',
		system,
		id,
		op: 'upsert',
		shape: 'canonical',
		data,
		trace: { runId: 'r', origin: system, hops: 0 },
		...extra,
	} as unknown as IDataObject;
}

const json = (items: INodeExecutionData[]) => items.map((i) => i.json as IDataObject);

describe.each(BACKENDS.map((make) => [make().name, make] as const))('engine nodes on the %s store', (_name, make) => {
	const backend = make();
	let config: StoreConfig;
	let credentials: Record<string, ICredentialDataDecryptedObject>;

	beforeAll(() => backend.setup());
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});
	beforeEach(() => {
		config = backend.config();
		credentials = { dataSyncStoreApi: config as unknown as ICredentialDataDecryptedObject };
	});

	const resolverParameters = (extra: IDataObject = {}) => ({
		sync: 'contacts',
		entity: 'contact',
		systems: 'crm, erp',
		matchKeys: 'email',
		policy: 'priority',
		priority: 'crm, erp',
		...extra,
	});

	async function resolveItems(items: IDataObject[], extra: IDataObject = {}, executionId = nextExecution()) {
		const result = await runNode(DataSyncConflictResolver, {
			parameters: resolverParameters(extra),
			input: items,
			credentials,
			executionId,
		});
		if (result.error) throw result.error;
		return { changes: json(result.outputs[0]), conflicts: json(result.outputs[1]), skipped: json(result.outputs[2]), executionId, raw: result.outputs };
	}

	/** Writes each change as a connector would (a create gets an id), then commits it in the same run. */
	async function writeAndCommit(changes: IDataObject[], executionId: string, ids: Record<string, string> = {}) {
		const written = changes.map((c) => ({ ...c, id: c.id ?? ids[`${c.system}`] ?? `${c.system}-${String(c.key).slice(0, 8)}` }));
		const result = await runNode(DataSyncStore, {
			parameters: { operation: 'commit', sync: 'contacts' },
			input: written,
			credentials,
			executionId,
		});
		if (result.error) throw result.error;
		return result.outputs[0][0].json as IDataObject;
	}

	it('creates: a new record is planned for every other system, with its golden key, and Commit links it', async () => {
		const { changes, conflicts, skipped, executionId, raw } = await resolveItems([
			contact('crm', 'c1', { email: 'ada@example.com', firstName: 'Ada', phone: '+49 1' }),
		]);
		expect(conflicts).toEqual([]);
		expect(skipped).toEqual([]);
		expect(changes).toHaveLength(1);
		expect(changes[0]).toMatchObject({ system: 'erp', id: null, op: 'upsert', shape: 'canonical', data: { email: 'ada@example.com', firstName: 'Ada' } });
		expect(typeof changes[0].key).toBe('string');
		expect(raw[0][0].pairedItem).toEqual({ item: 0 });

		const committed = await writeAndCommit(changes, executionId, { erp: 'E-1' });
		expect(committed).toMatchObject({ committed: 1, failed: 0, unmatched: [] });
		const store = await openStore(config);
		expect((await store.findLink('contact', 'erp', 'E-1'))?.key).toBe(changes[0].key);
	});

	it('skips an echo: the target sends back what we wrote, and a repeated change is a no-op', async () => {
		const first = await resolveItems([contact('crm', 'c1', { email: 'bo@example.com', firstName: 'Bo' })]);
		await writeAndCommit(first.changes, first.executionId, { erp: 'E-2' });
		const echo = await resolveItems([contact('erp', 'E-2', { email: 'bo@example.com', firstName: 'Bo' })]);
		expect(echo.changes).toEqual([]);
		expect(echo.skipped).toHaveLength(1);
		expect((echo.skipped[0].skipped as IDataObject).reason).toBe('echo');
		const again = await resolveItems([contact('crm', 'c1', { email: 'bo@example.com', firstName: 'Bo' })]);
		expect(again.changes).toEqual([]);
		// The repeated change equals crm's base snapshot: the echo rule answers it (not "no-change").
		expect((again.skipped[0].skipped as IDataObject).reason).toBe('echo');
	});

	it('"System A wins": a conflict resolves to crm\'s value and keeps erp\'s value in the conflict record', async () => {
		const first = await resolveItems([contact('crm', 'c1', { email: 'cy@example.com', phone: '100' })]);
		await writeAndCommit(first.changes, first.executionId, { erp: 'E-3' });
		const both = await resolveItems([
			contact('erp', 'E-3', { email: 'cy@example.com', phone: '300' }),
			contact('crm', 'c1', { email: 'cy@example.com', phone: '200' }),
		]);
		expect(both.conflicts.length).toBeGreaterThanOrEqual(1);
		const conflict = both.conflicts[0].conflict as IDataObject;
		expect(conflict.fields).toEqual(['phone']);
		const competing = (conflict.competing as IDataObject[]).map((c) => c.value);
		expect(competing).toEqual(expect.arrayContaining(['200', '300']));
		const toErp = both.changes.filter((c) => c.system === 'erp');
		expect(toErp.at(-1)?.data).toMatchObject({ phone: '200' });
		const store = await openStore(config);
		const golden = await store.getGolden('contact', String(first.changes[0].key));
		expect(golden?.data.phone).toBe('200');
		const kept = await store.listConflicts({ key: String(first.changes[0].key), status: 'resolved' });
		const all = [...kept, ...(await store.listConflicts({ key: String(first.changes[0].key), status: 'open' }))];
		expect(JSON.stringify(all.map((c) => c.competing))).toContain('300');
	});

	it('last write wins: the later change wins even from the weaker system', async () => {
		const first = await resolveItems([contact('crm', 'c1', { email: 'di@example.com', city: 'Rome' })], { policy: 'lastWriteWins' });
		await writeAndCommit(first.changes, first.executionId, { erp: 'E-4' });
		const both = await resolveItems(
			[
				contact('crm', 'c1', { email: 'di@example.com', city: 'Milan' }, { changedAt: '2026-01-01T10:00:00Z' }),
				contact('erp', 'E-4', { email: 'di@example.com', city: 'Turin' }, { changedAt: '2026-01-01T11:00:00Z' }),
			],
			{ policy: 'lastWriteWins' },
		);
		const store = await openStore(config);
		expect((await store.getGolden('contact', String(first.changes[0].key)))?.data.city).toBe('Turin');
		expect(both.changes.some((c) => c.system === 'crm' && (c.data as IDataObject).city === 'Turin')).toBe(true);
	});

	it('field ownership: the owner of a field wins over the priority order', async () => {
		const params = { policy: 'ownership', owners: { owner: [{ field: 'creditLimit', system: 'erp' }] } };
		const first = await resolveItems([contact('crm', 'c1', { email: 'ed@example.com', creditLimit: 10 })], params);
		await writeAndCommit(first.changes, first.executionId, { erp: 'E-5' });
		await resolveItems(
			[
				contact('crm', 'c1', { email: 'ed@example.com', creditLimit: 20 }),
				contact('erp', 'E-5', { email: 'ed@example.com', creditLimit: 30 }),
			],
			params,
		);
		const store = await openStore(config);
		expect((await store.getGolden('contact', String(first.changes[0].key)))?.data.creditLimit).toBe(30);
	});

	it('manual review: the conflict waits, Store lists it, and resolving it with a value flows out as changes', async () => {
		const params = { policy: 'manual' };
		const first = await resolveItems([contact('crm', 'c1', { email: 'fay@example.com', phone: '1' })], params);
		await writeAndCommit(first.changes, first.executionId, { erp: 'E-6' });
		const both = await resolveItems(
			[contact('crm', 'c1', { email: 'fay@example.com', phone: '2' }), contact('erp', 'E-6', { email: 'fay@example.com', phone: '3' })],
			params,
		);
		expect(both.conflicts).toHaveLength(1);

		const listed = await runNode(DataSyncStore, { parameters: { operation: 'listConflicts', sync: 'contacts' }, credentials, input: [{}] });
		const open = json(listed.outputs[0]);
		expect(open).toHaveLength(1);
		expect(open[0]).toMatchObject({ status: 'open', kind: 'field', fields: ['phone'] });

		const reviewExecution = nextExecution();
		const resolved = await runNode(DataSyncStore, {
			parameters: { operation: 'resolveConflict', sync: 'contacts', systems: 'crm, erp', conflictId: open[0].id as number, choice: 'values', values: '{"phone":"4"}' },
			credentials,
			input: [{}],
			executionId: reviewExecution,
		});
		expect(resolved.error).toBeUndefined();
		const changes = json(resolved.outputs[0]);
		expect(changes.map((c) => c.system).sort()).toEqual(['crm', 'erp']);
		expect(changes.every((c) => (c.data as IDataObject).phone === '4')).toBe(true);
		const store = await openStore(config);
		expect(await store.countConflicts('open')).toBe(0);
	});

	it('ambiguous match: two golden records share the match key → a conflict, never a guess', async () => {
		const a = await resolveItems([contact('crm', 'c1', { email: 'gil@example.com', name: 'Gil A' })], { matchKeys: 'email, phone' });
		await writeAndCommit(a.changes, a.executionId, { erp: 'E-7' });
		const b = await resolveItems([contact('crm', 'c2', { email: 'other@example.com', phone: '555' })], { matchKeys: 'email, phone' });
		await writeAndCommit(b.changes, b.executionId, { erp: 'E-8' });
		const ambiguous = await resolveItems([contact('erp', 'E-99', { email: 'gil@example.com', phone: '555' })], { matchKeys: 'email, phone' });
		expect(ambiguous.changes).toEqual([]);
		expect((ambiguous.conflicts[0].conflict as IDataObject).kind).toBe('ambiguous-match');
	});

	it('deletes propagate, and dry run plans without storing anything', async () => {
		const first = await resolveItems([contact('crm', 'c1', { email: 'hal@example.com' })]);
		await writeAndCommit(first.changes, first.executionId, { erp: 'E-9' });
		const store = await openStore(config);
		const auditBefore = (await store.audit({ limit: 1000 })).length;
		const dry = await resolveItems([contact('crm', 'c1', {}, { op: 'delete' })], { options: { dryRun: true } });
		expect(dry.changes).toEqual([expect.objectContaining({ system: 'erp', id: 'E-9', op: 'delete' })]);
		expect((await store.audit({ limit: 1000 })).length).toBe(auditBefore);
		expect((await store.getGolden('contact', String(first.changes[0].key)))?.deleted).toBe(false);

		const real = await resolveItems([contact('crm', 'c1', {}, { op: 'delete' })]);
		expect(real.changes).toEqual([expect.objectContaining({ system: 'erp', id: 'E-9', op: 'delete' })]);
		expect((await store.getGolden('contact', String(first.changes[0].key)))?.deleted).toBe(true);
	});

	it('refuses a malformed item with the item and the field named, and stores nothing', async () => {
		const result = await runNode(DataSyncConflictResolver, {
			parameters: resolverParameters(),
			input: [contact('crm', 'c1', { email: 'ok@example.com' }), { ...contact('crm', 'c2', {}), op: 'merge' }],
			credentials,
		});
		expect(result.error?.message).toContain('item 1');
		expect(result.error?.message).toContain('"op"');
		const store = await openStore(config);
		expect(await store.listGolden('contact')).toEqual([]);
	});

	it('with Continue on Fail, a malformed item goes to Skipped with its error and the others are resolved', async () => {
		const result = await runNode(DataSyncConflictResolver, {
			parameters: resolverParameters(),
			input: [{ ...contact('crm', 'c2', {}), op: 'merge' }, contact('crm', 'c1', { email: 'cof@example.com' })],
			credentials,
			continueOnFail: true,
		});
		expect(result.error).toBeUndefined();
		expect(json(result.outputs[0]).map((c) => c.system)).toEqual(['erp']);
		expect(result.outputs[0][0].pairedItem).toEqual({ item: 1 });
		expect(String(json(result.outputs[2])[0].error)).toContain('item 0');
		expect(result.outputs[2][0].pairedItem).toEqual({ item: 0 });
	});

	it('Loop Guard: own actor, hop limit, duplicate delivery and exact echo go to Blocked with the reason', async () => {
		const guardParameters = { sync: 'contacts', ownActor: 'datasync-bot', maxHops: 2 };
		const run = async (items: IDataObject[]) => {
			const result = await runNode(DataSyncLoopGuard, { parameters: guardParameters, input: items, credentials });
			if (result.error) throw result.error;
			return { pass: json(result.outputs[0]), blocked: json(result.outputs[1]) };
		};
		const first = await run([
			contact('crm', 'c1', { email: 'ivy@example.com' }),
			contact('crm', 'c2', { email: 'own@example.com' }, { actor: 'datasync-bot' }),
			contact('crm', 'c3', { email: 'far@example.com' }, { trace: { runId: 'r', origin: 'erp', hops: 3 } }),
		]);
		expect(first.pass.map((p) => p.id)).toEqual(['c1']);
		expect(first.blocked.map((b) => (b.blocked as IDataObject).reason)).toEqual(['own-actor', 'hop-limit']);
		const second = await run([contact('crm', 'c1', { email: 'ivy@example.com' })]);
		expect(second.pass).toEqual([]);
		expect((second.blocked[0].blocked as IDataObject).reason).toBe('duplicate-delivery');

		// What Commit wrote to erp comes back from erp unchanged: blocked by its hash.
		const planned = await resolveItems([contact('crm', 'c9', { email: 'jo@example.com' })]);
		await writeAndCommit(planned.changes, planned.executionId, { erp: 'E-10' });
		const echo = await runNode(DataSyncLoopGuard, {
			parameters: { sync: 'contacts', duplicateWindowSeconds: 0 },
			input: [contact('erp', 'E-10', planned.changes[0].data as IDataObject)],
			credentials,
		});
		expect((json(echo.outputs[1])[0].blocked as IDataObject).reason).toBe('written-hash');
	});

	it('Loop Guard: a polled page that is all blocked moves its cursor (no re-reading a page of echoes forever)', async () => {
		const polled = (id: string, ts: string, actor: string) =>
			contact('crm', id, { email: `${id}@example.com` }, { actor, trace: { runId: 'r', origin: 'crm', hops: 0, cursor: { ts, id } } });
		const store = await openStore(config);
		// One passes: the guard keeps the blocked item's position for the run but does not move the cursor.
		const mixed = await runNode(DataSyncLoopGuard, {
			parameters: { sync: 'contacts', ownActor: 'datasync' },
			input: [polled('p1', '2026-01-01T00:00:01Z', 'datasync'), polled('p2', '2026-01-01T00:00:02Z', 'alice')],
			credentials,
		});
		expect(json(mixed.outputs[0]).map((i) => i.id)).toEqual(['p2']);
		expect(await store.getCursor('contacts', 'crm', 'contact')).toBeNull();
		// All blocked: nothing follows, so the cursor moves now, to the page's last position.
		const echoes = await runNode(DataSyncLoopGuard, {
			parameters: { sync: 'contacts', ownActor: 'datasync' },
			input: [polled('p3', '2026-01-01T00:00:03Z', 'datasync'), polled('p4', '2026-01-01T00:00:04Z', 'datasync')],
			credentials,
		});
		expect(json(echoes.outputs[0])).toEqual([]);
		expect(await store.getCursor('contacts', 'crm', 'contact')).toEqual({ ts: '2026-01-01T00:00:04Z', id: 'p4' });
	});

	it('Loop Guard: per-actor limit, and the breaker stops the whole run with one alert item', async () => {
		const limited = await runNode(DataSyncLoopGuard, {
			parameters: { sync: 'contacts', limits: { actorLimit: { limit: { max: 2, windowSeconds: 3600 } } } },
			input: [1, 2, 3].map((n) => contact('crm', `a${n}`, { email: `a${n}@example.com` }, { actor: 'mallory' })),
			credentials,
		});
		expect(json(limited.outputs[0])).toHaveLength(2);
		expect((json(limited.outputs[1])[0].blocked as IDataObject).reason).toBe('actor-limit');

		const tripped = await runNode(DataSyncLoopGuard, {
			parameters: { sync: 'contacts', limits: { breakerMaxRecords: 3 } },
			input: [1, 2, 3, 4].map((n) => contact('crm', `b${n}`, { email: `b${n}@example.com` })),
			credentials,
		});
		expect(json(tripped.outputs[0])).toEqual([]);
		const blocked = json(tripped.outputs[1]);
		expect(blocked.filter((b) => b.alert === 'breaker')).toHaveLength(1);
		expect(blocked.filter((b) => (b.blocked as IDataObject | undefined)?.reason === 'breaker')).toHaveLength(4);
	});

	it('Store Commit pairs results with their changes when the write node reordered or dropped items', async () => {
		const planned = await resolveItems(
			[1, 2, 3].map((n) => contact('crm', `r${n}`, { email: `r${n}@example.com` })),
			{ systems: 'crm, erp, shop', priority: 'crm, erp, shop' },
		);
		expect(planned.changes).toHaveLength(6);
		const written = planned.changes
			.map((c, i) => ({ ...c, id: `${c.system}-${i}` }))
			.reverse()
			.slice(1);
		const result = await runNode(DataSyncStore, {
			parameters: { operation: 'commit', sync: 'contacts' },
			input: written,
			credentials,
			executionId: planned.executionId,
		});
		expect(result.outputs[0][0].json).toMatchObject({ committed: 5, failed: 0, waiting: 1 });
		expect(result.outputs[0][0].pairedItem).toHaveLength(5);
	});

	it('Store Find Deletes: linked records missing from a full snapshot come out as deletes, after the snapshot', async () => {
		const planned = await resolveItems([1, 2, 3].map((n) => contact('crm', `s${n}`, { email: `s${n}@example.com` })));
		await writeAndCommit(planned.changes, planned.executionId);
		const snapshot = [contact('crm', 's1', { email: 's1@example.com' }, { shape: 'system' }), contact('crm', 's3', { email: 's3@example.com' }, { shape: 'system' })];
		const result = await runNode(DataSyncStore, {
			parameters: { operation: 'findDeletes', sync: 'contacts', entity: 'contact', system: 'crm' },
			input: snapshot,
			credentials,
		});
		expect(result.error).toBeUndefined();
		const out = json(result.outputs[0]);
		expect(out.slice(0, 2).map((i) => i.id)).toEqual(['s1', 's3']);
		expect(out.slice(2)).toEqual([expect.objectContaining({ entity: 'contact', system: 'crm', id: 's2', op: 'delete', shape: 'system', data: {} })]);

		const wrong = await runNode(DataSyncStore, {
			parameters: { operation: 'findDeletes', sync: 'contacts', entity: 'contact', system: 'erp' },
			input: snapshot,
			credentials,
		});
		expect(wrong.error?.message).toContain('item 0 (contact / crm / s1): the snapshot must be of contact in erp only');
	});

	it('Store Status (JSON and HTML dashboard), Audit by record, and Purge', async () => {
		const planned = await resolveItems([contact('crm', 'c1', { email: 'kim@example.com' })]);
		await writeAndCommit(planned.changes, planned.executionId, { erp: 'E-11' });
		const statusJson = await runNode(DataSyncStore, { parameters: { operation: 'status', sync: 'contacts' }, credentials, input: [{}] });
		const overview = statusJson.outputs[0][0].json as IDataObject;
		expect(overview.sync).toBe('contacts');
		expect((overview.systems as IDataObject[]).find((s) => s.system === 'erp')).toMatchObject({ entity: 'contact', written: 1, failed: 0 });
		const statusHtml = await runNode(DataSyncStore, { parameters: { operation: 'status', sync: 'contacts', format: 'html' }, credentials, input: [{}] });
		expect(String(statusHtml.outputs[0][0].json.html)).toContain('<h1>DataSync · contacts</h1>');
		expect(String(statusHtml.outputs[0][0].json.html)).toMatch(/<table id="targets">[\s\S]*<td>erp<\/td><td>contact<\/td><td><span class="mono">0<\/span><\/td><td><span class="mono">1<\/span>/);
		// A Mapper's Invalid items through Record Invalid: audited, counted, passed on.
		const refused = { ...contact('crm', 'bad-1', { email: 'x@example.com', birthDate: '31/02/2024' }), shape: 'system', errors: [{ field: 'birthDate', rule: 'date', message: 'not a date' }] };
		const recorded = await runNode(DataSyncStore, { parameters: { operation: 'recordInvalid', sync: 'contacts' }, credentials, input: [refused as unknown as IDataObject] });
		expect(json(recorded.outputs[0])).toEqual([refused]);
		const prom = await runNode(DataSyncStore, { parameters: { operation: 'status', sync: 'contacts', format: 'prometheus' }, credentials, input: [{}] });
		expect(prom.outputs[0][0].json.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
		expect(String(prom.outputs[0][0].json.text)).toContain('datasync_records_not_synced_total{sync="contacts",system="crm",entity="contact",kind="invalid",reason="date"} 1');
		const runPage = await runNode(DataSyncStore, { parameters: { operation: 'status', sync: 'contacts', format: 'html', page: { run: String((overview.runs as IDataObject[])[0].runId) } }, credentials, input: [{}] });
		expect(String(runPage.outputs[0][0].json.html)).toMatch(/<table id="run-log">[\s\S]*<td>write<\/td>/);
		const recordPage = await runNode(DataSyncStore, { parameters: { operation: 'status', sync: 'contacts', format: 'json', page: { system: 'crm', id: 'bad-1' } }, credentials, input: [{}] });
		expect((recordPage.outputs[0][0].json.entries as IDataObject[]).map((e) => [e.action, e.error])).toEqual([['invalid', 'invalid, not synced: birthDate: not a date']]);

		const audit = await runNode(DataSyncStore, {
			parameters: { operation: 'audit', sync: 'contacts', auditFilters: { key: String(planned.changes[0].key) } },
			credentials,
			input: [{}],
		});
		const entries = json(audit.outputs[0]);
		expect(entries.length).toBeGreaterThanOrEqual(2);
		expect(entries.every((e) => e.key === planned.changes[0].key)).toBe(true);

		const purge = await runNode(DataSyncStore, { parameters: { operation: 'purge', sync: 'contacts', retentionDays: 0 }, credentials, input: [{}] });
		expect(((purge.outputs[0][0].json as IDataObject).purged as IDataObject).audit).toBeGreaterThanOrEqual(entries.length);
	});
});
