"""MFU bands from published runs, and how well they predict runs they never saw.

A run's implied MFU is 6·N_active·D over its GPU-hours at its GPU's dense BF16 peak.
A band holds the runs of one cluster (accelerator and network) within a range of
active parameters; its range is their lowest and highest implied MFU and its likely
value their median. Leave-one-out refits each band without one run and asks whether
that run's published hours fall inside the predicted range: the honest measure of
how far the estimate can be trusted on a run it has not seen.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bot.flow.calibration import Band, Calibration, Run

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class MfuBand:
    """A range of model-FLOPs utilisation and where it comes from."""

    low: float
    likely: float
    high: float
    label: str
    runs: tuple[str, ...]
    sources: tuple[str, ...]
    borrowed: bool = False  # no published run on this accelerator: another's band

    @property
    def width(self) -> float:
        """How many times the slowest end's hours exceed the fastest end's."""
        return self.high / self.low


@dataclass(frozen=True)
class HeldOut:
    """One run predicted by a band fitted without it."""

    run: Run
    implied_mfu: float
    band: MfuBand
    hours_low: float
    hours_likely: float
    hours_high: float

    @property
    def inside(self) -> bool:
        return self.hours_low <= self.run.gpu_hours <= self.hours_high

    @property
    def ratio(self) -> float:
        """Published hours over the likely prediction (above 1: the run took longer)."""
        return self.run.gpu_hours / self.hours_likely


def implied_mfu(cal: Calibration, run: Run) -> float:
    flops = 6 * run.active * run.tokens
    return flops / (run.gpu_hours * SECONDS_PER_HOUR * cal.peak_tflops(run) * 1e12)


def _band_runs(cal: Calibration, band: Band) -> list[Run]:
    return [r for r in cal.runs if r.cluster == band.cluster and band.holds(r.active)]


def fit(cal: Calibration, runs: Sequence[Run], label: str, borrowed: bool = False) -> MfuBand:
    """The band over ``runs``: lowest, median and highest implied MFU."""
    mfus = sorted(implied_mfu(cal, r) for r in runs)
    return MfuBand(
        low=mfus[0],
        likely=statistics.median(mfus),
        high=mfus[-1],
        label=label,
        runs=tuple(r.model for r in runs),
        sources=tuple(dict.fromkeys(cal.url(r.source) for r in runs)),
        borrowed=borrowed,
    )


def band_for(cal: Calibration, accelerator: str, active_params: float) -> MfuBand | None:
    """The band that applies to training ``active_params`` on ``accelerator``, if any."""
    for band in cal.bands:
        if accelerator in band.applies_to and band.holds(active_params):
            runs = _band_runs(cal, band)
            if runs:
                return fit(cal, runs, band.label, accelerator in band.borrowed)
    return None


def hours_at(cal: Calibration, run: Run, mfu: float) -> float:
    flops = 6 * run.active * run.tokens
    return flops / (cal.peak_tflops(run) * 1e12 * mfu) / SECONDS_PER_HOUR


def leave_one_out(cal: Calibration) -> list[HeldOut]:
    """Each run predicted by its band refitted without it. A band left with fewer than
    two runs takes in its fallback cluster's runs (all sizes), as the estimate has
    nothing narrower to go on."""
    results = []
    for run in cal.runs:
        band = next(b for b in cal.bands if b.cluster == run.cluster and b.holds(run.active))
        others = [r for r in _band_runs(cal, band) if r is not run]
        if len(others) < 2 and band.fallback is not None:
            extra = [r for r in cal.runs if r.cluster == band.fallback and r is not run]
            others = list(dict.fromkeys([*others, *extra]))
        if not others:
            continue
        fitted = fit(cal, others, band.label)
        results.append(
            HeldOut(
                run=run,
                implied_mfu=implied_mfu(cal, run),
                band=fitted,
                hours_low=hours_at(cal, run, fitted.high),
                hours_likely=hours_at(cal, run, fitted.likely),
                hours_high=hours_at(cal, run, fitted.low),
            )
        )
    return results
