/**
 * The Probot entry: registers handlers, nothing else. Each delivery is claimed by its
 * X-GitHub-Delivery id, so a redelivery does nothing: here before the handler runs, or, for
 * handlers registered with `claims: 'in-handler'`, by the handler in the same store call as its
 * enqueue (one database round trip for the whole answer). Handlers only write to the store
 * before the answer.
 */
import type { ApplicationFunction, Context, Probot } from 'probot';
import { octokitGitHubApi, type OctokitLike } from './github.js';
import { onCheckRun, onCheckSuite, type CheckRunPayload, type CheckSuitePayload } from './handlers/check-run.js';
import { claimDelivery, type Delivery, type WebhookDeps } from './handlers/deps.js';
import { onIssueComment, type IssueCommentPayload } from './handlers/issue-comment.js';
import { onPullRequest, type PullRequestPayload } from './handlers/pull-request.js';

export type HttpHandler = Parameters<Parameters<ApplicationFunction>[1]['addHandler']>[0];

export interface AppOptions extends WebhookDeps {
  /** Extra HTTP routes on Probot's server (/healthz, /metrics). */
  httpHandlers?: HttpHandler[];
}

type Events = Parameters<Probot['on']>[0];

export function concdbgApp(deps: AppOptions): ApplicationFunction {
  return (app, options) => {
    /**
     * `claims: 'in-handler'`: the handler claims the delivery itself (store.enqueueForDelivery or
     * claimDelivery) before any write, and does nothing when the claim fails.
     */
    const on = <P>(events: Events, handler: (d: Delivery<P>, deps: WebhookDeps) => Promise<void>, claims: 'first' | 'in-handler' = 'first') =>
      app.on(events, async (context: Context) => {
        const d: Delivery<P> = {
          id: context.id,
          event: context.name,
          payload: context.payload as P,
          github: () => octokitGitHubApi(context.octokit as unknown as OctokitLike, context.repo()),
        };
        if (claims === 'first' && !(await claimDelivery(d, deps))) return;
        await handler(d, deps);
      });

    app.onAny((context) => {
      deps.metrics?.webhooksReceived.inc({ event: context.name });
    });
    on<PullRequestPayload>(
      ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened', 'pull_request.ready_for_review', 'pull_request.closed'],
      onPullRequest,
      'in-handler',
    );
    on<CheckRunPayload>(['check_run.rerequested', 'check_run.requested_action'], onCheckRun);
    on<CheckSuitePayload>('check_suite.rerequested', onCheckSuite);
    on<IssueCommentPayload>('issue_comment.created', onIssueComment);

    for (const h of deps.httpHandlers ?? []) options?.addHandler?.(h);
  };
}
