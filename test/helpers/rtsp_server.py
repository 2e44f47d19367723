"""A real RTSP server for tests (GStreamer's RTSP server from Debian), on loopback only.

    python3 test/helpers/rtsp_server.py PORT [FILE | WIDTHxHEIGHT@FPS | flash:WIDTHxHEIGHT@FPS | snow:WIDTHxHEIGHT@FPS]

Serves rtsp://127.0.0.1:PORT/live: FILE (H.264 re-encoded, played once per session), a
moving test pattern, 160x96 at 10 fps unless given, or (flash:) a black picture that turns
white, and back, at each SIGUSR1: an event whose time the sender knows, for latency
measurements, or (snow:) random noise, which no encoder compresses: a stream of many bytes.
Prints "ready" once listening; stops on SIGTERM.
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
pattern = re.fullmatch(r"(flash:|snow:)?(\d+)x(\d+)@(\d+)", what)
source = (
    f"videotestsrc name=pattern is-live=true pattern={ {'flash:': 'black', 'snow:': 'snow'}.get(pattern[1] or '', 'ball') } ! video/x-raw,width={pattern[2]},height={pattern[3]},framerate={pattern[4]}/1"
    if pattern
    else f'filesrc location="{what}" ! decodebin ! videoconvert'
)
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(f"( {source} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay name=pay0 pt=96 )")
# Each client gets a pipeline of its own, as it gets its own RTP session from a real camera.
# A shared pipeline now and then aborted the whole server when clients came and went together
# (dsanet probes a camera, then reads it; two streams of one camera double that): GStreamer
# 1.22 asserts in gst_rtsp_media_get_rates on a PLAY ("assertion failed: (FALSE)") and aborts.
# Two probes and two readers at a time killed it in round 18 and in round 19 of two tries;
# unshared, it lived through 120 rounds.
factory.set_shared(False)
server.get_mount_points().add_factory("/live", factory)

# Each client's test pattern while its pipeline lives: SIGUSR1 flips them all black <-> white.
patterns = set()


def keep_pattern(_factory, media):
    pattern = media.get_element().get_by_name("pattern")
    if pattern is not None:
        patterns.add(pattern)
        media.connect("unprepared", lambda _media: patterns.discard(pattern))


factory.connect("media-configure", keep_pattern)


def flip():
    for element in list(patterns):
        element.set_property("pattern", "white" if element.get_property("pattern").value_nick == "black" else "black")
    return False


signal.signal(signal.SIGUSR1, lambda *_: GLib.idle_add(flip))
server.attach(None)
loop = GLib.MainLoop()
signal.signal(signal.SIGTERM, lambda *_: loop.quit())
print("ready", flush=True)
loop.run()
