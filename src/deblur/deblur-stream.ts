import type { Frame } from "../types.js";
import { padded, type Engine, type EngineState } from "../engine/engine.js";
import { clamped, crop, type Region } from "../engine/pixels.js";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { log } from "../log.js";
import { defaultMemoryLimitMB, tileFor } from "./memory.js";
import { MotionDetector } from "./motion.js";
import { composite, planRegions, type RegionPlan } from "./regions.js";
import { cutSheet, drawSheet, type Sheet } from "./sheets.js";
import { planTiles, type Tile } from "./tiles.js";

/** The config's `deblur` section, field for field (documented in config/schema.ts). */
export type DeblurStreamOptions = Readonly<Pick<Config["deblur"], "carryState" | "tile" | "overlap" | "memoryLimitMB" | "regions">>;

/** A deblurred frame, and how much of it the model saw. */
export interface DeblurredFrame {
  readonly sharp: Frame;
  /** The share of the frame's pixels that went through the model: 1 for the whole frame, 0 when nothing moved. */
  readonly deblurredShare: number;
  /** Where the model's output replaced the frame (what moved, and a margin), or null: the whole frame. */
  readonly areas: readonly Region[] | null;
}

/** Pixels around what moved that go to the model too: the blur trails the object, the network wants context. */
const REGION_MARGIN = 16;

/** Of which the outer half blends the deblurred area into the untouched frame. */
const REGION_FEATHER = 8;

/** Regions whose tiles cost this share of the whole (padded) frame or more run as the whole frame: no cheaper, and no seams. */
const WHOLE_FRAME_COST = 0.75;

/**
 * Deblurs the frames of one stream in order, keeping the model's state between them: one
 * state per tile position. The state resets on a discontinuity or a change of frame size.
 *
 * With `regions: auto`, a motion detector decides what goes through the model: on a still
 * camera only what moved (the background is sharp; only moving things are motion-blurred),
 * composited back into the untouched frame; the whole frame when most of it changed. The
 * carried state belongs to whole frames: it goes on from one whole frame to the next, and
 * starts afresh after frames that went by regions, whose tiles run without state.
 */
export class DeblurStream {
  private readonly states = new Map<number, EngineState>();
  private size = "";
  private tiles: Tile[] = [];
  private readonly memoryLimitMB: number;
  private readonly motion: MotionDetector | null;

  constructor(
    private readonly engine: Engine,
    private readonly options: DeblurStreamOptions,
  ) {
    if (options.tile !== null && options.tile % engine.stride !== 0) {
      const [below, above] = [Math.floor(options.tile / engine.stride) * engine.stride, Math.ceil(options.tile / engine.stride) * engine.stride];
      const nearest = below > 0 ? `${below} or ${above}` : `${above}`;
      throw new ConfigError(`deblur.tile: ${options.tile} is not a multiple of the model's stride, ${engine.stride}: use ${nearest} (--tile)`);
    }
    this.memoryLimitMB = options.memoryLimitMB ?? defaultMemoryLimitMB();
    this.motion = options.regions === "auto" ? new MotionDetector() : null;
  }

  async deblur(frame: Frame): Promise<DeblurredFrame> {
    const size = `${frame.width}x${frame.height}`;
    if (frame.discontinuity || size !== this.size) this.reset();
    if (size !== this.size) this.tiles = this.tilesFor(frame.width, frame.height);
    this.size = size;
    const plan = this.regionsOf(frame);
    if (plan === null) return { sharp: await this.whole(frame), deblurredShare: 1, areas: null };
    // The state left by the last whole frame does not describe this one any more.
    this.reset();
    const deblurredShare = Math.min(1, plan.modelPixels / (frame.width * frame.height));
    return { sharp: await this.regions(frame, plan), deblurredShare, areas: plan.areas };
  }

  /** The regions to deblur, or null where the whole frame should go: no gating, or most of it moved. */
  private regionsOf(frame: Frame): RegionPlan | null {
    const motion = this.motion?.detect(frame);
    if (!motion || motion.kind === "whole") return null;
    const { stride, bytesPerPixel, regionTileLimit, regionContext } = this.engine;
    const { overlap } = this.options;
    const plan = planRegions(motion.boxes, frame.width, frame.height, {
      margin: REGION_MARGIN,
      context: regionContext,
      overlap,
      stride,
      tileLimit: regionTileLimit,
      memoryTile: (width, height) => tileFor(width, height, { stride, bytesPerPixel, limitMB: this.memoryLimitMB, overlap, requested: null }),
    });
    return plan.modelPixels < WHOLE_FRAME_COST * padded(frame.width, stride) * padded(frame.height, stride) ? plan : null;
  }

  /**
   * Only the planned regions through the model, the rest of the frame as it was. Sheets of one
   * size go as one batch (as many as the memory limit holds), without state.
   */
  private async regions(frame: Frame, plan: RegionPlan): Promise<Frame> {
    if (plan.tiles.length === 0) return frame;
    const sharp = new Array<Uint8Array>(plan.tiles.length);
    const bySize = new Map<string, Sheet[]>();
    for (const sheet of plan.sheets) bySize.set(`${sheet.width}x${sheet.height}`, [...(bySize.get(`${sheet.width}x${sheet.height}`) ?? []), sheet]);
    for (const group of bySize.values()) {
      const { width, height } = group[0] as Sheet;
      const rowsPerBatch = Math.max(1, Math.floor((this.memoryLimitMB * 2 ** 20) / (width * height * this.engine.bytesPerPixel)));
      for (let first = 0; first < group.length; first += rowsPerBatch) {
        const batch = group.slice(first, first + rowsPerBatch);
        const inputs = batch.map((sheet) => ({ rgb: drawSheet(frame.rgb, frame.width, plan.tiles, sheet), state: null }));
        (await this.engine.run(inputs, height, width)).forEach((out, row) => {
          out.state.dispose();
          for (const [tile, rgb] of cutSheet(out.rgb, plan.tiles, batch[row] as Sheet)) sharp[tile] = rgb;
        });
      }
    }
    return { ...frame, rgb: composite(frame.rgb, frame.width, frame.height, plan, sharp, REGION_FEATHER, this.options.overlap) };
  }

  /** The whole frame through the model, in tiles where memory requires, each tile position carrying its state. */
  private async whole(frame: Frame): Promise<Frame> {
    const tiles = this.tiles;
    // The engine gets copies (crop), as it may take their buffers: the frame goes on to viewers.
    if (tiles.length === 1) return { ...frame, rgb: await this.run(0, crop(frame.rgb, frame.width, tiles[0] as Tile), frame.height, frame.width) };

    // Tiles overlap: each pixel is the weighted mean of the tiles over it (weights ramp across overlaps).
    const sum = new Float32Array(frame.rgb.length);
    const weights = new Float32Array(frame.width * frame.height);
    for (const [i, tile] of tiles.entries()) {
      const sharp = await this.run(i, crop(frame.rgb, frame.width, tile), tile.height, tile.width);
      accumulate(sharp, tile, frame.width, sum, weights);
    }
    const rgb = new Uint8Array(frame.rgb.length);
    const bytes = clamped(rgb);
    for (let p = 0; p < weights.length; p++) {
      const w = weights[p] as number;
      for (let c = 0; c < 3; c++) bytes[p * 3 + c] = (sum[p * 3 + c] as number) / w;
    }
    return { ...frame, rgb };
  }

  /** Deblur the image at tile position `i`, carrying that position's state. */
  private async run(i: number, rgb: Uint8Array, height: number, width: number): Promise<Uint8Array> {
    const [out] = await this.engine.run([{ rgb, state: this.states.get(i) ?? null }], height, width);
    if (!out) throw new Error(`${this.engine.name}: no output for the frame`);
    this.states.get(i)?.dispose();
    if (this.options.carryState && this.engine.carriesState) this.states.set(i, out.state);
    else out.state.dispose();
    return out.rgb;
  }

  /** Tiles of the user's size, or of one that keeps inference within the memory limit. */
  private tilesFor(width: number, height: number): Tile[] {
    const { stride, bytesPerPixel } = this.engine;
    const { overlap, tile: requested } = this.options;
    const tile = tileFor(width, height, { stride, bytesPerPixel, limitMB: this.memoryLimitMB, overlap, requested });
    const tiles = planTiles(width, height, tile, overlap);
    if (tile !== null && requested === null) {
      const needMB = Math.round((width * height * bytesPerPixel) / 2 ** 20);
      log.info(`${width}x${height} frames need about ${needMB} MiB whole, over deblur.memoryLimitMB (${this.memoryLimitMB}): deblurring them in ${tiles.length} tiles of ${tile.width}x${tile.height} (--tile N sets a square size)`);
    }
    return tiles;
  }

  /** Forget the carried state: the next frame starts afresh (a cut, a seek, a reconnect). */
  reset(): void {
    for (const state of this.states.values()) state.dispose();
    this.states.clear();
  }

  close(): void {
    this.reset();
    this.motion?.reset();
  }
}

function accumulate(sharp: Uint8Array, tile: Tile, frameWidth: number, sum: Float32Array, weights: Float32Array): void {
  for (let y = 0; y < tile.height; y++) {
    for (let x = 0; x < tile.width; x++) {
      const w = tile.weight(x, y);
      const p = (tile.y + y) * frameWidth + tile.x + x;
      const s = (y * tile.width + x) * 3;
      weights[p] = (weights[p] as number) + w;
      for (let c = 0; c < 3; c++) sum[p * 3 + c] = (sum[p * 3 + c] as number) + w * (sharp[s + c] as number);
    }
  }
}
