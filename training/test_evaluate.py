"""evaluate.py's filters: the separable matrix products give what the 2-D window gives."""
import torch
import torch.nn.functional as F

from evaluate import _gaussian_window, gaussian_blur, separable_filter, ssim


def test_separable_filter_is_the_2d_window():
    x = torch.rand(2, 3, 40, 29, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    window = _gaussian_window(11, 1.5)
    kernel = (window[:, None] * window[None, :]).expand(3, 1, 11, 11)
    assert torch.allclose(separable_filter(x, window), F.conv2d(x, kernel, groups=3), atol=1e-14, rtol=0)


def test_gaussian_blur_keeps_the_size_and_a_flat_picture():
    flat = torch.full((1, 3, 20, 24), 0.3)
    blurred = gaussian_blur(flat, 2.0)
    assert blurred.shape == flat.shape
    assert torch.allclose(blurred, flat, atol=1e-6)


def test_ssim_is_one_for_the_same_picture_and_falls_with_noise():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(1, 3, 48, 48, generator=g)
    assert abs(ssim(a, a) - 1) < 1e-12
    noise = torch.randn(a.shape, generator=g)
    slight, strong = (ssim(a, (a + level * noise).clamp(0, 1)) for level in (0.05, 0.3))
    assert 1 > slight > strong
