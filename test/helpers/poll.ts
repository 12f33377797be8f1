/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. The deadline only bounds the wait; it decides nothing. */
export async function poll<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
