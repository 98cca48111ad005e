/**
 * Identity across systems: which fields identify a record (the match keys) and how their values are
 * compared. The Conflict Resolver links a record seen for the first time to a golden record by them, and
 * the write nodes look a create up in the target by them before inserting it (so systems that already
 * share records are linked, not duplicated, and a create whose Commit was lost is found, not repeated).
 */
import { canonicalJson, isEmptyValue } from './hash';

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
