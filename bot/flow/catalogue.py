"""The offerings catalogue (flows/offerings.toml): specs and prices, each with its source.

Validated by pydantic at load, then cross-checked: every number's source must be a
known source with a URL and a read date, so nothing reaches a person unsourced.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field, model_validator

from bot.flow.calibration import Calibration, Models
from bot.flow.errors import FlowError, Problem
from bot.flow.sourced import Number, Source, SourceKey, Text, _Strict, parse_toml


class PriceBasis(StrEnum):
    """Which price an estimate uses; the value is how it is shown."""

    ON_DEMAND = "on-demand"
    CAPACITY_BLOCK = "Capacity Block"


class Price(_Strict):
    """A price per instance-hour, for the region or zone ``where`` says."""

    usd_per_hour: float = Field(gt=0)
    where: str = Field(min_length=1, max_length=100)
    source: SourceKey
    # what no second source confirms about this price, said beside it to the person
    unconfirmed: str | None = Field(default=None, min_length=1, max_length=200)


class Accelerator(_Strict):
    """One accelerator (or, for CPU inference, the host) with its dense peaks."""

    name: str = Field(min_length=1, max_length=80)
    memory_gb: Number
    memory_bandwidth_tbps: Number
    bf16_dense_tflops: Number | None = None
    fp8_dense_tflops: Number | None = None


class Instance(_Strict):
    """An instance type (or UltraServer) as it is bought."""

    family: str = Field(min_length=1, max_length=60)
    accelerator: str
    accelerators: int = Field(ge=1, le=1000)
    host_memory_gib: Number
    network: Text
    on_demand: Price | None = None
    capacity_block: Price | None = None
    spot: bool
    efa: bool
    no_on_demand: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _priced(self) -> Instance:
        if self.on_demand is None and self.capacity_block is None:
            raise ValueError("needs an on_demand or a capacity_block price")
        if self.on_demand is None and not self.no_on_demand:
            raise ValueError("without an on_demand price, say why in no_on_demand")
        return self

    @property
    def price(self) -> Price:
        """The price an estimate uses: on-demand where it exists, else the Capacity Block."""
        chosen = self.on_demand or self.capacity_block
        assert chosen is not None  # validated
        return chosen

    @property
    def price_basis(self) -> PriceBasis:
        return PriceBasis.ON_DEMAND if self.on_demand else PriceBasis.CAPACITY_BLOCK


class CapacityBlockRules(_Strict):
    """How EC2 Capacity Blocks are sold: whole days, in steps, with instance limits."""

    single_days: int = Field(ge=1)
    step_days: int = Field(ge=1)
    max_days: int = Field(ge=1)
    max_instances_per_block: int = Field(ge=1)
    max_instances: int = Field(ge=1)
    source: SourceKey

    def longest_within(self, days: float) -> int:
        """The longest Capacity Block that fits in ``days``."""
        whole = max(1, int(days))
        if whole > self.single_days:
            whole = max(self.single_days, whole // self.step_days * self.step_days)
        return min(whole, self.max_days)

    def block_days(self, hours: float) -> int:
        """The days of Capacity Block a run of ``hours`` must buy."""
        days = max(1, -(-hours // 24))
        if days > self.single_days:
            days = -(-days // self.step_days) * self.step_days
        return int(days)


class Charge(_Strict):
    """One line of a storage or caching price list."""

    what: str = Field(min_length=1, max_length=100)
    usd: float = Field(gt=0)
    per: str = Field(min_length=1, max_length=60)
    source: SourceKey


class Service(_Strict):
    """A storage or caching offering and its charges."""

    name: str = Field(min_length=1, max_length=100)
    charges: tuple[Charge, ...] = Field(min_length=1)


class Catalogue(_Strict):
    """The whole offerings file."""

    sources: dict[SourceKey, Source] = Field(default_factory=dict)
    accelerators: dict[str, Accelerator] = Field(default_factory=dict)
    instances: dict[str, Instance] = Field(default_factory=dict)
    services: dict[str, Service] = Field(default_factory=dict)
    capacity_blocks: CapacityBlockRules | None = None
    # from flows/calibration.toml and flows/models.toml, joined by the loader
    calibration: Calibration = Calibration()
    models: Models = Models()

    def accelerator_of(self, instance: str) -> Accelerator:
        return self.accelerators[self.instances[instance].accelerator]

    def url(self, key: SourceKey) -> str:
        return self.sources[key].url

    def cited(self) -> Iterator[tuple[str, SourceKey]]:
        """(where, source key) for every sourced value, for the cross-check."""
        for name, acc in self.accelerators.items():
            for field in (
                "memory_gb",
                "memory_bandwidth_tbps",
                "bf16_dense_tflops",
                "fp8_dense_tflops",
            ):
                number = getattr(acc, field)
                if number is not None:
                    yield f"accelerators.{name}.{field}", number.source
        for name, inst in self.instances.items():
            yield f"instances.{name}.host_memory_gib", inst.host_memory_gib.source
            yield f"instances.{name}.network", inst.network.source
            for field in ("on_demand", "capacity_block"):
                price = getattr(inst, field)
                if price is not None:
                    yield f"instances.{name}.{field}", price.source
        for name, service in self.services.items():
            for i, charge in enumerate(service.charges):
                yield f"services.{name}.charges[{i}]", charge.source
        if self.capacity_blocks is not None:
            yield "capacity_blocks", self.capacity_blocks.source


EMPTY = Catalogue()


def load_catalogue(text: str, path: str) -> Catalogue:
    """Parse and check an offerings file; every problem is reported with its TOML key."""
    catalogue = parse_toml(Catalogue, text, path)
    problems = [
        Problem(path, f"{where}: unknown source {key!r}; add it under [sources]")
        for where, key in catalogue.cited()
        if key not in catalogue.sources
    ]
    problems += [
        Problem(path, f"instances.{name}.accelerator: unknown accelerator {inst.accelerator!r}")
        for name, inst in catalogue.instances.items()
        if inst.accelerator not in catalogue.accelerators
    ]
    if problems:
        raise FlowError(problems)
    return catalogue
