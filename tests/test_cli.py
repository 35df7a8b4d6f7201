"""The `provenance` command line end to end on the embedded store: the JSON contract, reports, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.cli import cli
from tests.media_factory import drawn_image, write_video

SCAN_FIELDS = {"path", "kind", "duration", "verdict", "matches", "provenance", "timings"}
MATCH_FIELDS = {"work_id", "title", "holder", "score", "verdict", "segments", "evidence"}
SEGMENT_FIELDS = {"query_start", "query_end", "ref_start", "ref_end", "score"}


@pytest.fixture()
def media(tmp_path: Path) -> dict[str, Path]:
    works = tmp_path / "works"
    works.mkdir()
    for seed in range(3):
        drawn_image(100 + seed).save(works / f"work-{seed}.png")
    write_video(works / "film.mp4", seconds=4.0, seed=200, size=(320, 240))
    (works / "readme.txt").write_text("not media: ignored by folder expansion")
    queries = tmp_path / "queries"
    queries.mkdir()
    drawn_image(100).resize((480, 360)).save(queries / "copy-of-work-0.jpg", quality=60)
    drawn_image(999).save(queries / "unrelated.png")
    (queries / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return {"works": works, "queries": queries, "home": tmp_path / "home"}


def invoke(home: Path, *args: str):
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False, env={"PROVENANCE_CLIP_ENABLED": "0"})
    return result


def test_register_list_scan_remove(media: dict[str, Path], tmp_path: Path) -> None:
    home = media["home"]
    added = invoke(home, "works", "add", str(media["works"]), "--holder", "Studio A", "--opt-out", "--json")
    assert added.exit_code == 0, added.output
    works = json.loads(added.stdout)["works"]
    assert [w["title"] for w in works] == ["film", "work-0", "work-1", "work-2"]
    for work in works:
        assert {"id", "title", "holder", "kind", "frames", "path"} <= work.keys()
        assert work["holder"] == "Studio A" and work["frames"] >= 1
    assert works[0]["kind"] == "video" and works[0]["frames"] >= 4

    again = json.loads(invoke(home, "works", "add", str(media["works"] / "work-1.png"), "--holder", "Studio A", "--json").stdout)
    assert again["works"][0]["id"] == works[2]["id"] and again["works"][0]["created"] is False

    listed = json.loads(invoke(home, "works", "list", "--json").stdout)["works"]
    assert len(listed) == 4 and all(w["opt_out"] == {"train": True, "generate": True} for w in listed)

    html_report = tmp_path / "out" / "report.html"
    scanned = invoke(home, "scan", str(media["queries"]), "--json", "--report", str(html_report), "--top", "3")
    assert scanned.exit_code == 0, scanned.output
    payload = json.loads(scanned.stdout)
    scans = {Path(s["path"]).name: s for s in payload["scans"]}
    assert set(scans) == {"copy-of-work-0.jpg", "unrelated.png"}
    assert [Path(e["path"]).name for e in payload["errors"]] == ["broken.jpg"]
    for scan in scans.values():
        assert SCAN_FIELDS <= scan.keys() and "signals" in scan["provenance"]
        assert len(scan["matches"]) <= 3
        for match in scan["matches"]:
            assert MATCH_FIELDS <= match.keys() and 0.0 <= match["score"] <= 1.0
            assert all(SEGMENT_FIELDS <= s.keys() for s in match["segments"])
    copy = scans["copy-of-work-0.jpg"]
    assert copy["verdict"] == "match" and copy["matches"][0]["title"] == "work-0"
    assert copy["matches"][0]["evidence"]["frame_pairs"] and copy["matches"][0]["evidence"]["signals"]["pdq"]["best_distance"] <= 31
    assert scans["unrelated.png"]["verdict"] == "no_match"
    assert copy["signals"]["clip"]["status"] == "unavailable" if "clip" in copy["signals"] else True

    page = html_report.read_text()
    assert "copy-of-work-0.jpg" in page and "work-0" in page and "broken.jpg" in page
    assert page.count("data:image/jpeg;base64,") >= 2  # query and reference evidence thumbnails
    assert "not evidence of human authorship" in page

    json_report = tmp_path / "out" / "report.json"
    invoke(home, "scan", str(media["queries"] / "unrelated.png"), "--report", str(json_report))
    assert json.loads(json_report.read_text())["scans"][0]["verdict"] == "no_match"

    removed = invoke(home, "works", "remove", str(works[1]["id"]))
    assert removed.exit_code == 0
    rescanned = json.loads(invoke(home, "scan", str(media["queries"] / "copy-of-work-0.jpg"), "--json").stdout)
    assert all(m["work_id"] != works[1]["id"] for m in rescanned["scans"][0]["matches"])
    assert rescanned["scans"][0]["verdict"] != "match"


def test_scan_of_only_bad_files_fails_with_clear_messages(media: dict[str, Path]) -> None:
    result = invoke(media["home"], "scan", str(media["queries"] / "broken.jpg"))
    assert result.exit_code == 1
    assert "broken.jpg" in result.stdout and "damaged or truncated" in result.stdout


def test_remove_unknown_work_is_a_clear_error(media: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["--home", str(media["home"]), "works", "remove", "4242"], env={"PROVENANCE_CLIP_ENABLED": "0"})
    assert result.exit_code != 0 and "no work with id 4242" in str(result.exception or result.output)


def test_doctor_reports_signals_and_store(media: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["--home", str(media["home"]), "doctor", "--json"], catch_exceptions=False)
    report = json.loads(result.stdout)
    assert report["signals"]["pdq"].startswith("available")
    assert report["signals"]["clip"].startswith("unavailable")
    assert report["store"]["works"] == 0 and report["device"]["torch_device"] in {"cpu", "cuda"}


def test_scan_with_clip_from_a_local_checkpoint(media: dict[str, Path], tmp_path: Path) -> None:
    from tests.clip_checkpoint import make_checkpoint

    name, checkpoint = make_checkpoint(tmp_path / "clip")
    env = {"PROVENANCE_CLIP_MODEL": name, "PROVENANCE_CLIP_PRETRAINED": str(checkpoint)}
    runner = CliRunner()
    home = str(media["home"])
    added = runner.invoke(cli, ["--home", home, "works", "add", str(media["works"] / "work-0.png"), "--holder", "A", "--json"], env=env, catch_exceptions=False)
    assert added.exit_code == 0, added.output
    scanned = runner.invoke(cli, ["--home", home, "scan", str(media["queries"] / "copy-of-work-0.jpg"), "--json"], env=env, catch_exceptions=False)
    scan = json.loads(scanned.stdout)["scans"][0]
    assert scan["signals"]["clip"]["status"] == "available"
    assert "clip" in scan["matches"][0]["evidence"]["signals"]


def _logo_png(path: Path) -> Path:
    from PIL import Image, ImageDraw

    logo = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.rectangle((5, 5, 115, 55), outline=(255, 255, 255, 255), width=6)
    draw.text((20, 20), "GENAI", fill=(255, 255, 255, 255))
    logo.save(path)
    return path


def test_logo_templates_are_managed_from_the_cli_and_seen_by_a_running_scanner(media: dict[str, Path], tmp_path: Path) -> None:
    from provenance.runtime import Runtime
    from provenance.settings import Settings

    home = media["home"]
    runtime = Runtime.open(Settings(home=home, clip_enabled=False))  # a process started before the logo exists

    def logo_templates() -> list[str]:
        result = runtime.scanner.scan_file(media["queries"] / "unrelated.png")
        [logo_signal] = [s for s in result.provenance_signals if s["kind"] == "visible_watermark"]
        return logo_signal["evidence"].get("templates", [])

    assert logo_templates() == []
    added = invoke(home, "logos", "add", "genai-mark", str(_logo_png(tmp_path / "logo.png")))
    assert added.exit_code == 0 and "added logo 'genai-mark'" in added.stdout
    assert "genai-mark" in invoke(home, "logos", "list").stdout
    assert logo_templates() == ["genai-mark"]

    duplicate = invoke(home, "logos", "add", "genai-mark", str(tmp_path / "logo.png"))
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    refused = invoke(home, "logos", "add", "other", str(not_an_image))
    assert refused.exit_code != 0 and "other" not in invoke(home, "logos", "list").stdout

    assert invoke(home, "logos", "remove", "genai-mark").exit_code == 0
    assert logo_templates() == []
    runtime.close()
