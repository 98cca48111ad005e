/**
 * A small SMTP server of the test's own on 127.0.0.1 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no
 * TLS, no auth): it keeps every message it is given, with its subject and its text and HTML parts decoded.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface ReceivedMail {
	from: string;
	to: string[];
	subject: string;
	text: string;
	html: string;
	raw: string;
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeHeader(value: string): string {
	return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, enc: string, data: string) =>
		enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(qp(data.replace(/_/g, ' ')), 'latin1').toString('utf8'),
	);
}

/** Quoted-printable to the bytes it stands for (as latin1 text). */
function qp(text: string): string {
	return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function headersOf(block: string): Map<string, string> {
	const headers = new Map<string, string>();
	for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
		const at = line.indexOf(':');
		if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
	}
	return headers;
}

function decodeBody(headers: Map<string, string>, body: string): string {
	const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
	if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
	if (encoding === 'quoted-printable') return Buffer.from(qp(body), 'latin1').toString('utf8');
	return body;
}

/** The text and HTML parts of a message (multipart/alternative or a single part). */
function parts(headers: Map<string, string>, body: string, into: { text: string; html: string }): void {
	const type = headers.get('content-type') ?? 'text/plain';
	const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
	if (/^multipart\//i.test(type) && boundary) {
		for (const chunk of body.split(`--${boundary}`).slice(1)) {
			if (chunk.startsWith('--')) break;
			const split = chunk.search(/\r?\n\r?\n/);
			const h = headersOf(chunk.slice(0, split));
			parts(h, chunk.slice(split).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, ''), into);
		}
		return;
	}
	if (/^text\/html/i.test(type)) into.html += decodeBody(headers, body);
	else if (/^text\/plain/i.test(type)) into.text += decodeBody(headers, body);
}

export function parseMail(raw: string, from: string, to: string[]): ReceivedMail {
	const split = raw.search(/\r?\n\r?\n/);
	const headers = headersOf(raw.slice(0, split));
	const out = { text: '', html: '' };
	parts(headers, raw.slice(split).replace(/^\r?\n\r?\n/, ''), out);
	return { from, to, subject: decodeHeader(headers.get('subject') ?? ''), text: out.text.replace(/\r\n/g, '\n'), html: out.html, raw };
}

export class SmtpServer {
	private constructor(
		private readonly server: Server,
		readonly port: number,
		/** Every message received, in order. */
		readonly mails: ReceivedMail[],
	) {}

	static async start(): Promise<SmtpServer> {
		const mails: ReceivedMail[] = [];
		const server = createServer((socket) => session(socket, mails));
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(0, '127.0.0.1', () => resolve());
		});
		const address = server.address();
		if (address === null || typeof address === 'string') throw new Error('SMTP server: no port');
		return new SmtpServer(server, address.port, mails);
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}

function session(socket: Socket, mails: ReceivedMail[]): void {
	let buffer = '';
	let data: string | null = null;
	let from = '';
	let to: string[] = [];
	const reply = (line: string) => socket.write(`${line}\r\n`);
	reply('220 127.0.0.1 test SMTP');
	socket.on('error', () => undefined);
	socket.on('data', (chunk: Buffer) => {
		buffer += chunk.toString('latin1');
		for (;;) {
			if (data !== null) {
				const end = buffer.indexOf('\r\n.\r\n');
				if (end === -1) return;
				data += buffer.slice(0, end);
				buffer = buffer.slice(end + 5);
				// Dot-stuffing: a line starting with ".." had its first dot added by the client.
				const raw = Buffer.from(data.replace(/\r\n\.\./g, '\r\n.'), 'latin1').toString('utf8');
				mails.push(parseMail(raw, from, to));
				data = null;
				from = '';
				to = [];
				reply('250 OK: queued');
				continue;
			}
			const nl = buffer.indexOf('\r\n');
			if (nl === -1) return;
			const line = buffer.slice(0, nl);
			buffer = buffer.slice(nl + 2);
			const verb = line.slice(0, 4).toUpperCase();
			if (verb === 'EHLO') socket.write('250-127.0.0.1\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
			else if (verb === 'HELO') reply('250 127.0.0.1');
			else if (verb === 'MAIL') {
				from = /<([^>]*)>/.exec(line)?.[1] ?? '';
				reply('250 OK');
			} else if (verb === 'RCPT') {
				to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
				reply('250 OK');
			} else if (verb === 'DATA') {
				data = '';
				reply('354 End data with <CR><LF>.<CR><LF>');
			} else if (verb === 'RSET') {
				from = '';
				to = [];
				reply('250 OK');
			} else if (verb === 'NOOP') reply('250 OK');
			else if (verb === 'QUIT') {
				reply('221 Bye');
				socket.end();
				return;
			} else reply('502 Command not implemented');
		}
	});
}
