import type { Frame } from "../types.js";
import type { Engine, EngineState } from "./engine.js";
import { clamped, crop } from "./pixels.js";
import type { Config } from "../config/schema.js";
import { log } from "../log.js";
import { defaultMemoryLimitMB, tileFor } from "./memory.js";
import { planTiles, type Tile } from "./tiles.js";

/** The config's `deblur` section, field for field (documented in config/schema.ts). */
export type DeblurStreamOptions = Readonly<Pick<Config["deblur"], "carryState" | "tile" | "overlap" | "memoryLimitMB">>;

/**
 * Deblurs the frames of one stream in order, keeping the model's state between them: one
 * state per tile position. The state resets on a discontinuity or a change of frame size.
 */
export class DeblurStream {
  private readonly states = new Map<number, EngineState>();
  private size = "";
  private tiles: Tile[] = [];
  private readonly memoryLimitMB: number;

  constructor(
    private readonly engine: Engine,
    private readonly options: DeblurStreamOptions,
  ) {
    if (options.tile !== null && options.tile % engine.stride !== 0) {
      throw new Error(`tile size ${options.tile} must be a multiple of ${engine.stride} (the network's stride with ${engine.scales} scales)`);
    }
    this.memoryLimitMB = options.memoryLimitMB ?? defaultMemoryLimitMB();
  }

  async deblur(frame: Frame): Promise<Frame> {
    const size = `${frame.width}x${frame.height}`;
    if (frame.discontinuity || size !== this.size) this.reset();
    if (size !== this.size) this.tiles = this.tilesFor(frame.width, frame.height);
    this.size = size;
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
