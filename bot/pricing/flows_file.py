"""Reading one of the price files in `flows/` into its model, with one-line errors.

The hosted-model prices (`api_prices.toml`) and the purchase options
(`purchase.toml`) are read the same way: TOML, then the pydantic model, each
problem said in one line that names the file, as `python -m bot flow check` and
the estimate print it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bot.pricing.model import PriceRefreshError

M = TypeVar("M", bound=BaseModel)


def read_checked(path: Path, model: type[M]) -> M:
    """``path`` as ``model``; a file that is not TOML or does not fit the model raises
    `PriceRefreshError` naming the file and each field at fault."""
    try:
        return model.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise PriceRefreshError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PriceRefreshError(f"{path}: {problems}") from None
