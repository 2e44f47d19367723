import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

export interface AccessOptions {
  /** When set, every request but /healthz must carry `?token=<token>`. */
  readonly token: string | null;
  /** Host names (besides IP addresses and localhost) that requests may be addressed to. */
  readonly allowedHosts: readonly string[];
  /** Origins (besides the server's own) whose pages may open the sockets, e.g. "https://ops.example". */
  readonly allowedOrigins: readonly string[];
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

const OK: Verdict = { ok: true };

/**
 * Who may see the cameras. Three checks, in this order:
 * - Host: a page on evil.example whose name an attacker re-points at 127.0.0.1 (DNS rebinding)
 *   reaches a server on loopback as "same origin"; its requests still say `Host: evil.example`.
 *   Only IP addresses, localhost and the names in `allowedHosts` are answered.
 * - Origin: browsers let any site open a WebSocket anywhere and send its Origin with it; a
 *   socket opened by a page from elsewhere than this server (or `allowedOrigins`) is refused.
 *   Programs that send no Origin (ws, curl) pass: they are not a victim's browser.
 * - Token, when set: compared in constant time, so its bytes cannot be found by timing.
 */
export function checkAccess(req: IncomingMessage, options: AccessOptions): Verdict {
  const host = req.headers.host ?? "";
  if (!hostAllowed(host, options.allowedHosts)) return { ok: false, status: 403, reason: `host ${host} is not served here (viewer.allowedHosts)` };
  const origin = req.headers.origin;
  if (origin !== undefined && !originAllowed(origin, host, options.allowedOrigins)) {
    return { ok: false, status: 403, reason: `pages from ${origin} may not connect (viewer.allowedOrigins)` };
  }
  if (options.token === null) return OK;
  const given = new URL(req.url ?? "/", "http://x").searchParams.get("token") ?? "";
  return sameSecret(given, options.token) ? OK : { ok: false, status: 401, reason: "a valid ?token= is required" };
}

function hostname(host: string): string {
  // "[::1]:8080" -> "::1", "example.com:8080" -> "example.com"
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  return (bracketed?.[1] ?? host.replace(/:\d+$/, "")).toLowerCase();
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const name = hostname(host);
  if (name === "") return false;
  return isIP(name) !== 0 || name === "localhost" || allowed.some((a) => a.toLowerCase() === name);
}

function originAllowed(origin: string, host: string, allowed: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  return parsed.host.toLowerCase() === host.toLowerCase() || allowed.some((a) => a.toLowerCase() === origin.toLowerCase());
}

function sameSecret(given: string, expected: string): boolean {
  // Hash first: timingSafeEqual needs equal lengths, and the length must not leak either.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
