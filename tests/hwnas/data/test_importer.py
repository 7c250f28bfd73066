"""`hwnas.data.importer`: a user's latency CSV into the local device store, all rows checked before any is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
from hwnas.data import device_store, devices
from hwnas.data.importer import import_table

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def write(tmp_path, text: str, name: str = "my.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def off_table(space, seed: int = 0):
    """An architecture of `space` outside its table."""
    rng = np.random.default_rng(seed)
    while True:
        arch = space.sample(rng, 1)[0]
        if space.table_index([arch])[0] < 0:
            return tuple(int(v) for v in arch)


def test_a_two_column_index_csv_becomes_a_device(nb201, tmp_path):
    result = import_table(nb201, "local-phone", write(tmp_path, "index,latency_ms\n0,1.5\n7,2.25\n7,2.25\n"))
    assert (result.rows, result.table_rows, result.off_table, result.duplicates) == (2, 2, 0, 1)
    table = devices.latency_ms("nasbench201", "local-phone")
    assert table[0] == 1.5 and table[7] == 2.25 and np.isfinite(table).sum() == 2
    assert devices.require_device("nasbench201", "local-phone").n_archs == 2


def test_arch_text_and_json_forms_with_optional_columns(nb201, tmp_path):
    fbnet = devices.search_space("fbnet")
    inside = tuple(int(v) for v in fbnet.table_archs()[3])
    outside = off_table(fbnet)
    form = json.dumps(fbnet.to_data_form(outside)).replace('"', '""')
    text = (f"arch,latency_ms,std_ms,runtime,batch_size,note\n\"{fbnet.to_string(inside)}\",12.5,0.3,tflite,1,a\n"
            f"\"{form}\",20,,tflite,1,\n")
    result = import_table(fbnet, "local-phone", write(tmp_path, text))
    assert (result.table_rows, result.off_table) == (1, 1)
    assert devices.latency_ms("fbnet", "local-phone")[3] == 12.5
    assert devices.off_table_ms("fbnet", "local-phone") == {fbnet.to_string(outside): 20.0}
    row = device_store.read("fbnet", "local-phone")[0]
    assert (row["backend"], row["batch_size"], row["spread_ms"], row["note"]) == ("tflite", "1", "0.3", "a")


def test_every_space_takes_archs_outside_its_table(tmp_path):
    for name in ("fbnet", "ofa_mbv3"):
        space = devices.search_space(name)
        arch = off_table(space, seed=1)
        import_table(space, "local-x", write(tmp_path, f"arch,latency_ms\n\"{space.to_string(arch)}\",3\n", name))
        assert devices.off_table_ms(name, "local-x") == {space.to_string(arch): 3.0}
        assert not np.isfinite(devices.latency_ms(name, "local-x")).any()


@pytest.mark.parametrize("text, problem", [
    ("index,latency\n0,1\n", r"my\.csv:1: columns index,latency are not one of arch\|index"),
    ("arch,index,latency_ms\n", "my.csv:1: columns"),
    ("index,latency_ms,device\n0,1,x\n", r"my\.csv:1: .*\(unknown: device\)"),
    ("", "my.csv:1: empty file"),
    ("index,latency_ms\n", "my.csv:1: no latency rows"),
    ("index,latency_ms\n0,1\n1,0\n", "my.csv:3: latency_ms '0' must be a finite number > 0"),
    ("index,latency_ms\n0,-1\n", "my.csv:2: latency_ms '-1' must be"),
    ("index,latency_ms\n0,fast\n", "my.csv:2: latency_ms 'fast' is not a number"),
    ("index,latency_ms\n0,nan\n", "my.csv:2: latency_ms 'nan' must be a finite"),
    ("index,latency_ms\n15625,1\n", r"my\.csv:2: index 15625 out of range 0\.\.15624"),
    ("index,latency_ms\nx1,1\n", "my.csv:2: index 'x1' is not an integer"),
    ("index,latency_ms\n0,1,2\n", "my.csv:2: 2 columns expected"),
    ("index,latency_ms\n0\n", "my.csv:2: 2 columns expected"),
    ("arch,latency_ms\n|bad~0|,1\n", "my.csv:2: .*bad"),
    (f"arch,latency_ms\n{NB201_ARCH},1\n1,2\n", "my.csv:3: "),
    (f"arch,latency_ms\n{NB201_ARCH},1\n\n{NB201_ARCH},1.5\n", r"my\.csv:4: .* again, with latency_ms 1\.5 \(line 2: 1\)"),
    ("index,latency_ms,std_ms\n0,1,-0.1\n", "my.csv:2: std_ms '-0.1' must be a finite number >= 0"),
    ("index,latency_ms,batch_size\n0,1,0\n", "my.csv:2: batch_size '0' must be an integer >= 1"),
    ("index,latency_ms,runtime\n0,1,tflite\n1,1,onnx\n", "my.csv:3: runtime/batch_size .* differ from line 2"),
])
def test_a_bad_row_is_one_line_and_nothing_is_written(nb201, tmp_path, text, problem):
    import_table(nb201, "local-phone", write(tmp_path, "index,latency_ms\n5,1\n", "first.csv"))
    before = device_store.device_file("nasbench201", "local-phone").read_bytes()
    with pytest.raises(HwnasError, match=problem) as caught:
        import_table(nb201, "local-phone", write(tmp_path, text))
    assert "\n" not in str(caught.value) and str(tmp_path / "my.csv") in str(caught.value)
    assert device_store.device_file("nasbench201", "local-phone").read_bytes() == before


def test_importing_again_appends_and_refuses_other_settings(nb201, tmp_path):
    import_table(nb201, "local-phone", write(tmp_path, "index,latency_ms,runtime\n0,1,tflite\n"))
    import_table(nb201, "local-phone", write(tmp_path, "index,latency_ms,runtime\n0,3,tflite\n1,2,tflite\n"))
    assert len(device_store.read("nasbench201", "local-phone")) == 3
    assert devices.latency_ms("nasbench201", "local-phone")[0] == 2.0  # the median of 1 and 3
    with pytest.raises(HwnasError, match="backend tflite \\(stored\\) vs onnx \\(my.csv\\); import into another"):
        import_table(nb201, "local-phone", write(tmp_path, "index,latency_ms,runtime\n2,1,onnx\n"))
    assert len(device_store.read("nasbench201", "local-phone")) == 3


def test_only_local_names_and_readable_files(nb201, tmp_path):
    with pytest.raises(HwnasError, match="local-<name>"):
        import_table(nb201, "pixel3", write(tmp_path, "index,latency_ms\n0,1\n"))
    with pytest.raises(HwnasError, match="cannot read .*missing.csv"):
        import_table(nb201, "local-phone", tmp_path / "missing.csv")


def test_a_csv_dropped_into_the_store_points_to_import(tmp_path):
    path = device_store.device_file("nasbench201", "local-dropped")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("index,latency_ms\n0,1\n")
    with pytest.raises(HwnasError, match="hwnas import"):
        device_store.read("nasbench201", "local-dropped")


def test_the_imported_device_is_the_kind_the_user_says(nb201, tmp_path):
    from hwnas.analysis.cost_model import CostModel

    csv_file = write(tmp_path, "index,latency_ms\n0,1.5\n")
    import_table(nb201, "local-cpu2", csv_file)
    assert devices.require_device("nasbench201", "local-cpu2").kind == "CPU"  # nothing said: a CPU
    import_table(nb201, "local-myphone", csv_file, kind="phone")
    assert devices.require_device("nasbench201", "local-myphone").kind == "phone"
    model = CostModel.load()
    assert model.device_seconds_per_measurement("nasbench201", "local-myphone") == pytest.approx(
        model.seconds_per_measurement("phone", 1.5))
    import_table(nb201, "local-myphone", write(tmp_path, "index,latency_ms\n1,1.7\n", "more.csv"))
    assert devices.require_device("nasbench201", "local-myphone").kind == "phone"  # kept on a later import


def test_an_unknown_kind_is_refused_before_anything_is_written(nb201, tmp_path):
    with pytest.raises(HwnasError, match="unknown device kind 'phnoe'.*phone"):
        import_table(nb201, "local-x", write(tmp_path, "index,latency_ms\n0,1.5\n"), kind="phnoe")
    assert not device_store.device_file("nasbench201", "local-x").exists()


def test_a_damaged_device_description_is_one_line(nb201, tmp_path):
    import_table(nb201, "local-y", write(tmp_path, "index,latency_ms\n0,1.5\n"), kind="FPGA")
    device_store.info_file("nasbench201", "local-y").write_text("[1, 2")
    with pytest.raises(HwnasError, match="corrupt local device description .*local-y.json"):
        device_store.device_info("nasbench201", "local-y")
