/**
 * The eventual_consistency diagnosis for a cache-aside fill racing a writer's invalidation: the story is the
 * reader's SET landing after the delete, not a request reading back its own write.
 */
import { describe, expect, it } from 'vitest';
import { review } from '../../src/engine/review.js';
import { newFilesDiff } from '../detectors/tester.js';

const diff = newFilesDiff([
  {
    path: 'src/plans/plans.service.ts',
    code: `import { redis } from '../redis';
import { Plan } from '../models/plan';

const planKey = (id: string) => \`plan:\${id}\`;

export async function getPlan(id: string) {
  const hit = await redis.get(planKey(id));
  if (hit) return JSON.parse(hit);
  const plan = await Plan.findById(id).lean();
  await redis.set(planKey(id), JSON.stringify(plan), 'EX', 6 * 3600);
  return plan;
}

export async function updatePlanPrice(id: string, price: number) {
  await Plan.updateOne({ _id: id }, { $set: { price } });
  await redis.del(planKey(id));
}

export async function priceSubscription(id: string, seats: number) {
  const plan = await getPlan(id);
  return plan.price * seats;
}
`,
  },
]);

describe('a cache-aside fill racing invalidation', () => {
  it('is told as the fill landing after the delete, fixed with a conditional fill', async () => {
    const out = await review(diff);
    const c = out.candidates.find((x) => x.facts.pattern === 'cache-aside-fill');
    expect(c, JSON.stringify(out.candidates.map((x) => x.title))).toBeDefined();
    const f = out.findings.find((x) => x.failureMode === 'eventual_consistency')!;
    expect(f.explanation).toMatch(/SET runs after the delete/);
    expect(f.interleaving.join('\n')).toMatch(/stores the old value it read at T0/);
    expect(f.fix).toContain('FILL_IF_LEASED');
    expect(f.missingTest).toMatch(/never caches a value older than the last invalidation/);
    expect(f.explanation).not.toMatch(/Read-your-writes/);
  });
});
