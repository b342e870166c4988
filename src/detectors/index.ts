/** The registry of detectors, alphabetical. Adding one: see CONTRIBUTING.md. */
import type { Detector } from './types.js';

export const detectors = {} satisfies Record<string, Detector>;

export const allDetectors: readonly Detector[] = Object.values(detectors);
