/**
 * The lost_update diagnosis picks the fix by what was overwritten: a counter gets an atomic SET x = x + n, a JSON
 * field a merge in the database, a key-value store a server-side operation. Each must not borrow the others' fix.
 */
import { describe, expect, it } from 'vitest';
import { review } from '../../src/engine/review.js';
import type { Finding } from '../../src/types.js';
import { newFilesDiff } from '../detectors/tester.js';

async function lostUpdate(path: string, code: string): Promise<Finding> {
  const out = await review(newFilesDiff([{ path, code }]));
  const f = out.findings.find((x) => x.failureMode === 'lost_update');
  expect(f, JSON.stringify(out.findings.map((x) => x.title))).toBeDefined();
  return f!;
}

describe('lost_update fixes follow the shape of the value', () => {
  it('a JSON column merged in Ruby and written back is fixed with a jsonb merge in one UPDATE', async () => {
    const f = await lostUpdate(
      'app/controllers/settings_controller.rb',
      `class SettingsController < ApplicationController
  def update
    account = Account.find(params[:id])
    flags = account.feature_flags.merge(params.require(:flags).to_unsafe_h)
    account.update!(feature_flags: flags)
    head :no_content
  end
end
`,
    );
    expect(f.fix).toMatch(/feature_flags = COALESCE\(feature_flags, '\{\}'::jsonb\) \|\| /);
    expect(f.fix).toContain('update_all');
    expect(f.interleaving.join('\n')).toMatch(/is gone/);
    expect(f.fix).not.toMatch(/update_counters|increment!|feature_flags \+ \$1/);
  });

  it('a Redis value read, changed and SET back is fixed server-side, not with SQL', async () => {
    const f = await lostUpdate(
      'src/scores/tally.ts',
      `import { redis } from '../redis';

export async function addPoints(teamId: string, points: number) {
  const raw = await redis.get(\`score:\${teamId}\`);
  const score = raw ? JSON.parse(raw) : { total: 0 };
  score.total += points;
  await redis.set(\`score:\${teamId}\`, JSON.stringify(score));
}
`,
    );
    expect(f.fix).toMatch(/HINCRBY|Lua/);
    expect(f.whatNotToDo.join('\n')).toMatch(/MULTI/);
    expect([f.fix, f.explanation].join('\n')).not.toMatch(/UPDATE \w+ SET|row lock/);
  });
});
