/**
 * A 5×8 bitmap font for ASCII 32–126 (the classic 5×7 LCD font, descenders in the 8th row), so
 * kiln's PNG writer can label pictures without a font library. Each glyph is 5 column bytes,
 * bit 0 the top row.
 *
 * @module
 */

const GLYPHS_HEX =
  "000000000000005f00000007000700147f147f14242a7f2a12231308646236495620500008070300001c224100" +
  "0041221c002a1c7f1c2a08083e080800807030000808080808000060600020100804023e5149453e00427f4000" +
  "72494949462141494d331814127f1027454545393c4a49493141211109073649494936464949291e0000140000" +
  "004034000000081422411414141414004122140802015909063e415d594e7c1211127c7f494949363e41414122" +
  "7f4141413e7f494949417f090909013e414151737f0808087f00417f41002040413f017f081422417f40404040" +
  "7f021c027f7f0408107f3e4141413e7f090909063e4151215e7f09192946264949493203017f01033f4040403f" +
  "1f2040201f3f4038403f631408146303047804036159494d43007f4141410204081020004141417f0402010204" +
  "4040404040000307080020545478407f284444383844444428384444287f385454541800087e090218a4a49c78" +
  "7f0804047800447d40002040403d007f1028440000417f40007c047804787c080404783844444438fc18242418" +
  "18242418fc7c08040408485454542404043f44243c4040207c1c2040201c3c4030403c44281028444c9090907c" +
  "4464544c440008364100000077000000413608000201020402";

/** Pixels a glyph spans: 5 wide, 8 tall; text advances 6 per character. */
export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
export const GLYPH_ADVANCE = 6;

const GLYPHS = Uint8Array.from(
  { length: GLYPHS_HEX.length / 2 },
  (_, i) => parseInt(GLYPHS_HEX.slice(2 * i, 2 * i + 2), 16),
);

/** The character a glyph is drawn for: printable ASCII as is, anything else as "?". */
export function drawableChar(c: string): string {
  const code = c.charCodeAt(0);
  return c.length === 1 && code >= 32 && code <= 126 ? c : "?";
}

/** True when the glyph of `c` has pixel (column `x` in 0..4, row `y` in 0..7) set. */
export function glyphPixel(c: string, x: number, y: number): boolean {
  const index = drawableChar(c).charCodeAt(0) - 32;
  return ((GLYPHS[index * GLYPH_WIDTH + x] >> y) & 1) === 1;
}
