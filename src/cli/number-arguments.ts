import { InvalidArgumentError } from "commander";

/** Commander's parser for a whole-number argument: "--threads 2". */
export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("not an integer");
  return n;
}

/** Commander's parser for a numeric argument: "--chunk-seconds 7.5". */
export function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
}
