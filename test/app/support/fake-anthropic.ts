/**
 * A fake Anthropic Messages API on loopback for app tests: POST /v1/messages answers with a
 * structured diagnosis (or an error status), and every request body is recorded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAnthropicReply {
  /** Non-200: answered as an Anthropic error (529 = overloaded). */
  status?: number;
  /** The structured answer (the JSON the model would write). */
  answer?: unknown;
  usage?: { input_tokens: number; output_tokens: number };
}

export interface FakeAnthropic {
  /** http://127.0.0.1:PORT, for ANTHROPIC_BASE_URL. */
  url: string;
  /** Parsed bodies of the POST /v1/messages received, in order. */
  bodies: Array<Record<string, unknown>>;
  /** Raw request texts (bodies), to search for strings that must never be sent. */
  raw: string[];
  reply: FakeAnthropicReply;
  close(): Promise<void>;
}

export async function startFakeAnthropic(reply: FakeAnthropicReply): Promise<FakeAnthropic> {
  const bodies: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  let server: Server;
  const fake: FakeAnthropic = {
    url: '',
    bodies,
    raw,
    reply,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
        return;
      }
      raw.push(data);
      bodies.push(JSON.parse(data || '{}') as Record<string, unknown>);
      const r = fake.reply;
      if (r.status && r.status !== 200) {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: r.status === 529 ? 'overloaded_error' : 'api_error', message: 'Overloaded' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `msg_fake_${bodies.length}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-5-5',
          content: [{ type: 'text', text: JSON.stringify(r.answer) }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { cache_read_input_tokens: 0, cache_creation_input_tokens: 0, ...(r.usage ?? { input_tokens: 900, output_tokens: 400 }) },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
