"""DSANet: a deep supervised attention network for dynamic scene deblurring.

Jang, Yan and Kim, Sensors 2025, 25(6), 1896. Read top to bottom like the paper's figure:
building blocks, one scale (encoder, ConvLSTM bottleneck, decoder, supervised attention),
then the coarse-to-fine loop over K scales with the recurrent state carried between scales
and, for video, between frames.

One scale network is shared by all scales (scale-recurrent, as in SRN-DeblurNet), so the same
weights run with K = 1, 2 or 3. Images are float tensors in [0, 1], shape (B, 3, H, W); H and W
must be multiples of `model.stride` (32 for K = 3): callers pad and crop back (`pad_to_stride`).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = tuple[Tensor, Tensor]  # ConvLSTM (hidden, cell), each (B, C3, H/8, W/8) of the finest scale


def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """The paper's block: conv-ReLU-conv plus identity, no normalisation."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels), nn.ReLU(inplace=True), conv(channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ScaledResBlock(ResBlock):
    """The paper's block with a learnable per-channel scale on its branch, initialised at 0
    (NAFNet's beta, ReZero): every block starts as the identity, and a block's contribution
    grows only as fast as training finds it useful, which keeps deep stacks stable at high
    learning rates. The same FLOPs as the paper's block, plus one multiply."""

    def __init__(self, channels: int):
        super().__init__(channels)
        self.scale = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.scale * self.body(x)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of each pixel (NAFNet's): local, so tiles and crops see
    the same statistics as whole frames."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias


def simple_gate(x: Tensor) -> Tensor:
    """NAFNet's SimpleGate: split the channels in two halves and multiply them."""
    a, b = x.chunk(2, 1)
    return a * b


class NAFBlock(nn.Module):
    """NAFNet's block without its global channel attention (a frame-wide mean would make tiles
    disagree with whole frames): LayerNorm, 1x1 expand, 3x3 depthwise, SimpleGate, 1x1, then
    a gated 1x1 feed-forward; each branch enters the identity through a learnable per-channel
    scale initialised at 0, so every block starts as the identity and the network as a whole
    starts as `restored = blurred`. LayerNorm keeps activations bounded at high learning rates,
    where the paper's block let the ConvLSTM's input grow until its gates saturated.

    Three times fewer FLOPs than the paper's block at the same width (12 c^2 + 36 c against
    36 c^2 per pixel)."""

    def __init__(self, channels: int):
        super().__init__()
        c = channels
        self.norm1 = LayerNorm2d(c)
        self.expand = nn.Conv2d(c, 2 * c, 1)
        self.depthwise = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.project = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.norm2 = LayerNorm2d(c)
        self.ffn_expand = nn.Conv2d(c, 2 * c, 1)
        self.ffn_project = nn.Conv2d(c, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        y = self.project(simple_gate(self.depthwise(self.expand(self.norm1(x)))))
        x = x + self.beta * y
        y = self.ffn_project(simple_gate(self.ffn_expand(self.norm2(x))))
        return x + self.gamma * y


BLOCKS = {"plain": ResBlock, "scaled": ScaledResBlock, "nafnet": NAFBlock}


def res_blocks(channels: int, count: int, block: str) -> nn.Sequential:
    return nn.Sequential(*(BLOCKS[block](channels) for _ in range(count)))


class Down(nn.Sequential):
    """Stride-2 conv, halving the resolution."""

    def __init__(self, cin: int, cout: int):
        super().__init__(conv(cin, cout, stride=2), nn.ReLU(inplace=True))


class Up(nn.Sequential):
    """Transposed conv (4x4, stride 2), doubling the resolution, then ReLU.

    Computed as its exact equivalent, a 3x3 conv to 4 x cout channels and a pixel shuffle: the
    same weights and outputs, and half the CPU time of PyTorch 1.13's transposed conv, which
    has no oneDNN kernel (forward and backward at batch 8: 62 against 36 ms at 16x16x128,
    207 against 104 ms at 64x64x32). The weights stay a ConvTranspose2d's, as exported.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(self.sub_pixel(x), 2)

    def sub_pixel(self, x: Tensor) -> Tensor:
        """The output before its pixel shuffle: (B, 4 x cout, H, W), channel 4c + 2r + s holding
        output channel c at rows 2m + r and columns 2n + s (ReLU commutes with the shuffle)."""
        weight, bias = self[0].weight, self[0].bias
        cin, cout = weight.shape[:2]
        # Output row 2m + r takes input rows m + d through kernel row r + 1 - 2d (d = -1, 0, 1):
        # _PHASE[r, d + 1, k] is 1 where k = r + 1 - 2d lies inside the 4-tap kernel.
        phase = _PHASE.to(weight)
        sub_pixel = torch.einsum("iokl,rak,sbl->orsiab", weight, phase, phase).reshape(4 * cout, cin, 3, 3)
        return F.relu(F.conv2d(x, sub_pixel, bias.repeat_interleave(4) if bias is not None else None, padding=1))


def conv_after_pixel_shuffle(layer: nn.Conv2d, sub_pixel: Tensor) -> Tensor:
    """`layer` (a 3x3 conv, padding 1) applied to pixel_shuffle(sub_pixel, 2), computed on
    `sub_pixel` itself and shuffled after: the same numbers, with neither the full-resolution
    input nor its shuffle ever in memory. The finest scale's image head runs this way, where a
    shuffle of c1 channels at full resolution cost onnxruntime more than the convolution.

    Output phase (r, s) at full-resolution tap (ky, kx) reads sub-pixel phase ((r + ky) mod 2,
    (s + kx) mod 2) at offset floor((r + ky) / 2): a 3x3 conv from 4 x cin to 4 x cout channels."""
    weight = layer.weight
    cout, cin = weight.shape[:2]
    kernel = weight.new_zeros(cout, 2, 2, cin, 2, 2, 3, 3)
    for r, s, ky, kx in product((0, 1), (0, 1), (-1, 0, 1), (-1, 0, 1)):
        dy, r_in = divmod(r + ky, 2)
        dx, s_in = divmod(s + kx, 2)
        kernel[:, r, s, :, r_in, s_in, dy + 1, dx + 1] += weight[:, :, ky + 1, kx + 1]
    bias = layer.bias.repeat_interleave(4) if layer.bias is not None else None
    return F.pixel_shuffle(F.conv2d(sub_pixel, kernel.reshape(4 * cout, 4 * cin, 3, 3), bias, padding=1), 2)


_PHASE = torch.zeros(2, 3, 4)
_PHASE[0, 0, 3] = _PHASE[0, 1, 1] = _PHASE[1, 1, 2] = _PHASE[1, 2, 0] = 1


class ConvLSTM(nn.Module):
    """Convolutional LSTM cell (Shi et al. 2015): the gates are one 3x3 conv over [x, h]."""

    def __init__(self, channels: int):
        super().__init__()
        self.gates = conv(2 * channels, 4 * channels)

    def forward(self, x: Tensor, state: State) -> State:
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class SupervisedAttention(nn.Module):
    """SAM (MPRNet): restores an image from the features and uses it to gate the features.

    restored = conv(F) + blurred;  mask = sigmoid(conv(restored));  F' = conv(F) * mask + F
    """

    def __init__(self, channels: int):
        super().__init__()
        self.to_image = conv(channels, 3)
        self.to_mask = conv(3, channels)
        self.features = conv(channels, channels)

    def forward(self, features: Tensor, blurred: Tensor) -> tuple[Tensor, Tensor]:
        restored = self.to_image(features) + blurred
        mask = torch.sigmoid(self.to_mask(restored))
        return restored, self.features(features) * mask + features

    def restore(self, sub_pixel_features: Tensor, blurred: Tensor) -> Tensor:
        """The restored image alone (at the finest scale F' has no next scale to go to), from
        the features before their pixel shuffle."""
        return conv_after_pixel_shuffle(self.to_image, sub_pixel_features) + blurred


class PlainOutput(nn.Module):
    """The ablation without attention: restored = conv(F) + blurred, and F passes on unchanged."""

    def __init__(self, channels: int):
        super().__init__()
        self.to_image = conv(channels, 3)

    def forward(self, features: Tensor, blurred: Tensor) -> tuple[Tensor, Tensor]:
        return self.to_image(features) + blurred, features

    def restore(self, sub_pixel_features: Tensor, blurred: Tensor) -> Tensor:
        return conv_after_pixel_shuffle(self.to_image, sub_pixel_features) + blurred


class ScaleNet(nn.Module):
    """One scale: encoder-decoder with skip connections, ConvLSTM at H/8, SAM at the end."""

    def __init__(self, channels: tuple[int, int, int], blocks: int, attention: bool, block: str, bottleneck_norm: bool):
        super().__init__()
        c1, c2, c3 = channels
        # The blurred input and the coarser scale's up-sampled restoration, as in SRN.
        self.enc1 = Down(6, c1)
        self.enc1_blocks = res_blocks(c1, blocks, block)
        self.enc2 = nn.Sequential(Down(c1, c2), res_blocks(c2, blocks, block))
        self.enc3 = nn.Sequential(Down(c2, c3), res_blocks(c3, blocks, block))
        # LayerNorm in front of the ConvLSTM bounds its input, whatever the encoder's growth: an
        # unnormalised input of ~1e5 once saturated every gate and cut the state off.
        self.lstm_norm = LayerNorm2d(c3) if bottleneck_norm else nn.Identity()
        self.lstm = ConvLSTM(c3)
        self.dec1 = nn.Sequential(res_blocks(c3, blocks, block), Up(c3, c2))
        self.dec2 = nn.Sequential(res_blocks(c2, blocks, block), Up(c2, c1))
        self.dec3 = nn.Sequential(res_blocks(c1, blocks, block), Up(c1, c1))
        self.output = SupervisedAttention(c1) if attention else PlainOutput(c1)

    def forward(
        self, blurred: Tensor, coarse_image: Tensor, coarse_features: Tensor | None, state: State, finest: bool = False
    ) -> tuple[Tensor, Tensor | None, State]:
        """The restored image, the features F' for the next scale (None at the finest, which
        has none) and the ConvLSTM state."""
        e1 = self.enc1(torch.cat([blurred, coarse_image], 1))
        if coarse_features is not None:
            # The coarser scale's F' lives at this scale's H/2: the resolution of enc1's output.
            e1 = e1 + coarse_features
        e1 = self.enc1_blocks(e1)
        e2 = self.enc2(e1)
        state = self.lstm(self.lstm_norm(self.enc3(e2)), state)
        d1 = self.dec1(state[0]) + e2
        d2 = self.dec2(d1) + e1
        if finest:
            blocks, up = self.dec3
            return self.output.restore(up.sub_pixel(blocks(d2)), blurred), None, state
        restored, features = self.output(self.dec3(d2), blurred)
        return restored, features, state


@dataclass(frozen=True)
class DSANetConfig:
    scales: int = 3
    channels: tuple[int, int, int] = (32, 64, 128)
    blocks: int = 4
    attention: bool = True
    block: str = "plain"  # the residual block inside each stage: "plain" (the paper's), "scaled" or "nafnet"
    bottleneck_norm: bool = False  # LayerNorm in front of the ConvLSTM
    # Levels of 255 taken off the finest correction, toward zero (a soft threshold): changes
    # smaller than this are dropped, so a sharp picture comes out as it went in instead of
    # carrying the network's sub-level noise (issue 35: do no harm). 0: the paper's output.
    deadzone: float = 0.0


class DSANet(nn.Module):
    def __init__(self, config: DSANetConfig = DSANetConfig()):
        super().__init__()
        if config.scales not in (1, 2, 3):
            raise ValueError(f"scales must be 1, 2 or 3, got {config.scales}")
        if config.deadzone < 0:
            raise ValueError(f"deadzone must be 0 or more levels, got {config.deadzone}")
        if config.block not in BLOCKS:
            raise ValueError(f"block must be one of {', '.join(BLOCKS)}, got {config.block!r}")
        self.config = config
        self.scales = config.scales
        self.net = ScaleNet(config.channels, config.blocks, config.attention, config.block, config.bottleneck_norm)
        self.reset_parameters()

    @property
    def stride(self) -> int:
        """Input sizes must be multiples of this: three stride-2 stages below the coarsest scale."""
        return 8 * 2 ** (self.scales - 1)

    def reset_parameters(self) -> None:
        """Kaiming init; residual branches and the image heads start small, so that the untrained
        network is close to the identity (restored = blurred) instead of adding noise to it."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, ResBlock):
                m.body[-1].weight.data.mul_(0.1)
            if isinstance(m, (SupervisedAttention, PlainOutput)):
                m.to_image.weight.data.mul_(0.1)

    def initial_state(self, blurred: Tensor) -> State:
        b, _, h, w = blurred.shape
        zeros = blurred.new_zeros(b, self.config.channels[2], h // 8, w // 8)
        return zeros, zeros

    def forward(self, blurred: Tensor, state: State | None = None) -> tuple[list[Tensor], State]:
        """Deblur one frame. Returns the restoration at each scale (coarse to fine; the last is
        full resolution) and the state to pass with the next frame of the same stream."""
        if state is None:
            state = self.initial_state(blurred)
        pyramid = [blurred]
        for _ in range(self.scales - 1):
            pyramid.insert(0, F.avg_pool2d(pyramid[0], 2))
        # The previous frame's finest state seeds this frame's coarsest scale.
        factor = 2 ** (self.scales - 1)
        if factor > 1:
            state = (F.avg_pool2d(state[0], factor), F.avg_pool2d(state[1], factor))

        restored: list[Tensor] = []
        image, features = pyramid[0], None
        for level, scale_input in enumerate(pyramid):
            if level > 0:
                image = upsample(image)
                state = (upsample(state[0]), upsample(state[1]))
            image, features, state = self.net(scale_input, image, features, state, finest=level == self.scales - 1)
            restored.append(image)
        if self.config.deadzone:
            restored[-1] = blurred + F.softshrink(restored[-1] - blurred, self.config.deadzone / 255)
        return restored, state


def upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def pad_to_stride(x: Tensor, stride: int) -> tuple[Tensor, tuple[int, int]]:
    """Replicate-pad bottom and right to a multiple of `stride`; returns the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    return (F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x), (h, w)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: DSANet, height: int, width: int) -> int:
    """Multiply-adds x 2 of the convolutions for one frame at height x width (padded to stride)."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        assert isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))
        kh, kw = module.kernel_size
        cin = module.in_channels // module.groups
        # Each output element of a conv sums cin*kh*kw products; a transposed conv scatters each
        # input element into cout*kh*kw outputs instead.
        if isinstance(module, nn.Conv2d):
            total += 2 * output.numel() * cin * kh * kw
        else:
            total += 2 * inputs[0].numel() * module.out_channels * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            x, _ = pad_to_stride(torch.zeros(1, 3, height, width, device=next(model.parameters()).device), model.stride)
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


if __name__ == "__main__":
    model = DSANet()
    print(f"parameters: {count_parameters(model):,}")
    for h, w in ((256, 256), (720, 1280)):
        print(f"GFLOPs at {w}x{h}: {count_flops(model, h, w) / 1e9:.1f}")
