/**
 * sendWithRetry's rules for writes that may have landed, redirects and the whole-answer deadline, with a
 * scripted `send` (no network): what is sent again, what is followed, and what each refusal says. The node
 * test test/nodes/hostile-connectors.test.ts runs the same rules against a real HTTP server.
 */
import { HttpApiError, idPathProblem, recordUrl, sendWithRetry, type HttpRequest, type HttpResponse, type HttpSend, type RetryPolicy } from '../../../lib/connectors/http/client';

const policy: RetryPolicy = { retries: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 1000, timeoutMs: 200 };
const noSleep = async () => undefined;

function scripted(...answers: Array<HttpResponse | Error | 'hang'>): { send: HttpSend; sent: HttpRequest[] } {
	const sent: HttpRequest[] = [];
	const send: HttpSend = (request) => {
		sent.push(request);
		const next = answers.shift() ?? { statusCode: 200, headers: {}, body: {} };
		if (next === 'hang') {
			return new Promise((_, reject) => request.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { code: 'ERR_CANCELED' }))));
		}
		return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
	};
	return { send, sent };
}

const answer = (statusCode: number, headers: Record<string, string> = {}): HttpResponse => ({ statusCode, headers, body: { error: 'x' } });
const post: HttpRequest = { method: 'POST', url: 'http://api.test/contacts', body: { a: 1 }, timeoutMs: 200 };
const get: HttpRequest = { method: 'GET', url: 'http://api.test/contacts', qs: { limit: 5 }, timeoutMs: 200 };

test.each([500, 502, 504])('a POST answered %i is not sent again', async (status) => {
	const { send, sent } = scripted(answer(status));
	await expect(sendWithRetry(send, post, policy, 'item 0', noSleep)).rejects.toThrow(
		`item 0: POST http://api.test/contacts answered ${status}; not sent again, since the API may have written it already: {"error":"x"}`,
	);
	expect(sent).toHaveLength(1);
});

test('a POST whose connection dropped is not sent again; one that never connected is', async () => {
	const dropped = scripted(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
	await expect(sendWithRetry(dropped.send, post, policy, 'item 0', noSleep)).rejects.toThrow('item 0: POST http://api.test/contacts failed: socket hang up; not sent again');
	expect(dropped.sent).toHaveLength(1);
	const refused = scripted(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), answer(201));
	expect((await sendWithRetry(refused.send, post, policy, 'item 0', noSleep)).statusCode).toBe(201);
	expect(refused.sent).toHaveLength(2);
});

test.each([429, 503])('a POST answered %i (not handled) is sent again', async (status) => {
	const { send, sent } = scripted(answer(status, { 'retry-after': '0' }), answer(201));
	expect((await sendWithRetry(send, post, policy, 'item 0', noSleep)).statusCode).toBe(201);
	expect(sent).toHaveLength(2);
});

test('a PATCH answered 500 is sent again (the same update twice is one update)', async () => {
	const { send, sent } = scripted(answer(500), answer(200));
	expect((await sendWithRetry(send, { ...post, method: 'PATCH' }, policy, 'item 0', noSleep)).statusCode).toBe(200);
	expect(sent).toHaveLength(2);
});

test('an attempt gets no answer within its time: aborted, retried for a GET, with the time in the error', async () => {
	const { send, sent } = scripted('hang', 'hang');
	await expect(sendWithRetry(send, get, { ...policy, retries: 1 }, 'list page 1', noSleep)).rejects.toThrow(
		'list page 1: GET http://api.test/contacts failed after 2 attempts: timed out after 200 ms',
	);
	expect(sent.map((r) => r.signal?.aborted)).toEqual([true, true]);
});

test('a GET follows a redirect on the same origin without spending an attempt, and drops its own query', async () => {
	const { send, sent } = scripted(answer(301, { location: '/v2/contacts?page=1' }), answer(200));
	expect((await sendWithRetry(send, get, { ...policy, retries: 0 }, 'list page 1', noSleep)).statusCode).toBe(200);
	expect(sent.map((r) => [r.url, r.qs])).toEqual([
		['http://api.test/contacts', { limit: 5 }],
		['http://api.test/v2/contacts?page=1', undefined],
	]);
});

test.each([
	['another host', get, 302, 'http://evil.test/contacts', 'redirects to another host or port are not followed'],
	['another port', get, 307, 'http://api.test:8443/contacts', 'redirects to another host or port are not followed'],
	['another scheme', get, 301, 'https://api.test/contacts', 'redirects to another host or port are not followed'],
	['a write', post, 308, '/contacts/', 'a write is never redirected'],
])('a redirect to %s is refused', async (_what, request, status, location, why) => {
	const { send, sent } = scripted(answer(status, { location }));
	const target = new URL(location, request.url).toString();
	await expect(sendWithRetry(send, request, policy, 'x', noSleep)).rejects.toThrow(`x: ${request.method} http://api.test/contacts answered ${status} (redirect to ${target}): ${why}`);
	expect(sent).toHaveLength(1);
});

test('a redirect loop stops after 5 redirects; a 3xx without a Location is an error', async () => {
	const loop = scripted(...Array.from({ length: 10 }, () => answer(301, { location: '/contacts' })));
	await expect(sendWithRetry(loop.send, get, policy, 'x', noSleep)).rejects.toThrow(/answered 301 \(redirect to http:\/\/api\.test\/contacts\): more than 5 redirects$/);
	expect(loop.sent).toHaveLength(6);
	const bare = scripted(answer(304));
	await expect(sendWithRetry(bare.send, get, policy, 'x', noSleep)).rejects.toThrow('x: GET http://api.test/contacts answered 304 without a Location to follow');
});

test("record URLs: every id is one escaped segment, except '.' and '..', which URL parsers remove", () => {
	expect(recordUrl('http://api.test/', '/contacts/', '../a b')).toBe('http://api.test/contacts/..%2Fa%20b');
	expect(new URL(recordUrl('http://api.test', '/contacts', '%2e%2e')).pathname).toBe('/contacts/%252e%252e');
	for (const id of ['.', '..']) {
		expect(idPathProblem(id)).toBe(`the id ${JSON.stringify(id)} cannot be sent in a URL path (it would address the collection or its parent)`);
		expect(() => recordUrl('http://api.test', '/contacts', id)).toThrow(HttpApiError);
	}
	expect(idPathProblem('')).toBe('the id is empty');
});
