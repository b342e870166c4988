/**
 * `/concdbg` commands in PR comments. The webhook answer waits only for the delivery claim; the
 * reaction, the permission check, the PR lookup and the reply run after it. Only the PR author and
 * users with write, maintain or admin permission may command; bots are ignored; others start
 * nothing and get no reply.
 */
import { type Command, isBot, mayCommand, parseCommand } from '../commands.js';
import type { GitHubApi } from '../github.js';
import type { ReviewPayload } from '../job-common.js';
import { HELP_TEXT } from '../render.js';
import type { Delivery, WebhookDeps } from './deps.js';

export interface IssueCommentPayload {
  action: string;
  comment: { id: number; body: string; user: { login: string; type: string } };
  issue: { number: number; pull_request?: unknown; user: { login: string }; state: string };
  repository: { full_name: string };
  installation?: { id: number };
}

export async function onIssueComment(d: Delivery<IssueCommentPayload>, deps: WebhookDeps): Promise<void> {
  const p = d.payload;
  if (p.action !== 'created' || !p.issue.pull_request || !p.installation) return;
  if (isBot(p.comment.user)) return;
  const command = parseCommand(p.comment.body);
  if (!command) return;
  const installationId = p.installation.id;
  const log = deps.log.child({ deliveryId: d.id, repo: p.repository.full_name, pr: p.issue.number, commenter: p.comment.user.login, command: command.kind });
  deps.background('concdbg command', () => runCommand(d.github(), command, p, installationId, d.id, deps, log));
}

async function runCommand(api: GitHubApi, command: Command, p: IssueCommentPayload, installationId: number, deliveryId: string, deps: WebhookDeps, log: WebhookDeps['log']): Promise<void> {
  const commenter = p.comment.user.login;
  if (!(await mayCommand(commenter, p.issue.user.login, () => api.getPermission(commenter)))) {
    return void log.info({}, 'command from a user without write access; ignored');
  }
  await api.addReaction(p.comment.id, 'eyes');
  const pr = p.issue.number;
  const repo = p.repository.full_name;
  const reply = (body: string) => api.createIssueComment(pr, `@${commenter} ${body}`);

  switch (command.kind) {
    case 'help':
      await reply(`\n\n${HELP_TEXT}`);
      break;
    case 'invalid':
      await reply(`${command.message}\n\n${HELP_TEXT}`);
      break;
    case 'review':
    case 'mode': {
      const pull = await api.getPull(pr);
      if (pull.state !== 'open') return void (await reply('this pull request is closed; nothing to review.'));
      const payload: ReviewPayload = { deliveryId, requestedBy: commenter, ...(command.kind === 'mode' ? { variant: command.variant } : {}) };
      const { job, created } = await deps.store.enqueueJob({
        repo, prNumber: pr, headSha: pull.headSha, trigger: `comment:${p.comment.id}`, installationId, payload: payload as Record<string, unknown>,
      });
      if (created) {
        deps.metrics?.jobsQueued.inc({ trigger: 'comment' });
        deps.wake?.();
      }
      log.info({ jobId: job.id, created, sha: pull.headSha }, 'review requested by command');
      await api.addReaction(p.comment.id, 'rocket');
      break;
    }
    case 'ignore': {
      const known = (await deps.store.listPostedFindings(repo, pr)).some((f) => f.fingerprint === command.findingId);
      if (!known) return void (await reply(`no finding \`${command.findingId}\` was reported on this pull request. The id is at the bottom of each concdbg comment.`));
      const fresh = await deps.store.dismissFinding({ repo, prNumber: pr, fingerprint: command.findingId, by: commenter, reason: command.reason });
      const pull = await api.getPull(pr);
      // Re-evaluate the check without the dismissed finding: a new review job on the head SHA (it posts nothing already posted).
      const { created } = await deps.store.enqueueJob({
        repo, prNumber: pr, headSha: pull.headSha, trigger: `ignore:${p.comment.id}`, installationId, payload: { deliveryId, requestedBy: commenter } satisfies ReviewPayload as Record<string, unknown>,
      });
      if (created) deps.wake?.();
      log.info({ findingId: command.findingId, fresh }, 'finding dismissed');
      await reply(`${fresh ? 'dismissed' : 'already dismissed:'} \`${command.findingId}\` (${command.reason}). The \`concdbg\` check is being evaluated again.`);
      break;
    }
  }
}
