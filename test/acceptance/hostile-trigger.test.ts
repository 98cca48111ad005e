/**
 * Hostile input at the DataSync Trigger, in stock n8n queue mode: a main process, two `n8n webhook`
 * processes, one worker, Redis, n8n's data and the sync store in Postgres; the shipped bidirectional
 * template between System A (a CRM in Postgres) and System B (an ERP in MariaDB).
 *
 * Every case has its expected answer (status and reason) and is checked to have written nothing: the
 * rows of A and B, the rows of every table of the sync store and the workflow's executions are counted
 * before and after. Forged, stale, replayed (also at the other webhook process), malformed, oversized,
 * deep, mis-typed and prototype-polluting requests are answered 4xx with the reason. The one 5xx is
 * n8n's own, for a gzip body it cannot inflate before any node runs (README, Known limits).
 * Requests that are well-formed but hold values the Mapper refuses (impossible dates, numbers as text…)
 * are answered 200 and land on the Mapper's Invalid output naming the field: no row in B, no link.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { signWebhook } from '../../lib/connectors/webhook/signature';
import { closeAllStores, type StoreConfig } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, type MariaDbTestDatabase, type PgTestDatabase } from '../helpers/services';
import { N8nInstance, queueModeEnv, uniqueId, type WebhookResponse } from './harness';
import { eventually, importBidirectional, outputOf, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem } from './templates-systems';

const SECRET_A = 'crm-hostile-secret-0123456789';
const SECRET_B = 'erp-hostile-secret-0123456789';

interface Send {
	/** The body's exact bytes (a string is sent as UTF-8). */
	body: string | Buffer;
	/** Content-Type; null = none at all. Default application/json. */
	contentType?: string | null;
	/** Headers after signing (they replace the signed ones). */
	headers?: Record<string, string>;
	/** Sign these bytes instead of the body (a body changed after signing). */
	signed?: string | Buffer;
	secret?: string;
	/** Seconds added to now for the timestamp header. */
	skew?: number;
	unsigned?: boolean;
	method?: string;
	/** Which webhook process (0 or 1). */
	process?: number;
}

interface Case {
	name: string;
	send: Send | (() => Promise<WebhookResponse>);
	status: number;
	reason: RegExp;
}

const now = () => Math.floor(Date.now() / 1000);
const change = (over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) =>
	JSON.stringify({ id: 'h-1', op: 'update', changedAt: '2026-12-01T10:00:00Z', actor: 'mallory', data: { ...ADA_CRM, id: 'h-1', email: 'h1@example.com', ...data }, ...over });
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('DataSync Trigger: hostile requests in stock n8n (queue mode, two webhook processes)', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let n8nDb: PgTestDatabase;
	let storeDb: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let storeClient: Client;
	let wf: string;
	const id = uniqueId('hostile');
	const paths = { crm: `hostile-${id}/crm/contact`, erp: `hostile-${id}/erp/contact` };
	let acceptedExecutions = 0;

	async function send(s: Send): Promise<WebhookResponse> {
		const body = Buffer.isBuffer(s.body) ? s.body : Buffer.from(s.body, 'utf8');
		const ts = String(now() + (s.skew ?? 0));
		const signedBytes = s.signed === undefined ? body : Buffer.isBuffer(s.signed) ? s.signed : Buffer.from(s.signed, 'utf8');
		const headers: Record<string, string> = {};
		if (s.contentType !== null) headers['content-type'] = s.contentType ?? 'application/json';
		if (!s.unsigned) {
			headers['x-datasync-timestamp'] = ts;
			headers['x-datasync-signature'] = `sha256=${signWebhook(s.secret ?? SECRET_A, ts, signedBytes)}`;
		}
		Object.assign(headers, s.headers);
		const res = await fetch(`http://127.0.0.1:${n8n.webhookPorts[s.process ?? 0]}/webhook/${paths.crm}`, {
			method: s.method ?? 'POST',
			headers,
			body: s.method === 'GET' || s.method === 'HEAD' ? undefined : body,
		});
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			// not JSON
		}
		return { status: res.status, body: parsed, text, headers: res.headers };
	}

	/** Rows of A, B and every table of the sync store. */
	async function counts(): Promise<Record<string, number>> {
		const out: Record<string, number> = { 'A rows': (await crm.rows()).length, 'B rows': (await erp.rows()).length };
		const { rows: tables } = await storeClient.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'datasync' ORDER BY 1`);
		for (const { table_name: t } of tables as Array<{ table_name: string }>) {
			const { rows } = await storeClient.query(`SELECT count(*)::int AS n FROM datasync."${t}"`);
			out[`store.${t}`] = rows[0].n as number;
		}
		return out;
	}

	beforeAll(async () => {
		[pg, n8nDb, storeDb, maria] = await Promise.all([
			createPgDatabase('ds_hostile_a'),
			createPgDatabase('ds_hostile_n8n'),
			createPgDatabase('ds_hostile_store'),
			createMariaDbDatabase('ds_hostile_b'),
		]);
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		const storeConfig = { backend: 'postgres', ...storeDb.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		n8n = await N8nInstance.start({ env: queueModeEnv(n8nDb.config, `datasync-${uniqueId('bull')}`), workers: 1, webhookProcesses: 2 });
		const credentials = await systemCredentials(n8n, { ...storeConfig, password: storeDb.config.password ?? '' } as unknown as Record<string, unknown>, pg, maria, {
			a: SECRET_A,
			b: SECRET_B,
		});
		wf = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, paths);
		storeClient = new Client(storeDb.config);
		await storeClient.connect();
		// A good delivery first: the store's tables exist, both webhook processes have the workflow.
		await eventually('both webhook processes take a good delivery', async () => {
			for (const p of [0, 1]) {
				const res = await send({ body: change({ id: `warm-${p}` }, { id: `warm-${p}`, email: `warm${p}@example.com` }), process: p });
				if (res.status === 404) return false;
				expect(res.status).toBe(200);
				acceptedExecutions++;
			}
			return true;
		}, 30_000);
		await eventually('the warm-up contacts are in B', async () => (await erp.rows()).length === 2, 60_000);
		// B's rows land before Commit does: the baselines below are taken once both warm-up runs have ended and
		// committed (no planned change left), or a Commit still landing would show up as a write.
		await eventually('the warm-up executions ended', async () => (await n8n.executions(wf)).filter((e) => e.status !== 'running' && e.status !== 'new').length === acceptedExecutions, 60_000);
		await eventually('the warm-up runs committed', async () => {
			const { rows } = await storeClient.query(`SELECT count(*)::int AS n FROM datasync.planned_change`);
			return rows[0].n === 0;
		}, 60_000);
	}, 300_000);

	afterAll(async () => {
		await n8n?.stop();
		await storeClient?.end();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await Promise.all([pg?.drop(), n8nDb?.drop(), storeDb?.drop(), maria?.drop()]);
	});

	const good = change();
	const sig = (body: string, ts: number, secret = SECRET_A) => signWebhook(secret, ts, body);
	const CASES: Case[] = [
		// --- signatures and timestamps: 401 ---
		{ name: 'no signature, no timestamp', send: { body: good, unsigned: true }, status: 401, reason: /^missing signature header$/ },
		{ name: 'no signature header', send: { body: good, unsigned: true, headers: { 'x-datasync-timestamp': String(now()) } }, status: 401, reason: /^missing signature header$/ },
		{ name: 'no timestamp header', send: { body: good, unsigned: true, headers: { 'x-datasync-signature': sig(good, now()) } }, status: 401, reason: /^missing timestamp header$/ },
		{ name: 'empty signature', send: { body: good, headers: { 'x-datasync-signature': '' } }, status: 401, reason: /^missing signature header$/ },
		{ name: 'signature "sha256=" alone', send: { body: good, headers: { 'x-datasync-signature': 'sha256=' } }, status: 401, reason: /^signature does not match$/ },
		{ name: 'forged with a guessed secret', send: { body: good, secret: 'a-guessed-secret-0123456789' }, status: 401, reason: /^signature does not match$/ },
		{ name: "signed with the other system's secret", send: { body: good, secret: SECRET_B }, status: 401, reason: /^signature does not match$/ },
		{ name: 'truncated signature (32 of 64 hex)', send: { body: good, headers: { 'x-datasync-signature': sig(good, now()).slice(0, 32) } }, status: 401, reason: /^signature does not match$/ },
		{ name: 'signature with one hex digit more', send: { body: good, headers: { 'x-datasync-signature': `${sig(good, now())}0` } }, status: 401, reason: /^signature does not match$/ },
		{ name: 'signature of 64 non-hex characters', send: { body: good, headers: { 'x-datasync-signature': 'z'.repeat(64) } }, status: 401, reason: /^signature does not match$/ },
		{ name: 'signature as base64', send: { body: good, headers: { 'x-datasync-signature': Buffer.from(sig(good, now()), 'hex').toString('base64') } }, status: 401, reason: /^signature does not match$/ },
		{ name: 'body changed after signing (one character)', send: { body: good.replace('Ada', 'Eve'), signed: good }, status: 401, reason: /^signature does not match$/ },
		{ name: 'a newline appended after signing', send: { body: `${good}\n`, signed: good }, status: 401, reason: /^signature does not match$/ },
		{ name: 'signature of another body', send: { body: good, signed: change({ id: 'other' }) }, status: 401, reason: /^signature does not match$/ },
		{ name: 'timestamp header changed after signing', send: () => { const ts = now(); return send({ body: good, unsigned: true, headers: { 'x-datasync-timestamp': String(ts + 1), 'x-datasync-signature': sig(good, ts) } }); }, status: 401, reason: /^signature does not match$/ },
		{ name: 'stale timestamp (6 minutes old)', send: { body: good, skew: -361 }, status: 401, reason: /^timestamp outside the replay window$/ },
		{ name: 'stale timestamp (a day old)', send: { body: good, skew: -86_400 }, status: 401, reason: /^timestamp outside the replay window$/ },
		{ name: 'future timestamp (6 minutes ahead)', send: { body: good, skew: 361 }, status: 401, reason: /^timestamp outside the replay window$/ },
		{ name: 'future timestamp (year 2100)', send: () => send({ body: good, unsigned: true, headers: { 'x-datasync-timestamp': '4102444800', 'x-datasync-signature': sig(good, 4102444800) } }), status: 401, reason: /^timestamp outside the replay window$/ },
		{ name: 'timestamp zero', send: () => send({ body: good, unsigned: true, headers: { 'x-datasync-timestamp': '0', 'x-datasync-signature': sig(good, 0) } }), status: 401, reason: /^timestamp outside the replay window$/ },
		{ name: 'timestamp as ISO text', send: { body: good, headers: { 'x-datasync-timestamp': new Date().toISOString() } }, status: 401, reason: /^timestamp header must be Unix time in seconds$/ },
		{ name: 'timestamp in milliseconds', send: () => { const ts = Date.now(); return send({ body: good, unsigned: true, headers: { 'x-datasync-timestamp': String(ts), 'x-datasync-signature': signWebhook(SECRET_A, ts, good) } }); }, status: 401, reason: /^timestamp header must be Unix time in seconds$/ },
		{ name: 'negative timestamp', send: { body: good, headers: { 'x-datasync-timestamp': '-5' } }, status: 401, reason: /^timestamp header must be Unix time in seconds$/ },
		{ name: 'timestamp with decimals', send: { body: good, headers: { 'x-datasync-timestamp': `${now()}.5` } }, status: 401, reason: /^timestamp header must be Unix time in seconds$/ },
		{ name: 'timestamp of 13 digits', send: { body: good, headers: { 'x-datasync-timestamp': '9'.repeat(13) } }, status: 401, reason: /^timestamp header must be Unix time in seconds$/ },

		// --- the body: 400, 413, 415 ---
		{ name: 'empty body', send: { body: '' }, status: 400, reason: /^the body is empty$/ },
		{ name: 'JSON sent as text/plain', send: { body: good, contentType: 'text/plain' }, status: 415, reason: /^the content type must be application\/json, got "text\/plain"$/ },
		{ name: 'form-encoded body', send: { body: 'id=h-1&op=update', contentType: 'application/x-www-form-urlencoded' }, status: 415, reason: /got "application\/x-www-form-urlencoded"/ },
		{ name: 'XML body', send: { body: '<change><id>h-1</id></change>', contentType: 'application/xml' }, status: 415, reason: /got "application\/xml"/ },
		{ name: 'no content type', send: { body: good, contentType: null }, status: 415, reason: /got none$/ },
		{ name: 'octet-stream', send: { body: good, contentType: 'application/octet-stream' }, status: 415, reason: /got "application\/octet-stream"/ },
		{ name: 'a charset other than UTF-8', send: { body: good, contentType: 'application/json; charset=latin1' }, status: 415, reason: /must be UTF-8, the content type says latin1/ },
		// n8n's own body parser runs before any node for application/json: a body it cannot decode or parse is
		// answered 422 by n8n itself ("Failed to parse request body"), before the signature is even checked.
		{ name: 'a charset n8n does not know', send: { body: good, contentType: 'application/json; charset=iso-8859-1' }, status: 422, reason: /^Failed to parse request body$/ },
		{ name: 'multipart form', send: { body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x' }, status: 415, reason: /got "multipart\/form-data"/ },
		{ name: 'invalid UTF-8 bytes in a string', send: { body: Buffer.concat([Buffer.from('{"id":"h-1","op":"update","data":{"firstName":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]) }, status: 400, reason: /^the body is not valid UTF-8$/ },
		{ name: 'UTF-16 body', send: { body: Buffer.from(good, 'utf16le') }, status: 422, reason: /^Failed to parse request body$/ },
		{ name: 'unknown content encoding (br)', send: { body: randomBytes(64), headers: { 'content-encoding': 'br' } }, status: 422, reason: /^Failed to parse request body$/ },
		{ name: 'truncated JSON', send: { body: good.slice(0, 40) }, status: 422, reason: /^Failed to parse request body$/ },
		{ name: 'JSON with trailing garbage', send: { body: `${good}}` }, status: 422, reason: /^Failed to parse request body$/ },
		{ name: 'JSON with a comment', send: { body: `/* hi */${good}` }, status: 422, reason: /^Failed to parse request body$/ },
		{ name: 'single-quoted JSON', send: { body: good.replaceAll('"', "'") }, status: 422, reason: /^Failed to parse request body$/ },
		// A gzip body n8n cannot inflate: n8n 2.41 inflates before any node runs and answers its zlib error 500
		// ("There was a problem executing the workflow"). No node can answer it otherwise (README, Known limits);
		// what this package guarantees is that nothing is written and n8n stays up.
		{ name: 'bogus gzip (not gzip at all), answered by n8n', send: { body: randomBytes(256), headers: { 'content-encoding': 'gzip' } }, status: 500, reason: /^There was a problem executing the workflow$/ },
		{ name: 'truncated gzip, answered by n8n', send: { body: gzipSync(Buffer.from(good)).subarray(0, 30), headers: { 'content-encoding': 'gzip' } }, status: 500, reason: /^There was a problem executing the workflow$/ },
		{ name: 'bogus gzip sent as octet-stream (read by the trigger)', send: { body: randomBytes(256), contentType: 'application/octet-stream', headers: { 'content-encoding': 'gzip' } }, status: 415, reason: /got "application\/octet-stream"/ },
		{ name: 'JSON null', send: { body: 'null' }, status: 400, reason: /^the change is not an object$/ },
		{ name: 'a JSON number', send: { body: '42' }, status: 400, reason: /^the change is not an object$/ },
		{ name: 'a JSON string', send: { body: '"h-1"' }, status: 400, reason: /^the change is not an object$/ },
		{ name: 'an empty array', send: { body: '[]' }, status: 400, reason: /^the body holds no change$/ },
		{ name: 'an empty object', send: { body: '{}' }, status: 400, reason: /^the change: field "id" \(the record id\) is missing$/ },
		{ name: 'an array of arrays', send: { body: `[[${good}]]` }, status: 400, reason: /^change 0 is not an object$/ },
		{ name: '5,000-deep nesting', send: { body: nested(5000) }, status: 400, reason: /nested deeper than 32 levels/ },
		{ name: '5,000-deep array nesting', send: { body: '['.repeat(5000) + ']'.repeat(5000) }, status: 400, reason: /nested deeper than 32 levels/ },
		{ name: '40-deep nesting inside the data', send: { body: change({}, { notes: JSON.parse(nested(40)) }) }, status: 400, reason: /nested deeper than 32 levels/ },
		{ name: 'a 10 MB body', send: { body: change({}, { notes: 'x'.repeat(10 * 1024 * 1024) }) }, status: 413, reason: /more than the limit of 8388608 \(the trigger's Max Body Size option\)/ },
		{ name: 'a 16 MB body', send: { body: change({}, { notes: 'x'.repeat(16_000_000) }) }, status: 413, reason: /more than the limit of 8388608/ },
		{ name: '10,001 changes', send: { body: JSON.stringify(Array.from({ length: 10_001 }, (_, i) => ({ id: `m-${i}`, op: 'update', data: { email: `m${i}@example.com` } }))) }, status: 413, reason: /holds 10001 changes, more than the limit of 10000.*none was taken/ },
		{ name: '10,000 changes, the last one bad (all or nothing)', send: { body: JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ id: `n-${i}`, op: i === 9_999 ? 'explode' : 'update', data: { email: `n${i}@example.com` } }))) }, status: 400, reason: /^change 9999: field "op" \(the operation\) is "explode"/ },

		// --- each change: 400 naming the change and the field ---
		{ name: 'no id', send: { body: change({ id: undefined }) }, status: 400, reason: /^the change: field "id" \(the record id\) is missing$/ },
		{ name: 'an empty id', send: { body: change({ id: '' }) }, status: 400, reason: /field "id" \(the record id\) is empty/ },
		{ name: 'a blank id', send: { body: change({ id: '  \t' }) }, status: 400, reason: /field "id" .*is empty/ },
		{ name: 'an id that is an object', send: { body: change({ id: { $ne: null } }) }, status: 400, reason: /field "id" \(the record id\) must be a string or a number, got object/ },
		{ name: 'an id that is an array', send: { body: change({ id: ['h-1'] }) }, status: 400, reason: /got an array/ },
		{ name: 'an id that is null', send: { body: change({ id: null }) }, status: 400, reason: /got null/ },
		{ name: 'an id that is true', send: { body: change({ id: true }) }, status: 400, reason: /got boolean/ },
		{ name: 'an id of 256 characters', send: { body: change({ id: 'i'.repeat(256) }) }, status: 400, reason: /is 256 characters, more than 255/ },
		{ name: 'an id of 100,000 characters', send: { body: change({ id: 'i'.repeat(100_000) }) }, status: 400, reason: /is 100000 characters, more than 255/ },
		{ name: 'an id with a NUL byte', send: { body: change({ id: 'h\u00001' }) }, status: 400, reason: /field "id" holds a NUL character/ },
		{ name: 'an id with a line break', send: { body: change({ id: 'h\n1' }) }, status: 400, reason: /control character/ },
		{ name: 'an id with an escape character', send: { body: change({ id: 'h\u001b[31m1' }) }, status: 400, reason: /control character/ },
		{ name: 'an id with a lone surrogate', send: { body: '{"id":"h\\ud83d","op":"update","data":{"email":"s@example.com"}}' }, status: 400, reason: /lone UTF-16 surrogate/ },
		{ name: 'a decimal id', send: { body: change({ id: 1.5 }) }, status: 400, reason: /whole number below 2\^53/ },
		{ name: 'an id beyond 2^53 (would lose digits)', send: { body: '{"id":12345678901234567890,"op":"update","data":{"email":"big@example.com"}}' }, status: 400, reason: /whole number below 2\^53/ },
		{ name: 'no op', send: { body: change({ op: undefined }) }, status: 400, reason: /^the change: field "op" \(the operation\) is missing; it must be one of upsert, create/ },
		{ name: 'an unknown op', send: { body: change({ op: 'merge' }) }, status: 400, reason: /field "op" \(the operation\) is "merge", not one of/ },
		{ name: 'an empty op', send: { body: change({ op: '' }) }, status: 400, reason: /field "op" \(the operation\) is missing/ },
		{ name: 'an op that is null', send: { body: change({ op: null }) }, status: 400, reason: /field "op" \(the operation\) is missing/ },
		{ name: 'an op that is a number', send: { body: change({ op: 1 }) }, status: 400, reason: /field "op" \(the operation\) must be text/ },
		{ name: 'an op that is an object', send: { body: change({ op: { type: 'update' } }) }, status: 400, reason: /must be text/ },
		{ name: 'an op in SQL', send: { body: change({ op: "update'; DROP TABLE crm_people; --" }) }, status: 400, reason: /not one of/ },
		{ name: 'a NUL byte in a value', send: { body: change({}, { firstName: 'A\u0000da' }) }, status: 400, reason: /^the change: field "data.firstName" holds a NUL character$/ },
		{ name: 'a lone surrogate in a value', send: { body: '{"id":"h-1","op":"update","data":{"email":"s@example.com","lastName":"\\udead"}}' }, status: 400, reason: /field "data.lastName" holds a lone UTF-16 surrogate/ },
		{ name: 'a NUL byte in a field name', send: { body: '{"id":"h-1","op":"update","data":{"email":"s@example.com","first\\u0000Name":"x"}}' }, status: 400, reason: /a field name in "data" holds a NUL character/ },
		{ name: 'a __proto__ key in the data', send: { body: '{"id":"h-1","op":"update","data":{"email":"p@example.com","__proto__":{"isAdmin":true}}}' }, status: 400, reason: /field "data.__proto__" is not allowed/ },
		{ name: 'a __proto__ key in the change', send: { body: '{"id":"h-1","op":"update","__proto__":{"op":"delete"},"data":{"email":"p@example.com"}}' }, status: 400, reason: /field "__proto__" is not allowed/ },
		{ name: 'a nested __proto__ key', send: { body: '{"id":"h-1","op":"update","data":{"email":"p@example.com","address":{"__proto__":{"x":1}}}}' }, status: 400, reason: /field "data.address.__proto__" is not allowed/ },
		{ name: 'a constructor key', send: { body: change({}, { constructor: { prototype: { isAdmin: true } } }) }, status: 400, reason: /field "data.constructor" is not allowed/ },
		{ name: 'a prototype key', send: { body: change({}, { prototype: 'x' }) }, status: 400, reason: /field "data.prototype" is not allowed/ },
		{ name: 'changedAt 2023-02-29', send: { body: change({ changedAt: '2023-02-29T10:00:00Z' }) }, status: 400, reason: /field "changedAt" must be a date-time that exists/ },
		{ name: 'changedAt 24:00', send: { body: change({ changedAt: '2026-12-01T24:00:00Z' }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'changedAt in year 0', send: { body: change({ changedAt: '0000-01-01T00:00:00Z' }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'changedAt in month 13', send: { body: change({ changedAt: '2026-13-01T00:00:00Z' }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'changedAt 31 June', send: { body: change({ changedAt: '2026-06-31' }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'changedAt as a word', send: { body: change({ changedAt: 'now' }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'changedAt as a negative epoch', send: { body: change({ changedAt: -1 }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'changedAt as an object', send: { body: change({ changedAt: { $date: 1 } }) }, status: 400, reason: /must be a date-time that exists/ },
		{ name: 'data that is an array', send: { body: change({ data: [1, 2] }) }, status: 400, reason: /field "data" \(the record\) must be an object/ },
		{ name: 'data that is text', send: { body: change({ data: 'email=x' }) }, status: 400, reason: /field "data" \(the record\) must be an object/ },
		{ name: 'no data on an upsert', send: { body: change({ data: undefined }) }, status: 400, reason: /field "data" \(the record\) must be an object/ },
		{ name: 'an actor that is an object', send: { body: change({ actor: { name: 'x' } }) }, status: 400, reason: /field "actor" \(the actor\) must be text/ },
		{ name: 'a bad change among good ones (all or nothing)', send: { body: `[${change({ id: 'b-1' })},${change({ id: 'b-2' })},${change({ id: { a: 1 } })}]` }, status: 400, reason: /^change 2: field "id"/ },

		// --- methods: n8n registers the trigger for POST only ---
		...['GET', 'PUT', 'PATCH', 'DELETE'].map((method) => ({ name: `method ${method}`, send: { body: good, method }, status: 404, reason: /not registered/ })),
	];

	it(`answers each of ${CASES.length} hostile requests with its expected status and reason, and writes nothing`, async () => {
		const before = await counts();
		const wrong: string[] = [];
		for (const c of CASES) {
			const res = typeof c.send === 'function' ? await c.send() : await send(c.send);
			const reason = typeof res.body === 'object' && res.body !== null ? String((res.body as { error?: unknown; message?: unknown }).error ?? (res.body as { message?: unknown }).message ?? '') : res.text;
			if (res.status !== c.status || !c.reason.test(reason)) wrong.push(`${c.name}: expected ${c.status} ${c.reason}, got ${res.status} ${reason.slice(0, 200)}`);
		}
		expect(wrong).toEqual([]);
		// Nothing anywhere: no row in A or B, no row in any store table, no execution.
		expect(await counts()).toEqual(before);
		const executions = await n8n.executions(wf);
		expect(executions).toHaveLength(acceptedExecutions);
	}, 300_000);

	it('refuses an exact replay at the same and at the other webhook process, also with the signature spelled otherwise', async () => {
		const body = change({ id: 'r-1' }, { id: 'r-1', email: 'replay@example.com' });
		const ts = String(now());
		const signature = signWebhook(SECRET_A, ts, body);
		const post = (process: number, spelled: string) =>
			fetch(`http://127.0.0.1:${n8n.webhookPorts[process]}/webhook/${paths.crm}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'x-datasync-timestamp': ts, 'x-datasync-signature': spelled },
				body,
			});
		expect((await post(0, `sha256=${signature}`)).status).toBe(200);
		acceptedExecutions++;
		for (const [process, spelled] of [
			[0, `sha256=${signature}`],
			[1, `sha256=${signature}`],
			[1, signature],
			[0, signature.toUpperCase()],
		] as const) {
			const res = await post(process, spelled);
			expect({ process, status: res.status, body: await res.json() }).toEqual({ process, status: 401, body: { error: 'request already received (replay)' } });
		}
		// The same change signed anew (another second) is a new request: the Loop Guard sees it is a duplicate.
		await eventually('the contact is in B once', async () => (await erp.rows()).filter((r) => r.email === 'replay@example.com').length === 1, 60_000);
		await eventually('every accepted delivery ran', async () => (await n8n.executions(wf)).filter((e) => e.status !== 'running' && e.status !== 'new').length === acceptedExecutions);
		expect((await erp.rows()).filter((r) => r.email === 'replay@example.com')).toHaveLength(1);
	}, 120_000);

	it('sends well-formed changes with values the Mapper refuses to its Invalid output, naming the field; nothing reaches B', async () => {
		const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
			['birthDate 2023-02-29', { birthDate: '2023-02-29' }, /birthDate/],
			['birthDate in year 0', { birthDate: '0000-01-01' }, /birthDate/],
			['birthDate 2024-13-45', { birthDate: '2024-13-45' }, /birthDate/],
			['marketingOptIn as the text "maybe"', { marketingOptIn: 'maybe' }, /marketingOptIn/],
			['marketingOptIn as the number 7', { marketingOptIn: 7 }, /marketingOptIn/],
			['an e-mail that is not one', { email: 'not-an-email' }, /email/],
			['no e-mail (required)', { email: null }, /email/],
			['an e-mail holding SQL', { email: "x@example.com'; DROP TABLE erp_customers; --" }, /email/],
			['a lifecycle stage not in the value map', { lifecycleStage: 'vip' }, /lifecycleStage|status/],
			['a first name of 101 characters', { firstName: 'f'.repeat(101) }, /firstName/],
			['a country code of three letters', { countryCode: 'GBR' }, /countryCode|country/],
			['a phone of letters', { phone: 'call me' }, /phone/],
			['a first name that is a number', { firstName: 12345 }, /firstName/],
			['a first name that is an object', { firstName: { first: 'Ada' } }, /firstName/],
		];
		const before = await counts();
		const runs = (await n8n.executions(wf)).length;
		for (const [i, [, data]] of invalid.entries()) {
			const res = await send({ body: change({ id: `inv-${i}` }, { id: `inv-${i}`, email: `inv${i}@example.com`, ...data }) });
			expect(res.status).toBe(200);
		}
		acceptedExecutions += invalid.length;
		const done = await eventually(
			'the invalid deliveries ran',
			async () => {
				const list = (await n8n.executions(wf)).filter((e) => e.status !== 'running' && e.status !== 'new');
				return list.length >= runs + invalid.length ? list.slice(runs) : false;
			},
			60_000,
		);
		const full = await Promise.all(done.map((e) => n8n.execution(e.id)));
		const got = full.map((e) => ({ status: e.status, invalid: outputOf(e, 'Invalid records').map((j) => JSON.stringify(j)) }));
		for (const [i, [name, , field]] of invalid.entries()) {
			const run = got.find((g) => g.invalid.some((j) => j.includes(`"inv-${i}"`)));
			expect({ name, status: run?.status, names: run?.invalid.some((j) => field.test(j)) }).toEqual({ name, status: 'success', names: true });
		}
		const after = await counts();
		// Nothing written to A or B, no golden record, link or planned write for any of them.
		for (const table of ['A rows', 'B rows', 'store.golden', 'store.link', 'store.planned_change', 'store.conflict']) {
			expect({ table, n: after[table] }).toEqual({ table, n: before[table] });
		}
	}, 120_000);

	it('takes SQL and quotes in field names and values as data: the tables stay, the value is stored as sent', async () => {
		const res = await send({
			body: change({ id: 'sql-1' }, { id: 'sql-1', email: 'sql1@example.com', lastName: "O'Brien\"; DROP TABLE erp_customers; --", "city'; DROP TABLE crm_people; --": 'x' }),
		});
		expect(res.status).toBe(200);
		acceptedExecutions++;
		const row = await eventually('the contact is in B', async () => (await erp.rows()).find((r) => r.email === 'sql1@example.com'), 60_000);
		expect(row.last_name).toBe("O'Brien\"; DROP TABLE erp_customers; --");
		expect((await crm.rows()).length).toBeGreaterThanOrEqual(0);
	}, 120_000);

	it('n8n and both webhook processes are still up after every hostile request', async () => {
		for (const port of [n8n.port, ...n8n.webhookPorts]) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
	});
});
