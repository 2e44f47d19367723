/**
 * Hide credentials in URLs (rtsp://user:secret@host) before text reaches a log or an error.
 * The whole userinfo goes, up to the last "@" before the path, as the URL parser reads it: a
 * password may itself hold an "@" (rtsp://admin:p@ss@camera/).
 */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/gi, "$1***@");
}
