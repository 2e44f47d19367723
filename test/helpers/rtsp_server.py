"""A real RTSP server for tests (GStreamer's RTSP server from Debian), on loopback only.

    python3 test/helpers/rtsp_server.py PORT [FILE | WIDTHxHEIGHT@FPS]

Serves rtsp://127.0.0.1:PORT/live: FILE (H.264 re-encoded, played once per session), or a
moving test pattern, 160x96 at 10 fps unless given. Prints "ready" once listening; stops on
SIGTERM.
"""
import re
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port = sys.argv[1]
what = sys.argv[2] if len(sys.argv) > 2 else "160x96@10"
pattern = re.fullmatch(r"(\d+)x(\d+)@(\d+)", what)
source = (
    f"videotestsrc is-live=true pattern=ball ! video/x-raw,width={pattern[1]},height={pattern[2]},framerate={pattern[3]}/1"
    if pattern
    else f'filesrc location="{what}" ! decodebin ! videoconvert'
)
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(f"( {source} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay name=pay0 pt=96 )")
factory.set_shared(True)
server.get_mount_points().add_factory("/live", factory)
server.attach(None)
loop = GLib.MainLoop()
signal.signal(signal.SIGTERM, lambda *_: loop.quit())
print("ready", flush=True)
loop.run()
