"""Every plug-in YAML under conf/ (spaces, oracles, strategies, evaluators): each of its number and true/false
settings, given as text, is refused in one line when the plug-in is built, before any training."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hwnas.config import group_choices, group_file, instantiate
from hwnas.core.errors import HwnasError
from hwnas.testing import ToySpace, evaluator_factory, load_space, oracle_factory, strategy_factory
from hwnas.testing import check_settings_refused, scalar_settings
from hwnas.testing.settings import NOT_A_SETTING

NO_TRAINING = {"train_if_missing": False}   # a setting that slipped through would fail fast, not train


def _nested(key: str, value) -> dict:
    head, _, rest = key.partition(".")
    return {head: _nested(rest, value) if rest else value}


@pytest.mark.parametrize("name", group_choices("oracle"))
def test_every_oracle_setting_given_as_text_is_refused(name):
    path = group_file("oracle", name)
    space = load_space(group_file("space", "nasbench201"))
    device = "local-settings-contract" if name == "measured" else space.contract_device
    trains = "train_if_missing" in scalar_settings(path)

    def build(key, value):
        extra = NO_TRAINING if trains and key != "train_if_missing" else {}
        return oracle_factory(path, overrides={**extra, key: value})(space, device)

    check_settings_refused(build, path)


@pytest.mark.parametrize("name", group_choices("strategy"))
def test_every_strategy_setting_given_as_text_is_refused(name):
    path = group_file("strategy", name)
    check_settings_refused(lambda key, value: strategy_factory(path, _nested(key, value))(ToySpace(4, 4), 3.0, 0),
                           path)


@pytest.mark.parametrize("name", group_choices("evaluator"))
def test_every_evaluator_setting_given_as_text_is_refused(name, tmp_path):
    path = group_file("evaluator", name)
    space = load_space(group_file("space", name if name in group_choices("space") else "nasbench201"))
    private = {"cache_dir": str(tmp_path)} if "cache_dir" in OmegaConf.load(path) else {}   # no shared cache

    def build(key, value):
        return evaluator_factory(path, {**private, **_nested(key, value)})(space)

    check_settings_refused(build, path)


@pytest.mark.parametrize("name", group_choices("space"))
def test_every_space_setting_given_as_text_is_refused(name):
    path = group_file("space", name)

    def build(key, value):
        node = OmegaConf.load(path)
        OmegaConf.update(node, key, value)
        return instantiate(node, "search space")

    check_settings_refused(build, path)


@pytest.mark.parametrize("name", group_choices("space"))
def test_a_space_without_classes_is_refused(name):
    node = OmegaConf.load(group_file("space", name))
    node.num_classes = 0
    with pytest.raises(HwnasError, match=f"space {name}: num_classes must be a whole number >= 1, got 0"):
        instantiate(node, "search space")


def test_the_settings_contract_finds_nested_settings_and_can_fail(tmp_path):
    yaml = tmp_path / "plugin.yaml"
    yaml.write_text("_target_: x.Y\nsamples: ${samples}\nrate: 0.1\nflag: true\nsampler:\n  n: 3\nname: abc\n")
    assert scalar_settings(yaml) == ["rate", "flag", "sampler.n"]
    with pytest.raises(AssertionError, match=f"plugin: rate='{NOT_A_SETTING}' was accepted"):
        check_settings_refused(lambda key, value: None, yaml)
