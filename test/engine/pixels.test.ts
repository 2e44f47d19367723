import { describe, expect, it } from "vitest";
import { crop, sample, toBytes, toFloat, type Layout } from "../../src/engine/pixels.js";

// A 5x4 RGB24 image whose every byte differs, and a 3x2 region of it at (1, 1).
const [W, H] = [5, 4];
const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 11) % 256);
const region = { x: 1, y: 1, width: 3, height: 2 };
const byte = (x: number, y: number, c: number) => rgb[(y * W + x) * 3 + c] as number;

describe.each(["nchw", "nhwc"] as Layout[])("pixels in %s", (layout) => {
  it("toFloat reads the region and repeats its last row and column into the padding", () => {
    const [ph, pw] = [4, 8];
    const image = toFloat(rgb, W, region, ph, pw, layout);
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        const [sx, sy] = [region.x + Math.min(x, region.width - 1), region.y + Math.min(y, region.height - 1)];
        for (let c = 0; c < 3; c++) expect(sample(image, layout, ph, pw, x, y, c)).toBeCloseTo(byte(sx, sy, c) / 255, 7);
      }
    }
  });

  it("toBytes writes the region back in place, rounded and clamped, and leaves the rest alone", () => {
    const [ph, pw] = [4, 8];
    const image = toFloat(rgb, W, region, ph, pw, layout);
    image[0] = -0.2; // out of range both ways: clamped
    image[1] = 1.7;
    const out = new Uint8Array(rgb.length).fill(7);
    toBytes(image, layout, ph, pw, region, out, W);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
        for (let c = 0; c < 3; c++) {
          const expected = !inside ? 7 : Math.min(255, Math.max(0, Math.round(sample(image, layout, ph, pw, x - region.x, y - region.y, c) * 255)));
          expect(out[(y * W + x) * 3 + c]).toBe(expected);
        }
      }
    }
    // The round trip of bytes through floats is exact.
    const whole = { x: 0, y: 0, width: W, height: H };
    const again = new Uint8Array(rgb.length);
    toBytes(toFloat(rgb, W, whole, H, W, layout), layout, H, W, whole, again, W);
    expect(again).toEqual(rgb);
  });
});

describe("crop", () => {
  it("copies a region into a packed image of its own", () => {
    const out = crop(rgb, W, region);
    expect(out).toHaveLength(region.width * region.height * 3);
    for (let y = 0; y < region.height; y++) {
      for (let x = 0; x < region.width; x++) {
        for (let c = 0; c < 3; c++) expect(out[(y * region.width + x) * 3 + c]).toBe(byte(region.x + x, region.y + y, c));
      }
    }
    expect(crop(rgb, W, { x: 0, y: 0, width: W, height: H })).toEqual(rgb);
  });
});
