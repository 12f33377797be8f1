/**
 * kafkajs 2.2.4 schedules its pending-request check with `setTimeout(fn, throttledUntil - Date.now())`,
 * which is a large negative number whenever the broker has not throttled us. Node coerces it to 1 ms
 * and, since Node 24, prints a TimeoutNegativeWarning on every new connection (kafkajs issue #1751,
 * unmerged fix in PR #1755). kafkajs is in maintenance mode, so the fix lives here: the same method
 * with the delay clamped to what Node would have used anyway. Imported once, before any client exists.
 */
import { createRequire } from 'node:module';

const CHECK_PENDING_REQUESTS_INTERVAL = 10; // as in kafkajs' requestQueue

interface RequestQueue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
const RequestQueueClass = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };

RequestQueueClass.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue) {
  if (this.throttleCheckTimeoutId) return;
  let delay = this.throttledUntil - Date.now();
  if (this.pending.length > 0 && delay <= 0) delay = CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    Math.max(1, delay),
  );
};
