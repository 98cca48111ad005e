/**
 * The Loop Guard's engine: the cheap and wide guards in front of the Mapper (shared/DESIGN.md,
 * "Identity, merge and echo"). Items may be in system shape here. One store transaction per batch.
 */
import type { SyncItem } from '../item';
import { keyedHash } from './hash';
import { recordBreakerTrips } from './alerts';
import { advanceRunCursors } from './cursor';
import { isUnread } from './identity';
import type { Store } from './store/store';

export interface RateLimit {
	max: number;
	windowSeconds: number;
}

export interface GuardOptions {
	sync: string;
	/**
	 * The run (execution) these items belong to. With it, the feed positions (trace.cursor) of blocked
	 * items are kept for the run, and when nothing passes they move at once: a page of echoes must not be
	 * read again and again, since no Resolver or Commit follows it.
	 */
	runId?: string;
	/** The actor our own writes appear as in the systems: changes made by it are our echoes. */
	ownActor?: string;
	/** Changes that travelled through more systems than this are stopped (default 3). */
	maxHops?: number;
	/** Block a change whose data hashes to exactly what Commit last wrote to that record (default on). */
	writtenHashCheck?: boolean;
	/** The same change delivered again within this many seconds (webhook and poll) is a duplicate; 0 = off (default 300). */
	duplicateWindowSeconds?: number;
	/** At most `max` changes per actor per window. */
	actorLimit?: RateLimit;
	/** At most `max` changes per record per window (a record flapping between values). */
	recordLimit?: RateLimit;
	/** Stop the whole batch when it would change more than `maxRecords`, or more than `maxShare` (0–1) of the entity's records. */
	breaker?: { maxRecords?: number; maxShare?: number; minRecords?: number };
}

export type BlockReason = 'own-actor' | 'hop-limit' | 'written-hash' | 'duplicate-delivery' | 'actor-limit' | 'record-flood' | 'breaker';

export interface GuardResult {
	passed: Array<{ item: SyncItem; sourceIndex: number }>;
	blocked: Array<{ item: SyncItem; sourceIndex: number; reason: BlockReason; detail: string }>;
	breakerTripped: boolean;
}

function windowStart(now: Date, seconds: number): string {
	const ms = seconds * 1000;
	return new Date(Math.floor(now.getTime() / ms) * ms).toISOString();
}

function checkLimit(name: string, limit: RateLimit | undefined): void {
	if (limit === undefined) return;
	if (!Number.isInteger(limit.max) || limit.max < 1 || !(limit.windowSeconds > 0)) {
		throw new Error(`Loop Guard options: "${name}" needs max (a whole number >= 1) and windowSeconds (> 0)`);
	}
}

export async function guard(store: Store, options: GuardOptions, items: SyncItem[]): Promise<GuardResult> {
	if (typeof options.sync !== 'string' || options.sync === '') throw new Error('Loop Guard options: "sync" must be a non-empty text');
	checkLimit('actorLimit', options.actorLimit);
	checkLimit('recordLimit', options.recordLimit);
	const maxHops = options.maxHops ?? 3;
	const window = options.duplicateWindowSeconds ?? 300;
	return store.transaction(async (tx) => {
		const now = new Date(tx.now);
		const result: GuardResult = { passed: [], blocked: [], breakerTripped: false };
		/** Duplicates of deliveries whose run has not committed them yet, with their delivery hash. */
		const held = new Map<SyncItem, string>();
		let open: Array<{ item: SyncItem; sourceIndex: number; hash: string }> = [];
		const block = (item: SyncItem, sourceIndex: number, reason: BlockReason, detail: string) => {
			result.blocked.push({ item, sourceIndex, reason, detail });
		};

		const checkHash = options.writtenHashCheck ?? true;
		// The data's hash serves the written-hash check and the delivery mark; neither on, not computed.
		const hashed = checkHash || window > 0;
		// Keyed with the store's secret, as Commit's written hash: the store keeps no plain hash of a record.
		const secret = hashed ? await tx.sensitiveSecret() : '';
		const own: Array<{ item: SyncItem; sourceIndex: number }> = [];
		for (let sourceIndex = 0; sourceIndex < items.length; sourceIndex++) {
			const item = items[sourceIndex];
			if (options.ownActor !== undefined && item.actor === options.ownActor) own.push({ item, sourceIndex });
			else if (item.trace.hops > maxHops) block(item, sourceIndex, 'hop-limit', `travelled ${item.trace.hops} hops, more than ${maxHops}`);
			else open.push({ item, sourceIndex, hash: hashed ? keyedHash(secret, item.data) : '' });
		}
		if (own.length) {
			// A row the sync wrote whose link is unread (a create found it by match key: an execution that died
			// before Commit had written it) is read like any other: its values meet the golden record, and
			// until it is read no change is planned for it.
			const unread = new Set<string>();
			for (const entity of new Set(own.map((o) => o.item.entity))) {
				const refs = own.filter((o) => o.item.entity === entity && o.item.id !== null).map((o) => ({ system: o.item.system, id: o.item.id as string }));
				for (const link of await tx.linksByExternalId(entity, refs)) if (isUnread(link)) unread.add(`${entity}\u0000${link.system}\u0000${link.externalId}`);
			}
			for (const { item, sourceIndex } of own) {
				if (unread.has(`${item.entity}\u0000${item.system}\u0000${item.id}`)) open.push({ item, sourceIndex, hash: hashed ? keyedHash(secret, item.data) : '' });
				else block(item, sourceIndex, 'own-actor', `made by the sync's own actor ${item.actor}`);
			}
			if (unread.size) open.sort((a, b) => a.sourceIndex - b.sourceIndex);
		}

		if (checkHash && open.length) {
			const byEntity = new Map<string, typeof open>();
			for (const o of open) {
				const list = byEntity.get(o.item.entity);
				if (list) list.push(o);
				else byEntity.set(o.item.entity, [o]);
			}
			const next: typeof open = [];
			for (const [entity, mine] of byEntity) {
				// Only the hashes: the links' base snapshots are not needed here.
				const links = await tx.linkRefsByExternalId(
					entity,
					mine.filter((o) => o.item.id !== null).map((o) => ({ system: o.item.system, id: o.item.id as string })),
				);
				const written = new Map(links.map((l) => [`${l.system}\u0000${l.externalId}`, l.writtenHash]));
				for (const o of mine) {
					const hash = written.get(`${o.item.system}\u0000${o.item.id}`);
					if (o.item.op === 'upsert' && hash && hash === o.hash) block(o.item, o.sourceIndex, 'written-hash', 'exactly what this sync last wrote there');
					else next.push(o);
				}
			}
			open = byEntity.size > 1 ? next.sort((a, b) => a.sourceIndex - b.sourceIndex) : next;
		}

		if (window > 0 && open.length) {
			// One hash per delivery, used for the lookup and the batch's own repeats.
			const deliveries = open.map((o) => keyedHash(secret, { entity: o.item.entity, system: o.item.system, id: o.item.id, op: o.item.op, data: o.hash }));
			const inFlight = new Set<string>();
			const seen = await tx.seenDeliveries(deliveries, new Date(now.getTime() - window * 1000).toISOString(), options.runId ?? null, inFlight);
			const inBatch = new Set<string>();
			const next: typeof open = [];
			open.forEach((o, i) => {
				const h = deliveries[i];
				if (seen.has(h) || inBatch.has(h)) {
					block(o.item, o.sourceIndex, 'duplicate-delivery', `the same change arrived within ${window} s`);
					if (seen.has(h) && inFlight.has(h)) held.set(o.item, h);
				} else next.push(o);
				inBatch.add(h);
			});
			open = next;
		}

		const limit = async (scope: string, rate: RateLimit | undefined, nameOf: (item: SyncItem) => string | undefined, reason: BlockReason) => {
			if (!rate || !open.length) return;
			const start = windowStart(now, rate.windowSeconds);
			const names = open.map((o) => nameOf(o.item));
			const perName = new Map<string, number>();
			for (const n of names) if (n !== undefined) perName.set(n, (perName.get(n) ?? 0) + 1);
			const list = [...perName.entries()];
			const totals = await tx.bumpCounters(list.map(([name, by]) => ({ scope: `${options.sync}:${scope}`, name, windowStart: start, by })));
			const before = new Map(list.map(([name, by], i) => [name, totals[i] - by]));
			const next: typeof open = [];
			open.forEach((o, i) => {
				const name = names[i];
				if (name === undefined) {
					next.push(o);
					return;
				}
				const position = (before.get(name) ?? 0) + 1;
				before.set(name, position);
				if (position > rate.max) block(o.item, o.sourceIndex, reason, `${name}: more than ${rate.max} changes in ${rate.windowSeconds} s`);
				else next.push(o);
			});
			open = next;
		};
		await limit('actor', options.actorLimit, (item) => item.actor, 'actor-limit');
		await limit('record', options.recordLimit, (item) => `${item.entity}/${item.system}/${item.id}`, 'record-flood');

		const breaker = options.breaker;
		if (breaker && open.length) {
			let tripped = breaker.maxRecords !== undefined && open.length > breaker.maxRecords;
			let detail = `${open.length} changes in one run, more than ${breaker.maxRecords}`;
			if (!tripped && breaker.maxShare !== undefined) {
				for (const entity of new Set(open.map((o) => o.item.entity))) {
					const count = open.filter((o) => o.item.entity === entity).length;
					const total = await tx.countGolden(entity);
					if (total >= (breaker.minRecords ?? 100) && count > breaker.maxShare * total) {
						tripped = true;
						detail = `${count} of ${total} ${entity} records in one run, more than ${Math.round(breaker.maxShare * 100)} %`;
					}
				}
			}
			if (tripped) {
				result.breakerTripped = true;
				for (const o of open) block(o.item, o.sourceIndex, 'breaker', detail);
				// Kept for Get Alerts: a trip is an alert even when nothing is wired to the blocked output.
				await recordBreakerTrips(tx, options.sync, options.runId ?? null, open.map((o) => ({ item: o.item, detail })));
				open = [];
			}
		}
		result.passed = open.map((o) => ({ item: o.item, sourceIndex: o.sourceIndex }));
		result.blocked.sort((a, b) => a.sourceIndex - b.sourceIndex);
		// The dashboard's "did not sync" and the Prometheus counts: one upsert per batch, by reason.
		await tx.countVolume(
			options.sync,
			result.blocked.map((b) => ({ system: b.item.system, entity: b.item.entity, kind: 'blocked', reason: b.reason, count: 1 })),
		);
		if (options.runId) {
			const cursors = result.blocked
				.filter((b) => b.item.trace.cursor && !held.has(b.item))
				.map((b) => ({ sync: options.sync, system: b.item.system, entity: b.item.entity, cursor: b.item.trace.cursor! }));
			await tx.saveRunCursors(options.runId, cursors);
			// A duplicate of a delivery whose run has not committed it yet (in flight, or dead between the
			// write and Commit) holds this run's cursors: were they to move past it, the poll would never read
			// the record again, and the dead run's change would never be redone. A `deferred` planned change
			// holds them (as the Resolver's for a create in flight); the next poll reads the record again.
			const holds = [...held].filter(([item]) => item.trace.cursor);
			if (holds.length) {
				await tx.savePlanned(
					holds.map(([item, hash]) => ({ runId: options.runId!, entity: item.entity, key: `delivery:${hash}`, system: item.system, op: 'upsert' as const, data: {}, status: 'deferred' as const, createdAt: tx.now })),
				);
			}
			// When some pass, the Resolver (nothing planned) or Commit (all written) moves them with its own.
			if (result.passed.length === 0 && (await tx.countPlanned(options.runId)) === 0) await advanceRunCursors(tx, options.runId);
		}
		return result;
	});
}
