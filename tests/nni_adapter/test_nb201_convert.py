"""NNI's NAS-Bench-201 sample form to and from hwnas archs (pure Python: runs without nni)."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
from hwnas.nni import from_nni_sample
from hwnas.nni import from_nni_samples
from hwnas.nni import to_nni_sample


def test_every_architecture_round_trips(nb201):
    archs = nb201.table_archs()
    samples = [to_nni_sample(tuple(a)) for a in archs]
    np.testing.assert_array_equal(from_nni_samples(samples), archs)
    assert len({tuple(sorted(s.items())) for s in samples}) == len(archs) == 15_625


def test_edges_and_operation_names_follow_nni(nb201):
    text = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    sample = to_nni_sample(text)
    assert sample == {"cell/0_1": "conv_3x3", "cell/0_2": "skip_connect", "cell/1_2": "conv_1x1",
                      "cell/0_3": "none", "cell/1_3": "avg_pool_3x3", "cell/2_3": "conv_3x3"}
    assert nb201.to_string(from_nni_sample(sample)) == text
    bare = {k.split("/")[1]: v for k, v in sample.items()}   # keys without the cell label also work
    assert from_nni_sample({**bare, "other/choice": 3}) == nb201.from_string(text)


@pytest.mark.parametrize("sample, message", [
    ({"cell/0_1": "conv_3x3"}, "lacks edge 'cell/0_2'"),
    ({f"cell/{j}_{i}": "nor_conv_3x3" for j, i in ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))},
     "unknown operation 'nor_conv_3x3'"),
])
def test_bad_samples_are_named(sample, message):
    with pytest.raises(HwnasError, match=message):
        from_nni_sample(sample)


def test_bad_arch_is_refused():
    with pytest.raises(HwnasError, match="6 choices"):
        to_nni_sample((0, 1, 2))
    with pytest.raises(HwnasError, match="unknown operation"):
        to_nni_sample("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_core_does_not_import_the_adapter():
    import subprocess
    import sys

    code = ("import sys, hwnas, hwnas.cli, hwnas.engine.loop, hwnas.engine.session, hwnas.testing, hwnas.analysis.cost_model; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('nni', 'hwnas_nni', 'ray', 'joblib')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
