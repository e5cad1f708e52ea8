"""The logistics commands on the bundled example."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseflow.cli.app import run


def test_feasibility_command_explains_pfizer_for_pyongyang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png, html = tmp_path / "f.png", tmp_path / "f.html"
    code = run(
        [
            "coldchain",
            "feasibility",
            "-p",
            "PFIZER-BNT",
            "-p",
            "AZ",
            "--png",
            str(png),
            "--html",
            str(html),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Pfizer cannot reach Pyongyang: no ultra-cold storage beyond Dalian" in " ".join(
        out.split()
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = html.read_text()
    assert "plotly" in page
    assert 'src="https://cdn.plot.ly' not in page  # plotly.js inlined: works offline
    assert len(page) > 1_000_000


def test_routes_and_capacity_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ship = ["-s", "AZ=PRK-NS:1200000", "-s", "SINOVAC=PRK-RYG:100000"]
    assert run(["routes", *ship, "--objective", "cheapest", "--png", str(tmp_path / "r.png")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1,300,000 of 1,300,000 doses planned" in out
    assert (tmp_path / "r.png").exists()
    assert run(["capacity", *ship, "--html", str(tmp_path / "c.html")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "short of storage: Hyesan (Ryanggang) 2-8 °C" in out
    assert (tmp_path / "c.html").exists()


def test_requests_file_and_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "requests.csv"
    good.write_text("product,destination,doses,origin\nAZ,PRK-NS,24000,SII-PUNE\n")
    assert run(["routes", "-r", str(good)]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("product,destination,doses\nAZ,PRK-NS,many\nSPUTNIK,PRK-NS,10\nAZ,ATLANTIS,10\n")
    assert run(["routes", "-r", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "[LOGISTICS_BAD_FIELD]" in err
    assert "bad.csv:2" in err
    assert "[LOGISTICS_UNKNOWN_PRODUCT]" in err
    assert "'SPUTNIK'" in err
    assert "ATLANTIS" in err


def test_no_shipments_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["routes"]) == 2
    assert "LOGISTICS_BAD_REQUEST" in capsys.readouterr().err


def test_demo_step_is_repeatable_and_shows_the_infeasible_product(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from doseflow.cli.logistics import demo_coldchain
    from doseflow.logistics import reference_product

    products = {code: reference_product(code) for code in ("AZ", "PFIZER-BNT", "SINOVAC")}
    products["PFIZER"] = products.pop("PFIZER-BNT")
    products["AZ-SII"] = products.pop("AZ")
    texts = []
    for _ in range(2):
        sink = StringIO()
        plan = demo_coldchain(tmp_path, Console(file=sink, width=200), None, products)
        texts.append(sink.getvalue())
    assert texts[0] == texts[1]
    assert "Pfizer cannot reach Pyongyang: no ultra-cold storage beyond Dalian" in texts[0]
    assert plan.delivered(0) == 1_992_000  # DPR Korea's AstraZeneca, via Dalian
    assert {p.name for p in tmp_path.iterdir()} >= {"routes.png", "capacity.html"}
