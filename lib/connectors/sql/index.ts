/**
 * Entry point of the SQL connectors: credentials → connection settings → a transport of the right dialect.
 * Transports (and so their connection pools) are shared by every execution in one n8n process: opening a
 * pool per execution would cost a handshake per poll and exhaust the server's connections under load.
 */
import { createHash } from 'node:crypto';
import { SqlConfigError } from './common';
import { MySqlTransport } from './mysql';
import { PostgresTransport } from './postgres';
import { SqliteTransport } from './sqlite';
import type { SqlConnectionConfig, SqlDialect, SqlSsl, SqlTransport } from './types';

export type * from './types';
export { SqlConfigError, SqlUnavailableError, checkIdentifier, describeUnavailable, isConnectionError, toIsoUtc, toSqlUtc } from './common';

const DIALECTS: SqlDialect[] = ['postgres', 'mysql', 'sqlite'];

/** Reads the `dataSyncSqlApi` credential's fields into connection settings. */
export function sqlConfigFromCredentials(creds: Record<string, unknown>): SqlConnectionConfig {
	const dialect = creds.dialect as SqlDialect;
	if (!DIALECTS.includes(dialect)) throw new SqlConfigError(`unknown SQL dialect "${String(creds.dialect)}"`);
	if (dialect === 'sqlite') return { dialect, file: String(creds.file ?? '') };
	const ssl = (creds.ssl as SqlSsl | undefined) ?? 'disable';
	return {
		dialect,
		host: String(creds.host ?? 'localhost'),
		port: Number(creds.port ?? (dialect === 'postgres' ? 5432 : 3306)),
		database: String(creds.database ?? ''),
		user: String(creds.user ?? ''),
		password: String(creds.password ?? ''),
		ssl: ['disable', 'require', 'allow-unauthorized'].includes(ssl) ? ssl : 'disable',
	};
}

/** Opens a new transport that the caller owns and closes (credential tests, scripts). */
export function openTransport(config: SqlConnectionConfig): SqlTransport {
	switch (config.dialect) {
		case 'postgres':
			return new PostgresTransport(config);
		case 'mysql':
			return new MySqlTransport(config);
		case 'sqlite':
			return new SqliteTransport(config);
	}
}

const shared = new Map<string, SqlTransport>();

function keyOf(config: SqlConnectionConfig): string {
	// The password is part of the identity (a changed credential gets a new pool) but is kept only as a hash.
	const password = createHash('sha256').update(config.password ?? '').digest('hex');
	return JSON.stringify([config.dialect, config.host, config.port, config.database, config.user, config.ssl, config.file, password]);
}

/** The process-wide transport for these settings, created on first use. */
export function sharedTransport(config: SqlConnectionConfig): SqlTransport {
	const key = keyOf(config);
	let transport = shared.get(key);
	if (!transport) {
		transport = openTransport(config);
		shared.set(key, transport);
	}
	return transport;
}

/** Closes every shared transport (tests, scripts, shutdown). */
export async function closeSharedTransports(): Promise<void> {
	const all = [...shared.values()];
	shared.clear();
	await Promise.all(all.map((t) => t.close()));
}
