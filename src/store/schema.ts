import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them (snake_case, times in epoch ms, JSON as text). */
export interface DeliveriesTable {
  delivery_id: string;
  event: string;
  received_at: number;
}

export interface ReviewJobsTable {
  id: Generated<number>;
  repo: string;
  pr_number: number;
  head_sha: string;
  trigger: string;
  installation_id: number;
  state: string;
  attempts: number;
  last_error: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  not_before: number;
  check_run_id: number | null;
  review_id: number | null;
  payload: string;
  superseded_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface PostedFindingsTable {
  repo: string;
  pr_number: number;
  fingerprint: string;
  comment_id: number | null;
  first_job_id: number;
  status: string;
  created_at: number;
  updated_at: number;
}

export interface DismissedFindingsTable {
  repo: string;
  pr_number: number;
  fingerprint: string;
  dismissed_by: string;
  reason: string | null;
  created_at: number;
}

export interface PostingIntentsTable {
  job_id: number;
  kind: string;
  state: string;
  external_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface UsageCountersTable {
  installation_id: number;
  day: string;
  input_tokens: number;
  output_tokens: number;
  reviews: number;
  /** The daily LLM budget: reservations in flight plus finished requests' input + output tokens. */
  budget_tokens: number;
}

export interface Database {
  deliveries: DeliveriesTable;
  review_jobs: ReviewJobsTable;
  posted_findings: PostedFindingsTable;
  dismissed_findings: DismissedFindingsTable;
  posting_intents: PostingIntentsTable;
  usage_counters: UsageCountersTable;
}
