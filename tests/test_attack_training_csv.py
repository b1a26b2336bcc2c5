"""Issue 34, row 8: hostile training csv files for ``mood-convert train``.

* a fer2013.csv saved with a UTF-8 byte-order mark was refused as lacking ``emotion`` (its first
  column read ``\\ufeffemotion``);
* a 300 MB line cost 684 MB before its error: the csv module reads a whole line before its field
  limit can refuse it. Lines are read bounded now (convert/csv_lines.py);
* FER+ votes that are all zero said "no training image left after cleaning (0 blank ...)", which
  sent the user looking at the pictures.
"""

from __future__ import annotations

import codecs
import subprocess
import sys

import pytest

import fer_data
from convert import ferplus as fp
from convert.data import MAX_CSV_LINE, load, load_csv
from daemon_helpers import ROOT
from edge.errors import DataError

#: the line of the attack was 300 MB; 100 MB shows the same (it cost ~2.3x its size in memory)
LONG_LINE_BYTES = 100 << 20


def test_attack_a_training_csv_with_a_utf8_bom_is_read(tmp_path):
    plain = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=2, n_val=1, n_test=0)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    train, test, _, usages = load_csv(bom)
    assert len(train) == 14 and len(test) == 7 and usages[0] == "Training"


def test_attack_a_ferplus_file_with_a_utf8_bom_is_read(tmp_path):
    images = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=2, n_val=1, n_test=0)
    votes = fer_data.write_ferplus(tmp_path / "fer2013new.csv", images)
    votes.write_bytes(codecs.BOM_UTF8 + votes.read_bytes())
    assert len(fp.read_votes(votes)) == 21


def _peak_rss_mb(csv_path) -> tuple[str, float]:
    """The one-line error and the peak memory of a process that loads ``csv_path``."""
    code = ("import resource, sys\nfrom pathlib import Path\nfrom convert.data import load_csv\n"
            "from edge.errors import DataError\nbase = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    load_csv(Path(sys.argv[1]))\n    print('loaded')\nexcept DataError as exc:\n    print(exc)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(csv_path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    message, grew = done.stdout.strip().splitlines()[-2:]
    return message, float(grew)


def test_attack_a_100_mb_csv_line_is_refused_without_reading_it_into_memory(tmp_path):
    huge = tmp_path / "fer2013.csv"
    with open(huge, "w", encoding="utf-8") as f:
        f.write("emotion,pixels,Usage\n3,")
        chunk = "1 " * (1 << 19)
        for _ in range(LONG_LINE_BYTES // len(chunk)):
            f.write(chunk)
        f.write(",Training\n")
    message, grew_mb = _peak_rss_mb(huge)
    assert "fer2013.csv: line 2: a line longer than" in message and f"{MAX_CSV_LINE:,}" in message
    assert grew_mb < 20, f"loading grew the process by {grew_mb:.0f} MB for a {LONG_LINE_BYTES >> 20} MB line"
    print(f"a {LONG_LINE_BYTES >> 20} MB csv line: refused, the process grew {grew_mb:.1f} MB")


def test_attack_all_zero_ferplus_votes_say_so_not_blank_images(tmp_path):
    images = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=2, n_val=1, n_test=0)
    votes = fer_data.write_ferplus(tmp_path / "fer2013new.csv", images)
    lines = votes.read_text(encoding="utf-8").splitlines()
    zero = [lines[0], *(",".join(line.split(",")[:2] + ["0"] * 10) for line in lines[1:])]
    votes.write_text("\n".join(zero) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fer2013new.csv: no training face can be taught by its votes "
                                        r"\(of 14 training faces: 14 with no votes at all") as caught:
        load(images, size=48, ferplus=votes)
    assert "blank" not in str(caught.value)
