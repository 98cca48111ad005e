import {
	NodeConnectionTypes,
	NodeOperationError,
	type ICredentialsDecrypted,
	type IDataObject,
	type ICredentialTestFunctions,
	type INodeCredentialTestResult,
	type INodeParameters,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';
import { randomUUID } from 'node:crypto';
import { testStoreCredential, testWebhookCredential } from '../../lib/connectors/credential-tests';
import { checkContentType, DEFAULT_LIMITS, DEFAULT_UPSERT_VALUES, parseDelivery, PayloadError } from '../../lib/connectors/webhook/changes';
import { checkCustomScheme, verifySignedRequest, type CustomSchemeSettings, type SignatureSchemeName } from '../../lib/connectors/webhook/schemes';
import { ReplayGuard } from '../../lib/connectors/webhook/signature';
import { openStore, storeConfigFromCredentials, type Store } from '../../lib/engine';

/** Signatures accepted in this process within the replay window (see ReplayGuard). */
const replays = new ReplayGuard();

/**
 * How long the signing secrets read from a credential are reused by this process. Reading a credential
 * in a webhook costs n8n a database read, a decryption and (n8n 2.x) an expression isolate built while
 * the request waits: tens of milliseconds on a small machine, paid on every delivery otherwise. A secret
 * added to the credential works at once (a signature that matches no cached secret reads the credential
 * again); a secret removed from it is refused within this time.
 */
export const SECRET_CACHE_MS = 10_000;

const secretCache = new Map<string, { secrets: string[]; at: number }>();

/** The credential's current and previous secret, cached per credential (see SECRET_CACHE_MS). */
async function signingSecrets(ctx: IWebhookFunctions, now: number, reread: boolean): Promise<{ secrets: string[]; cached: boolean }> {
	const id = ctx.getNode().credentials?.dataSyncWebhookApi?.id;
	const hit = id ? secretCache.get(id) : undefined;
	if (!reread && hit && now - hit.at >= 0 && now - hit.at < SECRET_CACHE_MS) return { secrets: hit.secrets, cached: true };
	const credentials = await ctx.getCredentials('dataSyncWebhookApi');
	const secrets = [String(credentials.secret ?? ''), String(credentials.previousSecret ?? '')];
	if (id) secretCache.set(id, { secrets, at: now });
	return { secrets, cached: false };
}

const storeCache = new Map<string, { store: Promise<Store>; at: number }>();

/**
 * The sync store that keeps the signatures accepted (Replay Guard "In the Sync Store"): every webhook
 * process on that store refuses a replay, whichever process took the first request. The credential is
 * read again at most every SECRET_CACHE_MS, for the same reason as the secrets.
 */
async function replayStore(ctx: IWebhookFunctions, now: number): Promise<Store> {
	const id = ctx.getNode().credentials?.dataSyncStoreApi?.id ?? '';
	const hit = storeCache.get(id);
	if (hit && now - hit.at >= 0 && now - hit.at < SECRET_CACHE_MS) return await hit.store;
	const store = ctx.getCredentials('dataSyncStoreApi').then((credentials) => openStore(storeConfigFromCredentials(credentials)));
	storeCache.set(id, { store, at: now });
	// A store that could not be opened is tried again on the next request (the caller answers 503).
	store.catch(() => storeCache.delete(id));
	return await store;
}

/**
 * n8n (2.41 and later) resolves a webhook description field that carries a resolver under this key without
 * its expression engine, as its own Webhook node does (`fromParameter` in n8n-workflow); older versions
 * ignore the key and evaluate the expression. Either way the path is the node's Path parameter.
 */
const WEBHOOK_RESOLVERS = Symbol.for('n8n.webhookDescriptionResolvers');

/** The challenge of Slack's signed `url_verification` call (Events API set-up), or undefined. */
function slackChallenge(rawBody: Buffer): string | undefined {
	if (rawBody.length > 4096) return undefined;
	try {
		const body = JSON.parse(rawBody.toString('utf8')) as { type?: unknown; challenge?: unknown };
		return body?.type === 'url_verification' && typeof body.challenge === 'string' ? body.challenge : undefined;
	} catch {
		return undefined;
	}
}
const PATH_TEMPLATE = '={{$parameter["path"]}}';

interface TriggerOptions {
	signatureHeader?: string;
	timestampHeader?: string;
	replayWindow?: number;
	replayMemory?: number;
	publicUrl?: string;
	opHeader?: string;
	payloadHolds?: 'whole' | 'changed';
	maxBodySize?: number;
	maxChanges?: number;
}

/** Hours a replay key of a sender that signs no timestamp (Shopify, GitHub, WooCommerce…) is kept by default. */
export const DEFAULT_REPLAY_MEMORY_HOURS = 72;

const showCustom = { show: { signatureScheme: ['custom'] } };

/**
 * The real-time entry of a sync: a source system POSTs its changes here, signed with HMAC-SHA256 over
 * `${timestamp}.${rawBody}` (docs/connectors.md). Forged, unsigned, expired and replayed requests are
 * answered 401 and start no execution; a bad payload is answered 400 with the reason; a good one is
 * answered at once and its changes go on as DataSync items.
 */
// eslint-disable-next-line @n8n/community-nodes/webhook-lifecycle-complete -- a passive receiver like n8n's own Webhook node: the source system is pointed at this URL by its admin, there is no remote webhook to create, check or delete.
export class DataSyncTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Trigger',
		name: 'dataSyncTrigger',
		icon: { light: 'file:trigger.svg', dark: 'file:trigger.dark.svg' },
		group: ['trigger'],
		// 1.1 behaves as 1. It exists for n8n: for a webhook node of typeVersion 1, n8n evaluates an
		// expression on every request before the node runs (the old Webhook node's "binaryData" option).
		// In n8n 2.x that is an evaluation in an isolated-vm isolate (a few ms), and where isolates are built
		// only when needed (N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE) the only reason to build one per request.
		// 1.2: the replay guard is in the sync store by default (shared by every webhook process).
		version: [1, 1.1, 1.2],
		defaultVersion: 1.2,
		subtitle: '={{"POST /" + $parameter["path"]}}',
		description: 'Receive signed change notifications from a system, in real time',
		defaults: { name: 'DataSync Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'dataSyncWebhookApi', required: true, testedBy: 'dataSyncWebhookTest' },
			{ name: 'dataSyncStoreApi', required: true, testedBy: 'dataSyncStoreTest', displayOptions: { show: { replayGuard: ['store'] } } },
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				// Empty, so n8n answers with the webhookResponse below ({ received: n }); left out, n8n
				// would send its default text instead.
				responseData: '',
				path: PATH_TEMPLATE,
				isFullPath: true,
				[WEBHOOK_RESOLVERS]: { path: { template: PATH_TEMPLATE, resolve: (parameters: INodeParameters) => parameters.path } },
			},
		],
		properties: [
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'datasync/crm/contact',
				description: 'One path per system and entity; the source system POSTs its changes to {n8n webhook URL}/{path}',
			},
			{
				displayName: 'Entity',
				name: 'entity',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'contact',
			},
			{
				displayName: 'System',
				name: 'system',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'crm',
				description: 'The name of the sending system in the sync',
			},
			{
				displayName: 'Changes Path',
				name: 'changesPath',
				type: 'string',
				default: '',
				placeholder: 'events',
				description: 'Dotted path to the change or list of changes in the body; empty = the body is the change or the list',
			},
			{
				displayName: 'ID Field',
				name: 'idField',
				type: 'string',
				default: 'id',
				description: 'Field name or dotted path of the record ID in a change',
			},
			{
				displayName: 'Op Field',
				name: 'opField',
				type: 'string',
				default: 'op',
				description:
					'Field name or dotted path of the operation. A change whose op is missing or not in Upsert Values / Delete Values is refused (400). Empty = every change is an upsert.',
			},
			{
				displayName: 'Upsert Values',
				name: 'upsertValues',
				type: 'string',
				default: DEFAULT_UPSERT_VALUES.join(','),
				description: 'Comma-separated values of the op field that mean the record was created or changed',
			},
			{
				displayName: 'Delete Values',
				name: 'deleteValues',
				type: 'string',
				default: 'delete,deleted,remove,removed,destroy',
				description: 'Comma-separated values of the op field that mean the record was deleted',
			},
			{
				displayName: 'Changed-At Field',
				name: 'changedAtField',
				type: 'string',
				default: 'changedAt',
				description: 'Field name or dotted path of when the change was made (ISO 8601 or epoch); empty = none',
			},
			{
				displayName: 'Actor Field',
				name: 'actorField',
				type: 'string',
				default: 'actor',
				description: 'Field name or dotted path of who made the change; empty = none',
			},
			{
				displayName: 'Data Field',
				name: 'dataField',
				type: 'string',
				default: 'data',
				description: "Field name or dotted path of the record's fields in a change; empty = the whole change",
			},
			{
				displayName: 'Signature Scheme',
				name: 'signatureScheme',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Custom', value: 'custom', description: 'HMAC of your choice: algorithm, encoding, signed content and headers set below' },
					{ name: 'DataSync', value: 'datasync', description: 'Hex HMAC-SHA256 of `timestamp.body` in X-DataSync-Signature, timestamp in X-DataSync-Timestamp' },
					{ name: 'GitHub', value: 'github', description: 'X-Hub-Signature-256: sha256=<hex> of the body; deduplicated on X-GitHub-Delivery' },
					{ name: 'HubSpot (Signature v3)', value: 'hubspot', description: 'X-HubSpot-Signature-v3 (base64) over method + URL + body + X-HubSpot-Request-Timestamp' },
					{ name: 'Shopify', value: 'shopify', description: 'X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the body; deduplicated on X-Shopify-Webhook-Id' },
					{ name: 'Slack', value: 'slack', description: 'X-Slack-Signature: v0=<hex> over `v0:timestamp:body`; answers the URL verification challenge' },
					{ name: 'Stripe', value: 'stripe', description: 'Stripe-Signature: t=…,v1=… over `t.body`, hex; the Replay Window is the tolerance' },
					{ name: 'WooCommerce', value: 'woocommerce', description: 'X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body; deduplicated on X-WC-Webhook-Delivery-ID' },
				],
				default: 'datasync',
				description: "How the sender signs its requests. The credential's Secret is the sender's signing secret (Stripe's whsec_…, the app's client secret for Shopify and HubSpot, Slack's signing secret, the webhook secret for GitHub and WooCommerce).",
			},
			{
				displayName: 'Custom Algorithm',
				name: 'customAlgorithm',
				type: 'options',
				options: [
					{ name: 'HMAC-SHA1', value: 'sha1' },
					{ name: 'HMAC-SHA256', value: 'sha256' },
					{ name: 'HMAC-SHA512', value: 'sha512' },
				],
				default: 'sha256',
				displayOptions: showCustom,
			},
			{
				displayName: 'Custom Encoding',
				name: 'customEncoding',
				type: 'options',
				options: [
					{ name: 'Base64', value: 'base64' },
					{ name: 'Hex', value: 'hex' },
				],
				default: 'hex',
				displayOptions: showCustom,
			},
			{
				displayName: 'Custom Signed Content',
				name: 'customContent',
				type: 'options',
				options: [
					{ name: 'Body', value: 'body', description: 'The raw body only (no timestamp: replays are refused by the replay memory)' },
					{ name: 'Template', value: 'template', description: 'Custom Template, with {method}, {url}, {timestamp} and {body}' },
					{ name: 'Timestamp + Separator + Body', value: 'timestampBody' },
				],
				default: 'timestampBody',
				displayOptions: showCustom,
			},
			{
				displayName: 'Custom Separator',
				name: 'customSeparator',
				type: 'string',
				default: '.',
				displayOptions: { show: { signatureScheme: ['custom'], customContent: ['timestampBody'] } },
				description: 'Between the timestamp and the body',
			},
			{
				displayName: 'Custom Template',
				name: 'customTemplate',
				type: 'string',
				default: '{timestamp}.{body}',
				displayOptions: { show: { signatureScheme: ['custom'], customContent: ['template'] } },
				description: 'The signed text: {method}, {url} (the Public URL option), {timestamp} and {body} are replaced; {{ and }} are literal braces. Must hold {body}.',
			},
			{
				displayName: 'Custom Signature Header',
				name: 'customSignatureHeader',
				type: 'string',
				default: 'x-signature',
				displayOptions: showCustom,
			},
			{
				displayName: 'Custom Signature Prefix',
				name: 'customPrefix',
				type: 'string',
				default: '',
				placeholder: 'sha256=',
				displayOptions: showCustom,
				description: 'Text before the digest in the signature header, if any (compared without case)',
			},
			{
				displayName: 'Custom Timestamp Header',
				name: 'customTimestampHeader',
				type: 'string',
				default: 'x-timestamp',
				displayOptions: showCustom,
				description: 'Empty = the sender sends no timestamp. With one, requests outside the Replay Window are refused.',
			},
			{
				displayName: 'Custom Timestamp Unit',
				name: 'customTimestampUnit',
				type: 'options',
				options: [
					{ name: 'Milliseconds', value: 'milliseconds' },
					{ name: 'Seconds', value: 'seconds' },
				],
				default: 'seconds',
				displayOptions: showCustom,
			},
			{
				displayName: 'Custom Delivery ID Header',
				name: 'customDeliveryIdHeader',
				type: 'string',
				default: '',
				displayOptions: showCustom,
				description: 'A header that names each delivery, if the sender sends one: a delivery sent again is refused as a replay',
			},
			{
				displayName: 'Replay Guard',
				name: 'replayGuard',
				type: 'options',
				options: [
					{
						name: 'In the Sync Store',
						value: 'store',
						description: 'Every n8n process on the store refuses a replay (needed with several webhook processes, queue mode)',
					},
					{ name: 'In This n8n Process', value: 'process', description: 'Only the process that took the first request knows it' },
				],
				default: 'store',
				displayOptions: { show: { '@version': [{ _cnd: { gte: 1.2 } }] } },
				description: 'Where the signatures already accepted are kept, so that the same signed request sent again is refused',
			},
			{
				displayName: 'Replay Guard',
				name: 'replayGuard',
				type: 'options',
				options: [
					{ name: 'In the Sync Store', value: 'store' },
					{ name: 'In This n8n Process', value: 'process' },
				],
				default: 'process',
				displayOptions: { show: { '@version': [{ _cnd: { lt: 1.2 } }] } },
				description: 'Where the signatures already accepted are kept, so that the same signed request sent again is refused',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Max Body Size (MB)',
						name: 'maxBodySize',
						type: 'number',
						typeOptions: { minValue: 0.001, maxValue: 16, numberPrecision: 3 },
						default: DEFAULT_LIMITS.maxBytes / 1024 / 1024,
						description: "A larger body is refused with 413 (n8n's own limit, N8N_PAYLOAD_SIZE_MAX, is 16 MB by default)",
					},
					{
						displayName: 'Max Changes per Request',
						name: 'maxChanges',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: DEFAULT_LIMITS.maxChanges,
						description: 'A body with more changes is refused whole with 413, never cut',
					},
					{
						displayName: 'Payload Holds',
						name: 'payloadHolds',
						type: 'options',
						default: 'whole',
						options: [
							{ name: 'Whole Records', value: 'whole', description: 'Each change carries the record as it is now (Stripe, Shopify, WooCommerce, most apps)' },
							{
								name: 'Changed Fields Only',
								value: 'changed',
								description: 'Each change carries only the fields that changed (HubSpot property changes, many custom senders)',
							},
						],
						description:
							'Whether a change carries the whole record or only what changed. With Changed Fields Only, a record first seen through this trigger is not taken as read in full: the sync writes to it, and creates it in the other systems, only after the poll or a Refresh has read it whole, so no value it holds that no webhook carried is overwritten and no system gets a half record.',
					},
					{
						displayName: 'Op Header',
						name: 'opHeader',
						type: 'string',
						default: '',
						placeholder: 'x-shopify-topic',
						description:
							"A request header that holds the operation of every change in the request, for senders that say it in a header rather than the body (Shopify's X-Shopify-Topic, WooCommerce's X-WC-Webhook-Event, GitHub's X-GitHub-Event). Used instead of Op Field, with Upsert Values and Delete Values.",
					},
					{
						displayName: 'Public URL',
						name: 'publicUrl',
						type: 'string',
						default: '',
						placeholder: 'https://hooks.example.com/webhook/datasync/hubspot/contact',
						description:
							"HubSpot and Custom {url}: the full URL of this trigger as the sender calls it (behind a proxy, the proxy's URL). Empty = n8n's webhook URL for this trigger (WEBHOOK_URL). The request's query string is added.",
					},
					{
						displayName: 'Replay Memory (Hours)',
						name: 'replayMemory',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: DEFAULT_REPLAY_MEMORY_HOURS,
						description: 'Senders that sign no timestamp (Shopify, GitHub, WooCommerce, Custom without one): how long an accepted request is remembered, so that it is refused if sent again',
					},
					{
						displayName: 'Replay Window (Seconds)',
						name: 'replayWindow',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 300,
						description: "How far the timestamp may be from the clock of n8n (Stripe's tolerance; Slack, HubSpot, DataSync, Custom with a timestamp); older (or replayed) requests are refused",
					},
					{
						displayName: 'Signature Header',
						name: 'signatureHeader',
						type: 'string',
						default: 'x-datasync-signature',
						description: 'DataSync scheme only',
					},
					{
						displayName: 'Timestamp Header',
						name: 'timestampHeader',
						type: 'string',
						default: 'x-datasync-timestamp',
						description: 'DataSync scheme only',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			async dataSyncWebhookTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				return testWebhookCredential(credential.data);
			},
			async dataSyncStoreTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				return await testStoreCredential(credential.data);
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		// Writing the answer here and returning noWebhookResponse without workflowData is n8n's way to
		// refuse a call: no execution starts (the same as the Webhook node's auth failures).
		const refuse = (status: 400 | 401 | 413 | 415 | 500 | 503, reason: string): IWebhookResponseData => {
			res.status(status).json({ error: reason });
			return { noWebhookResponse: true };
		};
		const options = this.getNodeParameter('options', {}) as TriggerOptions;
		const windowSeconds = options.replayWindow ?? 300;
		const limits = {
			maxBytes: Math.round((options.maxBodySize ?? DEFAULT_LIMITS.maxBytes / 1024 / 1024) * 1024 * 1024),
			maxChanges: options.maxChanges ?? DEFAULT_LIMITS.maxChanges,
		};
		const headers = this.getHeaderData();
		const header = (name: string | undefined, fallback: string): string | undefined => {
			const value = headers[(name || fallback).toLowerCase()];
			return Array.isArray(value) ? value[0] : value;
		};
		// Not JSON is refused before the body is read (n8n has parsed a form or XML body already).
		try {
			checkContentType(header('content-type', 'content-type'));
		} catch (error) {
			if (error instanceof PayloadError) return refuse(error.status, error.message);
			throw new NodeOperationError(this.getNode(), error as Error);
		}
		// The signature covers the exact bytes sent, so the parsed body cannot be used to check it. n8n
		// reads them (and undoes gzip / deflate) for the content types it parses; for others it is read here.
		if (!req.rawBody && typeof req.readRawBody === 'function') {
			try {
				await req.readRawBody();
			} catch (error) {
				const e = error as { status?: number; message?: string };
				if (e.status === 413) return refuse(413, `the body is larger than n8n accepts (N8N_PAYLOAD_SIZE_MAX)`);
				return refuse(400, `the body could not be read: ${String(e.message ?? error).slice(0, 120)}`);
			}
		}
		const rawBody = Buffer.isBuffer(req.rawBody) ? req.rawBody : Buffer.from(typeof req.rawBody === 'string' ? req.rawBody : '', 'utf8');
		// Too large is refused before any work on the bytes.
		if (rawBody.length > limits.maxBytes) {
			return refuse(413, `the body is ${rawBody.length} bytes, more than the limit of ${limits.maxBytes} (the trigger's Max Body Size option)`);
		}

		const now = Date.now();
		const scheme = this.getNodeParameter('signatureScheme', 'datasync') as SignatureSchemeName;
		let custom: CustomSchemeSettings | undefined;
		if (scheme === 'custom') {
			custom = {
				algorithm: this.getNodeParameter('customAlgorithm', 'sha256') as CustomSchemeSettings['algorithm'],
				encoding: this.getNodeParameter('customEncoding', 'hex') as CustomSchemeSettings['encoding'],
				content: this.getNodeParameter('customContent', 'timestampBody') as CustomSchemeSettings['content'],
				separator: String(this.getNodeParameter('customSeparator', '.')),
				template: String(this.getNodeParameter('customTemplate', '{timestamp}.{body}')),
				signatureHeader: String(this.getNodeParameter('customSignatureHeader', 'x-signature')),
				prefix: String(this.getNodeParameter('customPrefix', '')),
				timestampHeader: String(this.getNodeParameter('customTimestampHeader', 'x-timestamp')),
				timestampUnit: this.getNodeParameter('customTimestampUnit', 'seconds') as CustomSchemeSettings['timestampUnit'],
				deliveryIdHeader: String(this.getNodeParameter('customDeliveryIdHeader', '')),
			};
			// A trigger set up wrongly answers 500 with the field to fix: the sender retries once it is fixed.
			const problem = checkCustomScheme(custom);
			if (problem) return refuse(500, `the trigger's custom signature scheme is not usable: ${problem}`);
		}
		// Only HubSpot and a custom {url} sign the URL; n8n's own URL is worked out only for them.
		const signsUrl = scheme === 'hubspot' || (scheme === 'custom' && custom!.content === 'template' && custom!.template!.includes('{url}'));
		let url = '';
		if (signsUrl) {
			const requestUrl = String(req.originalUrl ?? req.url ?? '');
			const query = requestUrl.includes('?') ? requestUrl.slice(requestUrl.indexOf('?')) : '';
			url = (options.publicUrl?.trim() || this.getNodeWebhookUrl('default') || '') + query;
		}
		const lowerHeaders: Record<string, string | undefined> = {};
		for (const [name, value] of Object.entries(headers)) lowerHeaders[name.toLowerCase()] = Array.isArray(value) ? value[0] : (value as string | undefined);
		const verify = (secrets: string[]) =>
			verifySignedRequest(
				scheme,
				{ method: String(req.method ?? 'POST'), url, headers: lowerHeaders, rawBody, now },
				{ secrets, windowSeconds, signatureHeader: options.signatureHeader, timestampHeader: options.timestampHeader, custom },
			);
		const known = await signingSecrets(this, now, false);
		let verdict = verify(known.secrets);
		// A secret set since the credential was last read: read it again before refusing.
		if (!verdict.ok && known.cached && verdict.reason === 'signature does not match') verdict = verify((await signingSecrets(this, now, true)).secrets);
		if (!verdict.ok) return refuse(401, verdict.reason);

		// Signed set-up calls that carry no change: answered, no execution.
		if (scheme === 'slack') {
			const challenge = slackChallenge(rawBody);
			if (challenge !== undefined) {
				res.status(200).json({ challenge });
				return { noWebhookResponse: true };
			}
		}
		if (scheme === 'github' && header('x-github-event', 'x-github-event') === 'ping') {
			res.status(200).json({ received: 0, ping: true });
			return { noWebhookResponse: true };
		}

		const text = (name: string, fallback = '') => String(this.getNodeParameter(name, fallback)).trim();
		const list = (name: string, fallback: string) => text(name, fallback).split(',');
		let items;
		try {
			items = parseDelivery(
				rawBody,
				{ contentType: header('content-type', 'content-type') },
				{
					changesPath: text('changesPath'),
					id: text('idField', 'id') || 'id',
					op: text('opField'),
					changedAt: text('changedAtField'),
					actor: text('actorField'),
					data: text('dataField'),
					deleteValues: list('deleteValues', 'delete,deleted,remove,removed,destroy'),
					upsertValues: list('upsertValues', DEFAULT_UPSERT_VALUES.join(',')),
					...(options.opHeader?.trim() ? { opHeader: options.opHeader.trim().toLowerCase(), opValue: header(options.opHeader.trim(), '') } : {}),
				},
				// The execution does not exist yet when the webhook answers: the delivery gets its own run id.
				{ entity: text('entity'), system: text('system'), runId: `delivery-${randomUUID()}`, partial: options.payloadHolds === 'changed' },
				limits,
			);
		} catch (error) {
			if (error instanceof PayloadError) return refuse(error.status, error.message);
			throw new NodeOperationError(this.getNode(), error as Error);
		}

		// Last gate: a good request is accepted once. With a signed timestamp its keys are kept for twice the
		// window, as a timestamp may lie up to one window in the future; without one (Shopify, GitHub,
		// WooCommerce…) for the Replay Memory. Every key must be new: the signed bytes' hash, and the delivery
		// id where the sender sends one (a delivery sent again, even re-serialised).
		const until = verdict.timestamped ? now + 2 * windowSeconds * 1000 : now + (options.replayMemory ?? DEFAULT_REPLAY_MEMORY_HOURS) * 3_600_000;
		const guard = this.getNodeParameter('replayGuard', this.getNode().typeVersion >= 1.2 ? 'store' : 'process') as string;
		if (guard === 'store') {
			let accepted = true;
			try {
				const store = await replayStore(this, now);
				for (const key of verdict.replayKeys) if (!(await store.acceptSignature(key, new Date(until).toISOString()))) accepted = false;
			} catch (error) {
				// Nothing was taken: the sender sends again later (a 5xx is what senders retry).
				return refuse(503, `the sync store cannot be reached to check for a replay; nothing was taken, send it again (${String((error as Error).message).slice(0, 120)})`);
			}
			if (!accepted) return refuse(401, 'request already received (replay)');
		} else {
			let accepted = true;
			for (const key of verdict.replayKeys) if (!replays.acceptUntil(key, now, until)) accepted = false;
			if (!accepted) return refuse(401, 'request already received (replay)');
		}

		return {
			webhookResponse: { received: items.length },
			workflowData: [items.map((json) => ({ json: json as unknown as IDataObject }))],
		};
	}
}
