"""OFA's accuracy predictor: numpy forward agrees with the published torch checkpoint, HELP's picks rank."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwnas import data
from hwnas.core.errors import HwnasError
from hwnas.evaluators.ofa_accuracy import OfaAccuracyPredictor
from hwnas.search_spaces.nasbench201 import NasBench201
from hwnas.search_spaces.ofa_mbv3 import OfaMobileNetV3


@pytest.fixture(scope="module")
def ofa():
    return OfaMobileNetV3()


def test_matches_the_published_torch_checkpoint(ofa):
    state = torch.load(data.data_file("ofa-acc-predictor/acc_predictor.pth"), map_location="cpu", weights_only=True)
    mlp = torch.nn.Sequential(torch.nn.Linear(128, 400), torch.nn.ReLU(), torch.nn.Linear(400, 400), torch.nn.ReLU(),
                              torch.nn.Linear(400, 400), torch.nn.ReLU(), torch.nn.Linear(400, 1)).double()
    mlp.load_state_dict({k: v.double() for k, v in state.items()})
    archs = ofa.table_archs()[:64]
    with torch.no_grad():
        expected = 100 * mlp(torch.from_numpy(ofa.encode(archs, "ofa")).double())[:, 0].numpy()
    assert np.allclose(OfaAccuracyPredictor(ofa).accuracy(archs), expected, atol=1e-6)


def test_help_picks_rank_as_published(ofa):
    """HELP's published titan_rtx_64 picks: more latency bought more accuracy (76.0 < 76.8 < 77.9)."""
    folder = data.data_dir() / "help" / "ofa" / "architecture_config" / "gpu_titan_rtx_64"
    picks = sorted(folder.glob("*.json"), key=lambda p: float(p.stem.split("_")[-1]))
    archs = [ofa.from_data_form(json.loads(p.read_text())) for p in picks]
    predicted = OfaAccuracyPredictor(ofa).accuracy(archs)
    assert np.all(np.diff(predicted) > 0)


def test_range_and_empty_input(ofa):
    acc = OfaAccuracyPredictor(ofa).accuracy(ofa.table_archs())
    assert 60 < acc.min() < acc.max() < 90 and acc.std() > 0.5
    assert OfaAccuracyPredictor(ofa).accuracy([]).shape == (0,)


def test_refuses_other_spaces():
    with pytest.raises(HwnasError, match="ofa_mbv3"):
        OfaAccuracyPredictor(NasBench201())
