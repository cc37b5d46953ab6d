"""Published folders appear whole or not at all, and their manifests describe their files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.publish.folder import MANIFEST, publish_folder, read_manifest, verify_folder


def write_rows(text: str):
    def write(folder: Path) -> dict[str, int]:
        (folder / "rows.csv").write_text(text)
        return {"rows.csv": text.count("\n") - 1}
    return write


def test_a_folder_is_published_with_checksums_and_verifies(tmp_path):
    layout = Layout(tmp_path)
    target = tmp_path / "published" / "x" / "2026-01-01"
    manifest = publish_folder(layout, target, write_rows("a\n1\n2\n"), {"as_of_date": "2026-01-01", "row_count": 2})
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "rows.csv"]
    assert read_manifest(target) == json.loads(json.dumps(manifest))
    [entry] = manifest["files"]
    assert entry["rows"] == 2 and entry["bytes"] == 6
    assert entry["sha256"] == "d4fa155a0784a2543c083ff5c36ec7a7d4810f08946220e5acf4c1f11006216e"
    assert verify_folder(target) == []
    (target / "rows.csv").write_text("a\n1\n3\n")             # same size, other bytes
    assert verify_folder(target) == [f"{target / 'rows.csv'}: size or SHA-256 differs from the manifest"]


def test_a_failing_writer_leaves_the_previous_version_and_no_scratch(tmp_path):
    layout = Layout(tmp_path)
    target = tmp_path / "published" / "x" / "2026-01-01"
    publish_folder(layout, target, write_rows("a\n1\n"), {"row_count": 1})

    def disk_full(folder: Path) -> dict[str, int]:
        (folder / "rows.csv").write_text("a\n1\n2")             # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        publish_folder(layout, target, disk_full, {"row_count": 2})
    assert (target / "rows.csv").read_text() == "a\n1\n" and verify_folder(target) == []
    assert list((layout.staging / "publish").iterdir()) == []
