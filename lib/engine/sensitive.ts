/**
 * Keyed digests of the Conflict Resolver's sensitive values. The values are never stored; what the store
 * keeps, per link (what that system holds) and per golden record (the latest value an edit brought), is
 * per field HMAC-SHA256(store secret, salt · entity · field · canonical JSON of the value), with a random
 * salt per record. So the Resolver can tell an edit of only a sensitive field from an echo of our own write,
 * and the store holds nothing a copy of its tables could be checked against without the store's secret
 * (store_meta `sensitive_digest_secret`, made by migration 7); equal values of two records give different
 * digests. Whoever holds the whole store, secret included, can still test guesses of a value one by one.
 * The same secret keys the Loop Guard's hashes of whole records (written hash, delivery marks: keyedHash
 * in hash.ts), which would otherwise let a sensitive value be guessed against the record's stored fields.
 */
import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { canonicalValue, secretKey } from './hash';
import type { CanonicalData, SensitiveDigest } from './store/types';

export type { SensitiveDigest } from './store/types';

export function newSecret(): string {
	return randomBytes(32).toString('hex');
}

export class SensitiveDigests {
	/** A key object (secretKey, shared with keyedHash): given as bytes, every HMAC would import the key again (most of its cost). */
	private readonly key: KeyObject;

	constructor(
		secret: string,
		private readonly entity: string,
	) {
		this.key = secretKey(secret);
	}

	private digest(salt: string, field: string, value: unknown): string {
		return createHmac('sha256', this.key)
			.update(`${salt}\u0000${this.entity}\u0000${field}\u0000${JSON.stringify(canonicalValue(value))}`)
			.digest('hex');
	}

	/** Whether a record known as `known` holds `value` in `field`; undefined when the field's value is not known. */
	holds(known: SensitiveDigest | null | undefined, field: string, value: unknown): boolean | undefined {
		const d = known && Object.hasOwn(known.fields, field) ? known.fields[field] : undefined;
		return d === undefined ? undefined : d === this.digest(known!.salt, field, value);
	}

	/** `known` with `values` taken (a new salt when nothing was known). */
	with(known: SensitiveDigest | null | undefined, values: CanonicalData): SensitiveDigest {
		const salt = known?.salt ?? randomBytes(16).toString('hex');
		const fields: Record<string, string> = { ...known?.fields };
		for (const [field, value] of Object.entries(values)) {
			if (value === undefined) continue;
			Object.defineProperty(fields, field, { value: this.digest(salt, field, value), enumerable: true, writable: true, configurable: true });
		}
		return { salt, fields };
	}
}
