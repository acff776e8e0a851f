"""The weights registry: each model's known weights with their URL, hash and metadata.

As in torchvision, every builder (``resnet18``...) has a ``WeightsEnum`` (``ResNet18_Weights``)
whose members name one set of trained weights: where the file lives (``url``), its SHA-256
(the full digest, or the prefix torchvision puts in its file names), the preprocessing it was
trained with (``transforms``) and metadata (``meta["categories"]``, the parameter count...).
``resnet18(weights="IMAGENET1K_V1")``, ``weights=ResNet18_Weights.DEFAULT`` and the older
``pretrained=True`` all load through :func:`handbook_lib.hub.load_state_dict_from_url`, which
downloads once, checks the hash and caches the file under :func:`handbook_lib.hub.get_dir`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from ... import hub

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", "register_model"]


@dataclass(frozen=True, eq=False)
class Weights:
    """One set of trained weights.

    Attributes:
        url: where the file is downloaded from.
        sha256: the file's SHA-256 hex digest, or a prefix of it (at least 8 digits).
        transforms: builds the preprocessing the weights expect, e.g. ``transforms()(img)``.
        meta: ``categories`` (class names by index), ``num_params`` and other facts.
    """

    url: str
    sha256: str
    transforms: Callable[..., Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def get_state_dict(self, progress: bool = True, check_hash: bool = True,
                       model_dir: str | None = None) -> dict:
        """Download (once), verify and read the weights file."""
        return hub.load_state_dict_from_url(self.url, model_dir=model_dir, progress=progress,
                                            check_hash=check_hash, hash_prefix=self.sha256)


class WeightsEnum(Enum):
    """The weights one builder knows; members are :class:`Weights`, ``DEFAULT`` the best."""

    @classmethod
    def verify(cls, obj: Any) -> "WeightsEnum | None":
        """``None``, a member, or a member's name (``"IMAGENET1K_V1"`` or
        ``"ResNet18_Weights.IMAGENET1K_V1"``) → the member."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.removeprefix(cls.__name__ + ".")
            if name not in cls.__members__:
                raise ValueError(f"Failed to find Weights {obj} in {cls.__name__}. Known: "
                                 f"{', '.join(cls.__members__)}")
            return cls.__members__[name]
        raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                        f"{type(obj).__name__}.")

    def get_state_dict(self, progress: bool = True, check_hash: bool = True,
                       model_dir: str | None = None) -> dict:
        """Download (once), verify and read the weights file."""
        return self.value.get_state_dict(progress, check_hash, model_dir)

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def sha256(self) -> str:
        return self.value.sha256

    @property
    def transforms(self) -> Callable[..., Any]:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"


BUILTIN_MODELS: dict[str, Callable[..., Any]] = {}


def register_model(name: str | None = None) -> Callable:
    """Decorator: list a builder under ``name`` (its function name by default)."""
    def wrapper(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn
    return wrapper


def list_models() -> list[str]:
    """The names of the registered builders, sorted."""
    return sorted(BUILTIN_MODELS)


def get_model_builder(name: str) -> Callable[..., Any]:
    name = name.lower()
    if name not in BUILTIN_MODELS:
        raise ValueError(f"Unknown model {name}")
    return BUILTIN_MODELS[name]


def get_model(name: str, **config: Any) -> Any:
    """``get_model("resnet18", weights=None, num_classes=10)``."""
    return get_model_builder(name)(**config)


def get_model_weights(name: str | Callable) -> type[WeightsEnum]:
    """The ``WeightsEnum`` of a builder, given by name or as the function."""
    builder = get_model_builder(name) if isinstance(name, str) else name
    enum = getattr(builder, "weights_enum", None)
    if enum is None:
        raise ValueError(f"The weight enum for the model {builder.__name__} was not found.")
    return enum


def get_weight(name: str) -> WeightsEnum:
    """``get_weight("ResNet18_Weights.IMAGENET1K_V1")`` → that member."""
    enum_name, _, member = name.partition(".")
    for builder in BUILTIN_MODELS.values():
        enum = getattr(builder, "weights_enum", None)
        if enum is not None and enum.__name__ == enum_name:
            return enum.verify(member)
    raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be "
                     "retrieved.")


def handle_weights(enum: type[WeightsEnum], weights: Any, pretrained: bool | None,
                   kwargs: dict) -> WeightsEnum | None:
    """Resolve ``weights`` (or the legacy ``pretrained=True``) and fit ``num_classes`` to it."""
    if pretrained is not None:
        warnings.warn("The parameter 'pretrained' is deprecated, please use 'weights' instead.",
                      UserWarning, stacklevel=3)
        if weights is None and pretrained:
            weights = enum.DEFAULT
    weights = enum.verify(weights)
    if weights is not None and "categories" in weights.meta:
        expected = len(weights.meta["categories"])
        given = kwargs.setdefault("num_classes", expected)
        if given != expected:
            raise ValueError(f"The parameter 'num_classes' expected value {expected} but got "
                             f"{given} instead.")
    return weights


def load_weights(model: Any, weights: WeightsEnum | Weights | None, progress: bool) -> Any:
    """Load ``weights`` into ``model``; a file for another architecture is a clear error."""
    if weights is None:
        return model
    state_dict = weights.get_state_dict(progress=progress)
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise RuntimeError(f"The weights file of {weights!r} ({weights.url}) does not match "
                           f"{type(model).__name__}: {exc}") from None
    return model
