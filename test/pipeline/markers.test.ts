import { describe, expect, it } from 'vitest';
import { hasReviewMarker, jobKeyString, reviewMarker } from '../../src/pipeline/index.js';

const key = { repo: 'acme/shop', prNumber: 12, headSha: 'abc123', trigger: 'pull_request' };

describe('job markers', () => {
  it('names the whole job key', () => {
    expect(jobKeyString(key)).toBe('concdbg:acme/shop#12@abc123:pull_request');
    expect(reviewMarker(key)).toBe('<!-- concdbg:acme/shop#12@abc123:pull_request -->');
  });

  it('finds the marker of this job only', () => {
    const body = `Found 2 hazards.\n\n${reviewMarker(key)}`;
    expect(hasReviewMarker(body, key)).toBe(true);
    expect(hasReviewMarker(body, { ...key, headSha: 'def456' })).toBe(false);
    expect(hasReviewMarker(body, { ...key, trigger: 'comment' })).toBe(false);
    expect(hasReviewMarker(null, key)).toBe(false);
  });

  it('cannot be closed early by a trigger containing "--"', () => {
    const marker = reviewMarker({ ...key, trigger: 'x-->y' });
    expect(marker.indexOf('-->')).toBe(marker.length - 3);
  });
});
