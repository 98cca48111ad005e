/**
 * Signature schemes of the senders the DataSync Trigger accepts directly (docs/connectors.md, "Signature
 * schemes"): its own (`datasync`), Stripe, Shopify, GitHub, HubSpot v3, WooCommerce, Slack, and a custom
 * scheme set up in the node. One table: each scheme says which headers carry the signature and the
 * timestamp, how the signed bytes are built, which HMAC and encoding it uses, and which header (if any)
 * identifies a delivery. `verifySignedRequest` is the one verifier for all of them.
 *
 * Every comparison is of decoded digest bytes with `timingSafeEqual`. A request is refused when a header
 * is missing, the timestamp is outside the window (schemes with a timestamp), or no secret reproduces the
 * signature. What it accepts comes with the replay keys the caller records (ReplayGuard or the store):
 * a hash of the signed bytes (so the same signed request is taken once, whatever the spelling of its
 * signature header) and, for senders that name each delivery, the delivery id.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { signedContent } from './signature';

export const SIGNATURE_SCHEMES = ['datasync', 'stripe', 'shopify', 'github', 'hubspot', 'woocommerce', 'slack', 'custom'] as const;
export type SignatureSchemeName = (typeof SIGNATURE_SCHEMES)[number];

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type DigestEncoding = 'hex' | 'base64';

/** The custom scheme, as set in the node. */
export interface CustomSchemeSettings {
	algorithm: HmacAlgorithm;
	encoding: DigestEncoding;
	/** What is signed: the raw body; timestamp + separator + body; or a template. */
	content: 'body' | 'timestampBody' | 'template';
	/** Between the timestamp and the body (content `timestampBody`). */
	separator?: string;
	/** `{method}`, `{url}`, `{timestamp}` and `{body}` are replaced; `{{` / `}}` are literal braces. */
	template?: string;
	signatureHeader: string;
	/** Text before the digest in the signature header (e.g. `sha256=`), compared without case. */
	prefix?: string;
	/** Empty = the sender sends no timestamp (replays are then refused by the replay memory only). */
	timestampHeader?: string;
	timestampUnit?: 'seconds' | 'milliseconds';
	/** A header that names each delivery (optional), recorded as a second replay key. */
	deliveryIdHeader?: string;
}

/** One request as it reached n8n. Header names in lower case. */
export interface SignedRequest {
	method: string;
	/** The full URL the sender called, query string included (HubSpot v3 and `{url}` sign it). */
	url: string;
	headers: Record<string, string | undefined>;
	rawBody: Buffer;
	/** Milliseconds since the epoch (the receiver's clock). */
	now: number;
}

export interface SchemeOptions {
	secrets: string[];
	/** How far a timestamp may be from `now`, in seconds, either way (Stripe's tolerance, Slack, HubSpot…). */
	windowSeconds: number;
	/** The DataSync scheme's header names (the node's Signature Header / Timestamp Header options). */
	signatureHeader?: string;
	timestampHeader?: string;
	custom?: CustomSchemeSettings;
}

export type SchemeVerdict =
	| {
			ok: true;
			/** Keys that must not have been accepted before: the signed bytes' hash, then the delivery id if any. */
			replayKeys: string[];
			/** True when the sender signs a timestamp: the replay keys need to be kept for the window only. */
			timestamped: boolean;
	  }
	| { ok: false; reason: string };

/** What a scheme reads from the headers before any HMAC: the candidate digests and the signed timestamp. */
type Parsed = { digests: string[]; timestamp?: string } | { reason: string };

interface SchemeSpec {
	algorithm: HmacAlgorithm;
	encoding: DigestEncoding;
	/** The header that carries the signature (lower case), for messages and parsing. */
	signatureHeader: string;
	/** Present when the scheme signs a timestamp; the unit it is sent in. */
	timestamp?: { unit: 'seconds' | 'milliseconds' };
	parse(req: SignedRequest): Parsed;
	/** The exact bytes signed. */
	content(req: SignedRequest, timestamp: string | undefined): Buffer;
	deliveryIdHeader?: string;
}

const header = (req: SignedRequest, name: string): string | undefined => {
	const value = req.headers[name.toLowerCase()];
	return value === undefined ? undefined : String(value).trim();
};

/** A signature header that is one digest after an optional prefix (compared without case). */
function single(name: string, prefix = '', timestampHeader?: string): (req: SignedRequest) => Parsed {
	return (req) => {
		const value = header(req, name);
		if (!value) return { reason: `missing signature header (${name})` };
		const digest = prefix && value.toLowerCase().startsWith(prefix.toLowerCase()) ? value.slice(prefix.length) : value;
		if (!timestampHeader) return { digests: [digest] };
		const timestamp = header(req, timestampHeader);
		if (!timestamp) return { reason: `missing timestamp header (${timestampHeader})` };
		return { digests: [digest], timestamp };
	};
}

const concat = (...parts: Array<string | Buffer>): Buffer => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8'))));

/**
 * HubSpot v3 signs the request URI with these escapes decoded (HubSpot's "Validating requests": decode
 * the URL-encoded characters of this list, leave any other escape as it is).
 */
const HUBSPOT_DECODED: Record<string, string> = {
	'%3A': ':',
	'%2F': '/',
	'%3F': '?',
	'%40': '@',
	'%21': '!',
	'%24': '$',
	'%27': "'",
	'%28': '(',
	'%29': ')',
	'%2A': '*',
	'%2C': ',',
	'%3B': ';',
};

export function hubspotUri(url: string): string {
	return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => HUBSPOT_DECODED[m.toUpperCase()]);
}

/** Builds the signed bytes of a custom template, the body inserted as its exact bytes. */
function templateContent(template: string, req: SignedRequest, timestamp: string | undefined): Buffer {
	const parts: Array<string | Buffer> = [];
	const re = /\{\{|\}\}|\{(method|url|timestamp|body)\}/g;
	let last = 0;
	for (let m = re.exec(template); m; m = re.exec(template)) {
		parts.push(template.slice(last, m.index));
		if (m[0] === '{{') parts.push('{');
		else if (m[0] === '}}') parts.push('}');
		else if (m[1] === 'method') parts.push(req.method.toUpperCase());
		else if (m[1] === 'url') parts.push(req.url);
		else if (m[1] === 'timestamp') parts.push(timestamp ?? '');
		else parts.push(req.rawBody);
		last = m.index + m[0].length;
	}
	parts.push(template.slice(last));
	return concat(...parts);
}

/** The settings of a custom scheme checked once, with the reason naming the field. */
export function checkCustomScheme(custom: CustomSchemeSettings | undefined): string | undefined {
	if (!custom) return 'the custom scheme has no settings';
	if (!['sha1', 'sha256', 'sha512'].includes(custom.algorithm)) return `Custom Algorithm must be SHA-1, SHA-256 or SHA-512, got ${JSON.stringify(custom.algorithm)}`;
	if (!['hex', 'base64'].includes(custom.encoding)) return `Custom Encoding must be hex or base64, got ${JSON.stringify(custom.encoding)}`;
	if (!custom.signatureHeader?.trim()) return 'Custom Signature Header is empty';
	const usesTimestamp = custom.content === 'timestampBody' || (custom.content === 'template' && (custom.template ?? '').includes('{timestamp}'));
	if (usesTimestamp && !custom.timestampHeader?.trim()) return 'Custom Timestamp Header is empty, but the signed content holds the timestamp';
	if (custom.content === 'template' && !(custom.template ?? '').includes('{body}')) return 'Custom Template must hold {body}: a signature that does not cover the body proves nothing about it';
	if (!['body', 'timestampBody', 'template'].includes(custom.content)) return `Custom Signed Content is unknown: ${JSON.stringify(custom.content)}`;
	return undefined;
}

function customSpec(custom: CustomSchemeSettings): SchemeSpec {
	const timestampHeader = custom.timestampHeader?.trim() || undefined;
	return {
		algorithm: custom.algorithm,
		encoding: custom.encoding,
		signatureHeader: custom.signatureHeader.trim().toLowerCase(),
		timestamp: timestampHeader ? { unit: custom.timestampUnit ?? 'seconds' } : undefined,
		parse: single(custom.signatureHeader.trim(), custom.prefix ?? '', timestampHeader),
		content: (req, ts) => {
			if (custom.content === 'body') return req.rawBody;
			if (custom.content === 'timestampBody') return concat(ts ?? '', custom.separator ?? '', req.rawBody);
			return templateContent(custom.template ?? '', req, ts);
		},
		deliveryIdHeader: custom.deliveryIdHeader?.trim().toLowerCase() || undefined,
	};
}

/** The table: how each sender signs. Sources are in docs/connectors.md and in the unit tests. */
function spec(name: SignatureSchemeName, options: SchemeOptions): SchemeSpec {
	switch (name) {
		case 'datasync': {
			const sig = (options.signatureHeader || 'x-datasync-signature').toLowerCase();
			const ts = (options.timestampHeader || 'x-datasync-timestamp').toLowerCase();
			return {
				algorithm: 'sha256',
				encoding: 'hex',
				signatureHeader: sig,
				timestamp: { unit: 'seconds' },
				parse: (req) => {
					const p = single(sig, 'sha256=', ts)(req);
					// The DataSync scheme's messages stay as they were (senders and tests match on them).
					if ('reason' in p) return { reason: p.reason.replace(/ \(.*\)$/, '') };
					return p;
				},
				content: (req, t) => signedContent(t ?? '', req.rawBody),
			};
		}
		case 'stripe':
			// Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]; signed: `${t}.${body}`.
			return {
				algorithm: 'sha256',
				encoding: 'hex',
				signatureHeader: 'stripe-signature',
				timestamp: { unit: 'seconds' },
				parse: (req) => {
					const value = header(req, 'stripe-signature');
					if (!value) return { reason: 'missing signature header (Stripe-Signature)' };
					let timestamp: string | undefined;
					const digests: string[] = [];
					for (const part of value.split(',')) {
						const eq = part.indexOf('=');
						if (eq < 0) continue;
						const key = part.slice(0, eq).trim();
						const v = part.slice(eq + 1).trim();
						if (key === 't') timestamp = v;
						else if (key === 'v1') digests.push(v);
					}
					if (!timestamp) return { reason: 'Stripe-Signature has no timestamp (t=)' };
					if (digests.length === 0) return { reason: 'Stripe-Signature has no v1 signature' };
					return { digests, timestamp };
				},
				content: (req, t) => concat(`${t}.`, req.rawBody),
			};
		case 'shopify':
			return {
				algorithm: 'sha256',
				encoding: 'base64',
				signatureHeader: 'x-shopify-hmac-sha256',
				parse: single('x-shopify-hmac-sha256'),
				content: (req) => req.rawBody,
				deliveryIdHeader: 'x-shopify-webhook-id',
			};
		case 'github':
			return {
				algorithm: 'sha256',
				encoding: 'hex',
				signatureHeader: 'x-hub-signature-256',
				parse: (req) => {
					const p = single('x-hub-signature-256')(req);
					if ('reason' in p) return p;
					// GitHub always prefixes `sha256=` (its "Validating webhook deliveries").
					if (!/^sha256=/i.test(p.digests[0])) return { reason: 'X-Hub-Signature-256 must start with sha256=' };
					return { digests: [p.digests[0].slice(7)] };
				},
				content: (req) => req.rawBody,
				deliveryIdHeader: 'x-github-delivery',
			};
		case 'hubspot':
			// requestMethod + requestUri + requestBody + timestamp (milliseconds), base64.
			return {
				algorithm: 'sha256',
				encoding: 'base64',
				signatureHeader: 'x-hubspot-signature-v3',
				timestamp: { unit: 'milliseconds' },
				parse: single('x-hubspot-signature-v3', '', 'x-hubspot-request-timestamp'),
				content: (req, t) => concat(req.method.toUpperCase(), hubspotUri(req.url), req.rawBody, t ?? ''),
			};
		case 'woocommerce':
			return {
				algorithm: 'sha256',
				encoding: 'base64',
				signatureHeader: 'x-wc-webhook-signature',
				parse: single('x-wc-webhook-signature'),
				content: (req) => req.rawBody,
				deliveryIdHeader: 'x-wc-webhook-delivery-id',
			};
		case 'slack':
			// X-Slack-Signature: v0=<hex of HMAC-SHA256 over `v0:${timestamp}:${body}`>.
			return {
				algorithm: 'sha256',
				encoding: 'hex',
				signatureHeader: 'x-slack-signature',
				timestamp: { unit: 'seconds' },
				parse: (req) => {
					const p = single('x-slack-signature', '', 'x-slack-request-timestamp')(req);
					if ('reason' in p) return p;
					if (!p.digests[0].startsWith('v0=')) return { reason: 'X-Slack-Signature must start with v0=' };
					return { digests: [p.digests[0].slice(3)], timestamp: p.timestamp };
				},
				content: (req, t) => concat(`v0:${t}:`, req.rawBody),
			};
		case 'custom': {
			const problem = checkCustomScheme(options.custom);
			if (problem) throw new Error(problem);
			return customSpec(options.custom!);
		}
		default:
			throw new Error(`unknown signature scheme ${JSON.stringify(name)}; one of ${SIGNATURE_SCHEMES.join(', ')}`);
	}
}

const DIGEST_BYTES: Record<HmacAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

/** The digest bytes a header holds, or undefined when it is not a digest of that algorithm and encoding. */
function decodeDigest(text: string, encoding: DigestEncoding, algorithm: HmacAlgorithm): Buffer | undefined {
	const bytes = DIGEST_BYTES[algorithm];
	const value = text.trim();
	if (encoding === 'hex') return new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value) ? Buffer.from(value, 'hex') : undefined;
	if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
	const decoded = Buffer.from(value, 'base64');
	return decoded.length === bytes ? decoded : undefined;
}

/** The digest of `content` under `secret`, as the sender computes it (for tests and the docs' examples). */
export function hmac(algorithm: HmacAlgorithm, secret: string, content: Buffer | string, encoding: DigestEncoding): string {
	return createHmac(algorithm, secret).update(content).digest(encoding);
}

/** Checks one request under a scheme; the reason is safe to send back (it reveals no secret). */
export function verifySignedRequest(name: SignatureSchemeName, req: SignedRequest, options: SchemeOptions): SchemeVerdict {
	const scheme = spec(name, options);
	const parsed = scheme.parse(req);
	if ('reason' in parsed) return { ok: false, reason: parsed.reason };
	if (scheme.timestamp) {
		const ts = parsed.timestamp ?? '';
		// Seconds have at most 12 digits (the year 33658), milliseconds 15: a time in the wrong unit is named as such.
		const digits = scheme.timestamp.unit === 'milliseconds' ? 15 : 12;
		if (!new RegExp(`^\\d{1,${digits}}$`).test(ts)) return { ok: false, reason: `timestamp header must be Unix time in ${scheme.timestamp.unit}` };
		const at = scheme.timestamp.unit === 'milliseconds' ? Number(ts) : Number(ts) * 1000;
		if (Math.abs(req.now - at) > options.windowSeconds * 1000) return { ok: false, reason: 'timestamp outside the replay window' };
	}
	const digests = parsed.digests.map((d) => decodeDigest(d, scheme.encoding, scheme.algorithm)).filter((d): d is Buffer => d !== undefined);
	if (digests.length === 0) return { ok: false, reason: 'signature does not match' };
	const content = scheme.content(req, parsed.timestamp);
	for (const secret of options.secrets) {
		if (!secret) continue;
		const expected = createHmac(scheme.algorithm, secret).update(content).digest();
		// Every candidate is compared (Stripe may send several v1 signatures while rotating its secret).
		if (digests.some((given) => timingSafeEqual(expected, given))) {
			const replayKeys = [name === 'datasync' ? expected.toString('hex') : `${name}:${createHash('sha256').update(content).digest('hex')}`];
			const delivery = scheme.deliveryIdHeader ? header(req, scheme.deliveryIdHeader) : undefined;
			if (delivery) replayKeys.push(`${name}:delivery:${delivery.slice(0, 200)}`);
			return { ok: true, replayKeys, timestamped: scheme.timestamp !== undefined };
		}
	}
	return { ok: false, reason: 'signature does not match' };
}
