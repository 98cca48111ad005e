/**
 * Signed change notifications: the signature scheme, the replay guard and the payload parser.
 */
import { createHmac } from 'node:crypto';
import { parseChanges, parseDelivery, PayloadError, type ChangeFields } from '../../../lib/connectors/webhook/changes';
import { ReplayGuard, signWebhook, verifyWebhook } from '../../../lib/connectors/webhook/signature';
import { parseSyncItem } from '../../../lib/item';

const SECRET = 'a-signing-secret-of-some-length';
const NOW = Date.parse('2024-05-01T12:00:00Z');
const TS = String(NOW / 1000);
const BODY = Buffer.from('{"id":"7","op":"upsert","data":{"name":"Zoë \\"Z\\""}}', 'utf8');

describe('signature', () => {
	test('is hex HMAC-SHA256 over `${timestamp}.${rawBody}` (what docs/connectors.md tells senders)', () => {
		const expected = createHmac('sha256', SECRET).update(`${TS}.${BODY.toString('utf8')}`).digest('hex');
		expect(signWebhook(SECRET, TS, BODY)).toBe(expected);
	});

	const verify = (overrides: Partial<Parameters<typeof verifyWebhook>[0]>) =>
		verifyWebhook({ secrets: [SECRET], timestamp: TS, signature: signWebhook(SECRET, TS, BODY), rawBody: BODY, now: NOW, windowSeconds: 300, ...overrides });

	test('accepts a good signature, bare or as sha256=<hex>, and by the previous secret while rotating', () => {
		expect(verify({})).toMatchObject({ ok: true });
		expect(verify({ signature: `sha256=${signWebhook(SECRET, TS, BODY).toUpperCase()}` })).toMatchObject({ ok: true });
		expect(verify({ secrets: ['the-new-secret-123456', SECRET] })).toMatchObject({ ok: true });
	});

	test.each([
		['missing signature', { signature: undefined }, 'missing signature header'],
		['missing timestamp', { timestamp: undefined }, 'missing timestamp header'],
		['timestamp not seconds', { timestamp: '2024-05-01T12:00:00Z' }, 'timestamp header must be Unix time in seconds'],
		['expired', { now: NOW + 301_000 }, 'timestamp outside the replay window'],
		['from the future', { now: NOW - 301_000 }, 'timestamp outside the replay window'],
		['forged', { signature: signWebhook('another-secret-xxxxxxxx', TS, BODY) }, 'signature does not match'],
		['body changed', { rawBody: Buffer.from(BODY.toString().replace('7', '8')) }, 'signature does not match'],
		['timestamp changed', { timestamp: String(Number(TS) + 1) }, 'signature does not match'],
		['not hex', { signature: 'zz' }, 'signature does not match'],
		['no secret configured', { secrets: ['', ''] }, 'signature does not match'],
	])('refuses %s', (_name, overrides, reason) => {
		expect(verify(overrides)).toEqual({ ok: false, reason });
	});

	test('the replay guard refuses a signature seen within the window, and forgets it after', () => {
		const guard = new ReplayGuard(4);
		expect(guard.accept('a', NOW, 300)).toBe(true);
		expect(guard.accept('a', NOW + 1000, 300)).toBe(false);
		expect(guard.accept('a', NOW + 601_000, 300)).toBe(true);
		for (const s of ['b', 'c', 'd', 'e', 'f']) expect(guard.accept(s, NOW, 300)).toBe(true);
	});
});

describe('parseChanges', () => {
	const fields: ChangeFields = {
		changesPath: '',
		id: 'id',
		op: 'op',
		changedAt: 'changedAt',
		actor: 'meta.user',
		data: 'data',
		deleteValues: ['delete', 'Removed'],
	};
	const ctx = { entity: 'contact', system: 'crm', runId: 'delivery-1' };

	test('one change becomes one valid DataSync item', () => {
		const [item] = parseChanges({ id: 7, op: 'update', changedAt: '2024-05-01T10:00:00.123456Z', meta: { user: 'ann' }, data: { name: 'Zoë' } }, fields, ctx);
		expect(parseSyncItem(item)).toEqual({
			entity: 'contact',
			system: 'crm',
			id: '7',
			op: 'upsert',
			shape: 'system',
			data: { name: 'Zoë' },
			changedAt: '2024-05-01T10:00:00.123456Z',
			actor: 'ann',
			trace: { runId: 'delivery-1', origin: 'crm', hops: 0 },
		});
	});

	test('trace.partial survives parseSyncItem between nodes; anything but true or false is refused naming the field', () => {
		const [item] = parseChanges({ id: 7, op: 'update', data: { name: 'Zoë' } }, fields, { ...ctx, partial: true });
		expect(parseSyncItem(item).trace).toEqual({ runId: 'delivery-1', origin: 'crm', hops: 0, partial: true });
		expect(() => parseSyncItem({ ...item, trace: { ...item.trace, partial: 'yes' } } as unknown as Record<string, unknown>)).toThrow('trace.partial');
	});

	test('an array (under a path) becomes one item per change; delete values and epoch times are understood', () => {
		const items = parseChanges(
			{ events: [{ id: 'a', op: 'REMOVED', changedAt: 1714557600 }, { id: 'b', op: 'created', data: { x: 1 }, changedAt: 1714557600123 }] },
			{ ...fields, changesPath: 'events' },
			ctx,
		);
		expect(items.map((i) => [i.id, i.op, i.changedAt, i.data])).toEqual([
			['a', 'delete', '2024-05-01T10:00:00.000Z', {}],
			['b', 'upsert', '2024-05-01T10:00:00.123Z', { x: 1 }],
		]);
	});

	test('a key holding dots is read before the path is split', () => {
		const [item] = parseChanges({ 'record.id': 'x1', op: 'upsert', data: {} }, { ...fields, id: 'record.id' }, ctx);
		expect(item.id).toBe('x1');
	});

	test.each([
		['no change', [], 'the body holds no change'],
		['a change that is not an object', [1], 'change 0 is not an object'],
		['a missing id', { op: 'upsert', data: {} }, 'the change: field "id" (the record id) is missing'],
		['a bad time', [{ id: 1, op: 'upsert', data: {} }, { id: 2, op: 'upsert', changedAt: 'yesterday', data: {} }], 'change 1: field "changedAt" must be a date-time that exists'],
		['data that is not an object', { id: 1, op: 'upsert', data: 'x' }, 'the change: field "data" (the record) must be an object'],
		['an op that is not text', { id: 1, op: 3, data: {} }, 'the change: field "op" (the operation) must be text'],
		['a missing op', { id: 1, data: {} }, 'the change: field "op" (the operation) is missing; it must be one of upsert, create'],
		['an unknown op', { id: 1, op: 'merge', data: {} }, 'the change: field "op" (the operation) is "merge", not one of upsert'],
	])('refuses %s with the reason', (_name, body, reason) => {
		expect(() => parseChanges(body, fields, ctx)).toThrow(PayloadError);
		expect(() => parseChanges(body, fields, ctx)).toThrow(reason);
	});
});

describe('parseDelivery: the whole request body, all or nothing', () => {
	const fields: ChangeFields = { changesPath: '', id: 'id', op: 'op', changedAt: 'changedAt', actor: 'actor', data: 'data', deleteValues: ['delete'] };
	const ctx = { entity: 'contact', system: 'crm', runId: 'delivery-1' };
	const json = { contentType: 'application/json' };
	const deliver = (body: string | Buffer, meta: { contentType?: string } = json, limits = {}) => parseDelivery(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), meta, fields, ctx, limits);
	const refusal = (body: string | Buffer, meta: { contentType?: string } = json, limits = {}): [number, string] => {
		try {
			deliver(body, meta, limits);
		} catch (error) {
			if (!(error instanceof PayloadError)) throw error;
			return [error.status, error.message];
		}
		throw new Error('accepted');
	};
	const change = (over: Record<string, unknown> = {}) => JSON.stringify({ id: 'c1', op: 'update', data: { name: 'Ann' }, ...over });

	test('Payload Holds: Changed Fields Only marks each upsert as a change of some fields (trace.partial), never a delete', () => {
		const body = Buffer.from(JSON.stringify([{ id: 'c1', op: 'update', data: { phone: '1' } }, { id: 'c2', op: 'delete' }]), 'utf8');
		const [upsert, removal] = parseDelivery(body, json, { ...fields, changesPath: '' }, { ...ctx, partial: true });
		expect(upsert.trace).toMatchObject({ partial: true });
		expect(removal.trace.partial).toBeUndefined();
		expect(deliver(change())[0].trace.partial).toBeUndefined();
	});

	test('accepts JSON with a charset and a +json type; ids and ops as documented', () => {
		expect(deliver(change(), { contentType: 'application/json; charset=utf-8' })).toHaveLength(1);
		expect(deliver(change(), { contentType: 'application/vnd.crm+json' })[0]).toMatchObject({ id: 'c1', op: 'upsert' });
		expect(deliver(change({ id: 9007199254740991 }))[0].id).toBe('9007199254740991');
		expect(deliver(change({ id: 'x'.repeat(255) }))[0].id).toHaveLength(255);
		expect(deliver(change({ id: 'Zoë-😀' }))[0].id).toBe('Zoë-😀');
	});

	test.each<[string, string | Buffer, number, RegExp, { contentType?: string }?, Record<string, number>?]>([
		['a body over the size limit', change({ data: { note: 'x'.repeat(2000) } }), 413, /bytes, more than the limit of 1000/, json, { maxBytes: 1000 }],
		['more changes than allowed', JSON.stringify(Array.from({ length: 11 }, (_, i) => JSON.parse(change({ id: `c${i}` })))), 413, /holds 11 changes, more than the limit of 10.*none was taken/, json, { maxChanges: 10 }],
		['no content type', change(), 415, /content type must be application\/json, got none/, {}],
		['text/plain', change(), 415, /got "text\/plain"/, { contentType: 'text/plain' }],
		['form-encoded', change(), 415, /got "application\/x-www-form-urlencoded"/, { contentType: 'application/x-www-form-urlencoded' }],
		['a charset other than UTF-8', change(), 415, /must be UTF-8, the content type says latin1/, { contentType: 'application/json; charset=latin1' }],
		['an empty body', '', 400, /the body is empty/],
		['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, /not valid UTF-8/],
		['truncated JSON', change().slice(0, 20), 400, /the body is not JSON/],
		['5,000-deep nesting', '['.repeat(5000) + ']'.repeat(5000), 400, /nested deeper than 32 levels/],
		['deep nesting inside the data', change({ data: { a: JSON.parse('{"b":'.repeat(40) + '1' + '}'.repeat(40)) } }), 400, /nested deeper than 32 levels/],
		['an id that is an object', change({ id: { $gt: '' } }), 400, /field "id" \(the record id\) must be a string or a number, got object/],
		['an id that is an array', change({ id: ['a'] }), 400, /got an array/],
		['an id that is null', change({ id: null }), 400, /got null/],
		['an empty id', change({ id: '' }), 400, /field "id" \(the record id\) is empty/],
		['a blank id', change({ id: '   ' }), 400, /is empty/],
		['an id of 256 characters', change({ id: 'x'.repeat(256) }), 400, /is 256 characters, more than 255/],
		['an id with a NUL', change({ id: 'a\u0000b' }), 400, /(NUL|control character)/],
		['an id with a line break', change({ id: 'a\nb' }), 400, /control character/],
		['an id with a lone surrogate', '{"id":"a\\ud800","op":"update","data":{}}', 400, /lone UTF-16 surrogate/],
		['a decimal id', change({ id: 1.5 }), 400, /whole number below 2\^53/],
		['an id beyond 2^53', '{"id":9007199254740993,"op":"update","data":{}}', 400, /whole number below 2\^53/],
		['a boolean id', change({ id: true }), 400, /got boolean/],
		['an unknown op', change({ op: 'merge' }), 400, /field "op" \(the operation\) is "merge", not one of/],
		['a missing op', change({ op: undefined }), 400, /field "op" \(the operation\) is missing/],
		['an empty op', change({ op: '' }), 400, /is missing/],
		['an op that is an object', change({ op: { kind: 'update' } }), 400, /must be text/],
		['a NUL in a value', change({ data: { name: 'a\u0000b' } }), 400, /field "data.name" holds a NUL character/],
		['a lone surrogate in a value', '{"id":"c1","op":"update","data":{"name":"\\udc00x"}}', 400, /field "data.name" holds a lone UTF-16 surrogate/],
		['a NUL in a field name', '{"id":"c1","op":"update","data":{"na\\u0000me":"x"}}', 400, /a field name in "data" holds a NUL/],
		['a __proto__ key', '{"id":"c1","op":"update","data":{"__proto__":{"admin":true}}}', 400, /field "data.__proto__" is not allowed/],
		['a nested __proto__ key', '{"id":"c1","op":"update","data":{"address":{"__proto__":{"x":1}}}}', 400, /field "data.address.__proto__" is not allowed/],
		['a constructor key', change({ data: { constructor: { prototype: { x: 1 } } } }), 400, /field "data.constructor" is not allowed/],
		['a prototype key', change({ data: { prototype: 1 } }), 400, /field "data.prototype" is not allowed/],
		['a 29 February in a common year', change({ changedAt: '2023-02-29T10:00:00Z' }), 400, /field "changedAt" must be a date-time that exists/],
		['31 April', change({ changedAt: '2024-04-31' }), 400, /must be a date-time that exists/],
		['24:00', change({ changedAt: '2024-01-01T24:00:00Z' }), 400, /must be a date-time that exists/],
		['a leap second', change({ changedAt: '2016-12-31T23:59:60Z' }), 400, /must be a date-time that exists/],
		['year 0', change({ changedAt: '0000-01-01T00:00:00Z' }), 400, /must be a date-time that exists/],
		['month 13', change({ changedAt: '2024-13-01T00:00:00Z' }), 400, /must be a date-time that exists/],
		['a zone of +25:00', change({ changedAt: '2024-01-01T10:00:00+25:00' }), 400, /must be a date-time that exists/],
		['a negative epoch', change({ changedAt: -5 }), 400, /must be a date-time that exists/],
		['an epoch past 9999', change({ changedAt: 1e17 }), 400, /must be a date-time that exists/],
		['a time as a word', change({ changedAt: 'yesterday' }), 400, /must be a date-time that exists/],
		['a bad change among good ones', `[${change({ id: 'a' })},${change({ id: 'b' })},${change({ id: 'c', op: 'nope' })}]`, 400, /^change 2: field "op"/],
		['a change that is a string', '["c1"]', 400, /change 0 is not an object/],
		['data that is an array', change({ data: [1, 2] }), 400, /field "data" \(the record\) must be an object/],
		['an actor that is an object', change({ actor: { name: 'x' } }), 400, /field "actor" \(the actor\) must be text/],
	])('refuses %s', (_name, body, status, reason, meta = json, limits = {}) => {
		const [gotStatus, message] = refusal(body, meta as { contentType?: string }, limits);
		expect(message).toMatch(reason);
		expect(gotStatus).toBe(status);
	});

	test('valid dates at the edges are taken', () => {
		for (const at of ['2024-02-29T10:00:00Z', '2024-12-31T23:59:59.999999Z', '1970-01-01T00:00:00Z', '2024-01-01T10:00:00+14:00', '2024-06-01']) {
			expect(deliver(change({ changedAt: at }))[0].changedAt).toBeDefined();
		}
	});

	test('field names and values holding SQL or quotes travel as data (they are parameters further on)', () => {
		const [item] = deliver(change({ data: { "name'; DROP TABLE crm; --": 'x', email: "' OR 1=1 --" } }));
		expect(item.data).toEqual({ "name'; DROP TABLE crm; --": 'x', email: "' OR 1=1 --" });
	});

	test('a numeric string stays a string (the Mapper decides what a field must be)', () => {
		expect(deliver(change({ data: { amount: '12.50' } }))[0].data).toEqual({ amount: '12.50' });
	});

	test('10,000 changes are taken whole; one bad change among them refuses all', () => {
		const many = Array.from({ length: 10_000 }, (_, i) => ({ id: `c${i}`, op: 'update', data: { n: i } }));
		expect(deliver(JSON.stringify(many))).toHaveLength(10_000);
		many[9_999] = { id: 'c9999', op: 'update', data: 'oops' as unknown as { n: number } };
		expect(refusal(JSON.stringify(many))).toEqual([400, 'change 9999: field "data" (the record) must be an object']);
	});

	test('the prototype of objects is never touched', () => {
		for (const body of ['{"id":"c1","op":"update","data":{"__proto__":{"polluted":1}}}', change({ data: { constructor: { prototype: { polluted: 1 } } } })]) {
			expect(() => deliver(body)).toThrow(PayloadError);
		}
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});
});
