"""F.pad in every mode against torch.nn.functional.pad: values and gradients."""
import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.nn.functional as F
from nn_helpers import copy_weights

CASES = [((2, 3, 4, 5), (2, 1, 1, 3)), ((1, 2, 6), (3, 2)), ((2, 2, 3, 4, 5), (1, 1, 0, 2, 1, 0))]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", CASES)
def test_pad_matches_torch(mode, shape, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    ours = hl.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out_ours = F.pad(ours, pad, mode=mode)
    out_theirs = torch.nn.functional.pad(theirs, pad, mode=mode)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy())
    weight = rng.standard_normal(tuple(out_theirs.shape))
    (out_ours * hl.tensor(weight)).sum().backward()
    (out_theirs * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_reflect_padding_must_be_smaller_than_the_dim():
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(hl.zeros(1, 1, 3), (3, 0), mode="reflect")


def test_unknown_mode_is_refused():
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        F.pad(hl.zeros(1, 1, 3), (1, 1), mode="mirror")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_mode_matches_torch(mode, padding):
    torch_conv = torch.nn.Conv2d(2, 3, (3, 5), padding=padding, padding_mode=mode,
                                 dtype=torch.float64)
    conv = hl.nn.Conv2d(2, 3, (3, 5), padding=padding, padding_mode=mode, dtype=hl.float64)
    copy_weights(conv, torch_conv)
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 7))
    ours, theirs = hl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = conv(ours), torch_conv(theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert repr(conv) == repr(torch_conv)


def test_conv1d_padding_mode_matches_torch():
    torch_conv = torch.nn.Conv1d(2, 2, 3, padding=2, padding_mode="reflect", dtype=torch.float64)
    conv = hl.nn.Conv1d(2, 2, 3, padding=2, padding_mode="reflect", dtype=hl.float64)
    copy_weights(conv, torch_conv)
    x = np.random.default_rng(2).standard_normal((1, 2, 5))
    np.testing.assert_allclose(conv(hl.tensor(x)).detach().numpy(),
                               torch_conv(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_transposed_convolution_only_pads_with_zeros():
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        hl.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
