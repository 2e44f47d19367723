import { UserError } from "../errors.js";
import { redact } from "../redact.js";

/**
 * Wait for a BullMQ client to reach Redis, or fail with a reason: ioredis retries an
 * unreachable server forever, which at startup would be a silent hang. A UserError: the
 * URL the user gave, or the Redis it names, is the thing to fix, and the CLI shows it as one line.
 */
export async function reachRedis(ready: Promise<unknown>, url: string, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UserError(`no answer from Redis at ${redact(url)} within ${timeoutMs / 1000} s (queue.redis, --redis)`)), timeoutMs);
  });
  try {
    await Promise.race([ready, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
