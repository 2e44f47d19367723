import type { Detection } from "../../types.js";
import type { StreamStatus, ViewerServer } from "../../sinks/viewer/server.js";
import type { OutputSpec } from "../frame-output.js";

/**
 * The page's viewers and the /frames sockets: each deblurred frame with its original, the
 * stream's stats and the newest boxes. Latest-only here (while the server encodes one frame, a
 * newer one replaces the frame waiting) and again per viewer in the server.
 */
export function viewerOutput(server: ViewerServer, status: () => StreamStatus, detections: () => readonly Detection[]): OutputSpec {
  return {
    name: "viewer",
    title: "the viewers",
    buffer: 1,
    oneSize: false,
    open: async () => ({ write: (frame) => server.publish(frame.original, frame.sharp, status(), detections()), close: async () => undefined }),
  };
}
