"""QDQ int8 for an exported DSANet graph (training/int8/run.sh runs the steps).

    qdq.py augment MODEL OUT            every Conv's input and (ReLU'd) output made a graph output,
                                        for calibrate.mjs to record their ranges
    qdq.py quantize MODEL OUT RANGES [LIMIT]
                                        each Conv between QuantizeLinear/DequantizeLinear pairs:
                                        uint8 activations (asymmetric, calibrated min/max), int8
                                        weights per output channel (symmetric, within LIMIT: 63 by
                                        default, 127 for CPUs with VNNI only; see below), int32 bias, so that
                                        onnxruntime fuses them into QLinearConv; OUT's metadata
                                        names MODEL's sha256 (QUANTIZED_FROM), so that a test
                                        can tell a shipped int8 graph made from an older MODEL
"""
import sys, json, hashlib, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T

# test_int8_ship.py reads it back: the int8 graph runs by default on CPUs with VNNI, AMX or AVX2, so a
# models/dsanet.onnx shipped without remaking it would leave users on the old weights.
QUANTIZED_FROM = 'dsanet.quantized_from_sha256'

mode, src, dst = sys.argv[1:4]
m = onnx.load(src)
g = m.graph
inits = {i.name: i for i in g.initializer}
consumers = {}
for n in g.node:
    for i in n.input: consumers.setdefault(i, []).append(n)

def effective_output(conv):
    y = conv.output[0]
    cs = consumers.get(y, [])
    if len(cs) == 1 and cs[0].op_type == 'Relu': return cs[0].output[0]
    return y

convs = [n for n in g.node if n.op_type == 'Conv' and n.input[1] in inits]
names = sorted({c.input[0] for c in convs} | {effective_output(c) for c in convs})
graph_outputs = {o.name for o in g.output}
if mode == 'augment':
    for name in names:
        if name not in graph_outputs and name not in inits and name not in {i.name for i in g.input}:
            g.output.append(h.make_tensor_value_info(name, T.FLOAT, None))
    onnx.save(m, dst); print(len(names), 'tensors'); sys.exit()

ranges = json.load(open(sys.argv[4]))
# The weights' largest magnitude. Without VNNI or AMX, onnxruntime's uint8 x int8 kernels (AVX2's
# vpmaddubsw) add two products in 16 bits and saturate past 32,767: 2 x 255 x 127 does, 2 x 255 x 63
# does not (onnxruntime's quantizer calls this reduce_range; src/model/integer-units.ts int8Limit).
# At 127 the shipped DSANet lost 0.35 dB on the held-out photos on an AVX2 EPYC, none on VNNI; at 63
# it holds on both, and the graph that ships runs on every CPU (test_int8_ship.py checks).
LIMIT = int(sys.argv[5]) if len(sys.argv) > 5 else 63
new_nodes, new_inits, qdq_of = [], [], {}
def qdq(name):
    """Q -> DQ of activation `name` (uint8, asymmetric, from its calibrated range); returns the DQ output."""
    if name in qdq_of: return qdq_of[name]
    lo, hi = ranges[name]; lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255; zp = int(np.clip(round(-lo / scale), 0, 255))
    s, z = f'{name}_scale', f'{name}_zp'
    new_inits.extend([nh.from_array(np.array(scale, np.float32), s), nh.from_array(np.array(zp, np.uint8), z)])
    new_nodes.append(h.make_node('QuantizeLinear', [name, s, z], [f'{name}_q']))
    new_nodes.append(h.make_node('DequantizeLinear', [f'{name}_q', s, z], [f'{name}_dq']))
    qdq_of[name] = (f'{name}_dq', scale)
    return qdq_of[name]

weight_done = set()
rename = {}  # tensor -> its DQ'd version, for consumers
quantized = 0
for c in convs:
    x, wname = c.input[0], c.input[1]
    if x not in ranges: continue
    xd, xs = qdq(x)
    w = nh.to_array(inits[wname]).astype(np.float32)
    ws = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1), 1e-12) / LIMIT
    if wname not in weight_done:  # the scales share their weights
        weight_done.add(wname)
        wq = np.clip(np.round(w / ws[:, None, None, None]), -LIMIT, LIMIT).astype(np.int8)
        new_inits += [nh.from_array(wq, f'{wname}_q'), nh.from_array(ws.astype(np.float32), f'{wname}_s'), nh.from_array(np.zeros(len(ws), np.int8), f'{wname}_z')]
        new_nodes.append(h.make_node('DequantizeLinear', [f'{wname}_q', f'{wname}_s', f'{wname}_z'], [f'{wname}_dq'], axis=0))
    inputs = [xd, f'{wname}_dq']
    if len(c.input) > 2 and c.input[2]:
        b = nh.to_array(inits[c.input[2]]).astype(np.float32)
        bs = (xs * ws).astype(np.float32)
        bq = np.round(b / bs).astype(np.int32)
        bn = f'{c.name}_bias'
        new_inits += [nh.from_array(bq, f'{bn}_q'), nh.from_array(bs, f'{bn}_s'), nh.from_array(np.zeros(len(bs), np.int32), f'{bn}_z')]
        new_nodes.append(h.make_node('DequantizeLinear', [f'{bn}_q', f'{bn}_s', f'{bn}_z'], [f'{bn}_dq'], axis=0))
        inputs.append(f'{bn}_dq')
    del c.input[:]; c.input.extend(inputs)
    y = effective_output(c)
    if y in ranges and y not in graph_outputs:
        yd, _ = qdq(y)
        rename[y] = yd
    quantized += 1
# Rewire consumers of quantized outputs to their DQ (except the Q node itself).
for n in list(g.node) + new_nodes:
    if n.op_type == 'QuantizeLinear' and n.output[0].endswith('_q') and n.input[0] in rename: continue
    for i, inp in enumerate(n.input):
        if inp in rename: n.input[i] = rename[inp]
g.node.extend(new_nodes); g.initializer.extend(new_inits)
# Topological sort.
produced = {i.name for i in g.input} | {i.name for i in g.initializer} | {''}
order, pending = [], list(g.node)
while pending:
    rest = []
    for n in pending:
        (order if all(i in produced for i in n.input) else rest).append(n)
        if all(i in produced for i in n.input): produced.update(n.output)
    if len(rest) == len(pending): raise SystemExit(f'cycle or missing input: {rest[0]}')
    pending = rest
del g.node[:]; g.node.extend(order)
# The float weights the quantized ones replace: onnxruntime would drop them at load, but they
# would still make most of the file.
used = {i for n in g.node for i in n.input}
kept = [i for i in g.initializer if i.name in used]
del g.initializer[:]; g.initializer.extend(kept)
m.metadata_props.add(key=QUANTIZED_FROM, value=hashlib.sha256(open(src, 'rb').read()).hexdigest())
onnx.checker.check_model(m)
onnx.save(m, dst); print('quantized', quantized, 'convs of', len(convs))
