/**
 * Preloaded into dsanet by a test (node --import): a programming error during a command's
 * start-up, as a bug there would throw, after the first thing it opened (serve's and worker's
 * engine, in its worker thread) was added to its Resources. dsanet must show the TypeError's
 * stack, exit 1, and not hang on the thread it left open.
 */
import { Resources, type Closable } from "../../src/cli/resources.js";

const add = Resources.prototype.add;
Resources.prototype.add = function <T extends Closable>(this: Resources, resource: T): T {
  add.call(this, resource);
  const missing = null as unknown as { name: string };
  return missing.name as unknown as T;
};
