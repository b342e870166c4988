import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/app/commands.js';

describe('parseCommand', () => {
  it.each([
    ['/concdbg', { kind: 'review' }],
    ['  /concdbg  ', { kind: 'review' }],
    ['please look\n/concdbg\nthanks', { kind: 'review' }],
    ['/concdbg help', { kind: 'help' }],
    ['/CONCDBG Help', { kind: 'help' }],
    ['/concdbg mode database', { kind: 'mode', variant: 'database' }],
    ['/concdbg mode db', { kind: 'mode', variant: 'database' }],
    ['/concdbg mode queue', { kind: 'mode', variant: 'queue' }],
    ['/concdbg mode quantum', { kind: 'invalid' }],
    ['/concdbg ignore abc123 we hold an advisory lock', { kind: 'ignore', findingId: 'abc123', reason: 'we hold an advisory lock' }],
    ['/concdbg ignore abc123', { kind: 'invalid' }],
    ['/concdbg dance', { kind: 'invalid' }],
    ['/concdbgx', undefined],
    ['see `/concdbg` docs', undefined],
    ['no command', undefined],
  ])('%j', (body, want) => {
    const got = parseCommand(body);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(want);
  });
});
