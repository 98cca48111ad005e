/**
 * The convergence simulation (test layer 4): three simulated systems, users editing them at random,
 * an unreliable network, and the engine driven the way the DataSync flows drive it
 * (Resolver plan → writes to the targets → Store Commit, Commit's Retry output back into the writes).
 * One seed = one reproducible schedule.
 *
 * What is simulated, as the real parts behave (nothing kinder):
 * - the connectors are the DataSync Database node's conditional writes (lib/connectors/sql/guarded.ts):
 *   an insert gets a new id; a create first looks the target up by its match key (e-mail: trimmed,
 *   lower-case, NFC) and links the one live record holding it (`matched`, nothing written; two =
 *   `ambiguous`); an update or delete carries the version the plan expects and is written only if the
 *   record is still at it (`stale` otherwise); an update of a linked record deleted in the target is
 *   never re-inserted (`target-deleted`). `guarded: false` swaps in a plain upsert-by-id connector (for
 *   the test that proves the guards matter);
 * - two queue-mode workers: up to two executions are in flight at once, and their resolves, writes (per
 *   target) and commits interleave in any order; users edit records between a read and a write (often
 *   the very records a pending write targets);
 * - faults: webhooks lost (20 %), duplicated (10 %) and reordered; writes fail (10 %, nothing written)
 *   or fail after writing (3 %: the connection dropped before the answer); Commits lost (5 % after
 *   creates, 2 % otherwise);
 * - clocks: every system stamps its records' updated-at from its own clock, off by up to ±3 s; the hub
 *   (the store) has its own skewed clock too. Versions are the exact updated-at values.
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
export const FIELDS = ['name', 'phone', 'tier'];
export const ENTITY = 'contact';
const SYNC = 'sim';
/** Simulated time 0. */
const EPOCH = Date.UTC(2024, 0, 1);
/** The largest clock offset of a system (ms). */
const MAX_SKEW = 3000;
/** Workers of the queue mode: executions in flight at once during the storm. */
const WORKERS = 2;
/** Rounds of Commit's Retry output an execution follows before it ends (a retry can be stale again). */
const MAX_RETRY_ROUNDS = 3;

/** The comparable form of an e-mail, as the match keys compare it: NFC, trimmed, lower-case. */
export function normEmail(value: unknown): string {
	return String(value).normalize('NFC').trim().toLowerCase();
}

export interface SimRecord {
	id: string;
	data: Record<string, unknown>;
	/** The record's updated-at on its system's (skewed) clock, ms since the epoch: its version. */
	at: number;
	deleted: boolean;
}

/** One user edit (a create sets every field), to check at the end that no value was silently dropped. */
export interface Edit {
	/** Normalised e-mail of the record edited. */
	email: string;
	field: string;
	value: string;
	/** True (simulated) time of the edit: "last" means last in this order, whatever the skewed clocks say. */
	at: number;
	system: string;
}

export interface Scenario {
	seed: number;
	policy: MergePolicy;
	deletePolicy: DeletePolicy;
	steps: number;
	/** Conditional writes and create-by-match, as the DataSync Database node does them (default). */
	guarded: boolean;
}

export function scenarioFor(seed: number, overrides: Partial<Omit<Scenario, 'seed'>> = {}): Scenario {
	const priority = [...SYSTEMS];
	const policies: MergePolicy[] = [
		{ kind: 'priority', priority },
		{ kind: 'lastWriteWins', priority },
		{ kind: 'ownership', owners: { name: 'alpha', phone: 'beta', tier: 'gamma' }, priority },
		{ kind: 'manual' },
	];
	return { seed, policy: policies[seed % policies.length], deletePolicy: seed % 5 === 0 ? 'approval' : 'propagate', steps: 100, guarded: true, ...overrides };
}

export class SimSystem {
	readonly records = new Map<string, SimRecord>();

	private next = 1;

	constructor(
		readonly name: string,
		/** This system's clock offset from true time (ms). */
		readonly skew: number,
	) {}

	live(): SimRecord[] {
		return [...this.records.values()].filter((r) => !r.deleted);
	}

	/** Live records whose e-mail matches (normalised). */
	byEmail(email: string): SimRecord[] {
		const want = normEmail(email);
		return this.live().filter((r) => normEmail(r.data.email) === want);
	}

	newId(): string {
		return `${this.name}-${this.next++}`;
	}
}

/** Counts over one seed (summed by the test and the script). */
export interface WorldStats {
	steps: number;
	/** User actions: creates, field edits, deletes. */
	edits: number;
	executions: number;
	/** Two executions were in flight at once (a step of one ran while the other was between stages). */
	overlapped: number;
	/** User edits of a record a pending write targeted, made between that write's plan and the write. */
	editsUnderWrite: number;
	/** Webhooks that carried only the field edited (and the e-mail), not the whole record. */
	partialDeliveries: number;
	outcomes: { written: number; matched: number; stale: number; 'target-deleted': number; ambiguous: number };
	writeErrors: number;
	/** Writes that went through but answered with an error. */
	writtenThenFailed: number;
	commitsLost: number;
	retries: number;
	reviews: number;
}

/** One execution of the flow: its run id, the changes still to write, the write results waiting for Commit. */
interface Execution {
	runId: string;
	what: string;
	pending: SyncItem[];
	results: WriteResult[];
	round: number;
	/** A create was written (its Commit is lost more often: the crash after the insert). */
	creates: boolean;
}

export class World {
	readonly rnd: () => number;

	readonly systems: Map<string, SimSystem>;

	/** The hub's clock offset (the store's bookkeeping times). */
	readonly hubSkew: number;

	/** Webhook deliveries in flight: lost, duplicated, delivered in any order. */
	private network: SyncItem[] = [];

	/** True time (ms since the epoch). */
	private now = 0;

	private runs = 0;

	private emails = 0;

	private values = 0;

	readonly edits: Edit[] = [];

	/** Normalised e-mails a user deleted at some point (their history is not checked field by field). */
	readonly deletedEmails = new Set<string>();

	faults = true;

	/** Changes planned (resolve, review, retries) in the current quiescence pass: a fixed point plans none. */
	private plannedThisPass = 0;

	private inflight: Execution[] = [];

	readonly stats: WorldStats = {
		steps: 0,
		edits: 0,
		executions: 0,
		overlapped: 0,
		editsUnderWrite: 0,
		partialDeliveries: 0,
		outcomes: { written: 0, matched: 0, stale: 0, 'target-deleted': 0, ambiguous: 0 },
		writeErrors: 0,
		writtenThenFailed: 0,
		commitsLost: 0,
		retries: 0,
		reviews: 0,
	};

	readonly log: string[] = [];

	constructor(
		readonly store: Store,
		readonly scenario: Scenario,
	) {
		this.rnd = prng(scenario.seed);
		const skew = () => Math.round((this.rnd() * 2 - 1) * MAX_SKEW);
		this.systems = new Map(SYSTEMS.map((s) => [s, new SimSystem(s, skew())]));
		this.hubSkew = skew();
		// SIM_TRACE=1: the schedule as it happens (a seed that never ends shows where it loops).
		if (process.env.SIM_TRACE) {
			const push = this.log.push.bind(this.log);
			this.log.push = (...lines: string[]) => {
				for (const l of lines) process.stderr.write(`${l}\n`);
				return push(...lines);
			};
		}
		this.log.push(`clocks: ${SYSTEMS.map((s) => `${s} ${this.systems.get(s)!.skew} ms`).join(', ')}, hub ${this.hubSkew} ms`);
	}

	/** The store's clock for this world (give it to the Store): simulated time on the hub's skewed clock. */
	clock(): Date {
		return new Date(EPOCH + this.now + this.hubSkew);
	}

	private pick<T>(list: T[]): T {
		return list[Math.floor(this.rnd() * list.length)];
	}

	private chance(p: number): boolean {
		return this.faults && this.rnd() < p;
	}

	/** Time moves on (at least 1 ms per event, so no two versions of a system are equal). */
	private tick(): number {
		this.now += 1 + Math.floor(this.rnd() * 1500);
		return this.now;
	}

	/** A system's clock now. */
	private stamp(system: SimSystem): number {
		return this.tick() + system.skew;
	}

	static iso(at: number): string {
		return new Date(EPOCH + at).toISOString();
	}

	private itemOf(system: SimSystem, record: SimRecord, withCursor: boolean): SyncItem {
		const version = World.iso(record.at);
		const item: SyncItem = {
			entity: ENTITY,
			system: system.name,
			id: record.id,
			op: record.deleted ? 'delete' : 'upsert',
			shape: 'canonical',
			data: record.deleted ? {} : { ...record.data },
			changedAt: version,
			trace: { runId: 'feed', origin: system.name, hops: 0 },
		};
		if (withCursor) item.trace.cursor = { ts: version, id: record.id };
		return item;
	}

	/**
	 * A record changed in a system: its webhook goes out (maybe lost, maybe twice). Half the senders post
	 * only what changed (the e-mail and the field edited), so deliveries of one record that overtake each
	 * other carry different fields.
	 */
	private emit(system: SimSystem, record: SimRecord, field?: string) {
		if (this.chance(0.2)) return;
		const item = this.itemOf(system, record, false);
		if (field !== undefined && this.chance(0.5)) {
			// As the DataSync Trigger marks it with Payload Holds: Changed Fields Only.
			item.data = { email: record.data.email, [field]: record.data[field] };
			item.trace.partial = true;
			this.stats.partialDeliveries++;
		}
		this.network.push(item);
		if (this.chance(0.1)) this.network.push({ ...item, data: { ...item.data }, trace: { ...item.trace } });
	}

	private options(runId: string): ResolveOptions {
		return {
			sync: SYNC,
			entity: ENTITY,
			runId,
			systems: SYSTEMS,
			matchKeys: ['email'],
			policy: this.scenario.policy,
			deletePolicy: this.scenario.deletePolicy,
		};
	}

	private newValue(system: string, field: string): string {
		return `${system}:${field}:${++this.values}`;
	}

	/** How a person types an e-mail they copy from another system: sometimes cased, padded or decomposed. */
	private retyped(email: string): string {
		const roll = this.rnd();
		if (roll < 0.4) return email;
		if (roll < 0.55) return email.toUpperCase();
		if (roll < 0.7) return ` ${email} `;
		if (roll < 0.85) return email.normalize('NFD');
		return email.charAt(0).toUpperCase() + email.slice(1);
	}

	/** Records some pending write of an execution in flight targets (the user edits them between read and write). */
	private underWrite(system: SimSystem): SimRecord[] {
		const ids = new Set(this.inflight.flatMap((e) => e.pending.filter((c) => c.system === system.name && c.id !== null).map((c) => c.id as string)));
		return system.live().filter((r) => ids.has(r.id));
	}

	/** A user creates, edits or deletes a record in one system. */
	userStep() {
		const system = this.systems.get(this.pick(SYSTEMS))!;
		const live = system.live();
		const roll = this.rnd();
		this.stats.edits++;
		if (roll < 0.22 || live.length === 0) {
			// Sometimes the same contact is entered in a second system by hand (identity by match key),
			// typed differently; a system never holds one e-mail twice (a unique index on it).
			const elsewhere = [...this.systems.values()]
				.filter((s) => s !== system)
				.flatMap((s) => s.live().map((r) => String(r.data.email)))
				.filter((e) => !system.byEmail(e).length && !this.deletedEmails.has(normEmail(e)));
			let email: string;
			if (elsewhere.length && this.rnd() < 0.35) email = this.retyped(this.pick(elsewhere));
			else {
				const n = ++this.emails;
				email = this.rnd() < 0.25 ? `renée.${n}@sim.test` : `user${n}@sim.test`;
			}
			const at = this.stamp(system);
			const data: Record<string, unknown> = { email };
			this.edits.push({ email: normEmail(email), field: 'email', value: email, at: this.now, system: system.name });
			for (const f of FIELDS) {
				data[f] = this.newValue(system.name, f);
				this.edits.push({ email: normEmail(email), field: f, value: data[f] as string, at: this.now, system: system.name });
			}
			const record = { id: system.newId(), data, at, deleted: false };
			system.records.set(record.id, record);
			this.log.push(`${this.now} user creates ${system.name}/${record.id} ${JSON.stringify(email)} @${World.iso(at)}`);
			this.emit(system, record);
			return;
		}
		// Edits often hit a record a write in flight is about to change (read → user edit → write).
		const targeted = this.underWrite(system);
		const underWrite = targeted.length > 0 && this.rnd() < 0.5;
		const record = underWrite ? this.pick(targeted) : this.pick(live);
		if (underWrite) this.stats.editsUnderWrite++;
		if (roll < 0.94) {
			const field = this.pick(FIELDS);
			const value = this.newValue(system.name, field);
			record.data = { ...record.data, [field]: value };
			record.at = this.stamp(system);
			this.edits.push({ email: normEmail(record.data.email), field, value, at: this.now, system: system.name });
			this.log.push(`${this.now} user sets ${system.name}/${record.id} ${field}=${value} @${World.iso(record.at)}${underWrite ? ' (under a pending write)' : ''}`);
			this.emit(system, record, field);
			return;
		} else {
			record.deleted = true;
			record.at = this.stamp(system);
			this.deletedEmails.add(normEmail(record.data.email));
			this.log.push(`${this.now} user deletes ${system.name}/${record.id} ${JSON.stringify(record.data.email)} @${World.iso(record.at)}${underWrite ? ' (under a pending write)' : ''}`);
		}
		this.emit(system, record);
	}

	// ---- the connectors ------------------------------------------------------------------------------

	/**
	 * A DataSync Database write of one planned change: the conditional write and create-by-match of the
	 * real node, or a plain upsert-by-id (`guarded: false`). Faults: fails before writing, or after.
	 */
	private write(change: SyncItem): WriteResult {
		const system = this.systems.get(change.system)!;
		const failed: WriteResult = { entity: change.entity, system: change.system, key: change.key as string, id: change.id, op: change.op, error: '' };
		if (this.chance(0.1)) {
			this.stats.writeErrors++;
			this.log.push(`${this.now}   write ${describe(change)}: fails (nothing written)`);
			return { ...failed, error: 'simulated write failure: connection refused' };
		}
		const result = this.scenario.guarded ? this.writeGuarded(system, change) : this.writePlain(system, change);
		const outcome = result.outcome ?? 'written';
		this.stats.outcomes[outcome]++;
		this.log.push(`${this.now}   write ${describe(change)}: ${outcome} ${result.id ?? ''}${result.changedAt ? ` @${result.changedAt}` : ''}${result.detail ? ` (${result.detail})` : ''}`);
		if (this.chance(0.03)) {
			this.stats.writtenThenFailed++;
			this.log.push(`${this.now}   ... but the answer is lost: reported as failed`);
			return { ...failed, error: 'simulated write failure: connection reset after the write' };
		}
		return result;
	}

	private writeGuarded(system: SimSystem, change: SyncItem): WriteResult {
		const base = { entity: change.entity, system: change.system, key: change.key as string, op: change.op };
		const expected = change.trace.version;
		if (change.op === 'delete') {
			const record = system.records.get(change.id as string);
			// A delete of a record that is gone is done.
			if (!record || record.deleted) return { ...base, id: change.id, outcome: 'written' };
			if (expected !== undefined && World.iso(record.at) !== expected) {
				return { ...base, id: record.id, outcome: 'stale', changedAt: World.iso(record.at), detail: `expected ${expected}` };
			}
			record.deleted = true;
			record.at = this.stamp(system);
			this.emit(system, record);
			return { ...base, id: record.id, outcome: 'written' };
		}
		if (change.id === null) {
			const found = system.byEmail(String(change.data.email));
			if (found.length > 1) return { ...base, id: null, outcome: 'ambiguous', detail: `records ${found.map((r) => r.id).join(', ')} all match by email` };
			if (found.length === 1) return { ...base, id: found[0].id, outcome: 'matched', changedAt: World.iso(found[0].at), detail: `found ${found[0].id} by email` };
			const record: SimRecord = { id: system.newId(), data: { ...change.data }, at: this.stamp(system), deleted: false };
			system.records.set(record.id, record);
			this.emit(system, record);
			return { ...base, id: record.id, outcome: 'written', data: { ...record.data }, changedAt: World.iso(record.at) };
		}
		const record = system.records.get(change.id);
		if (!record || record.deleted) return { ...base, id: change.id, outcome: 'target-deleted', detail: `${change.id} is deleted there` };
		if (expected !== undefined && World.iso(record.at) !== expected) {
			return { ...base, id: record.id, outcome: 'stale', changedAt: World.iso(record.at), detail: `expected ${expected}` };
		}
		record.data = { ...change.data };
		record.at = this.stamp(system);
		this.emit(system, record);
		return { ...base, id: record.id, outcome: 'written', data: { ...record.data }, changedAt: World.iso(record.at) };
	}

	/** A connector without guards: creates insert, updates overwrite (and re-insert what was deleted). */
	private writePlain(system: SimSystem, change: SyncItem): WriteResult {
		const base = { entity: change.entity, system: change.system, key: change.key as string, op: change.op };
		if (change.op === 'delete') {
			const record = system.records.get(change.id as string);
			if (record && !record.deleted) {
				record.deleted = true;
				record.at = this.stamp(system);
				this.emit(system, record);
			}
			return { ...base, id: change.id };
		}
		let record = change.id === null ? undefined : system.records.get(change.id);
		if (!record) {
			record = { id: change.id ?? system.newId(), data: {}, at: 0, deleted: false };
			system.records.set(record.id, record);
		}
		record.data = { ...change.data };
		record.deleted = false;
		record.at = this.stamp(system);
		this.emit(system, record);
		return { ...base, id: record.id, data: { ...record.data }, changedAt: World.iso(record.at) };
	}

	// ---- executions ----------------------------------------------------------------------------------

	/** An execution starts: the Resolver reads the batch and plans (one store transaction). */
	private async start(items: SyncItem[], what: string): Promise<Execution | undefined> {
		if (!items.length) return undefined;
		const runId = `run-${++this.runs}`;
		const result = await resolve(this.store, this.options(runId), items);
		this.stats.executions++;
		this.plannedThisPass += result.changes.length;
		const skipped = result.skipped.map((s) => `${s.item.system}/${s.item.id} ${s.reason}`);
		const conflicts = result.conflicts.map((c) => `${c.kind}${c.fields.length ? `(${c.fields.join(',')})` : ''} ${c.status}`);
		this.log.push(
			`${this.now} ${runId} resolves ${what}: ${items.map((i) => `${i.system}/${i.id}@${i.changedAt}`).join(' ')}` +
				` → ${result.changes.length} changes${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}${conflicts.length ? `; conflicts ${conflicts.join(', ')}` : ''}`,
		);
		return this.begin(runId, what, result.changes.map((c) => c.item));
	}

	private begin(runId: string, what: string, changes: SyncItem[]): Execution | undefined {
		if (!changes.length) return undefined;
		const execution: Execution = { runId, what, pending: changes, results: [], round: 0, creates: false };
		this.inflight.push(execution);
		return execution;
	}

	/** The next stage of an execution: the writes to one target system, or (all written) the Commit. */
	private async advance(execution: Execution): Promise<void> {
		if (this.inflight.length > 1) this.stats.overlapped++;
		if (execution.pending.length) {
			const target = execution.pending[0].system;
			const mine = execution.pending.filter((c) => c.system === target);
			execution.pending = execution.pending.filter((c) => c.system !== target);
			this.log.push(`${this.now} ${execution.runId} writes to ${target}`);
			for (const change of mine) {
				if (change.id === null) execution.creates = true;
				execution.results.push(this.write(change));
			}
			return;
		}
		const creates = execution.creates;
		if (this.chance(creates ? 0.05 : 0.02)) {
			this.stats.commitsLost++;
			this.log.push(`${this.now} ${execution.runId} commit lost${creates ? ' (after creates)' : ''}`);
			this.finish(execution);
			return;
		}
		const out = await commit(this.store, { sync: SYNC, runId: execution.runId }, execution.results);
		this.log.push(
			`${this.now} ${execution.runId} commits ${execution.results.length} results: committed ${out.committed}, failed ${out.failed}, waiting ${out.waiting}` +
				`${out.unmatched.length ? `, unmatched ${out.unmatched.length}` : ''}${out.retries.length ? `, retries ${out.retries.map(describe).join(' ')}` : ''}`,
		);
		execution.results = [];
		execution.creates = false;
		if (out.retries.length && execution.round < MAX_RETRY_ROUNDS) {
			// Commit's Retry output, wired back into the writes: the same run writes them and commits again.
			execution.round++;
			execution.pending = out.retries;
			this.stats.retries += out.retries.length;
			this.plannedThisPass += out.retries.length;
			return;
		}
		this.finish(execution);
	}

	private finish(execution: Execution) {
		this.inflight = this.inflight.filter((e) => e !== execution);
	}

	/** Runs an execution to its end (no other execution in between). */
	private async runThrough(execution: Execution | undefined) {
		if (!execution) return;
		while (this.inflight.includes(execution)) await this.advance(execution);
	}

	// ---- the triggers --------------------------------------------------------------------------------

	/** Webhooks arrive: one to three of those in flight, as one execution. */
	private async deliver(): Promise<Execution | undefined> {
		if (!this.network.length) return undefined;
		const n = 1 + Math.floor(this.rnd() * Math.min(3, this.network.length));
		const items: SyncItem[] = [];
		for (let k = 0; k < n; k++) items.push(...this.network.splice(Math.floor(this.rnd() * this.network.length), 1));
		return this.start(items, 'webhooks');
	}

	/** Get Changes: the next page of a system's feed after the committed cursor. */
	private async poll(name: string, pageSize = 5): Promise<{ execution?: Execution; read: number }> {
		const system = this.systems.get(name)!;
		const cursor = await this.store.getCursor(SYNC, name, ENTITY);
		const after = (r: SimRecord) => {
			if (!cursor) return true;
			const ts = World.iso(r.at);
			return ts > cursor.ts || (ts === cursor.ts && r.id > cursor.id);
		};
		const page = [...system.records.values()]
			.filter(after)
			.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
			.slice(0, pageSize);
		const execution = await this.start(page.map((r) => this.itemOf(system, r, true)), `${name} feed`);
		return { execution, read: page.length };
	}

	/** Polls until the feed is read to its end, or until the cursor stops moving. */
	private async pollToEnd(name: string) {
		for (;;) {
			const before = await this.store.getCursor(SYNC, name, ENTITY);
			const { execution, read } = await this.poll(name, 20);
			await this.runThrough(execution);
			if (read === 0) return;
			const after = await this.store.getCursor(SYNC, name, ENTITY);
			if (after === null || (before !== null && after.ts === before.ts && after.id === before.id)) return;
		}
	}

	/** Get Many: a full snapshot of a system's live records (deletes are seen by the feed only). */
	private async reconcile(name: string) {
		const live = this.systems.get(name)!.live();
		for (let i = 0; i < live.length; i += 10) {
			await this.runThrough(await this.start(live.slice(i, i + 10).map((r) => this.itemOf(this.systems.get(name)!, r, false)), `${name} snapshot`));
		}
	}

	/** Someone settles one open conflict (reproducibly at random); its changes are written like a run's. */
	private async reviewOne(conflict: ConflictRecord): Promise<Execution | undefined> {
		const runId = `review-${++this.runs}`;
		const choice = this.choiceFor(conflict);
		const { changes } = await resolveConflict(this.store, conflict.id, choice, {
			runId,
			systems: SYSTEMS,
			matchKeys: ['email'],
			policy: this.scenario.policy,
			deletePolicy: this.scenario.deletePolicy,
			sync: SYNC,
		});
		this.stats.reviews++;
		this.plannedThisPass += changes.length;
		this.log.push(`${this.now} ${runId} reviews conflict ${conflict.id} ${conflict.kind}(${conflict.fields.join(',')}) ${conflict.key}: ${JSON.stringify(choice)} → ${changes.length} changes`);
		return this.begin(runId, `review ${conflict.id}`, changes.map((c) => c.item));
	}

	private choiceFor(conflict: ConflictRecord) {
		switch (conflict.kind) {
			case 'field':
				return { values: Object.fromEntries(conflict.fields.map((f) => [f, this.pick(conflict.competing.filter((c) => c.role !== 'base')).value])) };
			case 'ambiguous-match':
			case 'duplicate-link':
				// Only a duplicate already made leads here; the check reports it, the review does not hide it.
				return { action: 'dismiss' as const };
			default:
				return { action: this.rnd() < 0.5 ? ('apply' as const) : ('dismiss' as const) };
		}
	}

	// ---- the schedule --------------------------------------------------------------------------------

	/** The storm: users, webhooks, polls, reviews and two workers' executions interleaved, every fault on. */
	async storm() {
		for (let step = 0; step < this.scenario.steps; step++) {
			this.stats.steps++;
			const roll = this.rnd();
			const free = this.inflight.length < WORKERS;
			if (roll < 0.35) this.userStep();
			else if (free && roll < 0.5) await this.deliver();
			else if (free && roll < 0.58) await this.poll(this.pick(SYSTEMS));
			else if (free && roll < 0.6) {
				const open = await this.store.listConflicts({ status: 'open', limit: 5 });
				if (open.length) await this.reviewOne(this.pick(open));
			} else if (this.inflight.length) await this.advance(this.pick(this.inflight));
		}
	}

	/**
	 * After the storm: no more users or faults; the executions in flight finish; then deliver what is in
	 * flight, poll every feed to its end, reconcile every system, work the review queue; repeat until a
	 * pass plans nothing. Returns the number of passes, or throws when there is no fixed point.
	 */
	async quiesce(maxPasses = 10): Promise<number> {
		this.faults = false;
		// The users stop; the next runs come some minutes later (the nightly batch, the next poll), when
		// the plans of executions that died no longer count as in flight.
		this.now += 5 * 60_000;
		let deliveries = 0;
		const drain = async () => {
			while (this.network.length) {
				if (++deliveries > 5000) throw new Error('the webhooks never stop once the users stop (an endless echo?)');
				await this.runThrough(await this.deliver());
			}
		};
		while (this.inflight.length) await this.advance(this.inflight[0]);
		for (let pass = 1; pass <= maxPasses; pass++) {
			this.plannedThisPass = 0;
			this.log.push(`--- quiet pass ${pass}`);
			await drain();
			for (const s of SYSTEMS) await this.pollToEnd(s);
			for (const s of SYSTEMS) await this.reconcile(s);
			const open = await this.store.listConflicts({ status: 'open', limit: 100000 });
			for (const conflict of open) await this.runThrough(await this.reviewOne(conflict));
			await drain();
			if (this.plannedThisPass === 0 && open.length === 0) return pass;
		}
		throw new Error(`no fixed point after ${maxPasses} quiet passes: the sync keeps planning changes (an endless echo?)`);
	}
}

function describe(change: SyncItem): string {
	return `${change.op} ${change.system}/${change.id ?? 'new'} (${change.key?.slice(0, 8)}${change.trace.version ? `, expects ${change.trace.version}` : ''})`;
}
