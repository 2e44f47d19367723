import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * One temporary folder for the whole run, removed at its end: the clips, outputs and Redis
 * data the tests make (hundreds of MB a run) went to /tmp for good before, 2.4 GB on a
 * developer's machine after a few days. The test workers find it in DSANET_TEST_TMP.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "dsanet-tests-"));
  process.env.DSANET_TEST_TMP = root;
  return () => rmSync(root, { recursive: true, force: true });
}
