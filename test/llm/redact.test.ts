import { describe, expect, it } from 'vitest';
import { redactLines, redactSecrets } from '../../src/llm/redact.js';

/** Each secret-bearing input, what must disappear, and what must remain. */
const cases: Array<{ name: string; input: string; gone: string[]; kept: string[] }> = [
  { name: 'Anthropic key', input: 'const k = "sk-ant-api03-AbCdEf0123456789_xyz";', gone: ['AbCdEf0123456789'], kept: ['sk-ant-***', 'const k ='] },
  { name: 'OpenAI-style key', input: "key: 'sk-proj-abcdefghijklmnop1234567890'", gone: ['abcdefghijklmnop1234567890'], kept: ['sk-***'] },
  { name: 'AWS access key id', input: "new S3({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE' })", gone: ['IOSFODNN7EXAMPLE'], kept: ['AKIA***', 'accessKeyId'] },
  { name: 'AWS credentials file line', input: 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', gone: ['IOSFODNN7EXAMPLE'], kept: ['aws_access_key_id = ***'] },
  { name: 'GitHub token', input: 'auth: ghp_16C7e42F292c6912E7710c838347Ae178B4a', gone: ['16C7e42F292c6912E7710c838347Ae178B4a'], kept: ['ghp_***'] },
  { name: 'GitHub app token', input: 'token ghs_abcdefghijklmnopqrstuvwxyz012345', gone: ['abcdefghijklmnopqrstuvwxyz012345'], kept: ['ghs_***'] },
  { name: 'GitHub fine-grained PAT', input: 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop', gone: ['11ABCDEFG0123456789'], kept: ['github_pat_***'] },
  { name: 'Slack bot token', input: 'SLACK = "xoxb-1234567890-abcdefghij"', gone: ['1234567890-abcdefghij'], kept: ['xoxb-***'] },
  { name: 'Stripe live secret', input: "stripe(process.env.X ?? 'sk_live_51HxAbCdEfGhIjKl')", gone: ['51HxAbCdEfGhIjKl'], kept: ['sk_live_***', 'process.env.X'] },
  { name: 'Stripe restricted key', input: 'rk_live_abcdefghij1234567890', gone: ['abcdefghij1234567890'], kept: ['rk_live_***'] },
  { name: 'bearer header', input: "headers: { Authorization: 'Bearer abcdef1234567890ABCDEF.xyz' }", gone: ['abcdef1234567890ABCDEF'], kept: ['Bearer ***', 'Authorization'] },
  {
    name: 'JWT',
    input: 'const t = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";',
    gone: ['eyJzdWIiOiIxMjM0NTY3ODkwIn0', 'dozjgNryP4J3jVmNHl0w5N'],
    kept: ['eyJ***'],
  },
  { name: 'postgres URL with password', input: 'postgres://user:pass@db:5432/app', gone: [':pass@'], kept: ['postgres://user:***@db:5432/app'] },
  { name: 'mysql URL with password', input: "url = 'mysql://root:s3cr3t!@localhost/shop'", gone: ['s3cr3t!'], kept: ['mysql://root:***@localhost/shop'] },
  { name: 'amqp URL with password', input: 'amqp://guest:guestpw@rabbit:5672', gone: ['guestpw'], kept: ['amqp://guest:***@rabbit'] },
  { name: '.env SECRET=', input: 'WEBHOOK_SECRET=whsec_abc123def456', gone: ['whsec_abc123def456'], kept: ['WEBHOOK_SECRET=***'] },
  { name: '.env PASSWORD= quoted', input: 'export DB_PASSWORD="correct horse"', gone: ['correct horse'], kept: ['export DB_PASSWORD="***"'] },
  { name: '.env TOKEN=', input: 'SLACK_TOKEN=abc.def.ghi', gone: ['abc.def.ghi'], kept: ['SLACK_TOKEN=***'] },
  { name: '.env API_KEY=', input: 'MAPS_API_KEY=AbCdEfGh12345678', gone: ['AbCdEfGh12345678'], kept: ['MAPS_API_KEY=***'] },
  { name: 'password literal in code', input: "const config = { password: 'Tr0ub4dor&3x' };", gone: ['Tr0ub4dor&3x'], kept: ["password: '***'"] },
];

/** Inputs that look secret-ish but are code and must pass through unchanged. */
const untouched = [
  'const apiKey = process.env.API_KEY;',
  'DB_PASSWORD=${DB_PASSWORD}',
  'const url = `postgres://${user}:${password}@${host}/db`;',
  "const idempotencyKey = `${userId}-${productId}-${Date.now()}`;",
  "await db.query('SELECT id FROM tokens WHERE user_id = $1', [userId]);",
  'const lockToken = await acquire(key);',
  'https://example.com/path?x=1',
];

describe('redactSecrets', () => {
  for (const c of cases) {
    it(`redacts ${c.name}`, () => {
      const r = redactSecrets(c.input);
      for (const g of c.gone) expect(r.text).not.toContain(g);
      for (const k of c.kept) expect(r.text).toContain(k);
      expect(r.count).toBeGreaterThan(0);
    });
  }
  for (const input of untouched) {
    it(`leaves code alone: ${input}`, () => {
      expect(redactSecrets(input)).toEqual({ text: input, count: 0 });
    });
  }

  it('redacts a multi-line PEM private key body and keeps the line count', () => {
    const lines = [
      'const key = `',
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEA1234567890abcdefghij',
      'QWERTYUIOPASDFGHJKLZXCVBNM0987654321',
      '-----END RSA PRIVATE KEY-----',
      '`;',
    ];
    const r = redactLines(lines);
    expect(r.lines).toHaveLength(lines.length);
    expect(r.lines.join('\n')).not.toMatch(/MIIEow|QWERTY/);
    expect(r.lines[1]).toBe('-----BEGIN RSA PRIVATE KEY-----');
    expect(r.lines[4]).toBe('-----END RSA PRIVATE KEY-----');
    expect(r.count).toBe(1);
  });

  it('redacts an inline PEM key with escaped newlines', () => {
    const r = redactSecrets('PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----"');
    expect(r.text).not.toContain('MIIEvQIBADANBg');
  });

  it('keeps JSON valid when redacting inside JSON strings', () => {
    const json = JSON.stringify({ text: 'postgres://u:p4ss@h/db', facts: { k: 'sk-ant-api03-abcdefghijkl' } });
    const r = redactSecrets(json);
    expect(() => JSON.parse(r.text)).not.toThrow();
    expect(r.text).not.toContain('p4ss');
  });
});
