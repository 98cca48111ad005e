import { NodeApiError, NodeOperationError, type IExecuteFunctions, type IHttpRequestOptions, type IN8nHttpFullResponse, type INodeExecutionData, type INodeProperties, type JsonObject } from 'n8n-workflow';
import { DEFAULT_RETRY, HttpApiError, readPath, type HttpSend, type RetryPolicy } from '../../../lib/connectors/http/client';
import type { SyncItem } from '../../../lib/item';
import { runIdOf } from '../../shared/run-id';

/** Request options shared by every operation. */
export const requestOptions: INodeProperties = {
	displayName: 'Request Options',
	name: 'requestOptions',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 32 },
			default: 4,
			description: 'Requests in flight at once for operations that send one request per record',
		},
		{
			displayName: 'Max Retry-After (Seconds)',
			name: 'maxRetryAfter',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 60,
			description: 'A 429 answer that asks to wait longer than this fails the request instead of stalling the run',
		},
		{
			displayName: 'Retries',
			name: 'retries',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 10 },
			default: 4,
			description: 'Attempts after the first for 5xx answers, 429 answers and network errors, with exponential backoff',
		},
		{
			displayName: 'Timeout (Ms)',
			name: 'timeout',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 30000,
			description:
				'Per request, for the whole answer (a server that sends a byte a second is stopped too); a request that takes longer is retried like a network error, except a create (POST), which may have been written',
		},
	],
};

/** What every operation reads once per execution (item 0). */
export interface HttpContext {
	entity: string;
	system: string;
	baseUrl: string;
	collection: string;
	idField: string;
	updatedAtField: string;
	actorField: string;
	deletedField: string;
	policy: RetryPolicy;
	concurrency: number;
	runId: string;
	send: HttpSend;
}

export async function httpContext(fn: IExecuteFunctions): Promise<HttpContext> {
	const text = (name: string, fallback = '') => String(fn.getNodeParameter(name, 0, fallback)).trim();
	const entity = text('entity');
	const system = text('system');
	if (!entity) throw new NodeOperationError(fn.getNode(), 'Parameter "Entity" is empty');
	if (!system) throw new NodeOperationError(fn.getNode(), 'Parameter "System" is empty');
	const credentials = await fn.getCredentials('dataSyncRestApi');
	const baseUrl = String(credentials.baseUrl ?? '').trim();
	if (!/^https?:\/\//i.test(baseUrl)) {
		throw new NodeOperationError(fn.getNode(), `The credential's Base URL must start with http:// or https://, got "${baseUrl}"`);
	}
	const options = fn.getNodeParameter('requestOptions', 0, {}) as { retries?: number; timeout?: number; maxRetryAfter?: number; concurrency?: number };
	const policy: RetryPolicy = {
		...DEFAULT_RETRY,
		retries: options.retries ?? DEFAULT_RETRY.retries,
		timeoutMs: options.timeout ?? DEFAULT_RETRY.timeoutMs,
		maxRetryAfterMs: (options.maxRetryAfter ?? DEFAULT_RETRY.maxRetryAfterMs / 1000) * 1000,
	};
	const send: HttpSend = async (request) => {
		const options: IHttpRequestOptions = {
			method: request.method,
			url: request.url,
			qs: request.qs,
			...(request.headers ? { headers: request.headers } : {}),
			body: request.body as IHttpRequestOptions['body'],
			json: true,
			timeout: request.timeoutMs,
			returnFullResponse: true,
			// Statuses are judged by sendWithRetry (retry 5xx, wait out 429); only a missing answer throws.
			ignoreHttpStatusErrors: true,
			// Redirects too: sendWithRetry follows only reads on the same host and port (the credential stays home).
			disableFollowRedirect: true,
			sendCredentialsOnCrossOriginRedirect: false,
			...(request.signal ? { abortSignal: request.signal } : {}),
		};
		const response = (await fn.helpers.httpRequestWithAuthentication.call(fn, 'dataSyncRestApi', options)) as IN8nHttpFullResponse;
		return { statusCode: response.statusCode, headers: response.headers, body: response.body };
	};
	return {
		entity,
		system,
		baseUrl,
		collection: text('collectionPath'),
		idField: text('idField', 'id') || 'id',
		updatedAtField: text('updatedAtField'),
		actorField: text('actorField'),
		deletedField: text('deletedField'),
		policy,
		concurrency: options.concurrency ?? 4,
		runId: runIdOf(fn),
		send,
	};
}

export function toIso(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return new Date(value < 1e11 ? value * 1000 : value).toISOString();
	if (typeof value === 'string' && value !== '' && !Number.isNaN(Date.parse(value))) {
		return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : new Date(value).toISOString();
	}
	return undefined;
}

/** One record of the API as a DataSync item of shape 'system'; null when it carries no id. */
export function recordToItem(record: unknown, ctx: HttpContext): SyncItem | null {
	if (typeof record !== 'object' || record === null || Array.isArray(record)) return null;
	const id = readPath(record, ctx.idField);
	if ((typeof id !== 'string' || id === '') && typeof id !== 'number') return null;
	const deleted = ctx.deletedField ? readPath(record, ctx.deletedField) : undefined;
	const item: SyncItem = {
		entity: ctx.entity,
		system: ctx.system,
		id: String(id),
		op: deleted !== undefined && deleted !== null && deleted !== false && deleted !== 0 && deleted !== '' ? 'delete' : 'upsert',
		shape: 'system',
		data: record as Record<string, unknown>,
		trace: { runId: ctx.runId, origin: ctx.system, hops: 0 },
	};
	const changedAt = ctx.updatedAtField ? toIso(readPath(record, ctx.updatedAtField)) : undefined;
	if (changedAt) item.changedAt = changedAt;
	const actor = ctx.actorField ? readPath(record, ctx.actorField) : undefined;
	if (actor !== undefined && actor !== null) item.actor = String(actor);
	return item;
}

/** A failed request as n8n's API error, naming the record. */
export function apiError(fn: IExecuteFunctions, error: unknown, itemIndex?: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof HttpApiError) {
		return new NodeApiError(fn.getNode(), { message: error.message, body: error.body ?? null } as JsonObject, {
			message: error.message,
			httpCode: error.status === undefined ? undefined : String(error.status),
			itemIndex,
		});
	}
	return new NodeOperationError(fn.getNode(), error as Error, { itemIndex });
}

export function asOutput(items: SyncItem[], pairedItem: number | number[] = 0): INodeExecutionData[] {
	return items.map((json) => ({
		json: json as unknown as INodeExecutionData['json'],
		pairedItem: Array.isArray(pairedItem) ? pairedItem.map((item) => ({ item })) : { item: pairedItem },
	}));
}
