/** Where an encoder's packets go: a muxer (ffmpeg's `-f`), its options, and its file or URL. */
export interface Muxer {
  readonly format: string;
  readonly options: readonly (readonly [string, string])[];
  readonly target: string;
}

/** The muxer as the arguments of an ffmpeg that writes to it alone. */
export function muxerArgs({ format, options, target }: Muxer): string[] {
  return ["-f", format, ...options.flatMap(([key, value]) => [`-${key}`, value]), target];
}

/**
 * The muxers as one output of ffmpeg's tee muxer (`-f tee` and this), each a slave that may fail
 * alone (onfail=ignore): the others go on. The tee reads the whole text once, as a token split at
 * `|`, then each slave's options again, as tokens split at `:` and `]`: an option's value is
 * escaped for both readings, a file or URL for the first.
 */
export function teeTarget(muxers: readonly Muxer[]): string {
  return muxers
    .map(({ format, options, target }) => {
      const all: (readonly [string, string])[] = [["f", format], ...options, ["onfail", "ignore"]];
      return `[${all.map(([key, value]) => `${key}=${escapeToken(escapeToken(value, ":]"), "|")}`).join(":")}]${escapeToken(target, "|")}`;
    })
    .join("|");
}

/** `text` as one token of ffmpeg's av_get_token, split at `separators`: they, quotes and backslashes escaped. */
function escapeToken(text: string, separators: string): string {
  return [...text].map((char) => (`\\'${separators}`.includes(char) ? `\\${char}` : char)).join("");
}
