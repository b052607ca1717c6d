/**
 * Histogram buckets in seconds, from 5 ms to 24 h. A queue that backs up for hours still lands
 * in a finite bucket, so quantiles stay meaningful exactly when they matter (a histogram that
 * stops at 15 s answers +Inf once the queue is slow).
 */
export const DURATION_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 43_200,
  86_400,
];

/** Request latency buckets in seconds: procedures answer in milliseconds, a slow one in seconds. */
export const REQUEST_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
