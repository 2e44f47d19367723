/**
 * Raw RGB24 frames each with its own presentation time, as a Matroska stream that ffmpeg reads
 * from a pipe. ffmpeg's raw-video pipe input cannot carry a timestamp per frame (it stamps
 * frames at a constant rate), so variable-frame-rate video came out evenly spaced; NUT and
 * Matroska are the streamable containers ffmpeg reads with raw video and per-frame times, and
 * Matroska's EBML is the simpler of the two to write (vspipe and others make the same choice).
 *
 * The stream is the least ffmpeg's matroska demuxer needs: an EBML header, a Segment of
 * unknown length (it is written as it goes), the track (V_UNCOMPRESSED, colour space fourcc
 * `RGB` 24, which ffmpeg's raw decoder maps to rgb24), then one Cluster per frame holding
 * its time and one SimpleBlock. Times are in nanoseconds (TimestampScale 1), finer than any
 * container's time base, so ffmpeg rounds them back to the input's exact ticks.
 */

const ID = {
  EBML: 0x1a45dfa3, EBMLVersion: 0x4286, EBMLReadVersion: 0x42f7, EBMLMaxIDLength: 0x42f2, EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282, DocTypeVersion: 0x4287, DocTypeReadVersion: 0x4285,
  Segment: 0x18538067, Info: 0x1549a966, TimestampScale: 0x2ad7b1, MuxingApp: 0x4d80, WritingApp: 0x5741,
  Tracks: 0x1654ae6b, TrackEntry: 0xae, TrackNumber: 0xd7, TrackUID: 0x73c5, TrackType: 0x83, FlagLacing: 0x9c,
  CodecID: 0x86, DefaultDuration: 0x23e383, Video: 0xe0, PixelWidth: 0xb0, PixelHeight: 0xba, ColourSpace: 0x2eb524,
  Cluster: 0x1f43b675, Timestamp: 0xe7, SimpleBlock: 0xa3,
} as const;

/** A Segment whose length is not known up front: all size bits set. */
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function id(value: number): Buffer {
  const bytes = value > 0xffffff ? 4 : value > 0xffff ? 3 : value > 0xff ? 2 : 1;
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
}

/** An element size as an 8-byte EBML variable-length integer (any size up to 2^53). */
function size(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  out[0] = 0x01;
  return out;
}

function element(elementId: number, body: Buffer): Buffer {
  return Buffer.concat([id(elementId), size(body.length), body]);
}

function uint(elementId: number, value: number | bigint): Buffer {
  const body = Buffer.alloc(8);
  body.writeBigUInt64BE(BigInt(value));
  return element(elementId, body);
}

function text(elementId: number, value: string): Buffer {
  return element(elementId, Buffer.from(value, "ascii"));
}

/** Stream header: the track of `width` x `height` RGB24 frames, about `frameDurationNs` apart. */
export function timedFramesHeader(width: number, height: number, frameDurationNs: number): Buffer {
  const ebml = element(ID.EBML, Buffer.concat([
    uint(ID.EBMLVersion, 1), uint(ID.EBMLReadVersion, 1), uint(ID.EBMLMaxIDLength, 4), uint(ID.EBMLMaxSizeLength, 8),
    text(ID.DocType, "matroska"), uint(ID.DocTypeVersion, 4), uint(ID.DocTypeReadVersion, 2),
  ]));
  const info = element(ID.Info, Buffer.concat([uint(ID.TimestampScale, 1), text(ID.MuxingApp, "dsanet"), text(ID.WritingApp, "dsanet")]));
  const video = element(ID.Video, Buffer.concat([
    uint(ID.PixelWidth, width), uint(ID.PixelHeight, height), element(ID.ColourSpace, Buffer.from([0x52, 0x47, 0x42, 24])),
  ]));
  const track = element(ID.TrackEntry, Buffer.concat([
    uint(ID.TrackNumber, 1), uint(ID.TrackUID, 1), uint(ID.TrackType, 1), uint(ID.FlagLacing, 0), text(ID.CodecID, "V_UNCOMPRESSED"),
    // A hint only (each frame has its own time): it gives ffmpeg the stream's nominal rate.
    uint(ID.DefaultDuration, Math.max(1, Math.round(frameDurationNs))),
    video,
  ]));
  return Buffer.concat([ebml, id(ID.Segment), UNKNOWN_SIZE, info, element(ID.Tracks, track)]);
}

/**
 * What goes before a frame's `bytes` RGB bytes: a Cluster at `ptsNs` holding one key-frame
 * SimpleBlock of track 1 at relative time 0. The pixels follow as they are, uncopied.
 */
export function timedFramePrefix(ptsNs: bigint, bytes: number): Buffer {
  const block = Buffer.from([0x81, 0x00, 0x00, 0x80]); // track 1, relative time 0, key frame
  const timestamp = uint(ID.Timestamp, ptsNs);
  const blockHeader = Buffer.concat([id(ID.SimpleBlock), size(block.length + bytes), block]);
  return Buffer.concat([id(ID.Cluster), size(timestamp.length + blockHeader.length + bytes), timestamp, blockHeader]);
}
