/**
 * Identity across systems: which fields identify a record (the match keys) and how their values are
 * compared. The Conflict Resolver links a record seen for the first time to a golden record by them, and
 * the write nodes look a create up in the target by them before inserting it (so systems that already
 * share records are linked, not duplicated, and a create whose Commit was lost is found, not repeated).
 */
import { canonicalJson, isEmptyValue } from './hash';
import type { StoreTx } from './store/store';

/**
 * How a match key's text is compared:
 * - `normal` (default): Unicode NFC, trimmed, inner runs of white space made one space, lower-case
 *   (e-mails, SKUs typed by people);
 * - `trim`: NFC and trimmed, case kept (codes where case matters);
 * - `exact`: the value as it is.
 */
export type MatchMode = 'normal' | 'trim' | 'exact';

export interface MatchKey {
	field: string;
	mode: MatchMode;
}

const MODES: readonly MatchMode[] = ['normal', 'trim', 'exact'];

/** Parses match keys written as `email` or `email:exact` (mode after a colon). */
export function parseMatchKeys(keys: readonly string[] | undefined): MatchKey[] {
	return (keys ?? []).map((spec) => {
		const at = spec.lastIndexOf(':');
		if (at <= 0) return { field: spec.trim(), mode: 'normal' };
		const mode = spec.slice(at + 1).trim() as MatchMode;
		if (!MODES.includes(mode)) {
			throw new Error(`match key "${spec}": the mode after ":" must be one of ${MODES.join(', ')}`);
		}
		return { field: spec.slice(0, at).trim(), mode };
	});
}

/** A text match value in its comparable form, or null when it identifies nothing (empty). */
export function normaliseMatchText(value: string, mode: MatchMode): string | null {
	let out = value;
	if (mode !== 'exact') out = out.normalize('NFC').trim();
	if (mode === 'normal') out = out.replace(/\s+/g, ' ').toLowerCase();
	return out === '' ? null : out;
}

/** The comparable form of one match value: text per its mode, anything else its canonical JSON. */
export function matchValue(value: unknown, mode: MatchMode = 'normal'): string | null {
	if (isEmptyValue(value)) return null;
	return typeof value === 'string' ? normaliseMatchText(value, mode) : canonicalJson(value);
}

/** The match values of a record's data, one per match key that has a value. */
export function matchValuesOf(data: Record<string, unknown>, keys: readonly MatchKey[]): Array<{ field: string; value: string }> {
	const out: Array<{ field: string; value: string }> = [];
	for (const key of keys) {
		const value = matchValue(data[key.field], key.mode);
		if (value !== null) out.push({ field: key.field, value });
	}
	return out;
}

/**
 * A link made by a create that found the record already in the target (`matched`): its values were never
 * read (empty base, no version). Nothing is written to it until it is read; the read merges its values
 * three-way against an empty base, so none of them is overwritten unseen.
 */
export function isUnread(link: { base: Record<string, unknown>; sourceAt: string | null; writtenAt: string | null }): boolean {
	return link.sourceAt === null && link.writtenAt === null && Object.keys(link.base).length === 0;
}

/** What `mergeGoldenRecords` did. */
export type GoldenMergeResult =
	| { merged: true; survivor: string; absorbed: string; moved: string[] }
	| { merged: false; reason: string; clash?: string[] };

/**
 * Two golden records turned out to be one (a create for `incoming` found, by match key, a record already
 * linked to `owner`: the same customer reached the store twice, e.g. a record created again after the
 * first golden record was deleted, or a lost Commit). They become one, so no record exists twice and no
 * edit of one half stops reaching the other:
 * - the survivor is `owner` (it holds the record the create found), unless `owner` is deleted and
 *   `incoming` is not: then `incoming` survives;
 * - every link of the other one moves to the survivor as unread (empty base, no version; see isUnread):
 *   those records are merged three-way into the survivor when they are next read, so their values meet
 *   the survivor's by the policy instead of being overwritten unseen;
 * - the other one is marked deleted (its data stays in the store), loses its match values, and its open
 *   conflicts wait on the survivor;
 * - when both hold a record in the same system (two records of one customer in one system) nothing is
 *   merged: that is for a person to settle (`clash` names the systems).
 */
export async function mergeGoldenRecords(tx: StoreTx, entity: string, owner: string, incoming: string): Promise<GoldenMergeResult> {
	if (owner === incoming) return { merged: false, reason: 'the same golden record' };
	const golden = new Map((await tx.goldenByKey(entity, [owner, incoming])).map((g) => [g.key, g]));
	const a = golden.get(owner);
	const b = golden.get(incoming);
	if (!a || !b) return { merged: false, reason: `golden record ${a ? incoming : owner} does not exist` };
	if (a.deleted && b.deleted) return { merged: false, reason: 'both golden records are deleted' };
	const [survivor, other] = a.deleted ? [b, a] : [a, b];
	const links = await tx.linksByKey(entity, [survivor.key, other.key]);
	const held = new Map(links.filter((l) => l.key === survivor.key).map((l) => [l.system, l]));
	const moving = links.filter((l) => l.key === other.key);
	const clash = moving.filter((l) => held.has(l.system) && held.get(l.system)!.externalId !== l.externalId).map((l) => l.system);
	if (clash.length) return { merged: false, reason: `both hold a record in ${clash.join(', ')}`, clash };
	await tx.deleteLinks(entity, moving.map((l) => ({ key: l.key, system: l.system })));
	await tx.saveLinks(
		moving
			.filter((l) => !held.has(l.system))
			.map((l) => ({ ...l, key: survivor.key, base: {}, writtenHash: null, writtenAt: null, sourceAt: null })),
	);
	await tx.saveGolden([{ ...other, deleted: true, version: other.version + 1, updatedAt: tx.now }], []);
	await tx.moveOpenConflicts(entity, other.key, survivor.key);
	return { merged: true, survivor: survivor.key, absorbed: other.key, moved: moving.map((l) => l.system) };
}
