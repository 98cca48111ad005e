/**
 * The convergence simulation (test layer 4): three simulated systems, users editing them at random,
 * an unreliable network, and the engine driven the way the DataSync flows drive it
 * (Resolver plan → writes to the targets → Store Commit). One seed = one reproducible schedule.
 */
import type { SyncItem } from '../../lib/item';
import { commit, type WriteResult } from '../../lib/engine/commit';
import { resolveConflict } from '../../lib/engine/conflicts';
import type { MergePolicy } from '../../lib/engine/merge';
import { resolve, type DeletePolicy, type ResolveOptions } from '../../lib/engine/resolve';
import type { Store } from '../../lib/engine/store';
import type { ConflictRecord } from '../../lib/engine/store/types';
import { prng } from '../helpers/prng';

export const SYSTEMS = ['alpha', 'beta', 'gamma'];
const FIELDS = ['name', 'phone', 'tier'];
const ENTITY = 'contact';
const SYNC = 'sim';


interface SimRecord {
	id: string;
	data: Record<string, unknown>;
	updatedAt: number;
	deleted: boolean;
}

/** One user edit, to check at the end that no value was silently dropped. */
interface Edit {
	email: string;
	field: string;
	value: string;
	at: number;
}

export interface Scenario {
	seed: number;
	policy: MergePolicy;
	deletePolicy: DeletePolicy;
	steps: number;
}

export function scenarioFor(seed: number): Scenario {
	const priority = [...SYSTEMS];
	const policies: MergePolicy[] = [
		{ kind: 'priority', priority },
		{ kind: 'lastWriteWins', priority },
		{ kind: 'ownership', owners: { name: 'alpha', phone: 'beta', tier: 'gamma' }, priority },
		{ kind: 'manual' },
	];
	return { seed, policy: policies[seed % policies.length], deletePolicy: seed % 5 === 0 ? 'approval' : 'propagate', steps: 60 };
}

class SimSystem {
	readonly records = new Map<string, SimRecord>();

	private next = 1;

	constructor(readonly name: string) {}

	live(): SimRecord[] {
		return [...this.records.values()].filter((r) => !r.deleted);
	}

	byEmail(email: string): SimRecord | undefined {
		return this.live().find((r) => r.data.email === email);
	}

	newId(): string {
		return `${this.name}-${this.next++}`;
	}
}

export class World {
	readonly rnd: () => number;

	readonly systems = new Map(SYSTEMS.map((s) => [s, new SimSystem(s)]));

	/** Webhook deliveries in flight: lost, duplicated, delivered in any order. */
	private network: SyncItem[] = [];

	private clock = 0;

	private runs = 0;

	private emails = 0;

	readonly edits: Edit[] = [];

	/** Emails deleted at some point by a user (their history is not checked field by field). */
	readonly deletedEmails = new Set<string>();

	/** When the engine first read each value while it was current (`email|field|value` → clock). */
	readonly observedAt = new Map<string, number>();

	/**
	 * User values a sync write overwrote in their own system, planned before the engine had read them
	 * (targets here take blind full-record writes, as most do). Any other dropped value is a failure.
	 */
	readonly overwrittenUnread = new Set<string>();

	/** The clock when the changes being written were planned. */
	private plannedAt = 0;

	faults = true;

	/** Changes planned in the current quiescence pass (a fixed point plans none). */
	private plannedThisPass = 0;

	readonly log: string[] = [];

	constructor(
		readonly store: Store,
		readonly scenario: Scenario,
	) {
		this.rnd = prng(scenario.seed);
	}

	private pick<T>(list: T[]): T {
		return list[Math.floor(this.rnd() * list.length)];
	}

	private chance(p: number): boolean {
		return this.faults && this.rnd() < p;
	}

	private tick(): number {
		return ++this.clock;
	}

	private iso(t: number): string {
		return new Date(Date.UTC(2024, 0, 1) + t * 1000).toISOString();
	}

	private itemOf(system: SimSystem, record: SimRecord, withCursor: boolean): SyncItem {
		const item: SyncItem = {
			entity: ENTITY,
			system: system.name,
			id: record.id,
			op: record.deleted ? 'delete' : 'upsert',
			shape: 'canonical',
			data: record.deleted ? {} : { ...record.data },
			changedAt: this.iso(record.updatedAt),
			trace: { runId: 'feed', origin: system.name, hops: 0 },
		};
		if (withCursor) item.trace.cursor = { ts: this.iso(record.updatedAt), id: record.id };
		return item;
	}

	/** A record changed in a system: its webhook goes out (maybe lost, maybe twice). */
	private emit(system: SimSystem, record: SimRecord) {
		if (this.chance(0.2)) return;
		this.network.push(this.itemOf(system, record, false));
		if (this.chance(0.1)) this.network.push(this.itemOf(system, record, false));
	}

	private options(): ResolveOptions {
		return {
			sync: SYNC,
			entity: ENTITY,
			runId: `run-${++this.runs}`,
			systems: SYSTEMS,
			matchKeys: ['email'],
			policy: this.scenario.policy,
			deletePolicy: this.scenario.deletePolicy,
		};
	}

	/** A user creates, edits or deletes a record in one system. */
	userStep() {
		const system = this.systems.get(this.pick(SYSTEMS))!;
		const live = system.live();
		const roll = this.rnd();
		if (roll < 0.25 || live.length === 0) {
			// Sometimes the same contact is entered in a second system by hand (identity by match key).
			const elsewhere = [...this.systems.values()]
				.filter((s) => s !== system)
				.flatMap((s) => s.live().map((r) => String(r.data.email)))
				.filter((e) => !system.byEmail(e) && !this.deletedEmails.has(e));
			const email = elsewhere.length && this.rnd() < 0.3 ? this.pick(elsewhere) : `user${++this.emails}@sim.test`;
			const at = this.tick();
			const data: Record<string, unknown> = { email };
			for (const f of FIELDS) {
				data[f] = `${system.name}:${f}:${at}`;
				this.edits.push({ email, field: f, value: data[f] as string, at });
			}
			const record = { id: system.newId(), data, updatedAt: at, deleted: false };
			system.records.set(record.id, record);
			this.log.push(`${at} user creates ${system.name}/${record.id} ${email}`);
			this.emit(system, record);
		} else if (roll < 0.9) {
			const record = this.pick(live);
			const field = this.pick(FIELDS);
			const at = this.tick();
			const value = `${system.name}:${field}:${at}`;
			record.data = { ...record.data, [field]: value };
			record.updatedAt = at;
			this.edits.push({ email: String(record.data.email), field, value, at });
			this.log.push(`${at} user sets ${system.name}/${record.id} ${field}=${value}`);
			this.emit(system, record);
		} else {
			const record = this.pick(live);
			record.deleted = true;
			record.updatedAt = this.tick();
			this.deletedEmails.add(String(record.data.email));
			this.log.push(`${record.updatedAt} user deletes ${system.name}/${record.id} ${record.data.email}`);
			this.emit(system, record);
		}
	}

	/** One execution of the flow: Resolver, writes to the targets, Commit (which may be lost). */
	async flow(items: SyncItem[]) {
		if (!items.length) return;
		const options = this.options();
		const result = await resolve(this.store, options, items);
		const stale = new Set(result.skipped.filter((s) => s.reason === 'stale').map((s) => s.sourceIndex));
		items.forEach((item, i) => {
			if (stale.has(i)) return;
			for (const [f, v] of Object.entries(item.data)) {
				const k = `${item.data.email}|${f}|${v}`;
				if (!this.observedAt.has(k)) this.observedAt.set(k, this.clock);
			}
		});
		this.plannedThisPass += result.changes.length;
		this.plannedAt = this.clock;
		await this.writeAndCommit(options.runId, result.changes.map((c) => c.item));
	}

	private async writeAndCommit(runId: string, changes: SyncItem[]) {
		const results: WriteResult[] = changes.map((change) => this.write(change));
		if (this.chance(0.05)) {
			this.log.push(`run ${runId}: commit lost`);
			return;
		}
		if (results.length) await commit(this.store, { sync: SYNC, runId }, results);
	}

	/** A connector's write: upsert by id, or by the email (unique) when creating; delete by id. */
	private write(change: SyncItem): WriteResult {
		const system = this.systems.get(change.system)!;
		const base = { entity: change.entity, system: change.system, key: change.key as string, op: change.op };
		if (this.chance(0.1)) return { ...base, id: change.id, error: 'simulated write failure' };
		if (change.op === 'delete') {
			const record = system.records.get(change.id as string);
			if (record && !record.deleted) {
				record.deleted = true;
				record.updatedAt = this.tick();
				this.emit(system, record);
			}
			return { ...base, id: change.id };
		}
		let record = change.id === null ? system.byEmail(String(change.data.email)) : system.records.get(change.id);
		if (change.id !== null && (!record || record.deleted)) return { ...base, id: change.id, error: 'record not found' };
		if (!record) {
			record = { id: system.newId(), data: {}, updatedAt: 0, deleted: false };
			system.records.set(record.id, record);
		}
		for (const f of FIELDS) {
			const old = record.data[f];
			if (old === undefined || old === change.data[f] || !this.edits.some((e) => e.value === old)) continue;
			const k = `${record.data.email}|${f}|${old}`;
			const readAt = this.observedAt.get(k);
			if (readAt === undefined || readAt > this.plannedAt) this.overwrittenUnread.add(k);
		}
		record.data = { ...change.data };
		record.updatedAt = this.tick();
		this.emit(system, record);
		return { ...base, id: record.id, data: record.data, changedAt: this.iso(record.updatedAt) };
	}

	/** A webhook arrives: any one of those in flight. */
	async deliverOne() {
		if (!this.network.length) return;
		const i = Math.floor(this.rnd() * this.network.length);
		const [item] = this.network.splice(i, 1);
		await this.flow([item]);
	}

	/** Get Changes: the next page of a system's feed after the committed cursor. */
	async poll(name: string, pageSize = 5): Promise<number> {
		const system = this.systems.get(name)!;
		const cursor = await this.store.getCursor(SYNC, name, ENTITY);
		const after = (r: SimRecord) => {
			if (!cursor) return true;
			const ts = this.iso(r.updatedAt);
			return ts > cursor.ts || (ts === cursor.ts && r.id > cursor.id);
		};
		const page = [...system.records.values()]
			.filter(after)
			.sort((a, b) => a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : 1))
			.slice(0, pageSize);
		await this.flow(page.map((r) => this.itemOf(system, r, true)));
		return page.length;
	}

	/** Polls until the feed is read to its end, or until the cursor stops moving (a write keeps failing). */
	async pollToEnd(name: string) {
		for (;;) {
			const before = await this.store.getCursor(SYNC, name, ENTITY);
			if ((await this.poll(name, 20)) === 0) return;
			const after = await this.store.getCursor(SYNC, name, ENTITY);
			if (after === null || (before !== null && after.ts === before.ts && after.id === before.id)) return;
		}
	}

	/** Get Many: a full snapshot of a system's live records (deletes are seen by the feed only). */
	async reconcile(name: string) {
		const system = this.systems.get(name)!;
		const live = system.live();
		for (let i = 0; i < live.length; i += 10) await this.flow(live.slice(i, i + 10).map((r) => this.itemOf(system, r, false)));
	}

	/** Someone works through the review queue (after the storm), choosing at random but reproducibly. */
	async review(): Promise<number> {
		const open = await this.store.listConflicts({ status: 'open' });
		for (const conflict of open) {
			const runId = `review-${++this.runs}`;
			const { changes } = await resolveConflict(this.store, conflict.id, this.choiceFor(conflict), {
				runId,
				systems: SYSTEMS,
				matchKeys: ['email'],
				policy: this.scenario.policy,
				deletePolicy: this.scenario.deletePolicy,
				sync: SYNC,
			});
			this.plannedThisPass += changes.length;
			this.plannedAt = this.clock;
			this.log.push(`review ${conflict.id} ${conflict.kind} ${conflict.key}`);
			await this.writeAndCommit(runId, changes.map((c) => c.item));
		}
		return open.length;
	}

	private choiceFor(conflict: ConflictRecord) {
		switch (conflict.kind) {
			case 'field':
				return { values: Object.fromEntries(conflict.fields.map((f) => [f, this.pick(conflict.competing.filter((c) => c.role !== 'base')).value])) };
			case 'ambiguous-match':
				return { action: 'create' as const };
			case 'duplicate-link':
				return { action: 'dismiss' as const };
			default:
				return { action: this.rnd() < 0.5 ? ('apply' as const) : ('dismiss' as const) };
		}
	}

	/** The storm: users, webhooks and polls interleaved at random, with every fault switched on. */
	async storm() {
		for (let step = 0; step < this.scenario.steps; step++) {
			const roll = this.rnd();
			if (roll < 0.4) this.userStep();
			else if (roll < 0.8) await this.deliverOne();
			else await this.poll(this.pick(SYSTEMS));
		}
	}

	/**
	 * After the storm: no more users or faults; deliver what is in flight, poll every feed to its end,
	 * reconcile every system, work the review queue; repeat until a pass plans nothing. Returns the
	 * number of passes, or throws when there is no fixed point (an endless echo).
	 */
	async quiesce(maxPasses = 8): Promise<number> {
		this.faults = false;
		for (let pass = 1; pass <= maxPasses; pass++) {
			this.plannedThisPass = 0;
			while (this.network.length) await this.deliverOne();
			for (const s of SYSTEMS) await this.pollToEnd(s);
			for (const s of SYSTEMS) await this.reconcile(s);
			const reviewed = await this.review();
			while (this.network.length) await this.deliverOne();
			if (this.plannedThisPass === 0 && reviewed === 0) return pass;
		}
		throw new Error(`no fixed point after ${maxPasses} quiet passes: the sync keeps planning changes (an endless echo?)`);
	}
}
