"""`hwnas meta-train`: trains once, caches, reuses; unknown oracle options are one-line errors."""

from __future__ import annotations

import pytest

from hwnas.cli import main
from hwnas.predictors import help_cache

TINY = ["oracle.episodes=2", "oracle.inner_tasks=2", "oracle.query=10", "oracle.valid_every=1",
        "oracle.mc_samples=1", "oracle.layer_size=8", "oracle.valid_query_rows=50"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv(help_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_meta_train_caches_and_reuses(workdir, capsys):
    main(["meta-train", "space=nasbench201", *TINY, f"hydra.run.dir={workdir / 'run1'}"])
    first = capsys.readouterr()
    assert "meta-training HELP for nasbench201" in first.err
    cached = list((workdir / "cache" / "help").glob("nasbench201-*.pt"))
    assert len(cached) == 1
    main(["meta-train", "space=nasbench201", *TINY, f"hydra.run.dir={workdir / 'run2'}"])
    second = capsys.readouterr()
    assert "meta-training HELP" not in second.err          # reused, not retrained
    assert str(cached[0]) in second.out


def test_meta_train_unknown_option_is_one_line_error(workdir, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["meta-train", "space=nasbench201", "+oracle.episdes=3", f"hydra.run.dir={workdir / 'run'}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown option(s) episdes" in err and "Traceback" not in err


def test_meta_train_refuses_an_oracle_without_meta_training(workdir, capsys):
    with pytest.raises(SystemExit):
        main(["meta-train", "oracle=lut", f"hydra.run.dir={workdir / 'run'}"])
    assert "has no meta-training" in capsys.readouterr().err
