"""`prices refresh` then `estimate --region`: the file's price with its publication
date; failures are one line, exit 2, and leave the stored prices as they were. Stored
prices on SQLite and PostgreSQL, and a running app picking up a refresh."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError

from bot.__main__ import main
from bot.flow.loader import DEFAULT_FLOWS_DIR, load_flow
from bot.pricing import cli as prices_cli
from bot.pricing.live import LivePrices
from bot.pricing.model import Purchase, Quote
from bot.pricing.stored import load, save, version
from bot.store import make_engine, upgrade_schema
from tests.pricing.offers import offer, product, write_offer
from tests.pricing.test_query_api import Failing
from tests.store.conftest import Database


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's database in a temporary DATA_DIR, no .env, no AWS settings."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--flows-dir", str(DEFAULT_FLOWS_DIR.absolute()), *argv])
    out, err = capsys.readouterr()
    return code, out, err


ESTIMATE = ("estimate", "inference", "--params", "70B", "--tokens-per-day", "500M", "--json")


def test_refresh_from_a_file_then_estimate_in_that_region(
    app_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_offer(app_env / "eu-west-1.json")
    code, out, err = cli(capsys, "prices", "refresh", "--offer-file", str(path))
    assert (code, err) == (0, "")
    assert "stored 3 prices for 2 Regions (eu-west-1, us-east-2), as of 2026-11-27" in out

    code, out, err = cli(capsys, *ESTIMATE, "--region", "eu-west-1")
    assert code == 0, err
    options = json.loads(out)
    inf2 = next(o for o in options if o.get("instance") == "inf2.48xlarge")
    assert inf2["kind"] == "self-hosted"
    assert (inf2["price_per_hour_usd"], inf2["price_where"]) == (14.279, "eu-west-1")
    assert (inf2["region"], inf2["purchase"], inf2["price_as_of"]) == (
        "eu-west-1",
        "on-demand",
        "2026-11-27",
    )
    assert "AmazonEC2/20261127180512" in inf2["price_source"]
    assert inf2["monthly_cost_usd"] == pytest.approx(inf2["instances"] * 14.279 * 730, abs=0.01)
    # never priced at us-east-1's rate: what has no price here is said, with where it has one
    unpriced = {o["instance"]: o for o in options if o.get("kind") == "no-price"}
    assert "p6-b200.48xlarge" in unpriced
    assert unpriced["p6-b200.48xlarge"]["nearest_regions"] == ["us-east-1"]
    assert all(o.get("region") == "eu-west-1" for o in options)
    # the API alternative has no sourced price in eu-west-1 and says so
    api = options[-1]
    assert api["kind"] == "api" and api["monthly_cost_usd"] is None
    assert "no sourced Bedrock price in eu-west-1" in api["notes"][0]


def test_the_default_region_comes_from_aws_region(
    app_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli(capsys, "prices", "refresh", "--offer-file", str(write_offer(app_env / "f.json")))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    code, out, _ = cli(capsys, *ESTIMATE)
    assert code == 0
    assert {o["region"] for o in json.loads(out)} == {"eu-west-1"}


def test_spot_says_what_it_assumes_and_what_is_missing(
    app_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *ESTIMATE, "--purchase", "spot")
    assert code == 0, err  # the one shipped Spot sample (p5en.48xlarge) prices an option
    rows = {o.get("instance"): o for o in json.loads(out) if o["kind"] != "api"}
    p5en = rows["p5en.48xlarge"]
    assert (p5en["price_per_hour_usd"], p5en["price_as_of"]) == (27.1988, "2026-08-06")
    assert p5en["monthly_cost_usd"] == pytest.approx(27.1988 * 730, abs=0.01)
    assert rows["inf2.48xlarge"]["kind"] == "no-price"  # never borrowed from on-demand

    spot = Quote(
        "inf2.48xlarge",
        "us-east-1",
        Purchase.SPOT,
        4.0,
        dt.date(2026, 12, 1),
        "https://example.test/spot",
        "spot price history",
    )
    engine = make_engine(None, app_env / "data")
    upgrade_schema(engine)
    save(engine, [spot], "test")
    engine.dispose()
    code, out, err = cli(capsys, *ESTIMATE, "--purchase", "spot")
    assert code == 0, err
    inf2 = json.loads(out)[0]
    assert (inf2["instance"], inf2["purchase"], inf2["price_basis"]) == (
        "inf2.48xlarge",
        "spot",
        "spot",
    )
    assert any("not for a latency target" in note for note in inf2["notes"])


def test_capacity_blocks_are_refused_for_serving(
    app_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, *ESTIMATE, "--purchase", "capacity-block")
    assert code == 2 and "no basis for always-on serving" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--region", "atlantis"), "is not an AWS Region this app knows"),
        (("--purchase", "reserved"), "--purchase must be one of"),
    ],
)
def test_bad_region_or_purchase_is_one_line(
    app_env: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], says: str
) -> None:
    code, _, err = cli(capsys, *ESTIMATE, *argv)
    assert code == 2 and says in err and err.count("\n") == 1


def test_a_malformed_file_changes_nothing(
    app_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_offer(app_env / "good.json")
    assert cli(capsys, "prices", "refresh", "--offer-file", str(good))[0] == 0
    engine = make_engine(None, app_env / "data")
    before = (version(engine), sorted(load(engine), key=lambda q: q.key))

    cheaper = write_offer(app_env / "cheaper.json", offer([(product("A", "p4d.24xlarge"), "1")]))
    broken = app_env / "broken.json"
    broken.write_text('{"products": {', encoding="utf-8")
    code, out, err = cli(
        capsys, "prices", "refresh", "--offer-file", str(cheaper), "--offer-file", str(broken)
    )
    assert (code, out) == (2, "")
    assert err.startswith("prices refresh: ") and err.count("\n") == 1
    assert "broken.json is not JSON" in err
    assert (version(engine), sorted(load(engine), key=lambda q: q.key)) == before
    engine.dispose()


def test_missing_credentials_is_one_line_and_stores_nothing(
    app_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = load_flow("llm_cost", DEFAULT_FLOWS_DIR)
    args = type("Args", (), {"prices_command": "refresh", "offer_file": [], "region": []})()

    def factory() -> Any:
        return Failing(NoCredentialsError())

    code = prices_cli.main(args, flow.catalogue, client_factory=factory)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "no AWS credentials found" in err and err.count("\n") == 1
    assert not (app_env / "data").exists()  # the database was never opened


def quote(usd: float, day: int = 1) -> Quote:
    return Quote(
        "p4d.24xlarge",
        "eu-west-1",
        Purchase.ON_DEMAND,
        usd,
        dt.date(2026, 12, day),
        "https://example.test/offer",
        "offer file",
    )


def test_stored_prices_on_each_database(db: Database) -> None:
    engine = make_engine(db.url, db.data_dir, **db.engine_kw)
    try:
        upgrade_schema(engine)
        assert version(engine) == 0 and load(engine) == []
        first = save(engine, [quote(24.0)], "file a")
        second = save(engine, [quote(23.0, day=2)], "file b")
        assert second > first == version(engine) - (second - first)
        assert load(engine) == [quote(23.0, day=2)]  # replaced, not duplicated
    finally:
        engine.dispose()


def test_a_running_app_sees_a_refresh_at_its_next_estimate(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db.url, db.data_dir, **db.engine_kw)
    try:
        upgrade_schema(engine)
        catalogue = load_flow("llm_cost", DEFAULT_FLOWS_DIR).catalogue
        live = LivePrices(engine, catalogue)
        assert live.book().quote("p4d.24xlarge", "eu-west-1", Purchase.ON_DEMAND).nearest
        reads: list[int] = []
        real_load = load
        monkeypatch.setattr("bot.pricing.live.load", lambda e: reads.append(1) or real_load(e))
        live.book()
        assert reads == []  # unchanged version: the stored prices are not read again
        save(engine, [quote(24.0)], "another process")
        found = live.book().quote("p4d.24xlarge", "eu-west-1", Purchase.ON_DEMAND)
        assert isinstance(found, Quote) and found.usd_per_hour == 24.0
        assert reads == [1] and live.version == version(engine)
        priced = live.priced("eu-west-1")
        assert priced.catalogue.instances["p4d.24xlarge"].price.usd_per_hour == 24.0
        assert live.priced("eu-west-1") is priced  # built once per version
        save(engine, [quote(22.0, day=3)], "a later refresh")
        assert live.priced("eu-west-1").catalogue.instances["p4d.24xlarge"].price.usd_per_hour == (
            22.0
        )
    finally:
        engine.dispose()


def test_the_purchase_advice_reads_one_book_and_the_shipped_rates(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.pricing.purchase_file import PurchaseFile

    engine = make_engine(db.url, db.data_dir, **db.engine_kw)
    try:
        upgrade_schema(engine)
        catalogue = load_flow("llm_cost", DEFAULT_FLOWS_DIR).catalogue
        shipped = PurchaseFile.model_validate(
            {
                "sources": {
                    "s": {"title": "t", "url": "https://example.test/sp", "read_on": "2026-12-01"}
                },
                "prices": [
                    {
                        "instance": "p4d.24xlarge",
                        "region": "us-east-1",
                        "purchase": "savings-plan-1y",
                        "usd_per_hour": 15.0,
                        "source": "s",
                    }
                ],
            }
        )
        live = LivePrices(engine, catalogue, purchase=shipped)
        checks: list[int] = []
        real_version = version
        monkeypatch.setattr(
            "bot.pricing.live.version", lambda e: checks.append(1) or real_version(e)
        )
        pricer = live.pricer("us-east-1")
        sp = pricer(Purchase.SAVINGS_PLAN_1Y).catalogue.instances["p4d.24xlarge"].on_demand
        assert sp is not None and sp.usd_per_hour == 15.0  # the shipped rate
        assert "p4d.24xlarge" in pricer(Purchase.SPOT).missing  # none shipped, none borrowed
        assert checks == [1]  # one check of the refresh number for every option
    finally:
        engine.dispose()
