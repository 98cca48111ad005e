/**
 * The three-way merge of one incoming record into its golden record, field by field
 * (shared/DESIGN.md, "Identity, merge and echo"). Pure: no store, no clock.
 */
import { isEmptyValue, sameValue } from './hash';
import type { CanonicalData, CompetingValue, FieldOrigin, GoldenRecord } from './store/types';

/**
 * How a field changed on both sides is settled:
 * - `priority`: the system listed first wins;
 * - `lastWriteWins`: the later change wins (the source's changedAt), ties and unknown times by priority;
 * - `ownership`: a field's owner wins; fields without an owner by priority;
 * - `manual`: nothing wins, the field keeps the golden value and a conflict waits for review.
 * Systems missing from `priority` rank after the listed ones.
 */
export type MergePolicy =
	| { kind: 'priority'; priority: string[] }
	| { kind: 'lastWriteWins'; priority: string[] }
	| { kind: 'ownership'; owners: Record<string, string>; priority: string[] }
	| { kind: 'manual' };

/** `keep`: an empty winning value never erases a filled golden field; `erase`: it does. */
export type EmptyValueRule = 'keep' | 'erase';

export interface FieldConflict {
	field: string;
	competing: CompetingValue[];
	/** Who won by policy; null when the policy is manual review (the conflict stays open). */
	winner: 'incoming' | 'golden' | null;
	/** Why the winner won, for the audit and the conflict record. */
	reason: string;
}

export interface MergeInput {
	golden: Pick<GoldenRecord, 'data' | 'fields'>;
	/** The source's base snapshot; null when the record was just linked and nothing was exchanged yet. */
	base: CanonicalData | null;
	incoming: CanonicalData;
	system: string;
	/** When the change was made in the source; the store's time when the source does not say. */
	at: string;
	/** Whether `at` came from the source (last-write-wins trusts only the source's own times). */
	atFromSource: boolean;
	policy: MergePolicy;
	emptyValueRule: EmptyValueRule;
}

export interface MergeOutcome {
	data: CanonicalData;
	fields: Record<string, FieldOrigin>;
	/** Fields whose golden value changed. */
	changed: string[];
	conflicts: FieldConflict[];
	/** Fields where an empty incoming value was not applied because of the empty-value rule. */
	keptFromEmpty: string[];
}

function rank(priority: string[], system: string | undefined): number {
	const i = system === undefined ? -1 : priority.indexOf(system);
	return i === -1 ? priority.length : i;
}

function byPriority(priority: string[], incoming: string, golden: string | undefined): { winner: 'incoming' | 'golden'; reason: string } {
	const ri = rank(priority, incoming);
	const rg = rank(priority, golden);
	if (ri < rg) return { winner: 'incoming', reason: `priority: ${incoming} ranks before ${golden ?? 'the golden record'}` };
	if (rg < ri) return { winner: 'golden', reason: `priority: ${golden} ranks before ${incoming}` };
	// Same rank: the same system changed its own value again, or two unlisted systems; the golden record stays.
	if (incoming === golden) return { winner: 'incoming', reason: `priority: newer value from ${incoming} itself` };
	return { winner: 'golden', reason: `priority: ${incoming} and ${golden ?? 'the golden record'} rank the same; the golden value stays` };
}

/** Decides a field changed on both sides. */
export function settle(
	policy: MergePolicy,
	field: string,
	incoming: { system: string; at: string; atFromSource: boolean },
	golden: FieldOrigin | undefined,
): { winner: 'incoming' | 'golden' | null; reason: string } {
	switch (policy.kind) {
		case 'manual':
			return { winner: null, reason: 'manual review' };
		case 'priority':
			return byPriority(policy.priority, incoming.system, golden?.system);
		case 'ownership': {
			const owner = policy.owners[field];
			if (owner !== undefined && owner === incoming.system) return { winner: 'incoming', reason: `ownership: ${field} belongs to ${owner}` };
			if (owner !== undefined && owner === golden?.system) return { winner: 'golden', reason: `ownership: ${field} belongs to ${owner}` };
			return byPriority(policy.priority, incoming.system, golden?.system);
		}
		case 'lastWriteWins': {
			const ti = incoming.atFromSource ? Date.parse(incoming.at) : NaN;
			const tg = golden ? Date.parse(golden.at) : NaN;
			if (!Number.isNaN(ti) && !Number.isNaN(tg) && ti !== tg) {
				return ti > tg
					? { winner: 'incoming', reason: `last write wins: ${incoming.at} is after ${golden!.at}` }
					: { winner: 'golden', reason: `last write wins: ${golden!.at} is after ${incoming.at}` };
			}
			const tie = byPriority(policy.priority, incoming.system, golden?.system);
			return { winner: tie.winner, reason: `last write wins, tie or unknown time; ${tie.reason}` };
		}
	}
}

/**
 * Merges `incoming` into the golden record. A field missing from `incoming` is not touched (a system
 * that does not map a field says nothing about it); per field:
 * incoming equals the golden value → nothing to do; incoming equals the base → only we changed it, keep;
 * golden equals the base (or has no such field) → only they changed it, take it; else both changed it
 * → a conflict settled by the policy. An empty winning value is applied only under `erase`.
 */
export function mergeRecord(input: MergeInput): MergeOutcome {
	const data: CanonicalData = { ...input.golden.data };
	const fields: Record<string, FieldOrigin> = { ...input.golden.fields };
	const changed: string[] = [];
	const conflicts: FieldConflict[] = [];
	const keptFromEmpty: string[] = [];
	const origin: FieldOrigin = { system: input.system, at: input.at };

	const take = (field: string, value: unknown) => {
		if (isEmptyValue(value) && !isEmptyValue(data[field]) && input.emptyValueRule === 'keep') {
			keptFromEmpty.push(field);
			return;
		}
		data[field] = value;
		fields[field] = origin;
		changed.push(field);
	};

	for (const field of Object.keys(input.incoming)) {
		const theirs = input.incoming[field];
		if (theirs === undefined) continue;
		const ours = input.golden.data[field];
		if (sameValue(theirs, ours)) continue;
		const hasBase = input.base !== null && Object.prototype.hasOwnProperty.call(input.base, field);
		const base = hasBase ? input.base![field] : undefined;
		if (hasBase && sameValue(theirs, base)) continue;
		if (ours === undefined || (hasBase && sameValue(ours, base))) {
			take(field, theirs);
			continue;
		}
		const goldenOrigin = input.golden.fields[field];
		const decision = settle(input.policy, field, input, goldenOrigin);
		const competing: CompetingValue[] = [
			{ role: 'incoming', system: input.system, field, value: theirs, at: input.at },
			{ role: 'golden', system: goldenOrigin?.system ?? '(golden record)', field, value: ours, at: goldenOrigin?.at },
		];
		if (hasBase) competing.push({ role: 'base', system: input.system, field, value: base });
		conflicts.push({ field, competing, winner: decision.winner, reason: decision.reason });
		if (decision.winner === 'incoming') take(field, theirs);
	}
	return { data, fields, changed, conflicts, keptFromEmpty };
}

export { isEcho } from './echo';
