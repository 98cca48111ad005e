/**
 * The REST credential's `authenticate` (what n8n applies to every request of the HTTP API node) and the
 * SQL credential's fields read into connection settings.
 */
import { DataSyncRestApi } from '../../../credentials/DataSyncRestApi.credentials';
import { sqlConfigFromCredentials, SqlConfigError } from '../../../lib/connectors/sql';

const authenticate = new DataSyncRestApi().authenticate;
const request = { url: 'https://api.example.com/contacts', method: 'GET' as const, headers: { Accept: 'application/json' }, qs: { page: 2 } };

test.each([
	['bearer', { authType: 'bearer', token: 't0k' }, { headers: { Accept: 'application/json', Authorization: 'Bearer t0k' } }],
	['header', { authType: 'header', headerName: 'X-Api-Key', headerSecret: 's3cret' }, { headers: { Accept: 'application/json', 'X-Api-Key': 's3cret' } }],
	['basic', { authType: 'basic', user: 'ann', password: 'pw' }, { auth: { username: 'ann', password: 'pw' } }],
	['query key', { authType: 'queryKey', queryName: 'key', queryApiKey: 'k' }, { qs: { page: 2, key: 'k' } }],
	['none', { authType: 'none' }, { headers: { Accept: 'application/json' }, qs: { page: 2 } }],
])('authenticate: %s', async (_name, credentials, expected) => {
	const out = await authenticate(credentials, request);
	expect(out).toMatchObject(expected);
	expect(out.url).toBe(request.url);
	// The request handed in is not changed: n8n may reuse it for a retry.
	expect(request.headers).toEqual({ Accept: 'application/json' });
});

test('SQL credential fields become connection settings; a wrong dialect is named', () => {
	expect(sqlConfigFromCredentials({ dialect: 'mysql', host: 'db', port: 3307, database: 'crm', user: 'u', password: 'p', ssl: 'require' })).toEqual({
		dialect: 'mysql',
		host: 'db',
		port: 3307,
		database: 'crm',
		user: 'u',
		password: 'p',
		ssl: 'require',
	});
	expect(sqlConfigFromCredentials({ dialect: 'sqlite', file: '/data/x.sqlite', host: 'ignored' })).toEqual({ dialect: 'sqlite', file: '/data/x.sqlite' });
	expect(() => sqlConfigFromCredentials({ dialect: 'oracle' })).toThrow(new SqlConfigError('unknown SQL dialect "oracle"'));
});
