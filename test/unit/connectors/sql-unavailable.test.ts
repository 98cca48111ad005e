/**
 * A database that cannot be reached is reported with the system, server and table it concerns, not only
 * the driver's "connect ECONNREFUSED 127.0.0.1:5432": the errors of the real drivers against a port where
 * nothing listens, and a refused statement (which is not an outage) left as it is.
 */
import { createServer } from 'node:net';
import { describeUnavailable, isConnectionError, openTransport, SqlUnavailableError } from '../../../lib/connectors/sql';
import { createPgDatabase, PG, type PgTestDatabase } from '../../helpers/services';

async function closedPort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

const table = { table: 'contacts', idColumn: 'id', updatedAtColumn: 'updated_at' };

describe('describeUnavailable: a database that cannot be reached', () => {
	let pg: PgTestDatabase;

	beforeAll(async () => {
		pg = await createPgDatabase('ds_unavail');
	});

	afterAll(async () => {
		await pg?.drop();
	});

	it.each(['postgres', 'mysql'] as const)('%s: connection refused is named with the system and the server', async (dialect) => {
		const port = await closedPort();
		const transport = openTransport({ dialect, host: '127.0.0.1', port, database: 'crm', user: 'u', password: 'secret-password', ssl: 'disable' });
		try {
			const error = await transport.readSnapshot(table, null, 10).then(
				() => undefined,
				(e: unknown) => e,
			);
			expect(typeof (error as Error | undefined)?.message).toBe('string');
			expect(isConnectionError(error)).toBe(true);
			const described = describeUnavailable(error, `System "crm" (at 127.0.0.1:${port})`) as Error;
			expect(described).toBeInstanceOf(SqlUnavailableError);
			expect(described.message).toMatch(new RegExp(`^System "crm" \\(at 127\\.0\\.0\\.1:${port}\\): the database could not be reached \\(connection refused\\)$`));
			// No error code in the message: n8n would replace such a message with a generic one.
			expect(described.message).not.toMatch(/ECONN/i);
			expect(described.message).not.toContain('secret-password');
			expect(described.cause).toBe(error);
		} finally {
			await transport.close();
		}
	});

	it('a statement the database refuses is not an outage: returned as it is', async () => {
		const transport = openTransport({ dialect: 'postgres', ...pg.config, ssl: 'disable', host: PG.host });
		try {
			const error = await transport.readSnapshot({ ...table, table: 'no_such_table' }, null, 10).then(
				() => undefined,
				(e: unknown) => e,
			);
			expect(typeof (error as Error | undefined)?.message).toBe('string');
			expect(isConnectionError(error)).toBe(false);
			expect(describeUnavailable(error, 'System "crm"')).toBe(error);
		} finally {
			await transport.close();
		}
	});

	it('looks through causes and AggregateErrors; ordinary errors are not outages', () => {
		const refused = Object.assign(new Error(''), { code: 'ECONNREFUSED' });
		expect(isConnectionError(new AggregateError([refused], ''))).toBe(true);
		expect(isConnectionError(new Error('wrapped', { cause: refused }))).toBe(true);
		expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
		expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
		expect(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
		expect(isConnectionError('ECONNREFUSED')).toBe(false);
		expect(isConnectionError(null)).toBe(false);
		expect((describeUnavailable(Object.assign(new AggregateError([refused], ''), { code: 'ECONNREFUSED' }), 'System "x"') as Error).message).toBe(
			'System "x": the database could not be reached (connection refused)',
		);
	});
});
