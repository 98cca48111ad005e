/**
 * Signed change notifications: the signature scheme, the replay guard and the payload parser.
 */
import { createHmac } from 'node:crypto';
import { parseChanges, PayloadError, type ChangeFields } from '../../../lib/connectors/webhook/changes';
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

	test('an array (under a path) becomes one item per change; delete values and epoch times are understood', () => {
		const items = parseChanges(
			{ events: [{ id: 'a', op: 'REMOVED', changedAt: 1714557600 }, { id: 'b', data: { x: 1 }, changedAt: 1714557600123 }] },
			{ ...fields, changesPath: 'events' },
			ctx,
		);
		expect(items.map((i) => [i.id, i.op, i.changedAt, i.data])).toEqual([
			['a', 'delete', '2024-05-01T10:00:00.000Z', {}],
			['b', 'upsert', '2024-05-01T10:00:00.123Z', { x: 1 }],
		]);
	});

	test('a key holding dots is read before the path is split', () => {
		const [item] = parseChanges({ 'record.id': 'x1', data: {} }, { ...fields, id: 'record.id' }, ctx);
		expect(item.id).toBe('x1');
	});

	test.each([
		['no change', [], 'the body holds no change'],
		['a change that is not an object', [1], 'change 0 is not an object'],
		['a missing id', { data: {} }, 'the change: field "id" (the record id) must be a string or a number'],
		['a bad time', [{ id: 1, data: {} }, { id: 2, changedAt: 'yesterday', data: {} }], 'change 1: field "changedAt" must be an ISO 8601 date-time or epoch time'],
		['data that is not an object', { id: 1, data: 'x' }, 'the change: field "data" (the record) must be an object'],
		['an op that is not text', { id: 1, op: 3, data: {} }, 'the change: field "op" (the operation) must be text'],
	])('refuses %s with the reason', (_name, body, reason) => {
		expect(() => parseChanges(body, fields, ctx)).toThrow(PayloadError);
		expect(() => parseChanges(body, fields, ctx)).toThrow(reason);
	});
});
