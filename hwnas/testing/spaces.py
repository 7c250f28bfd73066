"""The search-space contract: every check takes a space and raises AssertionError naming what broke.

    from hwnas.testing import check_space
    check_space(MySpace())
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.space import Arch, SearchSpace
from hwnas.testing._support import expect_hwnas_error, malformed_archs, run_checks, table_of, torch_threads

SAMPLES = 16


def _assert_arch(space: SearchSpace, arch, what: str) -> None:
    """`arch` is a tuple of Python ints that is valid and canonical."""
    assert isinstance(arch, tuple), f"{what} is a {type(arch).__name__}, expected a tuple"
    assert all(isinstance(v, int) for v in arch), f"{what} {arch} holds non-int choices"
    assert space.validate(arch) == arch, f"{what} {arch} is not canonical: validate gives {space.validate(arch)}"


def _proposals(space: SearchSpace, seed: int) -> list[Arch]:
    """Samples, then a mutant and a crossover child of each, drawn with one seeded generator."""
    rng = np.random.default_rng(seed)
    archs = space.sample(rng, SAMPLES)
    mutants = [space.mutate(a, rng) for a in archs]
    children = [space.crossover(a, b, rng) for a, b in zip(archs, archs[1:] + archs[:1])]
    return [*archs, *mutants, *children]


def _raw(space: SearchSpace, n: int, seed: int) -> list[tuple[int, ...]]:
    """Uniform choice tuples, not canonicalised (what an external sampler may hand in)."""
    sizes = np.array([len(d) for d in space.dimensions()])
    draws = (np.random.default_rng(seed).random((n, len(sizes))) * sizes).astype(np.int64)
    return [tuple(int(v) for v in row) for row in draws]


def check_sample_mutate_crossover(space: SearchSpace) -> None:
    """sample(n) gives n valid canonical archs; mutate changes an arch; crossover gives a valid arch."""
    rng = np.random.default_rng(0)
    archs = space.sample(rng, SAMPLES)
    assert len(archs) == SAMPLES, f"sample(rng, {SAMPLES}) gave {len(archs)} archs"
    for arch in archs:
        _assert_arch(space, arch, "a sampled arch")
    changed = 0
    for arch in archs:
        child = space.mutate(arch, rng)
        _assert_arch(space, child, "a mutant")
        changed += child != arch
    assert changed >= SAMPLES // 2, f"mutate changed only {changed} of {SAMPLES} archs"
    for a, b in zip(archs, archs[1:]):
        _assert_arch(space, space.crossover(a, b, rng), "a crossover child")


def check_seeded(space: SearchSpace) -> None:
    """The same seed gives the same samples, mutants and children; another seed other samples."""
    first = _proposals(space, 0)
    assert _proposals(space, 0) == first, "sample/mutate/crossover differ between two runs with one seed"
    if space.size is None or space.size > 100 * SAMPLES:
        assert _proposals(space, 1)[:SAMPLES] != first[:SAMPLES], "seeds 0 and 1 sample the same archs"


def check_canonical(space: SearchSpace) -> None:
    """canonical maps any choice tuple to a valid arch, and is idempotent."""
    for raw in _raw(space, SAMPLES, seed=2):
        once = space.canonical(raw)
        _assert_arch(space, once, f"canonical({raw})")
        assert space.canonical(once) == once, f"canonical is not idempotent on {raw}: {once} -> {space.canonical(once)}"


def check_equivalents(space: SearchSpace) -> None:
    """equivalents(arch) are valid canonical archs other than arch, without repeats, and the relation is
    symmetric (evolution's repair asks them in place of an over-budget child)."""
    for arch in space.sample(np.random.default_rng(4), SAMPLES):
        others = space.equivalents(arch)
        for other in others:
            _assert_arch(space, other, f"an equivalent of {arch}")
            assert arch in space.equivalents(other), f"{arch} is equivalent to {other} but not the other way"
        assert arch not in others, f"equivalents({arch}) lists the arch itself"
        assert len(set(others)) == len(others), f"equivalents({arch}) lists an arch twice"


def check_string_round_trip(space: SearchSpace) -> None:
    """to_string gives one line of text that from_string turns back into the same arch."""
    for arch in space.sample(np.random.default_rng(3), SAMPLES):
        text = space.to_string(arch)
        assert isinstance(text, str) and text.strip(), f"to_string({arch}) gave {text!r}"
        assert "\n" not in text, f"to_string({arch}) spans several lines"
        back = space.from_string(text)
        assert back == arch, f"from_string(to_string({arch})) gave {back} (text {text!r})"


def check_malformed(space: SearchSpace) -> None:
    """A malformed string, or an arch with wrong or out-of-range choices, gives a one-line HwnasError."""
    text = space.to_string(space.sample(np.random.default_rng(4), 1)[0])
    for label, bad in (("an empty string", ""), ("a nonsense string", "%% not an architecture %%"),
                       ("a truncated string", text[: len(text) // 2])):
        expect_hwnas_error(f"from_string of {label} ({bad!r})", lambda: space.from_string(bad))
    for label, bad in malformed_archs(space):
        expect_hwnas_error(f"validate of {label}", lambda: space.validate(bad))
        expect_hwnas_error(f"build of {label}", lambda: space.build(bad))


def check_encode_batched(space: SearchSpace) -> None:
    """encode gives an (n, features) finite array whose rows equal one-by-one encodings."""
    archs = space.sample(np.random.default_rng(5), SAMPLES)
    whole = np.asarray(space.encode(archs))
    assert whole.ndim == 2 and whole.shape[0] == len(archs) and whole.shape[1] > 0, \
        f"encode of {len(archs)} archs has shape {whole.shape}, expected ({len(archs)}, features)"
    assert np.isfinite(whole).all(), "encode gave non-finite features"
    singles = np.concatenate([np.asarray(space.encode([a])) for a in archs])
    np.testing.assert_allclose(singles, whole, err_msg="encoding one by one differs from the batch")
    np.testing.assert_allclose(np.asarray(space.encode(np.asarray(archs))), whole,
                               err_msg="a matrix and a list of tuples encode differently")
    assert len(np.unique(whole, axis=0)) > 1 or len(set(archs)) == 1, "distinct archs all encode the same"
    assert np.asarray(space.encode([])).shape[0] == 0, "encode of no archs does not give 0 rows"


def check_table(space: SearchSpace) -> None:
    """Where the space has a table: table_index(table_archs()) numbers its rows, every row is a valid
    canonical arch, and size agrees (equal when exhaustively tabled). Without one, it claims none."""
    table = table_of(space)
    if table is None:
        assert not space.exhaustively_tabled, "exhaustively_tabled is true but the space has no table"
        try:
            rows = np.asarray(space.table_index(space.sample(np.random.default_rng(7), SAMPLES)))
        except HwnasError:  # "no measured data set", said by raising
            return
        assert rows.shape == (SAMPLES,) and (rows == -1).all(), f"no table, but table_index gave {rows}"
        return
    assert table.ndim == 2 and table.shape[1] == len(space.dimensions()), \
        f"table_archs has shape {table.shape}, expected (rows, {len(space.dimensions())})"
    np.testing.assert_array_equal(np.asarray(space.table_index(table)), np.arange(len(table)),
                                  err_msg="table_index(table_archs()) is not 0..n-1")
    picks = np.random.default_rng(6).choice(len(table), size=min(64, len(table)), replace=False)
    for row in picks:
        _assert_arch(space, tuple(int(v) for v in table[row]), f"table row {row}")
    if space.size is not None:
        assert space.size >= len(table), f"size {space.size} is below the table's {len(table)} rows"
    if space.exhaustively_tabled:
        assert space.size == len(table), f"exhaustively tabled, but size {space.size} != {len(table)} rows"
        return
    rows = np.asarray(space.table_index(space.sample(np.random.default_rng(7), SAMPLES)))
    assert ((rows >= -1) & (rows < len(table))).all(), f"table_index gave rows outside -1..{len(table) - 1}"


def check_build(space: SearchSpace) -> None:
    """build gives a torch.nn.Module whose forward on input_shape (batch 2) gives 2 finite outputs."""
    import torch

    dims = len(space.dimensions())
    for arch in (space.canonical((0,) * dims), space.sample(np.random.default_rng(8), 1)[0]):
        with torch_threads(1), torch.inference_mode():
            torch.manual_seed(0)
            net = space.build(arch)
            assert isinstance(net, torch.nn.Module), f"build({arch}) gave a {type(net).__name__}"
            shape = space.input_shape(arch, batch_size=2)
            try:
                out = net.eval()(torch.randn(shape))
            except Exception as exc:  # noqa: BLE001 - the point of the check
                raise AssertionError(f"forward of build({arch}) on input_shape {tuple(shape)} raised "
                                     f"{type(exc).__name__}: {exc}") from exc
        out = out[0] if isinstance(out, (tuple, list)) else out
        assert out.shape[0] == 2, f"forward of a batch of 2 gave output shape {tuple(out.shape)}"
        assert torch.isfinite(out).all(), f"forward of {space.to_string(arch)} gave non-finite outputs"


SPACE_CHECKS: dict[str, Callable[[SearchSpace], None]] = {
    "sample_mutate_crossover": check_sample_mutate_crossover,
    "seeded": check_seeded,
    "canonical": check_canonical,
    "equivalents": check_equivalents,
    "string_round_trip": check_string_round_trip,
    "malformed": check_malformed,
    "encode_batched": check_encode_batched,
    "table": check_table,
    "build": check_build,
}


def check_space(space: SearchSpace) -> None:
    """Run every space check; the first failure raises AssertionError naming the check."""
    run_checks("space", SPACE_CHECKS, space)
