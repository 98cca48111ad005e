/**
 * Signed change notifications (docs/connectors.md, "Signed webhooks").
 *
 * The sender computes  hex( HMAC-SHA256( secret, `${timestamp}.${rawBody}` ) )  where `timestamp` is the
 * Unix time in whole seconds (the same text it sends in the timestamp header) and `rawBody` is the exact
 * bytes of the request body. It sends the hex digest in the signature header, optionally as `sha256=<hex>`.
 * The receiver refuses a request whose headers are missing, whose timestamp is outside the replay window,
 * whose signature matches no secret, or whose signature it has already accepted (a replay).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The exact bytes that are signed. */
export function signedContent(timestamp: string, rawBody: Buffer | string): Buffer {
	return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8')]);
}

/** The hex signature of a body at a timestamp (what a sender puts in the signature header). */
export function signWebhook(secret: string, timestamp: string | number, rawBody: Buffer | string): string {
	return createHmac('sha256', secret).update(signedContent(String(timestamp), rawBody)).digest('hex');
}

export interface VerifyInput {
	/** The current secret first; a previous one while rotating. Empty entries are ignored. */
	secrets: string[];
	timestamp: string | undefined;
	signature: string | undefined;
	rawBody: Buffer;
	/** Milliseconds since the epoch (the receiver's clock). */
	now: number;
	/** How far the timestamp may be from `now`, in seconds, either way. */
	windowSeconds: number;
}

export type VerifyResult = { ok: true; signature: string } | { ok: false; reason: string };

/** Checks the headers of one request; the reason is safe to send back (it reveals no secret). */
export function verifyWebhook(input: VerifyInput): VerifyResult {
	if (!input.signature) return { ok: false, reason: 'missing signature header' };
	if (!input.timestamp) return { ok: false, reason: 'missing timestamp header' };
	if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'timestamp header must be Unix time in seconds' };
	const age = Math.abs(input.now / 1000 - Number(input.timestamp));
	if (age > input.windowSeconds) return { ok: false, reason: 'timestamp outside the replay window' };
	const given = input.signature.trim().replace(/^sha256=/i, '').toLowerCase();
	if (!/^[0-9a-f]{64}$/.test(given)) return { ok: false, reason: 'signature does not match' };
	const givenBytes = Buffer.from(given, 'hex');
	for (const secret of input.secrets) {
		if (!secret) continue;
		const expected = Buffer.from(signWebhook(secret, input.timestamp, input.rawBody), 'hex');
		if (timingSafeEqual(expected, givenBytes)) return { ok: true, signature: given };
	}
	return { ok: false, reason: 'signature does not match' };
}

/**
 * Signatures accepted within the replay window, so the same signed request sent twice is refused. It lives
 * in the process: several webhook processes (queue mode) each keep their own, and the Loop Guard's
 * duplicate-delivery window covers what passes between them.
 */
export class ReplayGuard {
	private readonly seen = new Map<string, number>();

	constructor(private readonly maxEntries = 100_000) {}

	/** Records the signature; false when it was already seen and has not expired. */
	accept(signature: string, now: number, windowSeconds: number): boolean {
		// Kept for twice the window: a timestamp may lie up to one window in the future.
		return this.acceptUntil(signature, now, now + 2 * windowSeconds * 1000);
	}

	/** Records a replay key until `until` (epoch ms); false when it was already seen and has not expired. */
	acceptUntil(key: string, now: number, until: number): boolean {
		const known = this.seen.get(key);
		if (known !== undefined && known > now) return false;
		if (this.seen.size >= this.maxEntries) this.prune(now);
		this.seen.set(key, until);
		return true;
	}

	private prune(now: number): void {
		for (const [key, until] of this.seen) if (until <= now) this.seen.delete(key);
		// Still full of live entries (a flood): drop the oldest half rather than grow without bound.
		if (this.seen.size >= this.maxEntries) {
			let drop = Math.floor(this.seen.size / 2);
			for (const key of this.seen.keys()) {
				if (drop-- <= 0) break;
				this.seen.delete(key);
			}
		}
	}
}
