"""Replay's quick decoder for event data: msgspec structs derived from the pydantic event
models (hub_shared.events), with the models themselves as the fallback.

msgspec checks types strictly, pydantic leniently (an integral 2.0 for an int, a date-only
string for a time): whatever msgspec accepts, the model accepts with the same values, and
whatever msgspec refuses goes to the model, which decides. Times are the exception: msgspec
rounds a fraction finer than a microsecond where pydantic truncates it, so a struct takes a
time as text and pydantic's own parser reads it. So a record folds exactly as the live
consumers would have read it, about four times quicker (a unit test holds the two equal
over generated and mangled records).
"""

from __future__ import annotations

import types
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin

import msgspec
from pydantic import BaseModel, TypeAdapter

M = TypeVar("M", bound=BaseModel)
_parse_time = TypeAdapter(datetime).validator.validate_python  # as a model's field reads it


@cache
def struct_of(model: type[BaseModel]) -> type[msgspec.Struct]:
    """A struct with the model's fields, types and defaults; nested models become structs."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, info in model.model_fields.items():
        kind = _translated(info.annotation)
        if info.is_required():
            fields.append((name, kind))
        else:
            fields.append((name, kind, info.get_default(call_default_factory=True)))
    return msgspec.defstruct(model.__name__, fields, kw_only=True)


def _translated(annotation: Any) -> Any:
    if annotation is datetime:
        return str  # read by pydantic afterwards (`_times`)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if _times(annotation):
            raise TypeError(f"{annotation.__name__}: times in nested models are not read")
        return struct_of(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(_translated(a) for a in get_args(annotation))]  # noqa: UP007
    return annotation


def _times(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's fields that hold a time (the event models nest none)."""
    return tuple(
        name
        for name, info in model.model_fields.items()
        if datetime in (info.annotation, *get_args(info.annotation))
    )


@cache
def _reading(model: type[BaseModel]) -> tuple[msgspec.json.Decoder[Any], tuple[str, ...]]:
    """The model's decoder and its time fields, looked up once per record."""
    return msgspec.json.Decoder(struct_of(model)), _times(model)


def decode(model: type[M], data: bytes) -> M:
    """The record's data as `model` reads it; ValueError (pydantic's included) when the
    model refuses it. The quick path returns a struct with the model's attributes."""
    try:
        decoder, times = _reading(model)
        struct = decoder.decode(data)
        for name in times:
            text = getattr(struct, name)
            if text is not None:
                setattr(struct, name, _parse_time(text))
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        return model.model_validate_json(data)
    return cast(M, struct)
