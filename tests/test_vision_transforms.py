"""handbook_lib.vision.transforms against torchvision 0.28's (tests/torchvision_ref): the same
input and the same parameters give the same pixels, for PIL images (Pillow on both sides) and
tensor images (torchvision's tensor kernels against ours)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import handbook_lib as hl
from handbook_lib.vision import transforms as T
from handbook_lib.vision.transforms import functional as F
from torchvision_ref import functional as TF
from torchvision_ref import transforms as TT

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (23, 31, 3), dtype=np.uint8)
GREY = RNG.integers(0, 256, (23, 31), dtype=np.uint8)


def pil(array: np.ndarray = RGB) -> Image.Image:
    return Image.fromarray(array)


def as_np(img) -> np.ndarray:
    if isinstance(img, Image.Image):
        return np.asarray(img)
    if isinstance(img, torch.Tensor):
        return img.numpy()
    return img.numpy() if isinstance(img, hl.Tensor) else img


def float_pair(array: np.ndarray = RGB):
    chw = np.ascontiguousarray(array.transpose(2, 0, 1)).astype(np.float32) / 255
    return hl.from_numpy(chw.copy()), torch.from_numpy(chw.copy())


def uint8_pair(array: np.ndarray = RGB):
    chw = np.ascontiguousarray(array.transpose(2, 0, 1))
    return hl.from_numpy(chw.copy()), torch.from_numpy(chw.copy())


I = F.InterpolationMode
TI = TF.InterpolationMode

# name, our call, torchvision's call (the same parameters)
OPS = [
    ("resize_short", lambda f, m, x: f.resize(x, 17), None),
    ("resize_hw", lambda f, m, x: f.resize(x, [40, 12]), None),
    ("resize_bicubic", lambda f, m, x: f.resize(x, [15, 20], m.BICUBIC), None),
    ("resize_nearest", lambda f, m, x: f.resize(x, [11, 45], m.NEAREST), None),
    ("resize_max_size", lambda f, m, x: f.resize(x, 20, max_size=24), None),
    ("center_crop", lambda f, m, x: f.center_crop(x, [10, 13]), None),
    ("center_crop_larger", lambda f, m, x: f.center_crop(x, [26, 35]), None),
    ("crop_outside", lambda f, m, x: f.crop(x, -3, 20, 12, 15), None),
    ("resized_crop", lambda f, m, x: f.resized_crop(x, 2, 3, 15, 20, [9, 9]), None),
    ("hflip", lambda f, m, x: f.hflip(x), None),
    ("vflip", lambda f, m, x: f.vflip(x), None),
    ("pad_constant", lambda f, m, x: f.pad(x, [1, 2, 3, 4], fill=7), None),
    ("pad_edge", lambda f, m, x: f.pad(x, [2, 3], padding_mode="edge"), None),
    ("pad_reflect", lambda f, m, x: f.pad(x, 3, padding_mode="reflect"), None),
    ("pad_symmetric", lambda f, m, x: f.pad(x, [3, 1, 0, 2], padding_mode="symmetric"), None),
    ("rotate", lambda f, m, x: f.rotate(x, 33.0), None),
    ("rotate_expand", lambda f, m, x: f.rotate(x, -71.0, expand=True), None),
    ("rotate_center_bilinear", lambda f, m, x: f.rotate(x, 20.0, m.BILINEAR, center=[5, 8]),
     None),
    ("affine", lambda f, m, x: f.affine(x, 15.0, [3, -2], 1.2, [10.0, 5.0]), None),
    ("affine_bilinear", lambda f, m, x: f.affine(x, -25.0, [1, 4], 0.8, 0.0, m.BILINEAR), None),
    ("brightness", lambda f, m, x: f.adjust_brightness(x, 1.7), None),
    ("contrast", lambda f, m, x: f.adjust_contrast(x, 0.4), None),
    ("saturation", lambda f, m, x: f.adjust_saturation(x, 1.6), None),
    ("hue", lambda f, m, x: f.adjust_hue(x, 0.23), None),
    ("grayscale", lambda f, m, x: f.rgb_to_grayscale(x), None),
    ("grayscale3", lambda f, m, x: f.rgb_to_grayscale(x, 3), None),
]
IDS = [name for name, _, _ in OPS]


@pytest.mark.parametrize("name, op, _", OPS, ids=IDS)
def test_pil_images_match_torchvision(name, op, _):
    ours, theirs = op(F, I, pil()), op(TF, TI, pil())
    assert isinstance(ours, Image.Image) and ours.mode == theirs.mode
    np.testing.assert_array_equal(as_np(ours), as_np(theirs))


@pytest.mark.parametrize("name, op, _", OPS, ids=IDS)
def test_float_tensors_match_torchvision(name, op, _):
    ours_in, theirs_in = float_pair()
    ours, theirs = op(F, I, ours_in), op(TF, TI, theirs_in)
    assert ours.dtype == hl.float32 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(as_np(ours), as_np(theirs), atol=2e-5, rtol=0)


@pytest.mark.parametrize("name, op, _", OPS, ids=IDS)
def test_uint8_tensors_match_torchvision(name, op, _):
    ours_in, theirs_in = uint8_pair()
    ours, theirs = op(F, I, ours_in), op(TF, TI, theirs_in)
    assert ours.dtype == hl.uint8 and tuple(ours.shape) == tuple(theirs.shape)
    diff = np.abs(as_np(ours).astype(int) - as_np(theirs).astype(int))
    # float rounding in the resampling weights may move a value that lies on .5 by one level
    assert diff.max() <= (1 if name.startswith(("resize", "resized", "rotate", "affine",
                                                "contrast", "hue")) else 0)
    assert (diff > 0).mean() < 0.02


def test_batched_tensor_images():
    batch = np.stack([RGB, RGB[::-1]]).transpose(0, 3, 1, 2).astype(np.float32) / 255
    for op in (lambda f, m, x: f.resize(x, [12, 9]), lambda f, m, x: f.rotate(x, 40.0),
               lambda f, m, x: f.adjust_hue(x, -0.3)):
        ours = op(F, I, hl.from_numpy(batch.copy()))
        theirs = op(TF, TI, torch.from_numpy(batch.copy()))
        np.testing.assert_allclose(as_np(ours), as_np(theirs), atol=2e-5)


@pytest.mark.parametrize("mode, array", [("RGB", RGB), ("L", GREY),
                                         ("RGBA", RNG.integers(0, 256, (5, 6, 4), np.uint8))])
def test_to_tensor_pil_to_tensor_and_back(mode, array):
    img = Image.fromarray(array, mode)
    np.testing.assert_array_equal(T.ToTensor()(img).numpy(), TT.ToTensor()(img).numpy())
    np.testing.assert_array_equal(T.PILToTensor()(img).numpy(), TT.PILToTensor()(img).numpy())
    assert T.PILToTensor()(img).dtype == hl.uint8
    back = T.ToPILImage()(T.ToTensor()(img))
    expected = TT.ToPILImage()(TT.ToTensor()(img))
    assert back.mode == expected.mode
    np.testing.assert_array_equal(np.asarray(back), np.asarray(expected))


def test_to_tensor_of_other_pil_modes():
    for img in (Image.fromarray(GREY > 128), Image.fromarray(GREY.astype(np.int32) * 300),
                Image.fromarray(GREY.astype(np.float32) / 7)):
        ours, theirs = T.ToTensor()(img), TT.ToTensor()(img)
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_normalize_matches_torchvision():
    ours_in, theirs_in = float_pair()
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    np.testing.assert_allclose(T.Normalize(mean, std)(ours_in).numpy(),
                               TT.Normalize(mean, std)(theirs_in).numpy(), rtol=1e-6)


def test_erase_matches_torchvision():
    ours_in, theirs_in = float_pair()
    np.testing.assert_array_equal(F.erase(ours_in, 2, 3, 5, 7, 0.5).numpy(),
                                  TF.erase(theirs_in, 2, 3, 5, 7, torch.tensor(0.5)).numpy())
    assert ours_in.numpy().min() == theirs_in.numpy().min()  # not in place


def test_numpy_images_act_like_pil_images():
    for name, op, _ in OPS:
        np.testing.assert_array_equal(op(F, I, RGB.copy()), as_np(op(TF, TI, pil())),
                                      err_msg=name)


def test_random_transforms_with_their_drawn_parameters_match_torchvision():
    hl.manual_seed(3)
    for _ in range(5):
        i, j, h, w = T.RandomResizedCrop.get_params(pil(), (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i <= 23 - h and 0 <= j <= 31 - w and h > 0 and w > 0
        np.testing.assert_array_equal(
            np.asarray(F.resized_crop(pil(), i, j, h, w, [8, 8])),
            np.asarray(TF.resized_crop(pil(), i, j, h, w, [8, 8])))
        angle, translate, scale, shear = T.RandomAffine.get_params(
            [-30, 30], (0.2, 0.1), (0.7, 1.3), [-10, 10, -5, 5], [31, 23])
        assert -30 <= angle <= 30 and abs(translate[0]) <= 6.2 and abs(translate[1]) <= 2.3
        assert 0.7 <= scale <= 1.3 and -10 <= shear[0] <= 10 and -5 <= shear[1] <= 5
        np.testing.assert_array_equal(
            np.asarray(F.affine(pil(), angle, translate, scale, shear)),
            np.asarray(TF.affine(pil(), angle, list(translate), scale, list(shear))))


def test_random_transforms_keep_their_ranges_and_seed():
    img = pil()
    out = [np.asarray(T.RandomRotation(45)(img)) for _ in range(3)]
    hl.manual_seed(0)
    first = [np.asarray(T.RandomRotation(45)(img)) for _ in range(3)]
    hl.manual_seed(0)
    second = [np.asarray(T.RandomRotation(45)(img)) for _ in range(3)]
    assert all((a == b).all() for a, b in zip(first, second)) and len(out) == 3
    jitter = T.ColorJitter(0.5, 0.5, 0.5, 0.2)
    order, b, c, s, h = jitter.get_params(jitter.brightness, jitter.contrast,
                                          jitter.saturation, jitter.hue)
    assert sorted(order) == [0, 1, 2, 3]
    assert 0.5 <= b <= 1.5 and 0.5 <= c <= 1.5 and 0.5 <= s <= 1.5 and -0.2 <= h <= 0.2
    assert T.ColorJitter().brightness is None
    x = hl.ones(3, 20, 20)
    erased = T.RandomErasing(p=1.0, value=0)(x)
    assert 0 < (erased.numpy() == 0).mean() < 0.4 and x.numpy().min() == 1
    assert T.RandomApply([T.Lambda(lambda v: v + 1)], p=0.0)(1) == 1
    assert T.RandomApply([T.Lambda(lambda v: v + 1)], p=1.0)(1) == 2
    picks = {T.RandomChoice([T.Lambda(lambda v: 1), T.Lambda(lambda v: 2)])(0)
             for _ in range(40)}
    assert picks == {1, 2}
    assert T.RandomChoice([T.Lambda(lambda v: 1), T.Lambda(lambda v: 2)], p=[0, 1])(0) == 2
    assert np.asarray(T.RandomVerticalFlip(1.0)(img)).tolist() == RGB[::-1].tolist()
    assert T.RandomGrayscale(1.0)(img).mode == "RGB"


def test_reprs_are_torchvisions():
    pairs = [(T.Resize(32), TT.Resize(32)), (T.CenterCrop(10), TT.CenterCrop(10)),
             (T.ToTensor(), TT.ToTensor()), (T.Normalize((0.5,), (0.2,)),
                                             TT.Normalize((0.5,), (0.2,)))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.resize(pil(), [1, 2, 3]), ValueError, "should have 1 or 2 values"),
    (lambda: F.resize(pil(), 10, max_size=8), ValueError, "must be strictly greater"),
    (lambda: F.pad(pil(), [1, 2, 3]), ValueError, "1, 2, or 4 element tuple"),
    (lambda: F.pad(pil(), 1, padding_mode="wrap"), ValueError, "constant, edge, reflect"),
    (lambda: F.adjust_hue(pil(), 0.7), ValueError, r"is not in \[-0.5, 0.5\]"),
    (lambda: F.adjust_brightness(pil(), -1), ValueError, "is not non-negative"),
    (lambda: F.rotate(pil(), "30"), TypeError, "angle should be int or float"),
    (lambda: F.affine(pil(), 0, [1], 1, 0), ValueError, "translate should be a sequence"),
    (lambda: F.affine(pil(), 0, [0, 0], 0, 0), ValueError, "scale should be positive"),
    (lambda: F.hflip([1, 2]), TypeError, "img should be PIL Image, Tensor"),
    (lambda: F.to_tensor("x"), TypeError, "pic should be PIL Image or ndarray"),
    (lambda: F.pil_to_tensor(RGB), TypeError, "pic should be PIL Image"),
    (lambda: F.resize(RGB.astype(np.float32), 5), TypeError, "needs uint8 pixels"),
    (lambda: F.rotate(float_pair()[0], 5.0, I.BICUBIC), ValueError, "unsupported with Tensor"),
    (lambda: T.RandomErasing(value="noise"), ValueError, "should be 'random'"),
    (lambda: T.RandomResizedCrop(8, scale=(1.0, 0.5)), ValueError, "of kind \\(min, max\\)"),
    (lambda: T.RandomCrop(40)(pil()), ValueError, "larger than input image size"),
    (lambda: T.ColorJitter(hue=0.8), ValueError, "hue values should be between"),
    (lambda: T.RandomChoice([T.ToTensor()], p=[0.5, 0.5]), ValueError, "doesn't match"),
    (lambda: F.to_pil_image(hl.zeros(5, 4, 4)), ValueError, "should not have > 4 channels"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
