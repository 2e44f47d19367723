import type { GraphBuilder } from "./onnx-builder.js";

/**
 * An Einsum of a tensor with a matrix (one label summed, as a dense layer over one axis:
 * "abcg,gf->abcf", "gb,cgef->bcef") as Transpose -> MatMul -> Transpose, so that onnxruntime
 * runs it as a GEMM: 80 ms against Einsum's 137 ms for MAXIM's commonest equation at a 640x384
 * frame's stage-1 size (bench/einsum-matmul.bench.ts).
 * Any other equation stays an ONNX Einsum. Returns the output's name.
 */
export function emitEinsum(b: GraphBuilder, equation: string, inputs: readonly string[], output: string): string {
  const plan = matmulPlan(equation);
  const [first, second] = inputs;
  if (!plan || first === undefined || second === undefined || inputs.length !== 2) return b.add("Einsum", inputs, { equation }, output);
  const [tensor, matrix] = plan.matrixFirst ? [second, first] : [first, second];
  const lhs = isIdentity(plan.tensorPerm) ? tensor : b.add("Transpose", [tensor], { perm: plan.tensorPerm });
  const rhs = plan.matrixTransposed ? b.add("Transpose", [matrix], { perm: [1, 0] }) : matrix;
  if (isIdentity(plan.outputPerm)) return b.add("MatMul", [lhs, rhs], {}, output);
  return b.add("Transpose", [b.add("MatMul", [lhs, rhs])], { perm: plan.outputPerm }, output);
}

interface MatmulPlan {
  /** The matrix is the equation's first operand. */
  readonly matrixFirst: boolean;
  /** The tensor's axes with the summed one last. */
  readonly tensorPerm: readonly number[];
  /** The matrix is written (kept, summed): transpose it to (summed, kept). */
  readonly matrixTransposed: boolean;
  /** From MatMul's (tensor's other labels..., kept) to the equation's output. */
  readonly outputPerm: readonly number[];
}

/** How `equation` is a MatMul, or null when it is not one of a tensor with a matrix. */
export function matmulPlan(equation: string): MatmulPlan | null {
  const match = /^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]*)$/.exec(equation.replace(/\s/g, ""));
  if (!match) return null;
  const [, a = "", c = "", out = ""] = match;
  const distinct = (labels: string) => new Set(labels).size === labels.length;
  if (![a, c, out].every(distinct)) return null;
  const matrixFirst = a.length === 2 && c.length !== 2 ? true : c.length === 2 ? false : null;
  if (matrixFirst === null) return null;
  const [tensor, matrix] = matrixFirst ? [c, a] : [a, c];
  const summed = [...matrix].filter((l) => tensor.includes(l));
  const kept = [...matrix].filter((l) => !tensor.includes(l));
  const [k] = summed;
  const [n] = kept;
  if (summed.length !== 1 || kept.length !== 1 || k === undefined || n === undefined) return null;
  if (out.includes(k) || !out.includes(n)) return null;
  const others = [...tensor].filter((l) => l !== k);
  const product = [...others, n];
  if (product.length !== out.length || !product.every((l) => out.includes(l))) return null;
  return {
    matrixFirst,
    tensorPerm: [...others, k].map((l) => tensor.indexOf(l)),
    matrixTransposed: matrix[0] === n,
    outputPerm: [...out].map((l) => product.indexOf(l)),
  };
}

function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}
