"""SummaryWriter: event files read back with TensorBoard's own reader, and compared with what
``torch.utils.tensorboard`` writes for the same calls."""
from __future__ import annotations

import io
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter  # noqa: E402

import handbook_lib as hl  # noqa: E402
from handbook_lib import nn  # noqa: E402
from handbook_lib.utils.tensorboard import SummaryWriter  # noqa: E402

KEEP_ALL = {"scalars": 0, "images": 0, "histograms": 0, "tensors": 0}


def read(log_dir) -> EventAccumulator:
    return EventAccumulator(str(log_dir), size_guidance=KEEP_ALL).Reload()


def events(log_dir) -> list:
    """Every event of the one event file in ``log_dir``, in order."""
    (name,) = [n for n in os.listdir(log_dir) if n.startswith("events.out.tfevents.")]
    return list(EventFileLoader(os.path.join(log_dir, name)).Load())


def summary_values(log_dir) -> list:
    return [v for e in events(log_dir) if e.HasField("summary") for v in e.summary.value]


def test_scalars_read_back_with_steps_and_walltime(tmp_path, device):
    with SummaryWriter(tmp_path) as writer:
        for step in range(5):
            writer.add_scalar("loss", hl.tensor(1.0 / (step + 1), device=device), step)
        writer.add_scalar("lr", 0.5, 7, walltime=123.0)
    accumulator = read(tmp_path)
    loss = accumulator.Scalars("loss")
    assert [e.step for e in loss] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([e.value for e in loss], 1 / np.arange(1, 6), rtol=1e-7)
    (lr,) = accumulator.Scalars("lr")
    assert (lr.step, lr.value, lr.wall_time) == (7, 0.5, 123.0)


def test_scalar_rejects_a_tensor_with_several_values(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="scalar should be 0D"):
            writer.add_scalar("x", hl.tensor([1.0, 2.0]))


def test_add_scalars_writes_one_run_per_curve(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalars("acc", {"train": 0.5 + step, "test": 0.25 + step}, step)
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith("events")) == [
        "acc_test", "acc_train"]
    assert [e.value for e in read(tmp_path / "acc_train").Scalars("acc")] == [0.5, 1.5, 2.5]
    assert [e.value for e in read(tmp_path / "acc_test").Scalars("acc")] == [0.25, 1.25, 2.25]


@pytest.mark.parametrize("bins", ["tensorflow", "auto", 10])
def test_histogram_equals_torchs(tmp_path, bins):
    values = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    with SummaryWriter(tmp_path / "ours") as writer:
        writer.add_histogram("w", hl.tensor(values), 3, bins=bins)
    with TorchSummaryWriter(tmp_path / "torch") as writer:
        writer.add_histogram("w", torch.tensor(values), 3, bins=bins)
    ours = read(tmp_path / "ours").Histograms("w")[0]
    theirs = read(tmp_path / "torch").Histograms("w")[0]
    assert ours.step == 3
    assert ours.histogram_value == theirs.histogram_value
    assert ours.histogram_value.num == 1000
    assert sum(ours.histogram_value.bucket) == 1000


def test_histogram_errors(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="no element"):
            writer.add_histogram("w", np.zeros(0))
        with pytest.raises(ValueError, match="finite"):
            writer.add_histogram("w", np.array([1.0, np.nan]))


def decode(image_event) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image_event.encoded_image_string)))


@pytest.mark.parametrize("shape, dataformats", [((3, 5, 7), "CHW"), ((5, 7, 3), "HWC"),
                                                 ((5, 7), "HW"), ((1, 5, 7), "CHW")])
def test_image_png_equals_torchs(tmp_path, shape, dataformats, device):
    pixels = np.random.default_rng(1).random(shape).astype(np.float32)
    with SummaryWriter(tmp_path / "ours") as writer:
        writer.add_image("img", hl.tensor(pixels, device=device), 0, dataformats=dataformats)
    with TorchSummaryWriter(tmp_path / "torch") as writer:
        writer.add_image("img", torch.tensor(pixels), 0, dataformats=dataformats)
    (ours,) = read(tmp_path / "ours").Images("img")
    (theirs,) = read(tmp_path / "torch").Images("img")
    assert (ours.height, ours.width) == (5, 7)
    np.testing.assert_array_equal(decode(ours), decode(theirs))
    expected = (pixels * 255).astype(np.uint8)
    if dataformats == "CHW" and shape[0] == 3:
        np.testing.assert_array_equal(decode(ours), expected.transpose(1, 2, 0))


def test_uint8_image_kept_as_is(tmp_path):
    pixels = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("img", pixels)
    np.testing.assert_array_equal(decode(read(tmp_path).Images("img")[0]),
                                  pixels.transpose(1, 2, 0))


def test_images_become_a_grid_of_eight_per_row(tmp_path):
    batch = np.random.default_rng(2).random((10, 1, 4, 6)).astype(np.float32)
    with SummaryWriter(tmp_path / "ours") as writer:
        writer.add_images("batch", hl.tensor(batch))
    with TorchSummaryWriter(tmp_path / "torch") as writer:
        writer.add_images("batch", torch.tensor(batch))
    (ours,) = read(tmp_path / "ours").Images("batch")
    assert (ours.height, ours.width) == (2 * 4, 8 * 6)
    np.testing.assert_array_equal(decode(ours), decode(read(tmp_path / "torch").Images("batch")[0]))


def test_image_errors(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="size of input tensor and input format"):
            writer.add_image("img", np.zeros((4, 4)))
        with pytest.raises(ValueError, match="1, 3 or 4 channels"):
            writer.add_image("img", np.zeros((2, 4, 4)))
        with pytest.raises(ValueError, match="each once"):
            writer.add_image("img", np.zeros((3, 4, 4)), dataformats="CCW")


def test_figure_is_rendered_and_closed(tmp_path):
    figure = plt.figure(figsize=(2, 1.5), dpi=50)
    plt.plot([0, 1], [1, 0])
    with SummaryWriter(tmp_path) as writer:
        writer.add_figure("curve", figure, 4)
    (image,) = read(tmp_path).Images("curve")
    assert (image.step, image.width, image.height) == (4, 100, 75)
    assert not plt.fignum_exists(figure.number)
    assert decode(image).std() > 0  # something was drawn


def test_text_is_stored_for_the_text_plugin(tmp_path):
    with SummaryWriter(tmp_path / "ours") as writer:
        writer.add_text("note", "**学习率** 0.1", 2)
    with TorchSummaryWriter(tmp_path / "torch") as writer:
        writer.add_text("note", "**学习率** 0.1", 2)
    (ours,) = summary_values(tmp_path / "ours")
    (theirs,) = summary_values(tmp_path / "torch")
    assert ours == theirs
    accumulator = read(tmp_path / "ours")
    assert accumulator.Tags()["tensors"] == ["note/text_summary"]
    (event,) = accumulator.Tensors("note/text_summary")
    assert event.tensor_proto.string_val[0].decode() == "**学习率** 0.1"
    assert accumulator.SummaryMetadata("note/text_summary").plugin_data.plugin_name == "text"


def test_hparams_equal_torchs(tmp_path):
    hparams = {"lr": 0.1, "batch": 64, "optimizer": "sgd", "momentum": None}
    metrics = {"hparam/accuracy": 0.9}
    domains = {"optimizer": ["sgd", "adam"]}
    with SummaryWriter(tmp_path / "ours") as writer:
        writer.add_hparams(hparams, metrics, domains, run_name="run1")
    with TorchSummaryWriter(tmp_path / "torch") as writer:
        writer.add_hparams(hparams, metrics, domains, run_name="run1")
    ours = summary_values(tmp_path / "ours" / "run1")
    assert ours == summary_values(tmp_path / "torch" / "run1")
    accumulator = read(tmp_path / "ours" / "run1")
    content = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["optimizer"].string_value == "sgd"
    assert start.session_start_info.hparams["batch"].number_value == 64
    assert [e.value for e in accumulator.Scalars("hparam/accuracy")] == [pytest.approx(0.9)]


def test_bool_hparam_stays_a_bool(tmp_path):
    """torch stores True as the number 1 (bool is an int to isinstance); we keep the type."""
    with SummaryWriter(tmp_path) as writer:
        writer.add_hparams({"nesterov": True}, {"hparam/loss": 0.5}, run_name="run")
    content = read(tmp_path / "run").PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["nesterov"].WhichOneof("kind") == "bool_value"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    assert experiment.experiment.hparam_infos[0].type == api_pb2.DataType.Value("DATA_TYPE_BOOL")


def test_hparams_errors(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(TypeError, match="should be dictionary"):
            writer.add_hparams([("lr", 0.1)], {})
        with pytest.raises(ValueError, match="one of int, float, str, bool"):
            writer.add_hparams({"lr": [0.1]}, {}, run_name="bad")
        with pytest.raises(TypeError, match=r"hparam_domain_discrete\[lr\]"):
            writer.add_hparams({"lr": 0.1}, {}, {"lr": ["a"]}, run_name="bad")
    assert not (tmp_path / "bad").exists()  # nothing written for a rejected call


class Scale(nn.Module):
    """Elementwise ``x * weight + bias`` (ops that the cupy stand-in emulates)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(hl.ones(size))
        self.bias = nn.Parameter(hl.zeros(size))

    def forward(self, x):
        return x * self.weight + self.bias


class ElementwiseNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(Scale(4), nn.Tanh())
        self.head = Scale(4)

    def forward(self, x):
        return self.head(self.body(x))


def test_graph_on_each_device(tmp_path, device):
    model = ElementwiseNet().to(device)
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, hl.randn(3, 4, device=device))
    nodes = {node.name: node for node in read(tmp_path).Graph().node}
    assert sorted(nodes) == [
        "body/0/AddBackward0_0", "body/0/MulBackward0_0", "body/0/bias", "body/0/weight",
        "body/1/TanhBackward0_0", "head/AddBackward0_0", "head/MulBackward0_0", "head/bias",
        "head/weight"]
    assert list(nodes["body/0/AddBackward0_0"].input) == ["body/0/MulBackward0_0",
                                                          "body/0/bias"]
    assert list(nodes["head/MulBackward0_0"].input) == ["body/1/TanhBackward0_0",
                                                        "head/weight"]


class TwoLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.head = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def test_graph_is_the_autograd_graph_scoped_by_module(tmp_path):
    model = TwoLayers()
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, hl.randn(2, 1, 6, 6))
    graph = read(tmp_path).Graph()
    nodes = {node.name: node for node in graph.node}
    conv = nodes["features/0/ConvolutionBackward0_0"]
    assert list(conv.input) == ["features/0/weight", "features/0/bias"]
    assert list(nodes["features/1/ReluBackward0_0"].input) == [conv.name]
    head = [n for n in nodes.values() if n.name.startswith("head/") and n.op != "AccumulateGrad"]
    assert len(head) == 1 and "head/weight" in head[0].input and "head/bias" in head[0].input
    shape = nodes["head/weight"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [3, 32]
    assert {n.op for n in nodes.values() if "/" not in n.name} <= {"ReshapeAliasBackward0",
                                                                   "ViewBackward0"}
    assert sum(n.op == "AccumulateGrad" for n in nodes.values()) == 4
    for node in nodes.values():  # every edge leads to a node of the graph
        assert all(name in nodes for name in node.input)


def test_graph_of_a_frozen_model_is_an_error(tmp_path):
    model = TwoLayers().requires_grad_(False)
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(RuntimeError, match="does not require grad"):
            writer.add_graph(model, hl.randn(1, 1, 6, 6))
    assert all(not m._forward_hooks for m in model.modules())  # the hooks are removed


def test_flush_makes_events_readable_before_close(tmp_path):
    writer = SummaryWriter(tmp_path, flush_secs=3600)
    writer.add_scalar("x", 1.0, 0)
    writer.flush()
    assert [e.value for e in read(tmp_path).Scalars("x")] == [1.0]
    writer.close()
    writer.close()  # a second close does nothing


def test_default_log_dir_is_runs_date_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as writer:
        log_dir = writer.get_logdir()
    assert log_dir.startswith("runs" + os.sep) and log_dir.endswith("_lr0.1")
    assert any(n.startswith("events.out.tfevents.") for n in os.listdir(log_dir))


def test_purge_step_writes_a_session_start(tmp_path):
    with SummaryWriter(tmp_path, purge_step=5) as writer:
        writer.add_scalar("x", 1.0, 5)
    starts = [e for e in events(tmp_path) if e.HasField("session_log")]
    assert len(starts) == 1 and starts[0].step == 5
