"""nn.Module's API against torch.nn.Module: registration, tree walks, state_dict, hooks, repr."""
from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib import nn
from nn_helpers import copy_weights


def lenet_like(lib):
    """A net with parameters, buffers, nested containers and a shared layer."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = lib.nn.Linear(8, 6)
            self.bn = lib.nn.BatchNorm1d(6)
            self.body = lib.nn.Sequential(OrderedDict(
                relu=lib.nn.ReLU(), drop=lib.nn.Dropout(0.1), fc=lib.nn.Linear(6, 4)))
            self.heads = lib.nn.ModuleList([lib.nn.Linear(4, 2), lib.nn.Linear(4, 2)])
            self.table = lib.nn.ModuleDict({"emb": lib.nn.Embedding(5, 3, padding_idx=0)})
            self.register_buffer("scale", lib.ones(2))
            self.register_buffer("cache", lib.zeros(3), persistent=False)

        def forward(self, x):
            h = self.body(self.bn(self.fc1(x)))
            return self.heads[0](h) + self.heads[1](h) * self.scale

    return Net()


@pytest.fixture
def nets():
    torch.manual_seed(0)
    theirs = lenet_like(torch)
    ours = lenet_like(hl)
    copy_weights(ours, theirs)
    return ours, theirs


def names(items):
    return [name for name, _ in items]


# --- registration and walks --------------------------------------------------------------------

def test_named_members_equal_torch(nets):
    ours, theirs = nets
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    assert names(ours.named_modules()) == names(theirs.named_modules())
    assert names(ours.named_children()) == names(theirs.named_children())
    assert names(ours.named_parameters(prefix="m", recurse=False)) == \
        names(theirs.named_parameters(prefix="m", recurse=False))
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    assert len(list(ours.modules())) == len(list(theirs.modules()))


def test_state_dict_keys_order_and_values(nets):
    ours, theirs = nets
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert isinstance(sd_ours, OrderedDict)
    assert list(sd_ours) == list(sd_theirs)  # persistent buffers only, in torch's order
    for key in sd_theirs:
        np.testing.assert_array_equal(sd_ours[key].numpy(), sd_theirs[key].numpy())
        assert not sd_ours[key].requires_grad
    assert "cache" not in sd_ours and "bn.num_batches_tracked" in sd_ours
    assert ours.state_dict(keep_vars=True)["fc1.weight"] is ours.fc1.weight
    assert list(ours.state_dict(prefix="net.")) == list(theirs.state_dict(prefix="net."))


def test_shared_module_counted_once():
    for lib in (hl, torch):
        shared = lib.nn.Linear(3, 3)
        model = lib.nn.Sequential(shared, lib.nn.ReLU(), shared)
        assert len(list(model.parameters())) == 2
        assert len(list(model.named_parameters(remove_duplicate=False))) == 4
        assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_moves_between_registries():
    m = nn.Module()
    m.x = nn.Parameter(hl.zeros(2))
    assert "x" in m._parameters
    m.x = None
    assert m.x is None and list(m.parameters()) == []
    m.register_buffer("b", hl.zeros(1))
    m.b = hl.ones(1)
    assert m._buffers["b"].item() == 1
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'x' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.x = hl.zeros(2)
    with pytest.raises(TypeError, match="as buffer 'b'"):
        m.b = 3
    m.child = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="as child module 'child'"):
        m.child = 5
    del m.child
    assert "child" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'child'"):
        m.child


def test_registration_errors_match_torch():
    for lib in (hl, torch):
        m = lib.nn.Module()
        with pytest.raises(KeyError, match="buffer name can"):
            m.register_buffer("a.b", lib.zeros(1))
        with pytest.raises(KeyError, match="attribute 'training' already exists"):
            m.register_parameter("training", None)
        with pytest.raises(TypeError, match="is not a Module subclass"):
            m.add_module("x", 3)
        with pytest.raises(KeyError, match="module name can"):
            m.add_module("", lib.nn.ReLU())


def test_assign_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(hl.zeros(1))

    with pytest.raises(AttributeError,
                       match=r"cannot assign parameters before Module.__init__\(\)"):
        Bad()


def test_missing_forward_message():
    for lib in (hl, torch):
        with pytest.raises(NotImplementedError,
                           match='Module \\[Module\\] is missing the required "forward" function'):
            lib.nn.Module()(lib.zeros(1))


def test_get_submodule_and_parameter(nets):
    ours, theirs = nets
    assert ours.get_submodule("body.fc") is ours.body.fc
    assert ours.get_parameter("heads.1.bias") is ours.heads[1].bias
    assert ours.get_buffer("bn.running_mean") is ours.bn.running_mean
    for lib_model in (ours, theirs):
        with pytest.raises(AttributeError, match="Sequential has no attribute `nope`"):
            lib_model.get_submodule("body.nope")
        with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
            lib_model.get_submodule("fc1.weight")
        with pytest.raises(AttributeError, match="`scale` is not an nn.Parameter"):
            lib_model.get_parameter("scale")


def test_dir_lists_registered_names(nets):
    ours, _ = nets
    listing = dir(ours)
    for name in ("fc1", "scale", "cache", "forward", "heads"):
        assert name in listing
    assert not any(k[0].isdigit() for k in dir(ours.heads))


# --- modes, gradients, apply -------------------------------------------------------------------

def test_train_eval_propagate(nets):
    ours, _ = nets
    assert all(m.training for m in ours.modules())
    assert ours.eval() is ours
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        ours.train("yes")


def test_zero_grad_and_requires_grad(nets):
    ours, _ = nets
    ours(hl.randn(4, 8)).sum().backward()
    used = [p for n, p in ours.named_parameters() if not n.startswith("table.")]
    assert all(p.grad is not None for p in used) and ours.table.emb.weight.grad is None
    ours.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in ours.parameters() if p.grad is not None)
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())
    ours.requires_grad_(False)
    assert not any(p.requires_grad for p in ours.parameters())


def test_apply_visits_children_first():
    order = []
    model = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    model.apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "ReLU", "Sequential", "Sequential"]


# --- to / casting ------------------------------------------------------------------------------

def test_double_keeps_parameter_identity_and_int_buffers(nets):
    ours, _ = nets
    weight = ours.fc1.weight
    ours.fc1.weight.grad = hl.ones(6, 8)
    assert ours.double() is ours
    assert ours.fc1.weight is weight and weight.dtype == hl.float64
    assert weight.grad.dtype == hl.float64
    assert ours.bn.running_mean.dtype == hl.float64
    assert ours.bn.num_batches_tracked.dtype == hl.int64
    ours.to(hl.float32)
    assert weight.dtype == hl.float32
    ours.to("cpu")
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        ours.to(hl.int64)
    assert ours.half().fc1.weight.dtype == hl.float16


# --- load_state_dict ---------------------------------------------------------------------------

def test_load_state_dict_copies_in_place(nets):
    ours, theirs = nets
    weight = ours.fc1.weight
    state = {k: hl.tensor(v.numpy()) * 0 + 1 for k, v in theirs.state_dict().items()}
    result = ours.load_state_dict(state)
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert ours.fc1.weight is weight and float(weight.sum()) == weight.numel()


def test_load_state_dict_error_message_equals_torch(nets):
    ours, theirs = nets
    sd_theirs = theirs.state_dict()
    del sd_theirs["fc1.bias"]
    sd_theirs["extra.weight"] = torch.zeros(1)
    sd_theirs["fc1.weight"] = torch.zeros(3, 3)
    sd_ours = {k: hl.tensor(v.numpy()) for k, v in sd_theirs.items()}
    with pytest.raises(RuntimeError) as expected:
        theirs.load_state_dict(sd_theirs)
    with pytest.raises(RuntimeError) as got:
        ours.load_state_dict(sd_ours)
    assert str(got.value) == str(expected.value)
    assert "size mismatch for fc1.weight: copying a param with shape torch.Size([3, 3])" in \
        str(got.value)


def test_load_state_dict_non_strict_returns_named_tuple(nets):
    ours, theirs = nets
    sd = {k: hl.tensor(v.numpy()) for k, v in theirs.state_dict().items()}
    del sd["scale"]
    sd["junk"] = hl.zeros(1)
    result = ours.load_state_dict(sd, strict=False)
    expected = theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()},
                                      strict=False)
    assert tuple(result) == tuple(expected)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        ours.load_state_dict([1, 2])


def test_load_state_dict_assign_takes_tensors(nets):
    ours, _ = nets
    sd = ours.state_dict()
    new = hl.zeros(6, 8)
    sd["fc1.weight"] = new
    ours.load_state_dict(sd, assign=True)
    assert isinstance(ours.fc1.weight, nn.Parameter) and ours.fc1.weight.requires_grad
    assert float(ours.fc1.weight.abs().sum()) == 0


def test_state_dict_round_trip_gives_same_outputs(nets):
    ours, _ = nets
    ours.train()
    ours(hl.randn(16, 8))  # moves BatchNorm's running statistics away from their start
    fresh = lenet_like(hl)
    fresh.load_state_dict({k: v.clone() for k, v in ours.state_dict().items()})
    x = hl.randn(4, 8)
    ours.eval(), fresh.eval()
    np.testing.assert_array_equal(ours(x).detach().numpy(), fresh(x).detach().numpy())


# --- hooks and __call__ ------------------------------------------------------------------------

def test_forward_hooks_run_in_order_and_can_replace():
    model = nn.Linear(2, 2)
    calls = []
    h1 = model.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = model.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    model.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    out = model(hl.ones(1, 2))
    assert calls == ["first", "post"]
    np.testing.assert_allclose(out.detach().numpy(), model.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    h1.remove()
    h2.remove()
    assert len(model._forward_pre_hooks) == 0 and len(model._forward_hooks) == 1


def test_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    with m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                     with_kwargs=True):
        seen = []
        m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs),
                                with_kwargs=True)
        assert m(hl.ones(1)).item() == 3.0
        assert seen == [{"factor": 3.0}]
    assert m(hl.ones(1)).item() == 1.0


def test_hook_sees_intermediate_activations(nets):
    ours, _ = nets
    captured = {}
    ours.body.relu.register_forward_hook(lambda m, a, out: captured.setdefault("relu", out))
    ours(hl.randn(3, 8))
    assert captured["relu"].shape == (3, 6) and float(captured["relu"].min()) >= 0


# --- repr --------------------------------------------------------------------------------------

def test_repr_equals_torch(nets):
    ours, theirs = nets
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("build", [
    lambda nn_: nn_.Sequential(nn_.Linear(3, 4, bias=False), nn_.ReLU(inplace=True),
                               nn_.Flatten(), nn_.Unflatten(1, (2, 2)), nn_.Identity()),
    lambda nn_: nn_.ModuleList([nn_.Linear(2, 2) for _ in range(3)] + [nn_.Tanh()]),
    lambda nn_: nn_.Sequential(nn_.LeakyReLU(0.2), nn_.ELU(), nn_.GELU(approximate="tanh"),
                               nn_.Sigmoid(), nn_.Softmax(dim=1), nn_.LogSoftmax(1),
                               nn_.Softplus(beta=2), nn_.Dropout2d(0.3), nn_.SiLU(),
                               nn_.Hardtanh(), nn_.ReLU6()),
    lambda nn_: nn_.Sequential(nn_.BatchNorm1d(4, momentum=None), nn_.BatchNorm2d(3, affine=False),
                               nn_.LayerNorm((2, 3)), nn_.Embedding(10, 3, padding_idx=2),
                               nn_.Bilinear(2, 3, 4)),
    lambda nn_: nn_.ModuleDict({"loss": nn_.CrossEntropyLoss(), "mse": nn_.MSELoss(),
                                "bce": nn_.BCEWithLogitsLoss(), "sl1": nn_.SmoothL1Loss()}),
    lambda nn_: nn_.ModuleList(),
])
def test_layer_reprs_equal_torch(build):
    assert repr(build(nn)) == repr(build(torch.nn))


def test_parameter_repr_and_type():
    p = nn.Parameter(hl.tensor([1.0, 2.0]))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert isinstance(p, hl.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(hl.zeros(1), requires_grad=False).requires_grad
    assert isinstance(copy.deepcopy(p), nn.Parameter)
    restored = pickle.loads(pickle.dumps(p))
    assert isinstance(restored, nn.Parameter) and restored.requires_grad


def test_deepcopy_module_is_independent(nets):
    ours, _ = nets
    twin = copy.deepcopy(ours)
    with hl.no_grad():
        twin.fc1.weight.fill_(0)
    assert float(ours.fc1.weight.abs().sum()) > 0


# --- containers --------------------------------------------------------------------------------

def test_sequential_indexing_like_torch():
    for lib in (hl, torch):
        seq = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
        assert isinstance(seq[-1], lib.nn.Linear) and len(seq) == 3
        assert isinstance(seq[1:], lib.nn.Sequential) and len(seq[1:]) == 2
        seq.append(lib.nn.Sigmoid())
        del seq[1]
        assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
        assert list(seq._modules) == ["0", "1", "2"]
        seq.insert(1, lib.nn.Tanh())
        assert type(seq[1]).__name__ == "Tanh"
        with pytest.raises(IndexError):
            seq[10]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.ReLU()])
    ml += [nn.Tanh()]
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "ReLU", "Tanh"]
    with pytest.raises(TypeError, match="should be called with an iterable"):
        ml.extend(nn.ReLU())
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Linear(1, 1)
    assert list(md.keys()) == ["a", "b"] and "b" in md and len(list(md.parameters())) == 2
    assert isinstance(md.pop("b"), nn.Linear) and len(md) == 1
    pl = nn.ParameterList([hl.zeros(2), nn.Parameter(hl.ones(3))])
    assert len(list(pl.parameters())) == 2 and isinstance(pl[0], nn.Parameter)
    assert repr(pl) == repr(torch.nn.ParameterList([torch.zeros(2), torch.ones(3)]))


def blitz_net(lib):
    """The LeNet of PyTorch's 60-minute blitz, written once for both libraries."""
    F = lib.nn.functional

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = lib.nn.Conv2d(1, 6, 5)
            self.conv2 = lib.nn.Conv2d(6, 16, 5)
            self.fc1 = lib.nn.Linear(16 * 5 * 5, 120)
            self.fc2 = lib.nn.Linear(120, 84)
            self.fc3 = lib.nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, 16 * 5 * 5)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    return Net()


def test_blitz_lenet_repr_parameters_and_output_equal_torch():
    torch.manual_seed(0)
    theirs, ours = blitz_net(torch), blitz_net(hl)
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    assert [tuple(p.shape) for p in ours.parameters()] == \
        [tuple(p.shape) for p in theirs.parameters()]
    assert sum(p.numel() for p in ours.parameters()) == 61706
    x = np.random.default_rng(0).standard_normal((2, 1, 32, 32)).astype(np.float32)
    out_ours, out_theirs = ours(hl.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(ours.conv1.bias.grad.numpy(), theirs.conv1.bias.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_training_trajectory_equals_torch():
    """Twenty SGD steps of an MLP with BatchNorm from the same start: same losses as torch."""
    def mlp(lib):
        return lib.nn.Sequential(lib.nn.Linear(6, 16), lib.nn.BatchNorm1d(16), lib.nn.ReLU(),
                                 lib.nn.Linear(16, 3))

    torch.manual_seed(0)
    theirs = mlp(torch).double()
    ours = mlp(hl).double()
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 6)), rng.integers(0, 3, 32)
    losses = []
    for lib, model, xs, ys in ((hl, ours, hl.tensor(x), hl.tensor(y)),
                               (torch, theirs, torch.tensor(x), torch.tensor(y))):
        trace = []
        for _ in range(20):
            model.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xs), ys)
            loss.backward()
            with lib.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
            trace.append(loss.item())
        losses.append(trace)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-10)
    assert losses[0][-1] < losses[0][0] - 0.15


def test_optimizer_built_before_to_keeps_working():
    import handbook_lib.optim as optim

    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.5)
    model.double()  # parameters change dtype in place; the optimizer still holds them
    before = model.weight.detach().clone()
    model(hl.ones(2, 3, dtype=hl.float64)).sum().backward()
    opt.step()
    assert model.weight.dtype == hl.float64
    np.testing.assert_allclose(model.weight.detach().numpy(), before.numpy() - 0.5 * 2.0)
