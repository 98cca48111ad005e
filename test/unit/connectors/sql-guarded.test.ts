/**
 * Conditional writes (lib/connectors/sql/guarded.ts) against real Postgres, MariaDB and an SQLite file:
 * an update lands only on a row still at the expected version, a linked row deleted meanwhile is never
 * re-inserted, a create finds its row by match value instead of inserting a second one, and two writers
 * racing on one row with the same expected version cannot both win.
 */
import { closeSharedTransports, openTransport, type GuardedRecord, type SqlTransport, type TableSpec, type WriteOptions } from '../../../lib/connectors/sql';
import { writeGuarded } from '../../../lib/connectors/sql/guarded';
import { matchValue } from '../../../lib/engine/identity';
import { contactTableDdl, openFixture, type DialectFixture } from './fixtures';

const spec: TableSpec = {
	table: 'guarded contacts',
	idColumn: 'ID',
	updatedAtColumn: 'Updated At',
	softDelete: { column: 'deleted at', kind: 'timestamp' },
	actorColumn: 'who',
};

let clock = Date.UTC(2031, 0, 1);
/** Each write at a later time, so every write gives its row a new version. */
function options(): WriteOptions & { deleteMode: 'hard' | 'soft' } {
	clock += 1000;
	return { touchUpdatedAt: true, actor: 'datasync', now: new Date(clock).toISOString(), deleteMode: 'hard' };
}

const email = (value: string) => ({ column: 'e-mail', value: matchValue(value) as string, normalise: (text: string) => matchValue(text) });

function update(id: string, values: Record<string, unknown>, expect?: string, index = 0): GuardedRecord {
	return { id, op: 'upsert', values, expect, label: `item ${index} (contact / t / ${id})`, index };
}

function create(values: Record<string, unknown>, index = 0): GuardedRecord {
	return { id: null, op: 'upsert', values, match: [email(String(values['e-mail']))], label: `item ${index} (contact / t / new)`, index };
}

describe.each(['postgres', 'mysql', 'sqlite'] as const)('conditional writes: %s', (dialect) => {
	let f: DialectFixture;
	let t: SqlTransport;

	async function row(id: string) {
		const [r] = await t.readByIds(spec, [id]);
		return r;
	}

	async function count(): Promise<number> {
		const rows = await f.query(`SELECT COUNT(*) AS n FROM ${f.q(spec.table)}`);
		return Number((rows as Array<Record<string, unknown>>)[0].n);
	}

	/** Another application edits the row behind the sync's back (its own time, its own actor). */
	async function userEdit(id: string, note: string, at: string): Promise<void> {
		const p = (i: number) => (f.dialect === 'postgres' ? `$${i}` : '?');
		const ts = f.dialect === 'mysql' ? at.replace('T', ' ').replace('Z', '') : at;
		await f.query(`UPDATE ${f.q(spec.table)} SET ${f.q('note "q"')} = ${p(1)}, ${f.q('Updated At')} = ${p(2)}, ${f.q('who')} = 'user' WHERE ${f.q('ID')} = ${p(3)}`, [
			note,
			ts,
			dialect === 'sqlite' ? Number(id) : id,
		]);
	}

	beforeAll(async () => {
		f = await openFixture(dialect);
		for (const sql of contactTableDdl(f, spec.table)) await f.query(sql);
		t = openTransport(f.config);
	}, 60_000);

	afterAll(async () => {
		await t?.close();
		await closeSharedTransports();
		await f?.drop();
	});

	test('an update lands on a row still at the expected version, and reports the row\'s own new version', async () => {
		const [made] = await writeGuarded(t, spec, [create({ 'e-mail': 'ada@example.com', 'note "q"': 'one' })], options());
		expect(made.outcome).toBe('written');
		const id = (made as { id: string }).id;
		const before = await row(id);
		expect((made as { version: string }).version).toBe(before.updatedAt);
		const o = options();
		const [out] = await writeGuarded(t, spec, [update(id, { 'note "q"': 'two' }, before.updatedAt!)], o);
		const after = await row(id);
		expect(out).toEqual({ outcome: 'written', id, version: after.updatedAt });
		expect(Date.parse(after.updatedAt!)).toBe(Date.parse(o.now));
		expect(after.row['note "q"']).toBe('two');
	});

	test('a row that moved since the expected version is not overwritten: stale, with its current version', async () => {
		const [made] = await writeGuarded(t, spec, [create({ 'e-mail': 'bob@example.com', 'note "q"': 'synced' })], options());
		const id = (made as { id: string }).id;
		const known = (await row(id)).updatedAt!;
		await userEdit(id, 'the user\'s edit', '2031-06-01T10:00:00.000Z');
		const moved = (await row(id)).updatedAt;
		const [out] = await writeGuarded(t, spec, [update(id, { 'note "q"': 'from the other system' }, known)], options());
		expect(out).toEqual({ outcome: 'stale', id, version: moved });
		expect((await row(id)).row['note "q"']).toBe('the user\'s edit');
		// Against the version now read, the write goes through.
		const [again] = await writeGuarded(t, spec, [update(id, { 'note "q"': 'merged' }, moved!)], options());
		expect(again.outcome).toBe('written');
		expect((await row(id)).row['note "q"']).toBe('merged');
	});

	test('a linked row deleted (or soft-deleted) in the target is never re-inserted by an update', async () => {
		const made = await writeGuarded(t, spec, [create({ 'e-mail': 'cy@example.com' }, 0), create({ 'e-mail': 'di@example.com' }, 1)], options());
		const [hard, soft] = made.map((m) => (m as { id: string }).id);
		const p = f.dialect === 'postgres' ? '$1' : '?';
		await f.query(`DELETE FROM ${f.q(spec.table)} WHERE ${f.q('ID')} = ${p}`, [dialect === 'sqlite' ? Number(hard) : hard]);
		await writeGuarded(t, spec, [{ id: soft, op: 'delete', values: {}, label: 'x', index: 0 }], { ...options(), deleteMode: 'soft' });
		const n = await count();
		const out = await writeGuarded(t, spec, [update(hard, { 'note "q"': 'x' }, undefined, 0), update(soft, { 'note "q"': 'y' }, undefined, 1)], options());
		expect(out).toEqual([
			{ outcome: 'target-deleted', id: hard },
			{ outcome: 'target-deleted', id: soft },
		]);
		expect(await count()).toBe(n);
		expect(await row(hard)).toBeUndefined();
		expect((await row(soft)).row['deleted at']).not.toBeNull();
	});

	test('a create finds the row that already holds its match value (any case, spaces, Unicode form) and inserts nothing', async () => {
		await writeGuarded(t, spec, [create({ 'e-mail': '  Émile.Zola@Example.COM ' })], options());
		const n = await count();
		const decomposed = 'e\u0301mile.zola@example.com';
		const out = await writeGuarded(t, spec, [create({ 'e-mail': decomposed, 'note "q"': 'must not overwrite' })], options());
		expect(out[0]).toMatchObject({ outcome: 'matched', column: 'e-mail' });
		expect(await count()).toBe(n);
		expect((await row((out[0] as { id: string }).id)).row['note "q"']).toBeNull();
	});

	test('two rows with one match value are an ambiguous match; two creates of one record in a batch insert one row', async () => {
		await writeGuarded(t, spec, [create({ 'e-mail': 'twin@example.com' }, 0)], options());
		await t.upsert(spec, [{ id: null, values: { 'e-mail': 'TWIN@example.com' }, label: 'x', index: 0 }], options());
		const n = await count();
		const [amb] = await writeGuarded(t, spec, [create({ 'e-mail': 'twin@example.com' })], options());
		expect(amb).toMatchObject({ outcome: 'ambiguous', column: 'e-mail' });
		expect((amb as { ids: string[] }).ids).toHaveLength(2);
		const pair = await writeGuarded(t, spec, [create({ 'e-mail': 'once@example.com' }, 0), create({ 'e-mail': 'ONCE@example.com' }, 1)], options());
		expect(pair[0].outcome).toBe('written');
		expect(pair[1]).toMatchObject({ outcome: 'matched', id: (pair[0] as { id: string }).id });
		expect(await count()).toBe(n + 1);
	});

	test('a delete of a row that moved is stale, not done', async () => {
		const [made] = await writeGuarded(t, spec, [create({ 'e-mail': 'del@example.com' })], options());
		const id = (made as { id: string }).id;
		const known = (await row(id)).updatedAt!;
		await userEdit(id, 'edited before the delete arrived', '2031-07-01T10:00:00.000Z');
		const [out] = await writeGuarded(t, spec, [{ id, op: 'delete', values: {}, expect: known, label: 'x', index: 0 }], options());
		expect(out.outcome).toBe('stale');
		expect(await row(id)).toBeDefined();
	});

	test('two writers racing on one row with the same expected version: exactly one wins', async () => {
		const [made] = await writeGuarded(t, spec, [create({ 'e-mail': 'race@example.com' })], options());
		const id = (made as { id: string }).id;
		const known = (await row(id)).updatedAt!;
		const other = openTransport(f.config);
		try {
			const a = () => writeGuarded(t, spec, [update(id, { 'note "q"': 'writer a' }, known)], options());
			const b = () => writeGuarded(other, spec, [update(id, { 'note "q"': 'writer b' }, known)], options());
			// SQLite has one writer at a time per file (across processes, the busy timeout queues them); in one
			// process a second connection's BEGIN would wait on the event loop that the first needs, so one after the other.
			const [ra, rb] = dialect === 'sqlite' ? [await a(), await b()] : await Promise.all([a(), b()]);
			const [x, y] = [ra, rb];
			const outcomes = [x[0].outcome, y[0].outcome].sort();
			expect(outcomes).toEqual(['stale', 'written']);
			const winner = x[0].outcome === 'written' ? 'writer a' : 'writer b';
			expect((await row(id)).row['note "q"']).toBe(winner);
		} finally {
			await other.close();
		}
	});
});
