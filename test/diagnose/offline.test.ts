import { describe, expect, it } from 'vitest';
import { diagnoseOffline } from '../../src/diagnose/offline.js';
import { actorsOf } from '../../src/diagnose/common.js';
import { FAILURE_MODES, type Candidate, type FailureMode, type Finding } from '../../src/types.js';
import { FIXTURES } from './fixtures.js';

/** The nearest alternatives each mode must rule out by name. */
const NEAREST: Record<FailureMode, FailureMode[]> = {
  toctou: ['lost_update', 'phantom_read', 'write_skew'],
  lost_update: ['toctou', 'write_skew', 'phantom_read'],
  write_skew: ['lost_update', 'toctou', 'phantom_read'],
  deadlock: ['lost_update', 'async_ordering', 'toctou'],
  async_ordering: ['toctou', 'eventual_consistency', 'message_ordering'],
  eventual_consistency: ['lost_update', 'async_ordering', 'message_ordering'],
  phantom_read: ['toctou', 'write_skew', 'lost_update'],
  message_ordering: ['toctou', 'lost_update', 'eventual_consistency'],
};

/** The construct the structural fix must contain, per mode. */
const FIX_CONSTRUCT: Record<FailureMode, RegExp> = {
  toctou: /ON CONFLICT|CREATE UNIQUE INDEX|UniqueConstraint|@unique|unique: true/,
  lost_update: /(\w+) = \1 \+|F\("\w+"\) \+|increment|update_counters|\$inc/,
  write_skew: /FOR UPDATE|select_for_update|lock!/,
  deadlock: /ORDER BY|\.sort|sorted\(|lock order/i,
  async_ordering: /await |list\(|snapshot/,
  eventual_consistency: /primary|RETURNING|using\("default"\)|redis\.del|cache\.delete/,
  phantom_read: /EXCLUDE USING gist|CREATE UNIQUE INDEX|SERIALIZABLE/,
  message_ordering: /processed_messages|_event_at < |outbox/,
};

/** Markers of the file's language and test framework in the missing test. */
function expectTestLanguage(f: Omit<Finding, 'id'>, c: Candidate): void {
  const t = f.missingTest;
  switch (c.language) {
    case 'typescript':
    case 'javascript':
      expect(t).toMatch(/^```(ts|js)\n/);
      expect(t).toContain('Promise.all');
      expect(t).toContain('describe(');
      expect(t).toContain('it(');
      expect(t).toMatch(c.facts.testFramework === 'jest' ? /@jest\/globals/ : /from 'vitest'/);
      break;
    case 'python':
      expect(t).toMatch(/^```python\n/);
      expect(t).toMatch(/asyncio\.gather|ThreadPoolExecutor/);
      expect(t).toMatch(/def test_\w+\(/);
      if (t.includes('ThreadPoolExecutor')) expect(t).toContain('threading.Barrier');
      if (c.facts.orm === 'django' && t.includes('ThreadPoolExecutor')) expect(t).toContain('django_db(transaction=True)');
      break;
    case 'go':
      expect(t).toMatch(/^```go\n/);
      expect(t).toContain('sync.WaitGroup');
      expect(t).toMatch(/func Test\w+\(t \*testing\.T\)/);
      expect(t).toContain('go test -race');
      expect(t).toContain('close(start)');
      break;
    case 'ruby':
      expect(t).toMatch(/^```ruby\n/);
      expect(t).toContain('Thread.new');
      expect(t).toContain('RSpec.describe');
      expect(t).toMatch(/\bit "/);
      expect(t).toContain('connection_pool.with_connection');
      break;
    default:
      break;
  }
}

function allText(f: Omit<Finding, 'id'>): string {
  return [f.explanation, ...f.interleaving, f.missingTest, f.fix, ...f.whatNotToDo].join('\n');
}

describe('diagnoseOffline on hand-built candidates', () => {
  it('covers every failure mode in TypeScript/JavaScript and in Python', () => {
    for (const mode of FAILURE_MODES) {
      const langs = new Set(FIXTURES.filter((f) => f.candidate.failureMode === mode).map((f) => f.candidate.language));
      expect(langs.has('typescript') || langs.has('javascript'), `${mode} has a TS/JS fixture`).toBe(true);
      // phantom_read and deadlock/message have a Python one too; every mode must.
      expect(langs.has('python'), `${mode} has a Python fixture`).toBe(true);
    }
  });

  for (const fx of FIXTURES) {
    const c = fx.candidate;
    describe(fx.name, () => {
      const f = diagnoseOffline(c, { fileText: fx.fileText });

      it('keeps the candidate location, scores and title, marked heuristic', () => {
        expect(f).toMatchObject({
          file: c.file,
          line: c.line,
          endLine: c.endLine,
          failureMode: c.failureMode,
          severity: c.severity,
          confidence: c.confidence,
          title: c.title,
          source: 'heuristic',
        });
      });

      it('names the nearest other modes and rules them out', () => {
        expect(f.explanation).toMatch(/Why not the nearest other modes/);
        for (const alt of NEAREST[c.failureMode]) expect(f.explanation).toMatch(new RegExp(`Not [^\\n]*\\b${alt}\\b`));
      });

      it('cites every evidence line by number', () => {
        const text = f.explanation + '\n' + f.interleaving.join('\n');
        for (const e of c.evidence) expect(text).toContain(`line ${e.line}`);
      });

      it('writes a 6–10 step interleaving between two actors ending in a result', () => {
        expect(f.interleaving.length).toBeGreaterThanOrEqual(6);
        expect(f.interleaving.length).toBeLessThanOrEqual(10);
        expect(f.interleaving[0]).toMatch(/^T0 /);
        expect(f.interleaving[f.interleaving.length - 1]).toMatch(/^Result: /);
        const labels = new Set(f.interleaving.map((s) => /^T\d+ (.+?)(?: \(line \d+\))?:/.exec(s)?.[1]).filter(Boolean));
        expect(labels.size).toBeGreaterThanOrEqual(2);
        const { a } = actorsOf(c);
        expect(f.interleaving.some((s) => s.includes(a))).toBe(true);
      });

      it('uses the code’s own identifiers', () => {
        const text = allText(f);
        for (const id of fx.identifiers) expect(text).toContain(id);
      });

      it('writes the missing test in the file’s language and test framework', () => {
        expectTestLanguage(f, c);
        if (c.functionName) {
          const method = c.functionName.split(/[.#]/).pop()!;
          expect(f.missingTest).toContain(method);
        }
      });

      it('gives the structural fix with the right construct', () => {
        expect(f.fix).toMatch(FIX_CONSTRUCT[c.failureMode]);
        expect(f.fix).toContain('```');
      });

      it('lists 3–5 specific things not to do', () => {
        expect(f.whatNotToDo.length).toBeGreaterThanOrEqual(3);
        expect(f.whatNotToDo.length).toBeLessThanOrEqual(5);
        for (const w of f.whatNotToDo) expect(w).toMatch(/^Don't /);
        expect(new Set(f.whatNotToDo).size).toBe(f.whatNotToDo.length);
      });

      it('prints no undefined, null or object placeholders', () => {
        expect(allText(f)).not.toMatch(/\bundefined\b|\bNaN\b|\[object Object\]/);
      });
    });
  }
});

describe('mode-specific content', () => {
  const get = (name: string) => {
    const fx = FIXTURES.find((f) => f.name.startsWith(name))!;
    return diagnoseOffline(fx.candidate, { fileText: fx.fileText });
  };

  it('toctou with a per-call idempotency key passes a deterministic key to the external API', () => {
    const f = get('toctou ts pg');
    expect(f.explanation).toContain('Date.now()');
    expect(f.fix).toContain('ON CONFLICT (idempotency_key) DO NOTHING RETURNING id');
    expect(f.fix).toContain('{ idempotencyKey }');
    expect(f.whatNotToDo.join('\n')).toMatch(/widen the 5 minutes window/);
    expect(f.missingTest).toContain("vi.spyOn(stripe.paymentIntents, 'create')");
    expect(f.missingTest).toContain('chargeCustomer(userId, amount, productId)');
  });

  it('toctou on an update maps the unique violation (Prisma P2002) instead of pre-checking', () => {
    const f = get('toctou ts prisma');
    expect(f.fix).toContain("err.code === 'P2002'");
    expect(f.fix).toContain('CREATE UNIQUE INDEX CONCURRENTLY users_handle_key ON users (handle)');
  });

  it('lost_update picks the ORM equivalent of an atomic increment', () => {
    expect(get('lost_update go').fix).toContain('SET reaction_count = reaction_count + $1');
    expect(get('lost_update js sequelize').fix).toContain("Event.increment('seatsSold'");
    expect(get('lost_update ts prisma').fix).toContain('balanceCents: { increment: amountCents }');
    expect(get('lost_update python').fix).toContain('stock=F("stock") + quantity');
    expect(get('lost_update ruby').fix).toContain('Member.update_counters');
  });

  it('lost_update test asserts the final value equals start + N × delta', () => {
    expect(get('lost_update js sequelize').missingTest).toContain('before.seatsSold + 10 * quantity');
    expect(get('lost_update go').missingTest).toMatch(/before\+n\*1/);
  });

  it('write_skew locks the parent row named in the facts', () => {
    expect(get('write_skew ts knex').fix).toContain("trx('teams').where({ id: request.team_id }).forUpdate()");
    expect(get('write_skew ruby').fix).toContain('lock!');
    expect(get('write_skew python').fix).toContain('select_for_update()');
  });

  it('deadlock fixes sort the keys or lock them in one ordered statement', () => {
    expect(get('deadlock ts knex').fix).toContain('ORDER BY sku FOR UPDATE');
    expect(get('deadlock python').fix).toContain('order_by("pk")');
    const go = get('deadlock go');
    expect(go.explanation).toContain('Hub.Broadcast');
    expect(go.interleaving.join('\n')).toMatch(/goroutine A .*s\.mu/);
  });

  it('async_ordering: floating promise → await; set iteration → snapshot; forEach → Promise.all', () => {
    expect(get('async_ordering ts').fix).toContain('const saved = await repo.save(feedback);');
    const py = get('async_ordering python');
    expect(py.fix).toContain('list(self._rooms[room])');
    expect(py.missingTest).toContain('asyncio.gather');
    expect(py.explanation).toContain('Set changed size during iteration');
    expect(get('async_ordering js forEach').fix).toContain('Promise.all(subscribers.map(');
  });

  it('eventual_consistency: replica → primary; cache → invalidate after commit', () => {
    expect(get('eventual_consistency python').fix).toContain('.using("default")');
    const ts = get('eventual_consistency ts');
    expect(ts.fix).toContain('await redis.del(`account:${id}`)');
    expect(ts.interleaving.some((s) => /^T\d+ cache:/.test(s))).toBe(true);
  });

  it('phantom_read: overlap → exclusion constraint; max+1 → unique derived key', () => {
    expect(get('phantom_read go').fix).toContain('EXCLUDE USING gist (vehicle_id WITH =, tstzrange(pickup_at, return_at) WITH &&)');
    expect(get('phantom_read go').fix).toContain('23P01');
    expect(get('phantom_read ts').fix).toContain('ON playlist_items (playlist_id, position)');
    expect(get('phantom_read python').fix).toContain('tstzrange(starts_at, ends_at)');
  });

  it('message_ordering: idempotent consumer; status updates guarded by event time', () => {
    const ts = get('message_ordering ts');
    expect(ts.fix).toContain('ON CONFLICT DO NOTHING');
    expect(ts.fix).toContain('jobId:');
    expect(ts.interleaving[0]).toMatch(/^T0 worker A/);
    const rb = get('message_ordering ruby');
    expect(rb.fix).toContain('kyc_status_event_at < ?');
    expect(rb.explanation).toMatch(/line 14.*line 16/s);
  });
});

describe('missing facts degrade gracefully', () => {
  for (const fx of FIXTURES) {
    it(`${fx.name}: no facts, no function name, no file text`, () => {
      const { functionName: _drop, ...rest } = fx.candidate;
      const bare: Candidate = { ...rest, facts: {} };
      const f = diagnoseOffline(bare);
      const text = allText(f);
      expect(text).not.toMatch(/\bundefined\b|\bNaN\b|\[object Object\]/);
      for (const alt of NEAREST[bare.failureMode]) expect(f.explanation).toMatch(new RegExp(`Not [^\\n]*\\b${alt}\\b`));
      for (const e of bare.evidence) expect(f.explanation + f.interleaving.join('\n')).toContain(`line ${e.line}`);
      expect(f.interleaving.length).toBeGreaterThanOrEqual(6);
      expect(f.missingTest.length).toBeGreaterThan(100);
      expect(f.fix.length).toBeGreaterThan(50);
    });
  }

  it('survives a candidate with no evidence at all, for every mode', () => {
    for (const mode of FAILURE_MODES) {
      const c: Candidate = {
        detector: 'x',
        failureMode: mode,
        file: 'src/a.ts',
        language: 'typescript',
        line: 3,
        endLine: 9,
        severity: 'medium',
        confidence: 0.5,
        title: 't',
        entity: 'orders',
        evidence: [],
        facts: {},
        variant: 'database',
      };
      const f = diagnoseOffline(c);
      expect(allText(f)).not.toMatch(/\bundefined\b|\bNaN\b/);
      expect(f.explanation).toContain('lines 3–9');
    }
  });

  it('ignores facts that say "undefined" or are blank', () => {
    const fx = FIXTURES.find((f) => f.name.startsWith('toctou python'))!;
    const c: Candidate = { ...fx.candidate, facts: { ...fx.candidate.facts, checkCall: 'undefined', actCall: '  ' } };
    const f = diagnoseOffline(c, { fileText: fx.fileText });
    expect(allText(f)).not.toMatch(/\bundefined\b/);
    expect(f.interleaving[0]).toContain('CouponRedemption.objects.filter(…).exists');
  });
});
