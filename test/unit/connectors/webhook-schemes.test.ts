/**
 * The DataSync Trigger's signature schemes (lib/connectors/webhook/schemes.ts), checked against each
 * sender's own published example where it publishes one, and otherwise against signatures this test
 * computes itself with node:crypto (never with the code under test). Every scheme also refuses a forged
 * signature, a changed body, a missing header, and (with a timestamp) a request outside the window;
 * replay keys are checked to be the same for the same request and different for another one.
 */
import { createHmac } from 'node:crypto';
import { hubspotUri, verifySignedRequest, type SchemeOptions, type SignatureSchemeName, type SignedRequest } from '../../../lib/connectors/webhook/schemes';
import { ReplayGuard, signWebhook } from '../../../lib/connectors/webhook/signature';

const h = (algorithm: string, secret: string, content: string | Buffer, encoding: 'hex' | 'base64') => createHmac(algorithm, secret).update(content).digest(encoding);

const request = (over: Partial<SignedRequest> & { body?: string }): SignedRequest => ({
	method: 'POST',
	url: 'https://hooks.example.com/webhook/datasync/x',
	headers: {},
	rawBody: Buffer.from(over.body ?? '{}', 'utf8'),
	now: Date.now(),
	...over,
});

const verify = (scheme: SignatureSchemeName, req: SignedRequest, options: Partial<SchemeOptions> = {}) =>
	verifySignedRequest(scheme, req, { secrets: ['not-this-one-0123456789', ''], windowSeconds: 300, ...options });

describe('published examples', () => {
	test('GitHub: "It\'s a Secret to Everybody" / "Hello, World!"', () => {
		// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries ("Testing the webhook payload validation")
		const secret = "It's a Secret to Everybody";
		const req = request({
			body: 'Hello, World!',
			headers: { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17', 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' },
		});
		expect(verify('github', req, { secrets: [secret] })).toEqual({
			ok: true,
			timestamped: false,
			replayKeys: [expect.stringMatching(/^github:[0-9a-f]{64}$/), 'github:delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958'],
		});
		expect(verify('github', req, { secrets: ['another-secret-0123456789'] })).toEqual({ ok: false, reason: 'signature does not match' });
		expect(verify('github', { ...req, rawBody: Buffer.from('Hello, World?') }, { secrets: [secret] })).toEqual({ ok: false, reason: 'signature does not match' });
	});

	test("Slack: the signing secret, timestamp, body and v0 signature of Slack's walk-through", () => {
		// https://api.slack.com/authentication/verifying-requests-from-slack (also docs.slack.dev, same values)
		const secret = '8f742231b10e8888abcd99yyyzzz85a5';
		const body =
			'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
		const headers = { 'x-slack-request-timestamp': '1531420618', 'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503' };
		const at = 1531420618 * 1000;
		expect(verify('slack', request({ body, headers, now: at + 60_000 }), { secrets: [secret] })).toMatchObject({ ok: true, timestamped: true });
		// Slack's own rule: older than five minutes is refused (the same signature, later).
		expect(verify('slack', request({ body, headers, now: at + 301_000 }), { secrets: [secret] })).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
		expect(verify('slack', request({ body: body.replace('foobar', 'foobaz'), headers, now: at }), { secrets: [secret] })).toEqual({ ok: false, reason: 'signature does not match' });
	});
});

// Senders that publish no example value with its secret: Stripe (its docs show a Stripe-Signature header but
// not the secret and payload behind it), Shopify, HubSpot v3 (HubSpot's worked examples are for v1/v2 only,
// plain SHA-256 without HMAC), WooCommerce. Their signatures are computed here from their documented rules.
const NOW = Date.parse('2026-12-01T10:00:00Z');
const SEC = String(NOW / 1000);

interface Case {
	scheme: SignatureSchemeName;
	secret: string;
	body: string;
	/** The headers the sender sends, signed by this test. */
	sign(secret: string, body: string, now: number): Record<string, string>;
	timestamped: boolean;
	/** The header whose absence is refused, and the reason. */
	required: Array<[string, string]>;
	url?: string;
	options?: Partial<SchemeOptions>;
	/** The second replay key: the delivery id the sender sends. */
	delivery?: string;
}

const CASES: Case[] = [
	{
		scheme: 'stripe',
		secret: 'whsec_test_0123456789abcdefghij',
		body: '{"id":"evt_1","object":"event","type":"customer.updated","data":{"object":{"id":"cus_1","email":"a@example.com"}}}',
		// https://docs.stripe.com/webhooks#verify-manually: signed_payload = `${t}.${body}`, HMAC-SHA256, hex, in v1.
		sign: (secret, body, now) => ({ 'stripe-signature': `t=${now / 1000},v1=${h('sha256', secret, `${now / 1000}.${body}`, 'hex')},v0=ignored` }),
		timestamped: true,
		required: [['stripe-signature', 'missing signature header (Stripe-Signature)']],
	},
	{
		scheme: 'shopify',
		secret: 'shpss_client_secret_0123456789',
		body: '{"id":706405506930370084,"email":"bob@example.com","updated_at":"2026-12-01T10:00:00-05:00"}',
		// https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook: base64 HMAC-SHA256 of the raw body.
		sign: (secret, body) => ({ 'x-shopify-hmac-sha256': h('sha256', secret, body, 'base64'), 'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' }),
		delivery: 'shopify:delivery:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
		timestamped: false,
		required: [['x-shopify-hmac-sha256', 'missing signature header (x-shopify-hmac-sha256)']],
	},
	{
		scheme: 'github',
		secret: 'github-webhook-secret-0123456789',
		body: '{"action":"edited","issue":{"id":1,"title":"x"}}',
		sign: (secret, body) => ({ 'x-hub-signature-256': `sha256=${h('sha256', secret, body, 'hex')}`, 'x-github-delivery': 'd-1' }),
		delivery: 'github:delivery:d-1',
		timestamped: false,
		required: [['x-hub-signature-256', 'missing signature header (x-hub-signature-256)']],
	},
	{
		scheme: 'hubspot',
		secret: 'hubspot-client-secret-0123456789',
		body: '[{"objectId":123,"subscriptionType":"contact.propertyChange","propertyName":"email","propertyValue":"a@example.com"}]',
		url: 'https://hooks.example.com/webhook/datasync/hubspot?portal=62515',
		// https://developers.hubspot.com/docs/api/webhooks/validating-requests (v3): method + URI + body + timestamp (ms), base64.
		sign: (secret, body, now) => ({
			'x-hubspot-request-timestamp': String(now),
			'x-hubspot-signature-v3': h('sha256', secret, `POSThttps://hooks.example.com/webhook/datasync/hubspot?portal=62515${body}${now}`, 'base64'),
		}),
		timestamped: true,
		required: [
			['x-hubspot-signature-v3', 'missing signature header (x-hubspot-signature-v3)'],
			['x-hubspot-request-timestamp', 'missing timestamp header (x-hubspot-request-timestamp)'],
		],
	},
	{
		scheme: 'woocommerce',
		secret: 'woocommerce-secret-0123456789',
		body: '{"id":42,"email":"c@example.com","date_modified_gmt":"2026-12-01T10:00:00"}',
		// WooCommerce (WC_Webhook::generate_signature): base64 of HMAC-SHA256 of the payload with the webhook's secret.
		sign: (secret, body) => ({ 'x-wc-webhook-signature': h('sha256', secret, body, 'base64'), 'x-wc-webhook-delivery-id': '7781' }),
		delivery: 'woocommerce:delivery:7781',
		timestamped: false,
		required: [['x-wc-webhook-signature', 'missing signature header (x-wc-webhook-signature)']],
	},
	{
		scheme: 'slack',
		secret: 'slack-signing-secret-0123456789ab',
		body: '{"type":"event_callback","event_id":"Ev1","event":{"type":"user_change","user":{"id":"U1"}}}',
		sign: (secret, body, now) => ({ 'x-slack-request-timestamp': String(now / 1000), 'x-slack-signature': `v0=${h('sha256', secret, `v0:${now / 1000}:${body}`, 'hex')}` }),
		timestamped: true,
		required: [
			['x-slack-signature', 'missing signature header (x-slack-signature)'],
			['x-slack-request-timestamp', 'missing timestamp header (x-slack-request-timestamp)'],
		],
	},
	{
		scheme: 'datasync',
		secret: 'datasync-secret-0123456789',
		body: '{"id":"7","op":"upsert","data":{}}',
		sign: (secret, body, now) => ({ 'x-datasync-timestamp': String(now / 1000), 'x-datasync-signature': `sha256=${h('sha256', secret, `${now / 1000}.${body}`, 'hex')}` }),
		timestamped: true,
		required: [
			['x-datasync-signature', 'missing signature header'],
			['x-datasync-timestamp', 'missing timestamp header'],
		],
	},
	{
		scheme: 'custom',
		secret: 'custom-secret-0123456789',
		body: '{"id":"c1"}',
		options: { custom: { algorithm: 'sha512', encoding: 'base64', content: 'timestampBody', separator: ':', signatureHeader: 'X-Sig', prefix: 'sha512=', timestampHeader: 'X-Time', timestampUnit: 'milliseconds', deliveryIdHeader: 'X-Id' } },
		sign: (secret, body, now) => ({ 'x-time': String(now), 'x-sig': `SHA512=${h('sha512', secret, `${now}:${body}`, 'base64')}`, 'x-id': 'custom-delivery-1' }),
		delivery: 'custom:delivery:custom-delivery-1',
		timestamped: true,
		required: [
			['x-sig', 'missing signature header (X-Sig)'],
			['x-time', 'missing timestamp header (X-Time)'],
		],
	},
	{
		scheme: 'custom',
		secret: 'custom-secret-0123456789',
		body: '{"id":"c2"}',
		url: 'https://hooks.example.com/webhook/custom',
		options: { custom: { algorithm: 'sha1', encoding: 'hex', content: 'template', template: '{method} {url}\n{timestamp}\n{body}{{end}}', signatureHeader: 'x-sig', timestampHeader: 'x-time' } },
		sign: (secret, body, now) => ({ 'x-time': String(now / 1000), 'x-sig': h('sha1', secret, `POST https://hooks.example.com/webhook/custom\n${now / 1000}\n${body}{end}`, 'hex') }),
		timestamped: true,
		required: [['x-sig', 'missing signature header (x-sig)']],
	},
	{
		scheme: 'custom',
		secret: 'custom-secret-0123456789',
		body: '{"id":"c3"}',
		options: { custom: { algorithm: 'sha256', encoding: 'hex', content: 'body', signatureHeader: 'x-sig', timestampHeader: '' } },
		sign: (secret, body) => ({ 'x-sig': h('sha256', secret, body, 'hex') }),
		timestamped: false,
		required: [['x-sig', 'missing signature header (x-sig)']],
	},
];

describe.each(CASES.map((c, i) => [`${c.scheme} #${i}`, c] as const))('%s', (_name, c) => {
	const req = (headers: Record<string, string>, body = c.body, now = NOW) => request({ body, headers, now, url: c.url ?? 'https://hooks.example.com/webhook/x' });
	const run = (r: SignedRequest, secrets = ['the-new-secret-0123456789', c.secret]) => verifySignedRequest(c.scheme, r, { secrets, windowSeconds: 300, ...c.options });

	test('accepts what the sender signs (by the previous secret too, while rotating)', () => {
		const verdict = run(req(c.sign(c.secret, c.body, NOW)));
		expect(verdict).toMatchObject({ ok: true, timestamped: c.timestamped });
		expect(verdict.ok && verdict.replayKeys).toEqual([expect.stringMatching(c.scheme === 'datasync' ? /^[0-9a-f]{64}$/ : new RegExp(`^${c.scheme}:[0-9a-f]{64}$`)), ...(c.delivery ? [c.delivery] : [])]);
		// The same request has the same replay keys; another body has another first key.
		expect(run(req(c.sign(c.secret, c.body, NOW)))).toEqual(verdict);
		const other = c.body.replace('}', ',"x":1}');
		const second = run(req(c.sign(c.secret, other, NOW), other));
		expect(second.ok && verdict.ok && second.replayKeys[0] !== verdict.replayKeys[0]).toBe(true);
	});

	test('refuses a forged signature, a changed body and missing headers', () => {
		expect(run(req(c.sign('a-forger-guessing-0123456789', c.body, NOW)))).toEqual({ ok: false, reason: 'signature does not match' });
		expect(run(req(c.sign(c.secret, c.body, NOW), c.body.replace('{', '{ ')))).toEqual({ ok: false, reason: 'signature does not match' });
		for (const [name, reason] of c.required) {
			const headers = { ...c.sign(c.secret, c.body, NOW) };
			delete headers[name];
			expect(run(req(headers))).toEqual({ ok: false, reason });
		}
		expect(run(req(c.sign(c.secret, c.body, NOW)), ['', ''])).toEqual({ ok: false, reason: 'signature does not match' });
	});

	test(c.timestamped ? 'refuses a request outside the window' : 'has no timestamp: the same request is accepted later (the replay memory refuses it)', () => {
		const later = run(req(c.sign(c.secret, c.body, NOW), c.body, NOW + 301_000));
		if (c.timestamped) expect(later).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
		else expect(later).toMatchObject({ ok: true });
	});
});

describe('scheme details', () => {
	const STRIPE = 'whsec_rotation_0123456789abcdef';
	const body = '{"id":"evt_2","type":"customer.updated","data":{"object":{"id":"cus_2"}}}';
	const v1 = (secret: string) => h('sha256', secret, `${SEC}.${body}`, 'hex');

	test('Stripe: any of several v1 signatures (Stripe rolling its secret), in any order; v0 is never used', () => {
		const header = `t=${SEC},v1=${v1('whsec_old_one_0123456789abcd')},v1=${v1(STRIPE)}`;
		expect(verify('stripe', request({ body, now: NOW, headers: { 'stripe-signature': header } }), { secrets: [STRIPE] })).toMatchObject({ ok: true });
		// Only a v0 entry: refused even though it is the right digest.
		expect(verify('stripe', request({ body, now: NOW, headers: { 'stripe-signature': `t=${SEC},v0=${v1(STRIPE)}` } }), { secrets: [STRIPE] })).toEqual({
			ok: false,
			reason: 'Stripe-Signature has no v1 signature',
		});
		expect(verify('stripe', request({ body, now: NOW, headers: { 'stripe-signature': `v1=${v1(STRIPE)}` } }), { secrets: [STRIPE] })).toEqual({
			ok: false,
			reason: 'Stripe-Signature has no timestamp (t=)',
		});
	});

	test('Stripe: the same event with only one of its v1 entries is still the same request (replay key of the signed bytes)', () => {
		const both = verify('stripe', request({ body, now: NOW, headers: { 'stripe-signature': `t=${SEC},v1=${v1('whsec_second_0123456789ab')},v1=${v1(STRIPE)}` } }), {
			secrets: [STRIPE, 'whsec_second_0123456789ab'],
		});
		const one = verify('stripe', request({ body, now: NOW, headers: { 'stripe-signature': `t=${SEC},v1=${v1(STRIPE)}` } }), { secrets: [STRIPE] });
		expect(both.ok && one.ok && both.replayKeys).toEqual(one.ok && one.replayKeys);
	});

	test('Stripe: the tolerance is the window option', () => {
		const headers = { 'stripe-signature': `t=${SEC},v1=${v1(STRIPE)}` };
		expect(verify('stripe', request({ body, now: NOW + 500_000, headers }), { secrets: [STRIPE] })).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
		expect(verify('stripe', request({ body, now: NOW + 500_000, headers }), { secrets: [STRIPE], windowSeconds: 600 })).toMatchObject({ ok: true });
	});

	test('HubSpot v3: the URL is part of what is signed (another URL, a proxy in front, is refused); its listed escapes are decoded', () => {
		const secret = 'hubspot-client-secret-0123456789';
		const ms = String(NOW);
		const signedUrl = "https://hooks.example.com/webhook/hs?email=a@b.c&x=(1)";
		const headers = { 'x-hubspot-request-timestamp': ms, 'x-hubspot-signature-v3': h('sha256', secret, `POST${signedUrl}${body}${ms}`, 'base64') };
		expect(verify('hubspot', request({ body, now: NOW, headers, url: 'https://hooks.example.com/webhook/hs?email=a%40b.c&x=%281%29' }), { secrets: [secret] })).toMatchObject({ ok: true });
		expect(verify('hubspot', request({ body, now: NOW, headers, url: 'http://127.0.0.1:5678/webhook/hs?email=a%40b.c&x=%281%29' }), { secrets: [secret] })).toEqual({
			ok: false,
			reason: 'signature does not match',
		});
		// The timestamp is in milliseconds: one in seconds is far outside the window.
		expect(verify('hubspot', request({ body, now: NOW, headers: { ...headers, 'x-hubspot-request-timestamp': SEC }, url: signedUrl }), { secrets: [secret] })).toEqual({
			ok: false,
			reason: 'timestamp outside the replay window',
		});
		expect(hubspotUri('https://x/a%3Fb%2Fc%20d%3a')).toBe('https://x/a?b/c%20d:');
	});

	test('GitHub and Slack insist on their prefixes; digests of the wrong length or alphabet are refused', () => {
		const secret = 'github-webhook-secret-0123456789';
		const digest = h('sha256', secret, body, 'hex');
		expect(verify('github', request({ body, headers: { 'x-hub-signature-256': digest } }), { secrets: [secret] })).toEqual({ ok: false, reason: 'X-Hub-Signature-256 must start with sha256=' });
		expect(verify('github', request({ body, headers: { 'x-hub-signature-256': `sha256=${digest.slice(2)}` } }), { secrets: [secret] })).toEqual({ ok: false, reason: 'signature does not match' });
		expect(verify('slack', request({ body, now: NOW, headers: { 'x-slack-request-timestamp': SEC, 'x-slack-signature': h('sha256', secret, `v0:${SEC}:${body}`, 'hex') } }), { secrets: [secret] })).toEqual({
			ok: false,
			reason: 'X-Slack-Signature must start with v0=',
		});
		expect(verify('shopify', request({ body, headers: { 'x-shopify-hmac-sha256': '!!!not-base64!!!' } }), { secrets: [secret] })).toEqual({ ok: false, reason: 'signature does not match' });
	});

	test("the DataSync scheme is today's signWebhook, with its header options and messages", () => {
		const secret = 'datasync-secret-0123456789';
		const headers = { 'x-time': SEC, 'x-sig': signWebhook(secret, SEC, body).toUpperCase() };
		const verdict = verify('datasync', request({ body, now: NOW, headers }), { secrets: [secret], signatureHeader: 'X-Sig', timestampHeader: 'X-Time' });
		// Its replay key is the signature, as before (keys already in the store keep working).
		expect(verdict).toEqual({ ok: true, timestamped: true, replayKeys: [signWebhook(secret, SEC, body)] });
		expect(verify('datasync', request({ body, now: NOW, headers: { 'x-datasync-signature': 'x', 'x-datasync-timestamp': '2026-12-01' } }), { secrets: [secret] })).toEqual({
			ok: false,
			reason: 'timestamp header must be Unix time in seconds',
		});
		// A timestamp in milliseconds (13 digits) is named as the wrong unit, as before the schemes existed.
		expect(verify('datasync', request({ body, now: NOW, headers: { 'x-datasync-signature': 'x', 'x-datasync-timestamp': String(NOW) } }), { secrets: [secret] })).toEqual({
			ok: false,
			reason: 'timestamp header must be Unix time in seconds',
		});
		expect(verify('slack', request({ body, now: NOW, headers: { 'x-slack-signature': 'v0=x', 'x-slack-request-timestamp': String(NOW) } }), { secrets: [secret] })).toEqual({
			ok: false,
			reason: 'timestamp header must be Unix time in seconds',
		});
	});

	test.each([
		[{ algorithm: 'md5' }, 'Custom Algorithm must be SHA-1, SHA-256 or SHA-512, got "md5"'],
		[{ encoding: 'base32' }, 'Custom Encoding must be hex or base64, got "base32"'],
		[{ signatureHeader: ' ' }, 'Custom Signature Header is empty'],
		[{ content: 'timestampBody', timestampHeader: '' }, 'Custom Timestamp Header is empty, but the signed content holds the timestamp'],
		[{ content: 'template', template: '{timestamp}' }, 'Custom Template must hold {body}: a signature that does not cover the body proves nothing about it'],
	])('a custom scheme set up wrongly is an error naming the field: %j', (over, message) => {
		const custom = { algorithm: 'sha256', encoding: 'hex', content: 'body', signatureHeader: 'x-sig', timestampHeader: 'x-time', ...over } as SchemeOptions['custom'];
		expect(() => verify('custom', request({}), { custom })).toThrow(message);
	});

	test('the in-process replay guard keeps a key until the time it is given', () => {
		const guard = new ReplayGuard();
		expect(guard.acceptUntil('github:delivery:1', NOW, NOW + 72 * 3_600_000)).toBe(true);
		expect(guard.acceptUntil('github:delivery:1', NOW + 71 * 3_600_000, NOW + 143 * 3_600_000)).toBe(false);
		expect(guard.acceptUntil('github:delivery:1', NOW + 73 * 3_600_000, NOW + 145 * 3_600_000)).toBe(true);
	});
});
