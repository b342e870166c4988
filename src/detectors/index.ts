/** The registry of detectors, alphabetical. Adding one: see CONTRIBUTING.md. */
import type { Detector } from './types.js';
import ackBeforeProcessing from './ack-before-processing.js';
import asyncForeach from './async-foreach.js';
import commitThenPublish from './commit-then-publish.js';
import floatingPromise from './floating-promise.js';
import goroutineUnsynchronised from './goroutine-unsynchronised.js';
import nonIdempotentConsumer from './non-idempotent-consumer.js';
import outOfOrderStatusUpdate from './out-of-order-status-update.js';
import sharedStateAcrossAwait from './shared-state-across-await.js';

export const detectors = {
  'ack-before-processing': ackBeforeProcessing,
  'async-foreach': asyncForeach,
  'commit-then-publish': commitThenPublish,
  'floating-promise': floatingPromise,
  'goroutine-unsynchronised': goroutineUnsynchronised,
  'non-idempotent-consumer': nonIdempotentConsumer,
  'out-of-order-status-update': outOfOrderStatusUpdate,
  'shared-state-across-await': sharedStateAcrossAwait,
} satisfies Record<string, Detector>;

export const allDetectors: readonly Detector[] = Object.values(detectors);
