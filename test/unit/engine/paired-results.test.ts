/**
 * Commit's "Any n8n Node" pairing (lib/engine/paired-results.ts): an n8n node's answers and the planned
 * changes n8n's paired items led to become write results; what cannot be paired is listed with its reason.
 * The pairing through stock n8n's paired items is proven in test/acceptance/templates-any-node.test.ts.
 */
import { SyncItemError } from '../../../lib/item';
import { errorText, pairWriteResults, type PairedOutput } from '../../../lib/engine/paired-results';

const planned = (over: Record<string, unknown> = {}) => ({
	json: { entity: 'contact', system: 'shop', id: null, op: 'upsert', shape: 'system', data: { email: 'ada@example.com' }, key: 'k1', trace: { runId: 'r', origin: 'crm', hops: 1 }, ...over },
});
const options = { idField: 'id', plannedFrom: 'From canonical' };

describe('pairWriteResults', () => {
	it('a create takes the id from the answer at the ID Field path; an update and a delete keep the planned id', () => {
		const outputs: PairedOutput[] = [
			{ json: { results: [{ id: 77 }] }, planned: planned() },
			{ json: { id: 'other' }, planned: planned({ id: '12', key: 'k2' }) },
			{ json: {}, planned: planned({ id: '13', key: 'k3', op: 'delete', data: {} }) },
		];
		const out = pairWriteResults(outputs, { ...options, idField: 'results[0].id' });
		expect(out.unpaired).toEqual([]);
		expect(out.indexes).toEqual([0, 1, 2]);
		expect(out.results).toEqual([
			{ entity: 'contact', system: 'shop', key: 'k1', id: 77, op: 'upsert', data: { email: 'ada@example.com' } },
			{ entity: 'contact', system: 'shop', key: 'k2', id: '12', op: 'upsert', data: { email: 'ada@example.com' } },
			{ entity: 'contact', system: 'shop', key: 'k3', id: '13', op: 'delete', data: {} },
		]);
	});

	it("a failed write (Continue On Fail's error: a text or HTTP Request's error object) is a result with the error", () => {
		const out = pairWriteResults(
			[
				{ json: { error: { message: '500 - "internal error"', description: 'upstream down', statusCode: 500 } }, planned: planned() },
				{ json: { error: 'connect ECONNREFUSED' }, planned: planned({ key: 'k2', id: '4' }) },
			],
			options,
		);
		expect(out.results.map((r) => [r.key, r.id, r.error])).toEqual([
			['k1', null, '500 - "internal error": upstream down'],
			['k2', '4', 'connect ECONNREFUSED'],
		]);
		expect(errorText({ code: 7 })).toBe('{"code":7}');
	});

	it('items that are not paired to a planned change are listed by index with the reason, never turned into results', () => {
		const out = pairWriteResults(
			[
				{ json: { id: 1 }, planned: { missing: 'Paired item data for item from node "Write to B" is unavailable' } },
				{ json: { id: 2 }, planned: planned() },
				{ json: { id: 3 }, planned: { json: { hello: 'world' } } },
			],
			options,
		);
		expect(out.indexes).toEqual([1]);
		expect(out.unpaired).toEqual([
			{ index: 0, reason: 'not paired to a planned change of "From canonical": Paired item data for item from node "Write to B" is unavailable' },
			{ index: 2, reason: expect.stringContaining('its paired item in "From canonical" is not a planned change') },
		]);
	});

	it('a create whose answer has no id is an error naming the record and the field path', () => {
		const run = () => pairWriteResults([{ json: { id: 5 }, planned: planned() }, { json: { data: { name: 'x' } }, planned: planned({ key: 'k9' }) }], { ...options, idField: 'data.id' });
		expect(run).toThrow(SyncItemError);
		expect(run).toThrow('result 0 (contact / shop / k1): the create\'s answer has no record id at "data.id" (ID Field), got nothing; fields of the answer: id');
	});

	it('the Updated-At Field becomes the target version (epoch ms or ISO); a bad one or a bad path is an error', () => {
		const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
		const out = pairWriteResults([{ json: { id: 1, updated_at: at }, planned: planned() }], { ...options, updatedAtField: 'updated_at' });
		expect(out.results[0].changedAt).toBe('2026-01-02T03:04:05.006Z');
		expect(() => pairWriteResults([{ json: { id: 1, updated_at: 'soon' }, planned: planned() }], { ...options, updatedAtField: 'updated_at' })).toThrow(
			'result 0 (contact / shop / k1): "updated_at" (Updated-At Field) must be an ISO 8601 time or epoch seconds / milliseconds, got "soon"',
		);
		expect(() => pairWriteResults([], { ...options, idField: 'a..b' })).toThrow('"ID Field" "a..b" is not a field name or path');
		expect(() => pairWriteResults([], { ...options, idField: ' ' })).toThrow('"ID Field" must name the field');
	});
});
