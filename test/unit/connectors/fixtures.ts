/**
 * One real database per dialect for the connector tests: a fresh Postgres database, a fresh MariaDB
 * database and a fresh SQLite file, each with a raw query function to set up tables behind the transport's back.
 */
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import type { SqlConnectionConfig, SqlDialect } from '../../../lib/connectors/sql';
import { createMariaDbDatabase, createPgDatabase, createTempDir } from '../../helpers/services';

export interface DialectFixture {
	dialect: SqlDialect;
	config: SqlConnectionConfig;
	/** Runs raw SQL (setup and checks), returning rows. */
	query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
	/** A quoted identifier in this dialect. */
	q(name: string): string;
	drop(): Promise<void>;
}

export async function openFixture(dialect: SqlDialect): Promise<DialectFixture> {
	if (dialect === 'postgres') {
		const db = await createPgDatabase('dsconn');
		const client = new Client(db.config);
		await client.connect();
		return {
			dialect,
			config: { dialect, ...db.config, ssl: 'disable' },
			query: async (sql, params) => (await client.query(sql, params)).rows,
			q: (n) => `"${n.replace(/"/g, '""')}"`,
			drop: async () => {
				await client.end();
				await db.drop();
			},
		};
	}
	if (dialect === 'mysql') {
		const db = await createMariaDbDatabase('dsconn');
		const connection = await mysql.createConnection({ ...db.config, dateStrings: true, timezone: 'Z' });
		await connection.query("SET time_zone = '+00:00'");
		return {
			dialect,
			config: { dialect, ...db.config, ssl: 'disable' },
			query: async (sql, params) => {
				const [rows] = await connection.query(sql, params);
				return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
			},
			q: (n) => `\`${n.replace(/`/g, '``')}\``,
			drop: async () => {
				await connection.end();
				await db.drop();
			},
		};
	}
	const dir = createTempDir('dsconn');
	const file = dir.file('system.sqlite');
	const db = new DatabaseSync(file);
	return {
		dialect,
		config: { dialect, file },
		query: async (sql, params) => {
			const statement = db.prepare(sql);
			return /^\s*(select|pragma|with)/i.test(sql)
				? (statement.all(...((params ?? []) as never[])) as Array<Record<string, unknown>>)
				: (statement.run(...((params ?? []) as never[])), []);
		},
		q: (n) => `"${n.replace(/"/g, '""')}"`,
		drop: async () => {
			db.close();
			dir.remove();
		},
	};
}

/** DDL for a contact table whose table and column names all need quoting. */
export function contactTableDdl(f: DialectFixture, table: string): string[] {
	const q = f.q;
	if (f.dialect === 'postgres') {
		return [
			`CREATE TABLE ${q(table)} (${q('ID')} bigserial PRIMARY KEY, ${q('Updated At')} timestamptz(6), ${q('e-mail')} text CHECK (length(${q('e-mail')}) < 300),
			 ${q('note "q"')} text, ${q('deleted at')} timestamptz(6), ${q('who')} text, ${q('payload')} jsonb, ${q('active')} boolean)`,
			`CREATE INDEX ON ${q(table)} (${q('Updated At')}, ${q('ID')})`,
		];
	}
	if (f.dialect === 'mysql') {
		return [
			`CREATE TABLE ${q(table)} (${q('ID')} bigint AUTO_INCREMENT PRIMARY KEY, ${q('Updated At')} datetime(6) NULL, ${q('e-mail')} varchar(1000) CHECK (char_length(${q('e-mail')}) < 300),
			 ${q('note "q"')} longtext, ${q('deleted at')} datetime(6) NULL, ${q('who')} varchar(64), ${q('payload')} longtext, ${q('active')} tinyint(1),
			 INDEX (${q('Updated At')}, ${q('ID')}))`,
		];
	}
	return [
		`CREATE TABLE ${q(table)} (${q('ID')} INTEGER PRIMARY KEY, ${q('Updated At')} TEXT, ${q('e-mail')} TEXT CHECK (length(${q('e-mail')}) < 300),
		 ${q('note "q"')} TEXT, ${q('deleted at')} TEXT, ${q('who')} TEXT, ${q('payload')} TEXT, ${q('active')} INTEGER)`,
		`CREATE INDEX ${q(`${table} by time`)} ON ${q(table)} (${q('Updated At')}, ${q('ID')})`,
	];
}
