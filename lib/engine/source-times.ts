/**
 * What the store knows of a system's record, and as of when, when changes of only some fields are read.
 *
 * A webhook may carry only the fields that changed, and two deliveries of one record can overtake each
 * other on the way (the sender does not wait for our answer, two webhook processes, a retry). Two rules
 * keep every edit:
 *
 * - **An overtaken delivery still brings its fields.** The newer delivery is applied first; the older one
 *   arrives later with a field the newer did not carry. Skipped whole as "stale", that field's edit would
 *   be lost. So once a change of only some fields is read, the link keeps each field's change time
 *   (`partial.at`), and an older delivery brings exactly the fields no newer change has set.
 * - **A record known only in part is not written blind.** A conditional write expects the version the
 *   store last read; after a change of some fields, the store knows the record at that version only in
 *   part (a field edited meanwhile, whose own webhook was lost, is unknown). So the write expects the last
 *   version read in full (`partial.readAt`): the target answers stale, nothing is overwritten, and the
 *   next full read (the poll reads such records by id) merges the record and plans the write again. With
 *   no version read in full, no write is planned until the record is read.
 *
 * `partial` is null while every field of the base is known at `sourceAt` (a full read, or a write of
 * ours, which the version check makes a known state of the whole record): the usual case costs nothing.
 */
import type { Link, PartialRead } from './store/types';

/** Whether `a` is a later time than `b`; false when either is unknown or not a time. */
export function isNewer(a: string | undefined | null, b: string | undefined | null): boolean {
	if (a == null || b == null) return false;
	const ta = Date.parse(a);
	const tb = Date.parse(b);
	return !Number.isNaN(ta) && !Number.isNaN(tb) && ta > tb;
}

const own = (o: object, f: string) => Object.prototype.hasOwnProperty.call(o, f);

type Times = Pick<Link, 'base' | 'sourceAt' | 'partial'>;

/**
 * The time field `f` was last set by a change read from the system; undefined when no timed change set
 * it (older than any). `known` names fields a full read carries that the base does not hold (the
 * Resolver's sensitive fields, which are never stored).
 */
export function fieldTime(link: Times, f: string, known: ReadonlySet<string>): string | undefined {
	const top = f.split('.')[0];
	if (link.partial) {
		// The leaf's own time, else the time its whole object was last read.
		let best: string | undefined;
		for (let path = f; ; path = path.slice(0, path.lastIndexOf('.'))) {
			if (own(link.partial.at, path) && (best === undefined || isNewer(link.partial.at[path], best))) best = link.partial.at[path];
			if (!path.includes('.')) break;
		}
		return best;
	}
	if (link.sourceAt === null) return undefined;
	return own(link.base, top) || known.has(top) ? link.sourceAt : undefined;
}

/** The fields of a change made at `at` that no newer change read from the system has set since. */
export function notOvertaken(link: Times, fields: string[], at: string, known: ReadonlySet<string>): string[] {
	return fields.filter((f) => !isNewer(fieldTime(link, f, known), at));
}

/** Whether the store has known the record whole at some version (read in full, or written by us). */
function knownInFull(link: Pick<Link, 'sourceAt' | 'writtenAt' | 'partial'>): boolean {
	return link.partial ? link.partial.readAt !== null : link.sourceAt !== null || link.writtenAt !== null;
}

/**
 * The link's times after a change read from the system that carried `fields`, made at `at` (undefined
 * when the system gave no time). `changedOnly`: the sender says the change holds only the fields that
 * changed (trace.partial), so it is never a read in full, not even a first sight of the record. Otherwise
 * a change that carries every field of the base is one. A field's time never moves back; `sourceAt` is
 * the newest.
 */
export function stamped(
	link: Link,
	fields: string[],
	at: string | undefined,
	known: ReadonlySet<string>,
	changedOnly = false,
): Pick<Link, 'sourceAt' | 'partial'> {
	const current = { sourceAt: link.sourceAt, partial: link.partial ?? null };
	if (at === undefined) {
		// An untimed change: its fields are at least as new as anything read (no older timed delivery may
		// overwrite them); with no per-field times, nothing to note, unless it is the first sight of a record
		// through a change of some fields.
		if (changedOnly && !knownInFull(link)) return { sourceAt: current.sourceAt, partial: { readAt: null, at: current.partial ? copy(current.partial.at) : (Object.create(null) as Record<string, string>) } };
		if (!current.partial || current.sourceAt === null) return current;
		const times = copy(current.partial.at);
		for (const f of fields) set(times, f, current.sourceAt);
		return { sourceAt: current.sourceAt, partial: { readAt: current.partial.readAt, at: times } };
	}
	const newest = current.sourceAt === null || !isNewer(current.sourceAt, at);
	const carried = new Set(fields.map((f) => f.split('.')[0]));
	// A change the sender marks as one of some fields never is a full read, even when it carries every field
	// the store knows (the record may hold more: fields only its own users filled). Unmarked, one that
	// carries every field of the base is taken as the whole record.
	const full = !changedOnly && Object.keys(link.base).every((f) => carried.has(f));
	if (newest && full) return { sourceAt: at, partial: null };
	let partial: PartialRead;
	if (current.partial) partial = { readAt: current.partial.readAt, at: copy(current.partial.at) };
	else {
		// Known in full until now at `sourceAt`, unless never read (a record linked by match key, or one
		// first seen through a change of some fields).
		partial = { readAt: knownInFull(link) ? current.sourceAt : null, at: Object.create(null) as Record<string, string> };
		if (current.sourceAt !== null) {
			for (const f of Object.keys(link.base)) set(partial.at, f, current.sourceAt);
			for (const f of known) set(partial.at, f, current.sourceAt);
		}
	}
	for (const f of fields) {
		const was = own(partial.at, f) ? partial.at[f] : undefined;
		if (was === undefined || !isNewer(was, at)) set(partial.at, f, at);
	}
	return { sourceAt: newest ? at : current.sourceAt, partial };
}

/**
 * The version a conditional write to this record expects: the last one the store read (or wrote) in
 * full. `wait`: the record was never read in full, so nothing is written to it until it is.
 */
export function expectedVersion(link: Pick<Link, 'sourceAt' | 'partial'>): { version?: string; wait: boolean } {
	if (!link.partial) return { version: link.sourceAt ?? undefined, wait: false };
	return link.partial.readAt === null ? { wait: true } : { version: link.partial.readAt, wait: false };
}

function copy(map: Record<string, string>): Record<string, string> {
	const out = Object.create(null) as Record<string, string>;
	for (const [f, t] of Object.entries(map)) set(out, f, t);
	return out;
}

function set(map: Record<string, unknown>, f: string, value: unknown) {
	// A field named "__proto__" is an own field here, as everywhere in the engine.
	Object.defineProperty(map, f, { value, enumerable: true, writable: true, configurable: true });
}

const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The fields a change carries, as paths to its leaves (`address.city`): a change of some fields may
 * carry one leaf of a nested object, and its time is that leaf's, not the whole object's.
 */
export function leafPaths(data: Record<string, unknown>, prefix = ''): string[] {
	const out: string[] = [];
	for (const [f, v] of Object.entries(data)) {
		const path = prefix + f;
		if (plain(v) && Object.keys(v).length) out.push(...leafPaths(v, `${path}.`));
		else out.push(path);
	}
	return out;
}

/** `data` without the leaves at `paths` (objects left empty by that are dropped too). */
export function withoutPaths(data: Record<string, unknown>, paths: ReadonlySet<string>, prefix = ''): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [f, v] of Object.entries(data)) {
		const path = prefix + f;
		if (paths.has(path)) continue;
		let value = v;
		if (plain(v) && Object.keys(v).length) {
			value = withoutPaths(v, paths, `${path}.`);
			if (!Object.keys(value as object).length) continue;
		}
		set(out, f, value);
	}
	return out;
}

/** The leaves at `paths` of `data`, nested as they are. */
export function pickPaths(data: Record<string, unknown>, paths: ReadonlySet<string>): Record<string, unknown> {
	const all = new Set(leafPaths(data));
	for (const p of paths) all.delete(p);
	return withoutPaths(data, all);
}

/**
 * A change of some fields, completed with what the store knows of the record: a nested object it
 * carries in part (`address: { city }`) gets the leaves it does not carry from the base, so that the
 * merge sees only the leaf that changed, not an address that lost its street.
 */
export function completed(data: Record<string, unknown>, base: Record<string, unknown> | null): Record<string, unknown> {
	if (!base) return data;
	let out: Record<string, unknown> | null = null;
	for (const [f, v] of Object.entries(data)) {
		const b = own(base, f) ? base[f] : undefined;
		if (!plain(v) || !plain(b)) continue;
		out ??= { ...data };
		set(out, f, deep(b, v));
	}
	return out ?? data;
}

function deep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = { ...base };
	for (const [f, v] of Object.entries(over)) {
		const b = own(base, f) ? base[f] : undefined;
		set(out, f, plain(v) && plain(b) ? deep(b, v) : v);
	}
	return out;
}
