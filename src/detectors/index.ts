/** The registry of detectors, alphabetical. Adding one: see CONTRIBUTING.md. */
import type { Detector } from './types.js';
import ackBeforeProcessing from './ack-before-processing.js';
import aggregateCheckThenWrite from './aggregate-check-then-write.js';
import asyncForeach from './async-foreach.js';
import checkThenInsert from './check-then-insert.js';
import commitThenPublish from './commit-then-publish.js';
import floatingPromise from './floating-promise.js';
import getOrCreateWithoutUnique from './get-or-create-without-unique.js';
import goroutineUnsynchronised from './goroutine-unsynchronised.js';
import lockOrderInversion from './lock-order-inversion.js';
import maxPlusOne from './max-plus-one.js';
import nonIdempotentConsumer from './non-idempotent-consumer.js';
import nondeterministicIdempotencyKey from './nondeterministic-idempotency-key.js';
import outOfOrderStatusUpdate from './out-of-order-status-update.js';
import rangeCheckThenInsert from './range-check-then-insert.js';
import readAfterWriteStale from './read-after-write-stale.js';
import readModifyWrite from './read-modify-write.js';
import sharedStateAcrossAwait from './shared-state-across-await.js';

export const detectors = {
  'ack-before-processing': ackBeforeProcessing,
  'aggregate-check-then-write': aggregateCheckThenWrite,
  'async-foreach': asyncForeach,
  'check-then-insert': checkThenInsert,
  'commit-then-publish': commitThenPublish,
  'floating-promise': floatingPromise,
  'get-or-create-without-unique': getOrCreateWithoutUnique,
  'goroutine-unsynchronised': goroutineUnsynchronised,
  'lock-order-inversion': lockOrderInversion,
  'max-plus-one': maxPlusOne,
  'non-idempotent-consumer': nonIdempotentConsumer,
  'nondeterministic-idempotency-key': nondeterministicIdempotencyKey,
  'out-of-order-status-update': outOfOrderStatusUpdate,
  'range-check-then-insert': rangeCheckThenInsert,
  'read-after-write-stale': readAfterWriteStale,
  'read-modify-write': readModifyWrite,
  'shared-state-across-await': sharedStateAcrossAwait,
} satisfies Record<string, Detector>;

export const allDetectors: readonly Detector[] = Object.values(detectors);
