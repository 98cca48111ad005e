/**
 * The template systems in real databases, for the template acceptance tests: System A, a CRM in Postgres
 * (camelCase, ISO dates), and System B, an ERP in MariaDB (snake_case, dd/MM/yyyy). Each helper changes a
 * row as the system's own users would (their actor, their updated-at) and builds the signed notification
 * the system sends about it: `{ id, op, changedAt, actor, data }` (the DataSync Trigger's defaults).
 */
import { Client } from 'pg';
import mysql from 'mysql2/promise';

import type { MariaDbTestDatabase, PgTestDatabase } from '../helpers/services';

type Json = Record<string, unknown>;

export interface Notification {
	id: string | number;
	op: 'upsert' | 'delete';
	changedAt: string;
	actor: string | null;
	data: Json;
}

export class CrmSystem {
	private constructor(
		readonly client: Client,
		readonly table: string,
	) {}

	static async open(pg: PgTestDatabase, table: string): Promise<CrmSystem> {
		const client = new Client(pg.config);
		await client.connect();
		await client.query(`CREATE TABLE "${table}" (
			id SERIAL PRIMARY KEY, email TEXT NOT NULL, "firstName" TEXT, "lastName" TEXT, phone TEXT, "birthDate" DATE,
			"lifecycleStage" TEXT, "marketingOptIn" BOOLEAN, street TEXT, city TEXT, "postalCode" TEXT, "countryCode" TEXT,
			"updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(), "modifiedBy" TEXT, "deletedAt" TIMESTAMPTZ(3))`);
		await client.query(`CREATE INDEX ON "${table}" ("updatedAt", id)`);
		return new CrmSystem(client, table);
	}

	/** Rows as JSON (dates as text, times as ISO 8601), in id order. */
	async rows(): Promise<Json[]> {
		const { rows } = await this.client.query(`SELECT row_to_json(t) AS j FROM "${this.table}" t ORDER BY id`);
		return rows.map((r: { j: Json }) => r.j);
	}

	async row(id: string | number): Promise<Json | undefined> {
		const { rows } = await this.client.query(`SELECT row_to_json(t) AS j FROM "${this.table}" t WHERE id = $1`, [id]);
		return (rows[0] as { j: Json } | undefined)?.j;
	}

	async byEmail(email: string): Promise<Json | undefined> {
		const { rows } = await this.client.query(`SELECT row_to_json(t) AS j FROM "${this.table}" t WHERE email = $1`, [email]);
		return (rows[0] as { j: Json } | undefined)?.j;
	}

	async insert(values: Json, actor = 'alice'): Promise<Json> {
		const cols = Object.keys(values);
		const { rows } = await this.client.query(
			`INSERT INTO "${this.table}" (${cols.map((c) => `"${c}"`).join(', ')}, "modifiedBy") VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}, $${cols.length + 1}) RETURNING id`,
			[...Object.values(values), actor],
		);
		return (await this.row(rows[0].id as number))!;
	}

	async update(id: string | number, values: Json, actor = 'alice'): Promise<Json> {
		const cols = Object.keys(values);
		await this.client.query(
			`UPDATE "${this.table}" SET ${cols.map((c, i) => `"${c}" = $${i + 1}`).join(', ')}, "modifiedBy" = $${cols.length + 1}, "updatedAt" = clock_timestamp() WHERE id = $${cols.length + 2}`,
			[...Object.values(values), actor, id],
		);
		return (await this.row(id))!;
	}

	async softDelete(id: string | number, actor = 'alice'): Promise<Json> {
		await this.client.query(`UPDATE "${this.table}" SET "deletedAt" = clock_timestamp(), "modifiedBy" = $1, "updatedAt" = clock_timestamp() WHERE id = $2`, [actor, id]);
		return (await this.row(id))!;
	}

	async remove(id: string | number): Promise<void> {
		await this.client.query(`DELETE FROM "${this.table}" WHERE id = $1`, [id]);
	}

	/** What the CRM sends about a row: an upsert with the row, or a delete. */
	static notice(row: Json, op: 'upsert' | 'delete' = 'upsert', actor?: string | null): Notification {
		return {
			id: row.id as number,
			op,
			changedAt: new Date(op === 'delete' ? Date.now() : String(row.updatedAt)).toISOString(),
			actor: actor === undefined ? ((row.modifiedBy as string | null) ?? null) : actor,
			data: op === 'delete' ? {} : row,
		};
	}

	async close(): Promise<void> {
		await this.client.end();
	}
}

export class ErpSystem {
	private constructor(
		readonly conn: mysql.Connection,
		readonly table: string,
	) {}

	static async open(maria: MariaDbTestDatabase, table: string): Promise<ErpSystem> {
		const conn = await mysql.createConnection({ ...maria.config, dateStrings: true, timezone: 'Z' });
		await conn.query("SET time_zone = '+00:00'");
		await conn.query(`CREATE TABLE \`${table}\` (
			contact_id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(254) NOT NULL, first_name VARCHAR(100), last_name VARCHAR(100),
			phone_number VARCHAR(40), birth_date VARCHAR(10), status_code CHAR(1), marketing_opt_in CHAR(1), street VARCHAR(200),
			city VARCHAR(100), postal_code VARCHAR(20), country_code CHAR(2),
			changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), modified_by VARCHAR(64), deleted_at DATETIME(6) NULL,
			INDEX (changed_at, contact_id))`);
		return new ErpSystem(conn, table);
	}

	private static json(row: Json): Json {
		const out = { ...row };
		for (const k of ['changed_at', 'deleted_at']) if (typeof out[k] === 'string') out[k] = `${(out[k] as string).replace(' ', 'T')}Z`;
		return out;
	}

	async rows(): Promise<Json[]> {
		const [rows] = await this.conn.query(`SELECT * FROM \`${this.table}\` ORDER BY contact_id`);
		return (rows as Json[]).map(ErpSystem.json);
	}

	async row(id: string | number): Promise<Json | undefined> {
		const [rows] = await this.conn.query(`SELECT * FROM \`${this.table}\` WHERE contact_id = ?`, [id]);
		const row = (rows as Json[])[0];
		return row ? ErpSystem.json(row) : undefined;
	}

	async byEmail(email: string): Promise<Json | undefined> {
		const [rows] = await this.conn.query(`SELECT * FROM \`${this.table}\` WHERE email = ?`, [email]);
		const row = (rows as Json[])[0];
		return row ? ErpSystem.json(row) : undefined;
	}

	async insert(values: Json, actor = 'bob'): Promise<Json> {
		const [result] = await this.conn.query(`INSERT INTO \`${this.table}\` SET ?, modified_by = ?, changed_at = CURRENT_TIMESTAMP(6)`, [values, actor]);
		return (await this.row((result as { insertId: number }).insertId))!;
	}

	async update(id: string | number, values: Json, actor = 'bob'): Promise<Json> {
		await this.conn.query(`UPDATE \`${this.table}\` SET ?, modified_by = ?, changed_at = CURRENT_TIMESTAMP(6) WHERE contact_id = ?`, [values, actor, id]);
		return (await this.row(id))!;
	}

	async softDelete(id: string | number, actor = 'bob'): Promise<Json> {
		await this.conn.query(`UPDATE \`${this.table}\` SET deleted_at = CURRENT_TIMESTAMP(6), modified_by = ?, changed_at = CURRENT_TIMESTAMP(6) WHERE contact_id = ?`, [actor, id]);
		return (await this.row(id))!;
	}

	async remove(id: string | number): Promise<void> {
		await this.conn.query(`DELETE FROM \`${this.table}\` WHERE contact_id = ?`, [id]);
	}

	static notice(row: Json, op: 'upsert' | 'delete' = 'upsert', actor?: string | null): Notification {
		return {
			id: row.contact_id as number,
			op,
			changedAt: new Date(op === 'delete' ? Date.now() : String(row.changed_at)).toISOString(),
			actor: actor === undefined ? ((row.modified_by as string | null) ?? null) : actor,
			data: op === 'delete' ? {} : row,
		};
	}

	async close(): Promise<void> {
		await this.conn.end();
	}
}

/** Ada, the seed's example: firstName → first_name, 2024-01-01 → 01/01/2024. */
export const ADA_CRM = {
	email: 'ada@example.com',
	firstName: 'Ada',
	lastName: 'Lovelace',
	phone: '+44 20 7946 0958',
	birthDate: '2024-01-01',
	lifecycleStage: 'customer',
	marketingOptIn: true,
	street: "12 St James's Square",
	city: 'London',
	postalCode: 'SW1Y 4JH',
	countryCode: 'GB',
};

export const GRACE_ERP = {
	email: 'grace@example.com',
	first_name: 'Grace',
	last_name: 'Hopper',
	phone_number: '+1 212 555 0100',
	birth_date: '09/12/1906',
	status_code: 'A',
	marketing_opt_in: 'N',
	street: '1 Navy Way',
	city: 'Arlington',
	postal_code: '22202',
	country_code: 'us',
};

/**
 * Partial edits, as a sender that posts only what changed: edit `n` of a series tagged `tag` changes one
 * field of A's contact (the fields in turn); B's column for each.
 */
export const EDIT_FIELDS: Array<[field: string, column: string]> = [
	['phone', 'phone_number'],
	['city', 'city'],
	['lastName', 'last_name'],
	['firstName', 'first_name'],
	['street', 'street'],
];

/** Edit `n` of series `tag`: A's field, B's column, and the value (a phone number the mapping accepts). */
export function partialEdit(n: number, tag: string): { field: string; column: string; value: string } {
	const [field, column] = EDIT_FIELDS[n % EDIT_FIELDS.length];
	return { field, column, value: field === 'phone' ? `+44 20 7946 ${String(2000 + n)}` : `${tag}-${field}-${n}` };
}

/** B's columns as edits 0 … edits-1 of series `tag` left them (the last edit of each field). */
export function afterPartialEdits(edits: number, tag: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (let n = 0; n < edits; n++) {
		const e = partialEdit(n, tag);
		out[e.column] = e.value;
	}
	return out;
}

/** The CRM's webhook about a partial edit of `row`: the key fields (e-mail, stage) and the field edited only. */
export function partialNotice(row: Json, field: string): Notification {
	const notice = CrmSystem.notice(row);
	notice.data = { email: row.email, lifecycleStage: row.lifecycleStage, [field]: row[field] };
	return notice;
}
