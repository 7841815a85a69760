"""A number or a fact with the source that states it: what every data file in flows/
is made of, so a page's URL and read date stand behind each figure a person sees."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

SourceKey = str


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
