/**
 * The REST connector's plain code against a real local HTTP server: pagination styles over thousands of
 * records with ties at page boundaries, retries on 5xx and dropped connections, 429 Retry-After, timeouts.
 */
import {
	HttpApiError,
	isNetworkError,
	listRecords,
	nextLink,
	recordUrl,
	retryAfterMs,
	sendWithRetry,
	type HttpSend,
	type ListRequest,
	type RetryPolicy,
} from '../../../lib/connectors/http/client';
import { seedContacts, startRestServer, type RestServer } from './rest-server';

let server: RestServer;
const policy: RetryPolicy = { retries: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 5_000, timeoutMs: 2_000 };

const send: HttpSend = async (r) => {
	const url = new URL(r.url);
	for (const [k, v] of Object.entries(r.qs ?? {})) url.searchParams.set(k, String(v));
	const res = await fetch(url, {
		method: r.method,
		headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
		body: r.body === undefined ? undefined : JSON.stringify(r.body),
		signal: AbortSignal.timeout(r.timeoutMs),
	});
	const text = await res.text();
	return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: text ? JSON.parse(text) : undefined };
};

beforeAll(async () => {
	server = await startRestServer();
	seedContacts(server, 2500, 7);
});

afterAll(async () => {
	await server.close();
});

beforeEach(() => {
	server.log.length = 0;
	server.trouble.length = 0;
	server.style = 'page';
});

function list(overrides: Partial<ListRequest>): ListRequest {
	return {
		baseUrl: server.url,
		path: '/contacts',
		qs: {},
		itemsPath: 'data',
		pageSize: 100,
		pageSizeParam: 'limit',
		pagination: { kind: 'page', param: 'page', start: 1 },
		maxPages: 1000,
		...overrides,
	};
}

describe.each([
	['page', { kind: 'page', param: 'page', start: 1 }],
	['offset', { kind: 'offset', param: 'offset' }],
	['cursor', { kind: 'cursor', param: 'cursor', nextPath: 'next_cursor' }],
	['link', { kind: 'link' }],
] as const)('pagination by %s', (style, pagination) => {
	test('reads every record once, one request per page', async () => {
		server.style = style;
		const result = await listRecords(send, policy, list({ pagination }));
		const ids = result.records.map((r) => (r as { id: string }).id);
		expect(ids).toHaveLength(2500);
		expect(new Set(ids).size).toBe(2500);
		expect(result.complete).toBe(true);
		// 25 full pages; page and offset styles need one more (empty) page to learn that they are done.
		expect(server.log.length).toBe(style === 'page' || style === 'offset' ? 26 : 25);
	});
});

test('max pages bounds one execution and says the listing is incomplete', async () => {
	const result = await listRecords(send, policy, list({ maxPages: 3 }));
	expect(result.records).toHaveLength(300);
	expect(result).toMatchObject({ pages: 3, complete: false });
});

test('5xx answers and dropped connections are retried, then succeed', async () => {
	server.trouble.push({ status: 503 }, { drop: true }, { status: 500 });
	const response = await sendWithRetry(send, { method: 'GET', url: recordUrl(server.url, '/contacts', '100001'), timeoutMs: 1000 }, policy, 'contact 100001');
	expect(response.statusCode).toBe(200);
	expect(server.log).toHaveLength(4);
});

test('429 waits the Retry-After the server asks for', async () => {
	server.trouble.push({ status: 429, retryAfter: '2' }, { status: 429, retryAfter: '0' });
	const waits: number[] = [];
	const response = await sendWithRetry(
		send,
		{ method: 'GET', url: recordUrl(server.url, '/contacts', '100002'), timeoutMs: 1000 },
		policy,
		'contact 100002',
		async (ms) => {
			waits.push(ms);
		},
	);
	expect(response.statusCode).toBe(200);
	expect(waits).toEqual([2000, 0]);
});

test('a Retry-After longer than allowed fails at once, naming the record', async () => {
	server.trouble.push({ status: 429, retryAfter: '3600' });
	await expect(
		sendWithRetry(send, { method: 'GET', url: recordUrl(server.url, '/contacts', '100003'), timeoutMs: 1000 }, policy, 'contact 100003'),
	).rejects.toThrow(/contact 100003: GET .*\/contacts\/100003 answered 429 and asks to wait 3600 s/);
	expect(server.log).toHaveLength(1);
});

test('a slow answer times out and is retried', async () => {
	server.trouble.push({ delayMs: 400 });
	const response = await sendWithRetry(send, { method: 'GET', url: recordUrl(server.url, '/contacts', '100004'), timeoutMs: 150 }, { ...policy, timeoutMs: 150 }, 'contact 100004');
	expect(response.statusCode).toBe(200);
	expect(server.log).toHaveLength(2);
});

test('when retries run out the error names the record, the status and the attempts', async () => {
	server.trouble.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
	const error = await sendWithRetry(send, { method: 'GET', url: recordUrl(server.url, '/contacts', '100005'), timeoutMs: 1000 }, policy, 'contact 100005').catch(
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(HttpApiError);
	expect((error as HttpApiError).status).toBe(500);
	expect((error as HttpApiError).message).toMatch(/^contact 100005: GET .* answered 500 after 4 attempts/);
});

test('an error that is not a network failure is not retried', async () => {
	let calls = 0;
	const broken: HttpSend = async () => {
		calls++;
		throw new Error('credential "dataSyncRestApi" not found');
	};
	await expect(sendWithRetry(broken, { method: 'GET', url: `${server.url}/contacts`, timeoutMs: 1000 }, policy, 'list page 1')).rejects.toThrow(
		`list page 1: GET ${server.url}/contacts failed: credential "dataSyncRestApi" not found`,
	);
	expect(calls).toBe(1);
	// What n8n throws for a dropped connection: a wrapper whose cause carries the code.
	expect(isNetworkError({ message: 'wrapped', cause: { code: 'ECONNRESET' } })).toBe(true);
	expect(isNetworkError(new Error('plain'))).toBe(false);
});

test('4xx other than 429 is not retried', async () => {
	await expect(
		sendWithRetry(send, { method: 'GET', url: recordUrl(server.url, '/contacts', 'missing'), timeoutMs: 1000 }, policy, 'contact missing'),
	).rejects.toMatchObject({ status: 404, attempts: 1 });
	expect(server.log).toHaveLength(1);
});

test('header helpers: Retry-After as a date, Link with several relations, ids escaped in URLs', () => {
	const now = Date.parse('2024-01-01T00:00:00Z');
	expect(retryAfterMs({ 'Retry-After': 'Mon, 01 Jan 2024 00:00:30 GMT' }, now)).toBe(30_000);
	expect(retryAfterMs({}, now)).toBeUndefined();
	expect(nextLink({ link: '<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next"' })).toBe('https://a/x?page=3');
	expect(nextLink({ link: '<https://a/x?page=1>; rel="first"' })).toBeUndefined();
	expect(recordUrl('https://a/v1/', '/contacts/', 'a/b c')).toBe('https://a/v1/contacts/a%2Fb%20c');
});
