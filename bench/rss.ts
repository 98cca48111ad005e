/**
 * Peak RSS of a whole process tree (n8n's main process and its task runner), sampled from /proc every
 * 50 ms: the sum of VmRSS over every process of the process group (the harness starts n8n detached, in a
 * group of its own) and their descendants.
 */
import { readFileSync, readdirSync } from 'node:fs';

function tree(root: number): number[] {
	const parents = new Map<number, number>();
	const groups = new Map<number, number>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			parents.set(Number(entry), Number(fields[1]));
			groups.set(Number(entry), Number(fields[2]));
		} catch {
			// gone
		}
	}
	const members = new Set<number>([root]);
	for (const [pid, group] of groups) if (group === root) members.add(pid);
	let grew = true;
	while (grew) {
		grew = false;
		for (const [pid, parent] of parents) {
			if (!members.has(pid) && members.has(parent)) {
				members.add(pid);
				grew = true;
			}
		}
	}
	return [...members];
}

/** RSS of the tree in MB now. */
export function treeRssMb(root: number): number {
	let kb = 0;
	for (const pid of tree(root)) {
		try {
			const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
			if (m) kb += Number(m[1]);
		} catch {
			// gone
		}
	}
	return kb / 1024;
}

export class RssSampler {
	private peak = 0;

	/** The tree's RSS when sampling started (MB). */
	startMb = 0;

	private timer?: NodeJS.Timeout;

	constructor(private readonly root: number) {}

	start(): void {
		this.peak = treeRssMb(this.root);
		this.startMb = this.peak;
		this.timer = setInterval(() => {
			this.peak = Math.max(this.peak, treeRssMb(this.root));
		}, 50);
	}

	/** Stops sampling; the peak in MB. */
	stop(): number {
		if (this.timer) clearInterval(this.timer);
		this.peak = Math.max(this.peak, treeRssMb(this.root));
		return this.peak;
	}
}
