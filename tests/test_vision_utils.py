"""handbook_lib.vision.utils against torchvision.utils on the same images."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import handbook_lib as hl
from handbook_lib.vision import utils
from torchvision_ref import utils as tv_utils

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape, kwargs", [
    ((5, 3, 6, 7), {}), ((5, 1, 6, 7), {"nrow": 2, "padding": 1, "pad_value": 0.5}),
    ((3, 3, 4, 4), {"normalize": True}), ((4, 3, 4, 4), {"normalize": True, "scale_each": True}),
    ((2, 3, 4, 4), {"normalize": True, "value_range": (-1, 1)}), ((1, 3, 5, 5), {}),
    ((3, 8, 8), {}), ((8, 8), {"padding": 0}),
])
def test_make_grid_is_torchvisions(shape, kwargs):
    batch = (RNG.standard_normal(shape) * 2).astype(np.float32)
    ours = utils.make_grid(hl.from_numpy(batch.copy()), **kwargs)
    theirs = tv_utils.make_grid(torch.from_numpy(batch.copy()), **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


def test_make_grid_of_a_list_and_of_uint8():
    images = [hl.from_numpy(RNG.random((3, 4, 5)).astype(np.float32)) for _ in range(3)]
    theirs = tv_utils.make_grid([torch.from_numpy(i.numpy()) for i in images], nrow=2)
    np.testing.assert_array_equal(utils.make_grid(images, nrow=2).numpy(), theirs.numpy())
    pixels = RNG.integers(0, 256, (4, 3, 5, 5), dtype=np.uint8)
    ours = utils.make_grid(hl.from_numpy(pixels.copy()))
    assert ours.dtype == hl.uint8
    np.testing.assert_array_equal(ours.numpy(),
                                  tv_utils.make_grid(torch.from_numpy(pixels.copy())).numpy())


def test_save_image_writes_torchvisions_pixels(tmp_path):
    batch = RNG.random((6, 3, 8, 9)).astype(np.float32)
    utils.save_image(hl.from_numpy(batch.copy()), tmp_path / "ours.png", nrow=3)
    tv_utils.save_image(torch.from_numpy(batch.copy()), tmp_path / "theirs.png", nrow=3)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ours.png")),
                                  np.asarray(Image.open(tmp_path / "theirs.png")))


@pytest.mark.parametrize("channels, kwargs", [
    (3, {}), (3, {"colors": "blue", "width": 2}), (3, {"fill": True, "colors": [(0, 255, 0),
                                                                                 "yellow"]}),
    (3, {"labels": ["cat", "dog"], "colors": ["red", "white"]}), (1, {"colors": "white"}),
])
def test_draw_bounding_boxes_is_torchvisions(channels, kwargs):
    image = RNG.integers(0, 256, (channels, 40, 50), dtype=np.uint8)
    boxes = np.array([[2, 3, 30, 20], [10.7, 15.2, 45, 38]])
    ours = utils.draw_bounding_boxes(hl.from_numpy(image.copy()), hl.from_numpy(boxes),
                                     **kwargs)
    if "labels" in kwargs:
        kwargs = {**kwargs, "label_colors": kwargs["colors"]}
    theirs = tv_utils.draw_bounding_boxes(torch.from_numpy(image.copy()),
                                          torch.from_numpy(boxes), **kwargs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_draw_bounding_boxes_errors():
    image = hl.zeros(3, 10, 10, dtype=hl.uint8)
    with pytest.raises(ValueError, match="dtype must be uint8"):
        utils.draw_bounding_boxes(hl.zeros(3, 10, 10), hl.tensor([[0, 0, 5, 5]]))
    with pytest.raises(ValueError, match="xmin, ymin, xmax, ymax"):
        utils.draw_bounding_boxes(image, hl.tensor([[5, 0, 2, 5]]))
    with pytest.raises(ValueError, match="Number of boxes \\(1\\) and labels \\(2\\)"):
        utils.draw_bounding_boxes(image, hl.tensor([[0, 0, 5, 5]]), labels=["a", "b"])
    with pytest.raises(ValueError, match="Pass individual images"):
        utils.draw_bounding_boxes(hl.zeros(1, 3, 4, 4, dtype=hl.uint8), hl.tensor([[0, 0, 1, 1]]))
