"""transforms: torchvision's semantics (layout, scale, padding forms, reprs) and reproducible
randomness under hl.manual_seed. Expected values are computed by hand (torchvision is not a
dependency); where the arithmetic matters, PyTorch computes the same formula."""
import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib.vision import transforms as T

rng = np.random.default_rng(0)
GREY = rng.integers(0, 256, (5, 7), dtype=np.uint8)
RGB = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)


# --- ToTensor ------------------------------------------------------------------------------------
def test_to_tensor_of_a_grey_image():
    x = T.ToTensor()(GREY)
    assert x.dtype == hl.float32 and x.shape == (1, 5, 7) and x.is_contiguous()
    expected = torch.from_numpy(GREY).float().div(255).unsqueeze(0).numpy()
    np.testing.assert_array_equal(x.numpy(), expected)        # bit for bit
    assert x.numpy().min() >= 0 and x.numpy().max() <= 1


def test_to_tensor_moves_channels_first():
    x = T.ToTensor()(RGB).numpy()
    assert x.shape == (3, 5, 7)
    for c, i, j in [(0, 0, 0), (2, 4, 6), (1, 3, 2)]:
        assert x[c, i, j] == np.float32(RGB[i, j, c]) / np.float32(255)


def test_to_tensor_keeps_other_dtypes_unscaled():
    pic = rng.random((4, 3, 2))
    x = T.ToTensor()(pic)
    assert x.dtype == hl.float64
    np.testing.assert_array_equal(x.numpy(), pic.transpose(2, 0, 1))


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()(hl.zeros(2, 2))
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 1 dimensions."):
        T.ToTensor()(np.zeros(3, np.uint8))


# --- Normalize -----------------------------------------------------------------------------------
def test_normalize_matches_the_formula():
    x = T.ToTensor()(RGB)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    y = T.Normalize(mean, std)(x)
    expected = (torch.from_numpy(x.numpy()) - torch.tensor(mean).view(-1, 1, 1)) \
        / torch.tensor(std).view(-1, 1, 1)
    assert y.dtype == hl.float32
    np.testing.assert_array_equal(y.numpy(), expected.numpy())
    assert not np.array_equal(x.numpy(), y.numpy())          # out of place by default


def test_normalize_inplace_and_scalar_statistics():
    x = T.ToTensor()(GREY)
    copy = x.numpy().copy()
    y = T.Normalize(0.5, 0.25, inplace=True)(x)
    assert y is x
    np.testing.assert_allclose(x.numpy(), (copy - 0.5) / 0.25, rtol=1e-6)


def test_normalize_errors():
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize(0, 1)(GREY)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.uint8."):
        T.Normalize(0, 1)(hl.from_numpy(RGB.transpose(2, 0, 1).copy()))
    with pytest.raises(ValueError, match=r"size \(\.\.\., C, H, W\)"):
        T.Normalize(0, 1)(hl.zeros(3, 3))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0, 0), (1, 0))(hl.zeros(2, 3, 3))


# --- Compose, Lambda, reprs ----------------------------------------------------------------------
def test_compose_applies_in_order_and_prints_like_torchvision():
    pipeline = T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 10)])
    assert pipeline(2) == 30
    full = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                      T.Normalize((0.1307,), (0.3081,))])
    assert repr(full) == ("Compose(\n    RandomCrop(size=(28, 28), padding=4)\n"
                          "    RandomHorizontalFlip(p=0.5)\n    ToTensor()\n"
                          "    Normalize(mean=(0.1307,), std=(0.3081,))\n)")
    assert repr(T.Lambda(abs)) == "Lambda()"


def test_lambda_needs_a_callable():
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


# --- RandomHorizontalFlip ------------------------------------------------------------------------
@pytest.mark.parametrize("img, flipped", [
    (GREY, GREY[:, ::-1]),
    (RGB, RGB[:, ::-1, :]),
    (hl.from_numpy(RGB.transpose(2, 0, 1).copy()), RGB.transpose(2, 0, 1)[:, :, ::-1]),
], ids=["HxW", "HxWxC", "CxHxW tensor"])
def test_flip_mirrors_the_width_axis(img, flipped):
    out = T.RandomHorizontalFlip(p=1)(img)
    assert type(out) is type(img)
    np.testing.assert_array_equal(np.asarray(out), flipped)
    assert T.RandomHorizontalFlip(p=0)(img) is img


def test_flip_is_reproducible_under_manual_seed():
    flip = T.RandomHorizontalFlip(p=0.3)
    draws = []
    for _ in range(2):
        hl.manual_seed(7)
        draws.append([not np.array_equal(flip(GREY), GREY) for _ in range(2000)])
    assert draws[0] == draws[1]
    assert abs(np.mean(draws[0]) - 0.3) < 0.05
    hl.manual_seed(8)
    assert [not np.array_equal(flip(GREY), GREY) for _ in range(2000)] != draws[0]


# --- RandomCrop ----------------------------------------------------------------------------------
def windows(img, size):
    h, w = size
    return {(i, j): img[i:i + h, j:j + w] for i in range(img.shape[0] - h + 1)
            for j in range(img.shape[1] - w + 1)}


def test_crop_picks_every_window_and_nothing_else():
    crop = T.RandomCrop((3, 4))
    hl.manual_seed(0)
    seen = set()
    for _ in range(400):
        out = crop(GREY)
        assert out.shape == (3, 4) and out.flags.c_contiguous
        matches = [k for k, w in windows(GREY, (3, 4)).items() if np.array_equal(w, out)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(windows(GREY, (3, 4)))                 # all 3 × 4 positions


@pytest.mark.parametrize("padding, widths", [
    (2, ((2, 2), (2, 2))),
    ((1, 3), ((3, 3), (1, 1))),                               # (left/right, top/bottom)
    ((1, 2, 3, 4), ((2, 4), (1, 3))),                         # (left, top, right, bottom)
])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_crop_padding_forms_and_modes(padding, widths, mode):
    crop = T.RandomCrop(GREY.shape, padding=padding, fill=9, padding_mode=mode)
    extra = {"constant_values": 9} if mode == "constant" else {}
    padded = np.pad(GREY, widths, mode=mode, **extra)
    hl.manual_seed(1)
    for _ in range(30):
        out = crop(GREY)
        assert any(np.array_equal(w, out) for w in windows(padded, GREY.shape).values())


def test_crop_of_colour_images_and_tensors():
    hl.manual_seed(3)
    out = T.RandomCrop(4, padding=1)(RGB)
    assert out.shape == (4, 4, 3)
    chw = hl.from_numpy(RGB.transpose(2, 0, 1).copy())
    out = T.RandomCrop((5, 7), padding=(0, 0))(chw)
    assert isinstance(out, hl.Tensor) and out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out.numpy(), chw.numpy())
    padded = T.RandomCrop((7, 9), padding=1)(chw)
    assert padded.shape == (3, 7, 9) and (padded.numpy()[:, 0] == 0).all()


def test_crop_is_reproducible_and_matches_get_params():
    crop = T.RandomCrop(4)
    hl.manual_seed(5)
    first = [crop(GREY) for _ in range(20)]
    hl.manual_seed(5)
    params = [T.RandomCrop.get_params(GREY, (4, 4)) for _ in range(20)]
    for out, (i, j, h, w) in zip(first, params):
        np.testing.assert_array_equal(out, GREY[i:i + h, j:j + w])
    assert T.RandomCrop.get_params(GREY, (5, 7)) == (0, 0, 5, 7)


def test_crop_pad_if_needed():
    hl.manual_seed(0)
    out = T.RandomCrop((8, 10), pad_if_needed=True)(GREY)
    assert out.shape == (8, 10)
    assert out.sum() == GREY.astype(np.int64).sum()          # all of the image, zeros around it


def test_crop_errors_and_repr():
    with pytest.raises(ValueError, match=r"Required crop size \(6, 6\) is larger than input "
                                         r"image size \(5, 7\)"):
        T.RandomCrop(6)(GREY)
    with pytest.raises(ValueError, match="Please provide only two dimensions"):
        T.RandomCrop((1, 2, 3))
    with pytest.raises(ValueError, match="1, 2, or 4 element tuple, not a 3 element tuple"):
        T.RandomCrop(3, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode should be"):
        T.RandomCrop(3, padding_mode="wrap")
    with pytest.raises(TypeError, match="numpy array of shape H×W or H×W×C"):
        T.RandomCrop(3)(np.zeros((1, 5, 5, 3)))
    assert repr(T.RandomCrop((24, 20), padding=(1, 2))) == \
        "RandomCrop(size=(24, 20), padding=(1, 2))"
