/** File-name globs, as Hugging Face's `data_files` and kiln's shard paths write them. */

/**
 * A glob as the Hub's `data_files` uses it: `*` and `?` stay inside one path segment, `**` spans
 * folders. Matches the whole path (or, for a bare file name, the whole name).
 *
 * @example
 * ```ts
 * globToRegExp("sample/10BT/*.parquet").test("sample/10BT/000.parquet"); // true
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      re += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
