/**
 * The REST connector as plain code: retries with backoff, 429 Retry-After, a timeout per request, and the
 * pagination styles REST APIs use (cursor token, page number, offset, Link header). The node hands in
 * `send`, which goes through n8n's `httpRequestWithAuthentication`; tests hand in a plain HTTP client.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
	method: HttpMethod;
	/** Absolute URL. */
	url: string;
	qs?: Record<string, string | number>;
	body?: unknown;
	/** Extra request headers (e.g. If-Match). */
	headers?: Record<string, string>;
	/** For the whole answer, headers and body: a server that drips a byte a second is stopped by it. */
	timeoutMs: number;
	/** Set by sendWithRetry for each attempt: aborted when the attempt's time is up. */
	signal?: AbortSignal;
}

export interface HttpResponse {
	statusCode: number;
	headers: Record<string, unknown>;
	body: unknown;
}

/**
 * Sends one request; answers every HTTP status, throws only when no answer came (network, timeout). It
 * must not follow redirects itself: sendWithRetry decides which to follow (see followRedirect).
 */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>;

export interface RetryPolicy {
	/** Attempts after the first one, for 5xx, 429 and network errors. */
	retries: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** A Retry-After longer than this fails the request instead of stalling the execution. */
	maxRetryAfterMs: number;
	timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 500, maxDelayMs: 15_000, maxRetryAfterMs: 60_000, timeoutMs: 30_000 };

/** A request that failed for good; the message names the record and the request. */
export class HttpApiError extends Error {
	constructor(
		message: string,
		readonly status: number | undefined,
		readonly body: unknown,
		readonly attempts: number,
	) {
		super(message);
		this.name = 'HttpApiError';
	}
}

export type Sleep = (ms: number) => Promise<void>;

/** Error codes of a request that got no answer and may get one if tried again. */
const NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ECONNABORTED',
	'ETIMEDOUT',
	'EPIPE',
	'EAI_AGAIN',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'ERR_NETWORK',
	'ERR_SOCKET_CONNECTION_TIMEOUT',
	'UND_ERR_SOCKET',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Whether a thrown error is a network failure or a timeout (worth retrying), looking through the causes:
 * n8n wraps the HTTP client's error in a NodeApiError whose cause carries the code. Anything else (a
 * missing credential, a malformed URL) fails at once instead of being retried.
 */
export function isNetworkError(error: unknown): boolean {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
		const e = current as { code?: unknown; name?: unknown; cause?: unknown };
		if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
		if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
		current = e.cause;
	}
	return false;
}

/** Error codes of a request that never reached the server: sending it again cannot write anything twice. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether a thrown error says the connection was never made (looking through the causes, as isNetworkError). */
export function neverSent(error: unknown): boolean {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
		const e = current as { code?: unknown; cause?: unknown };
		if (typeof e.code === 'string' && NOT_SENT_CODES.has(e.code)) return true;
		current = e.cause;
	}
	return false;
}

/** An attempt that got no whole answer within its time. */
export class RequestTimeoutError extends Error {
	constructor(readonly timeoutMs: number) {
		super(`timed out after ${timeoutMs} ms`);
		this.name = 'TimeoutError';
	}
}

/**
 * One attempt with a deadline over the whole answer. The HTTP client's own timeout is an idle timeout of
 * the socket, which a server that sends a byte a second never reaches; here the attempt is aborted (the
 * connection closed) when its time is up, whatever the server is doing.
 */
async function sendWithin(send: HttpSend, request: HttpRequest): Promise<HttpResponse> {
	const controller = new AbortController();
	let timer: NodeJS.Timeout | undefined;
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			// Settled before the abort, so the race reports the timeout, not the abort it causes.
			reject(new RequestTimeoutError(request.timeoutMs));
			controller.abort();
		}, request.timeoutMs);
	});
	const attempt = send({ ...request, signal: controller.signal });
	// The attempt rejects once aborted, after the race is decided: that rejection is expected.
	attempt.catch(() => undefined);
	try {
		return await Promise.race([attempt, expired]);
	} finally {
		clearTimeout(timer);
	}
}

/** At most this many redirects are followed for one request. */
export const MAX_REDIRECTS = 5;

/**
 * Where a 3xx answer may be followed to, or why not. Only reads (GET) follow, and only on the same
 * scheme, host and port: the credential is added to every request, so a redirect (or a hostile API) to
 * another host would receive it; a write is never redirected, since 301/302/303 turn it into a GET
 * without its body and the API's answer about the write would be lost.
 */
function followRedirect(request: HttpRequest, response: HttpResponse, label: string, hops: number): string {
	const location = header(response.headers, 'location');
	const status = response.statusCode;
	if (!location) throw new HttpApiError(`${label} answered ${status} without a Location to follow`, status, response.body, 1);
	let target: URL;
	try {
		target = new URL(location, request.url);
	} catch {
		throw new HttpApiError(`${label} answered ${status} with a Location that is no URL: ${location.slice(0, 200)}`, status, response.body, 1);
	}
	const where = `${label} answered ${status} (redirect to ${target.toString()})`;
	if (request.method !== 'GET') {
		throw new HttpApiError(`${where}: a write is never redirected (its method or body could change); use the final address in the credential's Base URL or the path`, status, response.body, 1);
	}
	if (target.origin !== new URL(request.url).origin) {
		throw new HttpApiError(`${where}: redirects to another host or port are not followed (the credential would go with them); use the final address in the credential's Base URL`, status, response.body, 1);
	}
	if (hops >= MAX_REDIRECTS) throw new HttpApiError(`${where}: more than ${MAX_REDIRECTS} redirects`, status, response.body, 1);
	return target.toString();
}

const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function header(headers: Record<string, unknown>, name: string): string | undefined {
	const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
	const value = key === undefined ? undefined : headers[key];
	return Array.isArray(value) ? String(value[0]) : value === undefined || value === null ? undefined : String(value);
}

/** Retry-After in milliseconds: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Record<string, unknown>, now = Date.now()): number | undefined {
	const value = header(headers, 'retry-after');
	if (value === undefined) return undefined;
	if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
	const at = Date.parse(value);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeBody(body: unknown): string {
	if (body === undefined || body === null || body === '') return '';
	const text = typeof body === 'string' ? body : JSON.stringify(body);
	return `: ${text.slice(0, 300)}`;
}

/**
 * Sends `request`, retrying 5xx answers and network errors with exponential backoff (with jitter, so
 * many workers do not retry in step) and waiting out 429 Retry-After. `what` names the record in errors.
 */
export async function sendWithRetry(
	send: HttpSend,
	request: HttpRequest,
	policy: RetryPolicy,
	what: string,
	sleep: Sleep = realSleep,
): Promise<HttpResponse> {
	const label = `${what}: ${request.method} ${request.url}`;
	// A POST (a create) that may have reached the API is never sent again: it could create the record twice.
	// It is sent again only when the API says it did not handle it (429, 503: RFC 9110) or no connection was made.
	const unsafe = request.method === 'POST';
	const notAgain = '; not sent again, since the API may have written it already';
	let current = request;
	let hops = 0;
	for (let attempt = 0; ; attempt++) {
		const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
		// No answer at all (network error, timeout) is retried like a 5xx; other errors are not.
		const answer = await sendWithin(send, current).then(
			(response) => ({ response }),
			(error: unknown) => ({ error: error as Error }),
		);
		if ('error' in answer) {
			if (!isNetworkError(answer.error)) {
				throw new HttpApiError(`${label} failed: ${answer.error.message}`, undefined, undefined, attempt + 1);
			}
			if (unsafe && !neverSent(answer.error)) {
				throw new HttpApiError(`${label} failed: ${answer.error.message}${notAgain}`, undefined, undefined, attempt + 1);
			}
			if (attempt >= policy.retries) {
				throw new HttpApiError(`${label} failed after ${attempt + 1} attempts: ${answer.error.message}`, undefined, undefined, attempt + 1);
			}
			await sleep(backoff);
			continue;
		}
		const response = answer.response;
		const status = response.statusCode;
		if (status >= 300 && status < 400) {
			// Following a redirect is not an attempt: the same attempt goes on at the new address.
			current = { ...current, url: followRedirect(current, response, `${what}: ${current.method} ${current.url}`, hops++), qs: undefined };
			attempt--;
			continue;
		}
		if (status < 400) return response;
		const retryable = status === 429 || status === 503 || (status >= 500 && !unsafe);
		if (!retryable || attempt >= policy.retries) {
			const tries = attempt > 0 ? ` after ${attempt + 1} attempts` : '';
			const why = status >= 500 && status !== 503 && unsafe ? notAgain : '';
			throw new HttpApiError(`${label} answered ${status}${tries}${why}${describeBody(response.body)}`, status, response.body, attempt + 1);
		}
		let wait = backoff;
		if (status === 429) {
			const after = retryAfterMs(response.headers);
			if (after !== undefined) {
				if (after > policy.maxRetryAfterMs) {
					throw new HttpApiError(
						`${label} answered 429 and asks to wait ${Math.ceil(after / 1000)} s, more than the ${Math.ceil(policy.maxRetryAfterMs / 1000)} s allowed`,
						status,
						response.body,
						attempt + 1,
					);
				}
				wait = after;
			}
		}
		await sleep(wait);
	}
}

/** Joins a base URL and a path; an absolute URL (a Link header's next page) is kept as it is. */
export function resolveUrl(base: string, path: string): string {
	if (/^https?:\/\//i.test(path)) return path;
	return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/**
 * Why an id cannot be the last segment of a record's URL, or undefined. Everything else is escaped, but
 * '.' and '..' (also escaped as %2E) are dot segments that URL parsers remove: a DELETE of record '..'
 * would go to the collection's parent.
 */
export function idPathProblem(id: string): string | undefined {
	if (id === '') return 'the id is empty';
	if (id === '.' || id === '..') return `the id ${JSON.stringify(id)} cannot be sent in a URL path (it would address the collection or its parent)`;
	return undefined;
}

/** The URL of one record: the collection path and the id, escaped. */
export function recordUrl(base: string, collection: string, id: string): string {
	const problem = idPathProblem(id);
	if (problem) throw new HttpApiError(problem, undefined, undefined, 0);
	return `${resolveUrl(base, collection).replace(/\/+$/, '')}/${encodeURIComponent(id)}`;
}

/** Reads a dotted path (`data.items`); '' = the value itself. */
export function readPath(value: unknown, path: string): unknown {
	if (!path) return value;
	let current = value;
	for (const key of path.split('.')) {
		if (typeof current !== 'object' || current === null) return undefined;
		current = (current as Record<string, unknown>)[key];
	}
	return current;
}

/** The `rel="next"` URL of a Link header, if any. */
export function nextLink(headers: Record<string, unknown>): string | undefined {
	const value = header(headers, 'link');
	if (!value) return undefined;
	for (const part of value.split(/,(?=\s*<)/)) {
		const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
		if (m && /\brel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(m[2])) return m[1];
	}
	return undefined;
}

export type Pagination =
	| { kind: 'none' }
	/** The answer carries a token for the next page at `nextPath`; it is sent back in `param`. */
	| { kind: 'cursor'; param: string; nextPath: string }
	/** Page numbers in `param`, starting at `start`. */
	| { kind: 'page'; param: string; start: number }
	/** A record offset in `param`. */
	| { kind: 'offset'; param: string }
	| { kind: 'link' };

export interface ListRequest {
	baseUrl: string;
	path: string;
	qs: Record<string, string | number>;
	/** Where the records are in each answer ('' = the answer is the array). */
	itemsPath: string;
	pageSize: number;
	/** The query parameter that carries the page size ('' = the API does not take one). */
	pageSizeParam: string;
	pagination: Pagination;
	/** Bounds one execution's memory; the rest is read by the next run. */
	maxPages: number;
}

export interface ListResult {
	records: unknown[];
	pages: number;
	/** False when `maxPages` stopped the listing before the API ran out of pages. */
	complete: boolean;
}

/** Lists a collection page by page, one request per page. */
export async function listRecords(send: HttpSend, policy: RetryPolicy, list: ListRequest, sleep: Sleep = realSleep): Promise<ListResult> {
	const records: unknown[] = [];
	const p = list.pagination;
	let url = resolveUrl(list.baseUrl, list.path);
	let qs: Record<string, string | number> = { ...list.qs };
	if (list.pageSizeParam) qs[list.pageSizeParam] = list.pageSize;
	if (p.kind === 'page') qs[p.param] = p.start;
	if (p.kind === 'offset') qs[p.param] = 0;
	for (let page = 1; ; page++) {
		const response = await sendWithRetry(send, { method: 'GET', url, qs, timeoutMs: policy.timeoutMs }, policy, `list page ${page}`, sleep);
		if (typeof response.body === 'string' || response.body === undefined || response.body === null) {
			const text = typeof response.body === 'string' ? response.body : '';
			const type = header(response.headers, 'content-type') ?? 'no content type';
			throw new HttpApiError(
				text.trim() === ''
					? `list page ${page}: GET ${url} answered ${response.statusCode} with an empty body, not a list of records at "${list.itemsPath || '(the body)'}"`
					: `list page ${page}: GET ${url} answered ${response.statusCode} with a body that is not a JSON object or list (${type}): ${text.slice(0, 200)}`,
				response.statusCode,
				response.body,
				1,
			);
		}
		const items = readPath(response.body, list.itemsPath);
		if (!Array.isArray(items)) {
			throw new HttpApiError(
				`list page ${page}: GET ${url} answered without a list of records at "${list.itemsPath || '(the body)'}"`,
				response.statusCode,
				response.body,
				1,
			);
		}
		records.push(...items);
		let more: boolean;
		switch (p.kind) {
			case 'none':
				more = false;
				break;
			case 'cursor': {
				const token = readPath(response.body, p.nextPath);
				more = items.length > 0 && token !== undefined && token !== null && token !== '';
				if (more) qs = { ...qs, [p.param]: String(token) };
				break;
			}
			case 'page':
				more = items.length >= list.pageSize && items.length > 0;
				qs = { ...qs, [p.param]: Number(qs[p.param]) + 1 };
				break;
			case 'offset':
				more = items.length >= list.pageSize && items.length > 0;
				qs = { ...qs, [p.param]: Number(qs[p.param]) + items.length };
				break;
			case 'link': {
				const next = nextLink(response.headers);
				more = next !== undefined;
				if (next !== undefined) {
					const target = new URL(next, url);
					// The credential goes with every request: a link to another host would hand it over.
					if (target.origin !== new URL(url).origin) {
						throw new HttpApiError(`list page ${page}: the next page link ${target.toString()} is on another host or port; not followed (the credential would go with it)`, response.statusCode, undefined, 1);
					}
					// The next link carries every query parameter itself.
					url = target.toString();
					qs = {};
				}
				break;
			}
		}
		if (!more) return { records, pages: page, complete: true };
		if (page >= list.maxPages) return { records, pages: page, complete: false };
	}
}

/** Runs `work` over `inputs` with at most `limit` at a time, keeping the order of the results. */
export async function mapLimit<T, R>(inputs: T[], limit: number, work: (input: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(inputs.length);
	let next = 0;
	const runners = Array.from({ length: Math.min(limit, inputs.length) }, async () => {
		while (next < inputs.length) {
			const i = next++;
			results[i] = await work(inputs[i], i);
		}
	});
	await Promise.all(runners);
	return results;
}
