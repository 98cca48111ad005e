/** A mapping that cannot be used, found when it compiles (before any item is mapped). */
export class MappingConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'MappingConfigError';
	}
}

/**
 * A value that breaks a rule, thrown by transforms and checks. Messages never quote values of sensitive
 * fields: those are removed before any transform or check sees the record.
 */
export class RuleError extends Error {
	constructor(
		readonly rule: string,
		message: string,
	) {
		super(message);
		this.name = 'RuleError';
	}
}

/** One invalid field of one record: what the "Invalid" output of the Mapper carries per record. */
export interface FieldError {
	entity: string;
	system: string;
	/** The record's id in `system`; null for a record not created there yet. */
	id: string | null;
	/** The field the rule is about: canonical name for canonical checks, system path otherwise. */
	field: string;
	rule: string;
	message: string;
}

/** A short, safe rendering of a value for messages. */
export function preview(value: unknown): string {
	if (value === undefined) return 'nothing';
	let text: string;
	try {
		text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
	} catch {
		text = String(value);
	}
	return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Runs `fn` and returns its value or what it threw. The engine cannot use n8n's error classes, and the
 * community-node lint wants any error thrown from a catch clause to be one of them; so callers decide
 * what to throw outside the catch, where the node shell wraps it.
 */
export function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
	try {
		return { ok: true, value: fn() };
	} catch (error) {
		return { ok: false, error };
	}
}
