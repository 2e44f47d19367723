/**
 * ffmpeg arguments (among an output's) that convert between RGB and YUV without bias.
 *
 * swscale's default 4:2:0 path rounds one way: yuv420p decoded to RGB came back about a level
 * darker (R/G/B -0.9/-1.4/-0.9 over 16 photo crops), so a video through dsanet, with every
 * pixel left as it was, played 1.07 luma levels darker than its input. Exact rounding and full
 * chroma interpolation keep the round trip within 0.06 of a level, for a conversion that costs
 * a fraction of a millisecond a frame beside the model's hundreds.
 */
export const EXACT_COLOUR = ["-sws_flags", "accurate_rnd+full_chroma_int"] as const;
