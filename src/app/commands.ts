/**
 * `/concdbg` commands in PR comments: parsing, and who may give them.
 */
import { parseVariant } from '../llm/variant.js';
import type { Variant } from '../types.js';
import type { Permission } from './github.js';

export type Command =
  | { kind: 'review' }
  | { kind: 'help' }
  | { kind: 'mode'; variant: Variant }
  | { kind: 'ignore'; findingId: string; reason: string }
  | { kind: 'invalid'; message: string };

/** The first line of the comment that starts with `/concdbg`, parsed; undefined when there is none. */
export function parseCommand(body: string): Command | undefined {
  const line = body
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => /^\/concdbg(\s|$)/i.test(l));
  if (line === undefined) return undefined;
  const [, sub = '', ...rest] = line.split(/\s+/);
  switch (sub.toLowerCase()) {
    case '':
    case 'review':
      return { kind: 'review' };
    case 'help':
      return { kind: 'help' };
    case 'mode': {
      const variant = parseVariant(rest[0]);
      return variant ? { kind: 'mode', variant } : { kind: 'invalid', message: 'Usage: `/concdbg mode database|async|distributed|queue`' };
    }
    case 'ignore': {
      const [findingId, ...why] = rest;
      const reason = why.join(' ').trim();
      if (!findingId || !reason) return { kind: 'invalid', message: 'Usage: `/concdbg ignore <finding-id> <reason>` (the reason is required and kept with the dismissal).' };
      return { kind: 'ignore', findingId, reason: reason.slice(0, 500) };
    }
    default:
      return { kind: 'invalid', message: `Unknown command \`${sub.slice(0, 40)}\`.` };
  }
}

export const COMMANDING_PERMISSIONS: readonly Permission[] = ['admin', 'maintain', 'write'];

/** Bots (the app included) never command. */
export function isBot(user: { login: string; type?: string }): boolean {
  return user.type === 'Bot' || user.login.endsWith('[bot]');
}

/**
 * The PR author and users with write, maintain or admin permission may command. The permission
 * lookup runs only when the commenter is not the author.
 */
export async function mayCommand(commenter: string, prAuthor: string, permission: () => Promise<Permission>): Promise<boolean> {
  if (commenter.toLowerCase() === prAuthor.toLowerCase()) return true;
  return COMMANDING_PERMISSIONS.includes(await permission());
}
