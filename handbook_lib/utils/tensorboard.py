"""``torch.utils.tensorboard.SummaryWriter`` for handbook_lib: real TensorBoard event files.

The writer builds TensorBoard's own protocol buffers (``Summary``, ``HistogramProto``,
``GraphDef``, the hparams and text plugins' data) and hands them to the ``tensorboard`` package's
``EventFileWriter``, which appends them to ``events.out.tfevents.*`` files in ``log_dir``. Open
them with ``tensorboard --logdir runs``, or read them back in Python with TensorBoard's
``EventAccumulator``::

    from handbook_lib.utils.tensorboard import SummaryWriter

    with SummaryWriter("runs/exp1") as writer:
        for step in range(100):
            writer.add_scalar("loss", 1 / (step + 1), step)

Values may be handbook_lib tensors (on any device), numpy arrays or Python numbers. ``add_graph``
draws the autograd graph that one forward pass records: one node per backward node, named by the
module that made it, with the parameters as its inputs.
"""
from __future__ import annotations

import io
import os
import socket
import time
from datetime import datetime
from typing import Any, Sequence

import numpy as np
from google.protobuf import struct_pb2
from tensorboard.compat.proto import event_pb2, graph_pb2, summary_pb2, tensor_pb2
from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.text import plugin_data_pb2 as text_plugin_data_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

__all__ = ["SummaryWriter"]

Summary = summary_pb2.Summary


def _to_numpy(value: Any) -> np.ndarray:
    """A host numpy array for a tensor (any device, detached), an array or a number."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _scalar_value(value: Any) -> float:
    array = _to_numpy(value)
    if array.size != 1:
        raise ValueError(f"scalar should be 0D, got a value of shape {tuple(array.shape)}")
    return float(array.reshape(()))


def default_bins() -> list[float]:
    """TensorFlow's histogram bucket limits: ±1e-12 growing by 10% up to ±1e20, and 0."""
    positive, limit = [], 1e-12
    while limit < 1e20:
        positive.append(limit)
        limit *= 1.1
    return [-v for v in positive[::-1]] + [0.0] + positive


def make_histogram(values: np.ndarray, bins) -> summary_pb2.HistogramProto:
    """The histogram of ``values`` as TensorBoard stores it: right bucket limits and counts.

    Only the buckets from the first to the last non-empty one are kept, with one empty bucket
    on the left so that the leftmost limit is there too (what torch does).
    """
    values = values.reshape(-1).astype(np.float64)
    if values.size == 0:
        raise ValueError("The input has no element.")
    if not np.isfinite(values).all():
        raise ValueError("The histogram values must be finite (got NaN or inf).")
    counts, limits = np.histogram(values, bins=bins)
    nonzero = np.flatnonzero(counts)
    start, end = int(nonzero[0]), int(nonzero[-1]) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    return summary_pb2.HistogramProto(
        min=values.min(), max=values.max(), num=values.size, sum=values.sum(),
        sum_squares=values.dot(values), bucket_limit=limits.tolist(), bucket=counts.tolist())


def _to_hwc(image: np.ndarray, dataformats: str) -> np.ndarray:
    """An image in ``dataformats`` (CHW, HWC, HW, or NCHW/NHWC: a grid) as HWC with 3 or 4
    channels: a grey image is repeated into RGB, as torch does."""
    dataformats = dataformats.upper()
    if len(set(dataformats)) != len(dataformats) or not set(dataformats) <= set("NCHW"):
        raise ValueError(f"dataformats should be letters of NCHW, each once, got {dataformats!r}")
    if image.ndim != len(dataformats):
        raise ValueError(f"size of input tensor and input format are different. tensor shape: "
                         f"{tuple(image.shape)}, input_format: {dataformats}")
    if "N" in dataformats:
        nchw = image.transpose([dataformats.find(c) for c in "NCHW"])
        return _grid(nchw).transpose(1, 2, 0)
    if "C" not in dataformats:
        image, dataformats = image[None], "C" + dataformats
    hwc = image.transpose([dataformats.find(c) for c in "HWC"])
    if hwc.shape[2] not in (1, 3, 4):
        raise ValueError(f"an image has 1, 3 or 4 channels, got {hwc.shape[2]}")
    return np.repeat(hwc, 3, axis=2) if hwc.shape[2] == 1 else hwc


def _grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """N images (NCHW, 1 or 3 channels) tiled into one CHW image, ``ncols`` per row."""
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    if images.shape[1] != 3:
        raise ValueError(f"images for a grid have 1 or 3 channels, got {images.shape[1]}")
    count, _, height, width = images.shape
    ncols = min(count, ncols)
    nrows = -(-count // ncols)
    canvas = np.zeros((3, height * nrows, width * ncols), dtype=images.dtype)
    for i, image in enumerate(images):
        row, col = divmod(i, ncols)
        canvas[:, row * height:(row + 1) * height, col * width:(col + 1) * width] = image
    return canvas


def image_summary(tag: str, image: np.ndarray, dataformats: str) -> Summary:
    """A PNG-encoded image: floats are taken in [0, 1], uint8 in [0, 255]."""
    from PIL import Image

    hwc = _to_hwc(image, dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    pixels = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = pixels.shape
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    encoded = Summary.Image(height=height, width=width, colorspace=channels,
                            encoded_image_string=buffer.getvalue())
    return Summary(value=[Summary.Value(tag=tag, image=encoded)])


def figure_to_image(figure) -> np.ndarray:
    """A matplotlib figure rendered to a CHW uint8 RGB array."""
    figure.canvas.draw()
    rgba = np.asarray(figure.canvas.buffer_rgba())
    return rgba[:, :, :3].transpose(2, 0, 1).copy()


def text_summary(tag: str, text: str) -> Summary:
    """Text (Markdown) for TensorBoard's text plugin, under ``tag + '/text_summary'``."""
    content = text_plugin_data_pb2.TextPluginData(version=0).SerializeToString()
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text", content=content))
    tensor = tensor_pb2.TensorProto(
        dtype="DT_STRING", string_val=[text.encode("utf-8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=metadata,
                                        tensor=tensor)])


def _hparams_summary(tag: str, **plugin_data) -> Summary:
    content = plugin_data_pb2.HParamsPluginData(
        version=hparams_metadata.PLUGIN_DATA_VERSION, **plugin_data).SerializeToString()
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
        plugin_name=hparams_metadata.PLUGIN_NAME, content=content))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])


def _hparam_value(value: Any) -> tuple[str, Any, str]:
    """(field of ``google.protobuf.Value``, value, TensorBoard data type) of a hyperparameter.

    A bool stays a bool (torch checks ``int`` first and stores ``True`` as the number 1)."""
    if isinstance(value, bool):
        return "bool_value", value, "DATA_TYPE_BOOL"
    if isinstance(value, str):
        return "string_value", value, "DATA_TYPE_STRING"
    if isinstance(value, (int, float, np.number)) or hasattr(value, "detach"):
        return "number_value", _scalar_value(value), "DATA_TYPE_FLOAT64"
    raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")


def hparams_summaries(hparam_dict: dict, metric_dict: dict,
                      hparam_domain_discrete: dict | None = None) -> list[Summary]:
    """The hparams plugin's three summaries: the experiment (which hyperparameters and metrics
    exist, and the values a discrete one can take), this run's hyperparameter values (session
    start) and its status (session end)."""
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for name, choices in domains.items():
        if (name not in hparam_dict or not isinstance(choices, list)
                or not all(isinstance(c, type(hparam_dict[name])) for c in choices)):
            raise TypeError(f"parameter: hparam_domain_discrete[{name}] should be a list of same "
                            f"type as hparam_dict[{name}].")
    start = plugin_data_pb2.SessionStartInfo()
    infos = []
    for name, value in hparam_dict.items():
        if value is None:
            continue
        field, value, kind = _hparam_value(value)
        setattr(start.hparams[name], field, value)
        domain = None
        if name in domains:
            domain = struct_pb2.ListValue(values=[
                struct_pb2.Value(**{field: _hparam_value(c)[1]}) for c in domains[name]])
        infos.append(api_pb2.HParamInfo(name=name, type=api_pb2.DataType.Value(kind),
                                        domain_discrete=domain))
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metric_dict]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value("STATUS_SUCCESS"))
    return [_hparams_summary(hparams_metadata.EXPERIMENT_TAG, experiment=experiment),
            _hparams_summary(hparams_metadata.SESSION_START_INFO_TAG, session_start_info=start),
            _hparams_summary(hparams_metadata.SESSION_END_INFO_TAG, session_end_info=end)]


def _module_scopes(model, inputs: Sequence) -> tuple[Any, dict]:
    """Run ``model(*inputs)`` and name each backward node by the innermost module that made it.

    A module made the nodes reachable from its output's ``grad_fn`` without passing through the
    nodes its inputs came from. Outer modules are assigned first, inner ones overwrite them.
    """
    from handbook_lib.autograd.graph import accumulator_of

    calls: list[tuple[str, list, Any]] = []
    names = {id(module): name for name, module in model.named_modules()}
    handles = []
    for module in model.modules():
        def record(mod, args, output):
            flat = output if isinstance(output, (tuple, list)) else (output,)
            calls.append((names[id(mod)], list(args), flat))
        handles.append(module.register_forward_hook(record))
    try:
        output = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    scopes: dict[int, str] = {}
    for name, args, outputs in sorted(calls, key=lambda call: call[0].count(".") if call[0]
                                      else -1):
        stop = {id(getattr(a, "grad_fn", None)) for a in args if getattr(a, "grad_fn", None)}
        roots = [o.grad_fn for o in outputs if getattr(o, "grad_fn", None) is not None]
        for node in _walk(roots, stop):
            scopes[id(node)] = name.replace(".", "/")
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            scopes[id(accumulator_of(parameter))] = name.replace(".", "/")
    return output, scopes


def _walk(roots: list, stop: set | None = None) -> list:
    """Backward nodes reachable from ``roots`` (iteratively), not entering ``stop``."""
    stop = stop or set()
    seen, order, pending = set(), [], list(roots)
    while pending:
        node = pending.pop()
        if node is None or id(node) in seen or id(node) in stop:
            continue
        seen.add(id(node))
        order.append(node)
        pending.extend(edge[0] for edge in node.next_functions)
    return order


def graph_def(model, inputs: Sequence) -> graph_pb2.GraphDef:
    """The autograd graph of ``model(*inputs)`` as a TensorFlow ``GraphDef``.

    Data flows the forward way: a node's inputs are its ``next_functions``. Parameters appear as
    ``AccumulateGrad`` nodes named like the parameter (``conv1/weight``), with their shape. An
    input that does not require grad is not part of the autograd graph and does not appear.
    """
    from handbook_lib.autograd.graph import AccumulateGrad

    output, scopes = _module_scopes(model, inputs)
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    roots = [o.grad_fn for o in outputs if getattr(o, "grad_fn", None) is not None]
    if not roots:
        raise RuntimeError("add_graph: the model's output does not require grad, so no graph was "
                           "recorded (is it run under no_grad, or are all parameters frozen?)")
    nodes = _walk(roots)
    node_names: dict[int, str] = {}
    counts: dict[str, int] = {}
    for node in reversed(nodes):
        scope = scopes.get(id(node), "")
        if isinstance(node, AccumulateGrad) and scope:
            node_names[id(node)] = scope
            continue
        base = f"{scope}/{node.name()}" if scope else node.name()
        counts[base] = counts.get(base, -1) + 1
        node_names[id(node)] = f"{base}_{counts[base]}"
    node_defs = []
    for node in reversed(nodes):
        attr = {}
        if isinstance(node, AccumulateGrad):
            shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=s)
                                          for s in node.variable.shape])
            attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=[shape]))
        inputs_of = [node_names[id(edge[0])] for edge in node.next_functions
                     if edge[0] is not None]
        node_defs.append(NodeDef(name=node_names[id(node)], op=node.name(), input=inputs_of,
                                 attr=attr))
    return graph_pb2.GraphDef(node=node_defs, versions=VersionDef(producer=22))


class SummaryWriter:
    """Writes scalars, histograms, images, figures, text, hyperparameters and graphs to event
    files in ``log_dir``, as ``torch.utils.tensorboard.SummaryWriter`` does.

    Args:
        log_dir: where the event files go; default ``runs/<date>_<host><comment>``.
        comment: suffix of the default ``log_dir``.
        max_queue: events kept in memory before a write is forced.
        flush_secs: how often the background thread flushes pending events to disk.
        filename_suffix: appended to the event file names.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        if not log_dir:
            now = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{now}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._writers: dict[str, EventFileWriter] | None = None
        self._file_writer()

    def _file_writer(self, log_dir: str | None = None) -> EventFileWriter:
        """The event file writer for ``log_dir`` (default: this writer's own), opened once."""
        if self._writers is None:
            self._writers = {}
        log_dir = log_dir or self.log_dir
        if log_dir not in self._writers:
            writer = EventFileWriter(log_dir, self.max_queue, self.flush_secs,
                                     self.filename_suffix)
            self._writers[log_dir] = writer
            if self.purge_step is not None and log_dir == self.log_dir:
                start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
                writer.add_event(event_pb2.Event(step=self.purge_step, wall_time=time.time(),
                                                 session_log=start))
                self.purge_step = None
        return self._writers[log_dir]

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self.log_dir

    def _add_summary(self, summary: Summary, global_step: int | None = None,
                     walltime: float | None = None, log_dir: str | None = None) -> None:
        event = event_pb2.Event(summary=summary,
                                wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        self._file_writer(log_dir).add_event(event)

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None) -> None:
        """One value of the curve ``tag`` at ``global_step``."""
        value = Summary.Value(tag=tag, simple_value=_scalar_value(scalar_value))
        self._add_summary(Summary(value=[value]), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves in one chart: each goes to its own run ``log_dir/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        for tag, scalar_value in tag_scalar_dict.items():
            run = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            value = Summary.Value(tag=main_tag, simple_value=_scalar_value(scalar_value))
            self._add_summary(Summary(value=[value]), global_step, walltime, log_dir=run)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None,
                      bins: str | int | Sequence = "tensorflow",
                      walltime: float | None = None) -> None:
        """The distribution of ``values``; ``bins`` as numpy's, or TensorFlow's default buckets."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = default_bins()
        histogram = make_histogram(_to_numpy(values), bins)
        self._add_summary(Summary(value=[Summary.Value(tag=tag, histo=histogram)]),
                          global_step, walltime)

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """One image (CHW by default; floats in [0, 1] or uint8), stored as PNG."""
        self._add_summary(image_summary(tag, _to_numpy(img_tensor), dataformats),
                          global_step, walltime)

    def add_images(self, tag: str, img_tensor: Any, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images (NCHW by default), tiled into one grid image, 8 per row."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_figure(self, tag: str, figure, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """A matplotlib figure (or a list of them, as a grid) rendered to an image."""
        import matplotlib.pyplot as plt

        figures = figure if isinstance(figure, list) else [figure]
        images = np.stack([figure_to_image(f) for f in figures])
        if close:
            for f in figures:
                plt.close(f)
        if isinstance(figure, list):
            self.add_image(tag, images, global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, images[0], global_step, walltime, dataformats="CHW")

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Text, rendered as Markdown by TensorBoard."""
        self._add_summary(text_summary(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """One row of TensorBoard's HPARAMS table: hyperparameters and the metrics they gave.

        Written to the run ``log_dir/<run_name>`` (default: the current time), as torch does.
        """
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        summaries = hparams_summaries(hparam_dict, metric_dict, hparam_domain_discrete)
        run = os.path.join(self.log_dir, run_name or str(time.time()))
        for summary in summaries:
            self._add_summary(summary, global_step, log_dir=run)
        for tag, value in metric_dict.items():
            value = Summary.Value(tag=tag, simple_value=_scalar_value(value))
            self._add_summary(Summary(value=[value]), global_step, log_dir=run)
        self._writers.pop(run).close()

    def add_graph(self, model, input_to_model=None, verbose: bool = False) -> None:
        """The autograd graph of one forward pass ``model(input_to_model)`` (GRAPHS tab)."""
        inputs = (input_to_model if isinstance(input_to_model, (tuple, list))
                  else (input_to_model,))
        graph = graph_def(model, inputs)
        if verbose:
            print(graph)
        self._file_writer().add_event(event_pb2.Event(graph_def=graph.SerializeToString(),
                                                      wall_time=time.time()))

    def flush(self) -> None:
        """Write every pending event to disk."""
        for writer in (self._writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files (a second close does nothing)."""
        for writer in (self._writers or {}).values():
            writer.flush()
            writer.close()
        self._writers = None

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
