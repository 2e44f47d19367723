"""A real RTSP server for tests (GStreamer's RTSP server from Debian), on loopback only.

    python3 test/helpers/rtsp_server.py PORT [FILE]

Serves rtsp://127.0.0.1:PORT/live: FILE looped (H.264 re-encoded), or a moving test pattern
of 160x96 at 10 fps. Prints "ready" once listening; stops on SIGTERM.
"""
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port = sys.argv[1]
source = (
    f'filesrc location="{sys.argv[2]}" ! decodebin ! videoconvert'
    if len(sys.argv) > 2
    else "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=96,framerate=10/1"
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
