"""A number or a fact with the source that states it: what every data file in flows/
is made of, so a page's URL and read date stand behind each figure a person sees."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.flow.errors import FlowError, Problem

SourceKey = str
_T = TypeVar("_T", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A page a number was read from, and when."""

    title: str = Field(min_length=1, max_length=200)
    url: str = Field(pattern=r"^https://[^\s<>|]+$", max_length=300)
    read_on: dt.date


class Number(_Strict):
    """A number and the source that states it."""

    value: float = Field(gt=0)
    source: SourceKey


class Text(_Strict):
    """A short fact in words and the source that states it."""

    text: str = Field(min_length=1, max_length=200)
    source: SourceKey


def parse_toml(kind: type[_T], text: str, path: str) -> _T:
    """A data file read into ``kind``; every problem is reported with its TOML key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FlowError([Problem(path, f"not valid TOML: {exc}")]) from exc
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise FlowError(
            [
                Problem(path, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
                for err in exc.errors()
            ]
        ) from exc
