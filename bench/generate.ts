/**
 * Seeded CRM-shaped contacts for the benchmarks (issue 8, item 2): System A is a CRM table in Postgres
 * (camelCase, ISO dates, UUID-like ids in random order), System B an ERP table in MariaDB (snake_case,
 * dd/MM/yyyy, its own AUTO_INCREMENT ids; email is the match key, unique on both sides).
 * Names carry diacritics and apostrophes, about 10 % of phones are empty (NULL), about 2 % of birthdays
 * are leap days. `changeRows` changes 1 % (or any number) of A's rows as A's own users would.
 */
import type { Client } from 'pg';
import type mysql from 'mysql2/promise';

import { prng } from '../test/helpers/prng';

export { prng };

const FIRST = ['Zoë', 'José', 'François', 'Ana', 'Łukasz', 'Siobhán', 'Björn', 'Renée', 'Inês', 'Jürgen', 'Ada', 'Grace', 'Noël', 'Çağla', 'Mário', "D'Arcy", 'Aoife', 'Søren', 'Małgorzata', 'Chloé'];
const LAST = ["O'Brien", 'Müller', 'García', "D'Angelo", 'Núñez', 'Kowalczyk', 'Ørsted', 'Lovelace', 'Hopper', 'Dubois', 'Schäfer', "O'Connor", 'Smith', 'Fernández', "N'Diaye", 'Håkansson', 'Łęcki', 'Rossi', 'Citroën', 'McAllister'];
const CITIES = ['Zürich', 'København', 'Kraków', 'São Paulo', 'Málaga', 'Reykjavík', 'London', 'Berlin', "L'Aquila", 'Besançon', 'Düsseldorf', 'Łódź'];
const STREETS = ["Rue de l'Église", 'Hauptstraße', 'Calle Mayor', "St James's Square", 'Østergade', 'ulica Długa', 'Via Roma'];
const COUNTRIES = ['DE', 'FR', 'GB', 'PL', 'ES', 'DK', 'CH', 'BR', 'IT', 'IS'];
const STAGES = ['customer', 'churned', 'lead'];
const LEAP_YEARS = [1944, 1948, 1952, 1960, 1972, 1984, 1988, 1992, 1996, 2000, 2004];

export interface CrmContact {
	id: string;
	email: string;
	firstName: string;
	lastName: string;
	phone: string | null;
	birthDate: string;
	lifecycleStage: string;
	marketingOptIn: boolean;
	street: string;
	city: string;
	postalCode: string;
	countryCode: string;
}

const fold = (s: string) =>
	s
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z]/g, '');

function pick<T>(r: () => number, list: readonly T[]): T {
	return list[Math.floor(r() * list.length)];
}

function hex(r: () => number, n: number): string {
	let s = '';
	for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
	return s;
}

/** Contact number `n` of the data set of `seed` (rows are independent: any range can be built alone). */
export function contact(seed: number, n: number): CrmContact {
	const r = prng(seed * 1_000_003 + n);
	const firstName = pick(r, FIRST);
	const lastName = pick(r, LAST);
	const leap = r() < 0.02;
	const year = leap ? pick(r, LEAP_YEARS) : 1940 + Math.floor(r() * 66);
	const month = leap ? 2 : 1 + Math.floor(r() * 12);
	const day = leap ? 29 : 1 + Math.floor(r() * 28);
	return {
		id: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${pick(r, ['8', '9', 'a', 'b'])}${hex(r, 3)}-${hex(r, 12)}`,
		email: `${fold(firstName)}.${fold(lastName)}.${n}@example.com`,
		firstName,
		lastName,
		phone: r() < 0.1 ? null : `+${10 + Math.floor(r() * 89)} ${100 + Math.floor(r() * 900)} ${1000000 + Math.floor(r() * 9000000)}`,
		birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
		lifecycleStage: pick(r, STAGES),
		marketingOptIn: r() < 0.5,
		street: `${1 + Math.floor(r() * 200)} ${pick(r, STREETS)}`,
		city: pick(r, CITIES),
		postalCode: String(10000 + Math.floor(r() * 89999)),
		countryCode: pick(r, COUNTRIES),
	};
}

const CRM_COLUMNS = ['id', 'email', 'firstName', 'lastName', 'phone', 'birthDate', 'lifecycleStage', 'marketingOptIn', 'street', 'city', 'postalCode', 'countryCode'] as const;

export async function createCrmTable(pg: Client, table: string): Promise<void> {
	await pg.query(`CREATE TABLE "${table}" (
		id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, "firstName" TEXT, "lastName" TEXT, phone TEXT, "birthDate" DATE,
		"lifecycleStage" TEXT, "marketingOptIn" BOOLEAN, street TEXT, city TEXT, "postalCode" TEXT, "countryCode" TEXT,
		"updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(), "modifiedBy" TEXT, "deletedAt" TIMESTAMPTZ(3))`);
	await pg.query(`CREATE INDEX ON "${table}" ("updatedAt", id)`);
}

/** The ERP table of the template (B), plus a unique email: the match key of every contestant. */
export async function createErpTable(my: mysql.Connection, table: string): Promise<void> {
	await my.query(`CREATE TABLE \`${table}\` (
		contact_id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(254) NOT NULL, first_name VARCHAR(100), last_name VARCHAR(100),
		phone_number VARCHAR(40), birth_date VARCHAR(10), status_code CHAR(1), marketing_opt_in CHAR(1), street VARCHAR(200),
		city VARCHAR(100), postal_code VARCHAR(20), country_code CHAR(2),
		changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), modified_by VARCHAR(64), deleted_at DATETIME(6) NULL,
		UNIQUE KEY (email), INDEX (changed_at, contact_id)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
}

/** Fills A with `count` contacts of `seed`, 1,000 rows a statement. */
export async function fillCrm(pg: Client, table: string, seed: number, count: number): Promise<void> {
	const cols = CRM_COLUMNS.map((c) => `"${c}"`).join(', ');
	for (let start = 0; start < count; start += 1000) {
		const n = Math.min(1000, count - start);
		const values: unknown[] = [];
		const rows: string[] = [];
		for (let i = 0; i < n; i++) {
			const c = contact(seed, start + i);
			rows.push(`(${CRM_COLUMNS.map((_, j) => `$${i * CRM_COLUMNS.length + j + 1}`).join(', ')}, 'alice')`);
			for (const col of CRM_COLUMNS) values.push(c[col]);
		}
		await pg.query(`INSERT INTO "${table}" (${cols}, "modifiedBy") VALUES ${rows.join(', ')}`, values);
	}
}

/**
 * Changes `count` rows of A (chosen by the seed), as A's users do: a new city and last name, a new
 * updated-at and actor. Returns the ids changed.
 */
export async function changeRows(pg: Client, table: string, seed: number, count: number, tag: string): Promise<string[]> {
	const { rows } = await pg.query<{ id: string }>(`SELECT id FROM "${table}" ORDER BY id`);
	const r = prng(seed);
	const chosen = new Set<string>();
	while (chosen.size < Math.min(count, rows.length)) chosen.add(rows[Math.floor(r() * rows.length)].id);
	const ids = [...chosen];
	await pg.query(
		`UPDATE "${table}" SET city = $2 || ' ' || city, "lastName" = "lastName" || '-' || $2, "modifiedBy" = 'alice', "updatedAt" = clock_timestamp() WHERE id = ANY($1)`,
		[ids, tag],
	);
	return ids;
}
