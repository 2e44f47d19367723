/** What a probe gives while the awaited thing has not happened yet. */
type NotYet = null | undefined | false;

/**
 * Poll `probe` every 100 ms until it gives a value (anything but null, undefined or false) and
 * return that value. Tests wait for an event this way, never for a length of time; `timeoutMs`
 * only bounds a wait that would otherwise hang, and `what` says what never came.
 */
export async function until<T>(probe: () => T | NotYet | Promise<T | NotYet>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
